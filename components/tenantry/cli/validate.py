"""``tenantry validate``: check tenant files; print every problem; exit 0/1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from ..spec import load_registry, to_data
from ..spec.errors import errors
from .common import EXIT_INVALID, EXIT_OK, platform_from, print_problems


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check tenant files (default: tenants/)")
    p.add_argument("paths", nargs="*", type=Path, default=[Path("tenants")])
    p.add_argument(
        "--stacks",
        type=Path,
        default=Path("stacks"),
        help="directory with Pulumi.platform.yaml (default: stacks/)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--resolved",
        action="store_true",
        help="also print each valid tenant's resolved spec (tier defaults applied)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    platform = platform_from(args.stacks)
    reg = load_registry(args.paths, platform)
    errs = errors(reg.problems)
    if args.format == "json":
        out = {
            "ok": not errs,
            "tenants": sorted(reg.tenants),
            "problems": [p.to_dict() for p in reg.problems],
        }
        if args.resolved:
            out["resolved"] = {n: to_data(t) for n, t in sorted(reg.tenants.items())}
        json.dump(out, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print_problems(reg.problems, "text", sys.stderr if errs else sys.stdout)
        if args.resolved:
            for name, tenant in sorted(reg.tenants.items()):
                sys.stdout.write(f"--- # {name} (resolved)\n")
                sys.stdout.write(yaml.safe_dump(to_data(tenant), sort_keys=False))
        warnings = len(reg.problems) - len(errs)
        summary = f"{len(reg.tenants)} tenant(s) valid, {len(errs)} error(s), {warnings} warning(s)"
        (sys.stderr if errs else sys.stdout).write(summary + "\n")
    return EXIT_INVALID if errs else EXIT_OK
