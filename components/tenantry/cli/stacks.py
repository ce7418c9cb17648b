"""``tenantry stacks``: generate or check ``stacks/Pulumi.<tenant>.yaml`` from ``tenants/``."""

from __future__ import annotations

import argparse
import sys

from ..spec import PLATFORM_STACK
from ..stackconfig import stack_config_path, stack_config_text, tenants_ref
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    PREFIX,
    add_dirs,
    add_format,
    valid_registry,
    write_json,
)


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stacks", help="generate (--write) or check the per-tenant stack configs")
    add_dirs(p)
    p.add_argument(
        "--write", action="store_true", help="write missing/stale configs, remove orphans"
    )
    add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _platform, reg = valid_registry(args.tenants, args.stacks)
    stale = []
    wanted = {}
    where = tenants_ref(args.tenants, args.stacks)
    for name, tenant in sorted(reg.tenants.items()):
        path = stack_config_path(args.stacks, name)
        wanted[path.name] = text = stack_config_text(tenant, where)
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
        for path in orphans:
            path.unlink()
    if args.format == "json":
        write_json(
            {
                "ok": args.write or not (stale or orphans),
                "written" if args.write else "stale": [str(p) for p in stale],
                "removed" if args.write else "orphans": [str(p) for p in orphans],
                "upToDate": len(wanted) - len(stale),
            }
        )
        return EXIT_OK if args.write or not (stale or orphans) else EXIT_INVALID
    if args.write:
        for path in stale:
            print(f"wrote {path}")
        for path in orphans:
            print(f"removed {path} (no tenant file)")
        return EXIT_OK
    for path in stale:
        print(
            f"{PREFIX}{path}: missing or out of date; run `tenantry stacks --write`",
            file=sys.stderr,
        )
    for path in orphans:
        print(
            f"{PREFIX}{path}: no tenant file for this stack; run `tenantry stacks --write`",
            file=sys.stderr,
        )
    if stale or orphans:
        return EXIT_INVALID
    print(f"{len(wanted)} tenant stack config(s) up to date")
    return EXIT_OK
