"""``tenantry digest DIR``: the artifact digest of a model directory, for the tenant file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import EXIT_OK, UsageError, add_format, write_json


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "digest",
        help="print the artifact digest (sha256:...) of a model version's directory",
        description="Print the digest that spec.models[].artifact.digest declares for a model "
        "version: sha256 over the files of its Triton version directory (the directory "
        "uploaded to models/<model>/v<version>/<model>/<version>/), walked as "
        "docs/operations.md defines.",
    )
    p.add_argument("directory", type=Path, metavar="DIR")
    add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..artifacts import DigestError, directory_digest

    try:
        digest = directory_digest(args.directory)
    except (DigestError, OSError) as exc:
        raise UsageError(
            f"digest {args.directory}: {exc}; pass the model version's directory"
        ) from None
    if args.format == "json":
        write_json({"directory": str(args.directory), "digest": digest})
    else:
        print(digest)
    return EXIT_OK
