"""Arguments and the loop of ``python -m tenantry.llmadapters``.

A bad argument, or an adapters file that cannot be used at start, ends the process before
anything is written, with one line on stderr (``tenantry-llmadapters: error: ...``) and exit
status 2, no traceback. Later, a bad adapters file keeps the last good one (logged), and an
adapter that cannot be fetched or verified is logged and retried; the others are served.
With ``--once`` the exit status is 1 when an adapter failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .sync import Adapter, AdaptersError, Syncer, parse_adapters

PROG = "tenantry-llmadapters"
log = logging.getLogger("tenantry.llmadapters")


class ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Keep a shared runtime's adapters directory in sync.")
    p.add_argument(
        "--adapters",
        required=True,
        type=Path,
        help="adapters.json (runtime_adapters), the mounted ConfigMap",
    )
    p.add_argument(
        "--dir",
        required=True,
        type=Path,
        help="the adapters directory (VLLM_LORA_RESOLVER_CACHE_DIR)",
    )
    p.add_argument(
        "--base-model-path",
        required=True,
        help="the path vllm serve was given (KServe: /mnt/models)",
    )
    p.add_argument("--base-model", required=True, help="the base model's name (baseModel)")
    p.add_argument("--region", default=None, help="the buckets' AWS region")
    p.add_argument("--s3-endpoint", default=None, help="an S3 endpoint URL (tests)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between passes")
    p.add_argument(
        "--grace", type=float, default=300.0, help="seconds a removed or replaced version stays"
    )
    p.add_argument("--retry", type=float, default=60.0, help="seconds before a failed retry")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    return p  # fmt: skip


def _read(path: Path, base_model: str) -> dict[str, Adapter]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdaptersError(f"{path}: cannot read the adapters file: {exc}") from None
    return parse_adapters(text, str(path), base_model)


def _s3(region: str | None, endpoint: str | None) -> Any:
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        for name in ("interval", "grace", "retry"):
            if getattr(args, name) < 0:
                raise ArgumentError(f"--{name}: got {getattr(args, name)}; accepted: >= 0")
        desired = _read(args.adapters, args.base_model)
        syncer = Syncer(_s3(args.region, args.s3_endpoint), args.dir, args.base_model_path,
                        grace_s=args.grace, retry_s=args.retry)  # fmt: skip
    except (ArgumentError, AdaptersError, OSError) as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    while True:
        report = syncer.sync(desired)
        if args.once:
            return 1 if report.failed else 0
        time.sleep(args.interval)
        try:
            desired = _read(args.adapters, args.base_model)
        except AdaptersError as exc:
            log.error("adapters file not reloaded, keeping the previous one: %s", exc)
