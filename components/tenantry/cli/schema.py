"""``tenantry schema``: print the tenant file's JSON Schema (JSON, or YAML)."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from ..spec import json_schema_text
from .common import EXIT_OK


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help="print the tenant file's JSON Schema")
    p.add_argument(
        "--format", choices=["json", "yaml"], default="json", help="output format (default: json)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = json_schema_text()
    if args.format == "yaml":
        text = yaml.safe_dump(json.loads(text), sort_keys=False)
    sys.stdout.write(text)
    return EXIT_OK
