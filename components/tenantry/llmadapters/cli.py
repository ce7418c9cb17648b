"""Arguments and the loop of ``python -m tenantry.llmadapters``.

A bad argument, or an adapters file that cannot be used at start, ends the process before
anything is written, with one line on stderr (``tenantry-llmadapters: error: ...``) and exit
status 2, no traceback. Later, a bad adapters file keeps the last good one (logged), and an
adapter that cannot be fetched or verified is logged and retried; the others are served.
With ``--once`` the exit status is 1 when an adapter failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .sync import Adapter, AdaptersError, Syncer, Unload, parse_adapters

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
    p.add_argument(
        "--vllm-url", required=True, help="the runtime's own API in the pod (http://127.0.0.1:8000)"
    )
    p.add_argument(
        "--vllm-ca",
        type=Path,
        default=None,
        help="the certificate an https --vllm-url is verified with",
    )
    p.add_argument("--region", default=None, help="the buckets' AWS region")
    p.add_argument("--s3-endpoint", default=None, help="an S3 endpoint URL (tests)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between passes")
    p.add_argument(
        "--grace", type=float, default=300.0, help="seconds a removed or replaced version stays"
    )
    p.add_argument(
        "--drain", type=float, default=60.0, help="seconds from unloading a version to deleting it"
    )
    p.add_argument("--retry", type=float, default=60.0, help="seconds before a failed retry")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    return p


def _read(path: Path, base_model: str) -> dict[str, Adapter]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdaptersError(f"{path}: cannot read the adapters file: {exc}") from None
    return parse_adapters(text, str(path), base_model)


def _s3(region: str | None, endpoint: str | None) -> Any:
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint)


def vllm_unload(url: str, ca: Path | None, timeout_s: float = 30.0) -> Unload:
    """``POST <url>/v1/unload_lora_adapter`` (vLLM, ``VLLM_ALLOW_RUNTIME_LORA_UPDATING``):
    200, or 404 (the name is not registered: never resolved, or vLLM restarted), means the
    runtime no longer has the name; anything else, or no answer, is the one-line reason."""

    def unload(name: str) -> str | None:
        context = None
        if url.startswith("https://"):
            # read each time: KServe renews the certificate, the kubelet updates the file
            context = ssl.create_default_context(cafile=str(ca) if ca else None)
        req = urllib.request.Request(
            url.rstrip("/") + "/v1/unload_lora_adapter",
            data=json.dumps({"lora_name": name}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout_s, context=context):
                return None
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            return f"{url} answered {exc.code}: {exc.read()[:200].decode(errors='replace')}"
        except (OSError, ssl.SSLError) as exc:
            return f"{url} did not answer: {exc}"

    return unload


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        for name in ("interval", "grace", "drain", "retry"):
            if getattr(args, name) < 0:
                raise ArgumentError(f"--{name}: got {getattr(args, name)}; accepted: >= 0")
        if not args.vllm_url.startswith(("http://", "https://")):
            raise ArgumentError(f"--vllm-url: got {args.vllm_url!r}; accepted: http(s)://host:port")
        if args.vllm_ca is not None and not args.vllm_url.startswith("https://"):
            raise ArgumentError("--vllm-ca: given with an http --vllm-url; accepted: https only")
        desired = _read(args.adapters, args.base_model)
        syncer = Syncer(
            _s3(args.region, args.s3_endpoint),
            args.dir,
            args.base_model_path,
            vllm_unload(args.vllm_url, args.vllm_ca),
            grace_s=args.grace,
            drain_s=args.drain,
            retry_s=args.retry,
        )
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
