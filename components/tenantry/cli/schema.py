"""``tenantry schema``: print the tenant file's JSON Schema."""

from __future__ import annotations

import argparse
import sys

from ..spec import json_schema_text
from .common import EXIT_OK


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help="print the tenant file's JSON Schema")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(json_schema_text())
    return EXIT_OK
