"""``tenantry stacks``: generate or check ``stacks/Pulumi.<tenant>.yaml`` from ``tenants/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..spec import PLATFORM_STACK
from ..stackconfig import stack_config_path, stack_config_text
from .common import EXIT_INVALID, EXIT_OK, valid_registry


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stacks", help="generate (--write) or check the per-tenant stack configs")
    p.add_argument("--tenants", type=Path, default=Path("tenants"))
    p.add_argument("--stacks", type=Path, default=Path("stacks"))
    p.add_argument(
        "--write", action="store_true", help="write missing/stale configs, remove orphans"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _platform, reg = valid_registry([args.tenants], args.stacks)
    stale = []
    wanted = {}
    for name, tenant in sorted(reg.tenants.items()):
        path = stack_config_path(args.stacks, name)
        wanted[path.name] = text = stack_config_text(tenant, args.tenants.as_posix())
        if not path.exists() or path.read_text("utf-8") != text:
            stale.append(path)
    orphans = sorted(
        p
        for p in args.stacks.glob("Pulumi.*.yaml")
        if p.name not in wanted and p.name != f"Pulumi.{PLATFORM_STACK}.yaml"
    )
    if args.write:
        for path in stale:
            path.write_text(wanted[path.name], "utf-8")
            print(f"wrote {path}")
        for path in orphans:
            path.unlink()
            print(f"removed {path} (no tenant file)")
        return EXIT_OK
    for path in stale:
        print(f"{path}: missing or out of date; run `tenantry stacks --write`", file=sys.stderr)
    for path in orphans:
        print(
            f"{path}: no tenant file for this stack; run `tenantry stacks --write`", file=sys.stderr
        )
    if stale or orphans:
        return EXIT_INVALID
    print(f"{len(wanted)} tenant stack config(s) up to date")
    return EXIT_OK
