"""``tenantry validate``: the one verdict on the tenant files; every problem, exit 0/1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ..pipeline import check
from ..spec import to_data
from ..spec.errors import errors
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    PREFIX,
    UsageError,
    add_format,
    base_ref,
    platform_from,
    print_problems,
    require_tenants,
    write_json,
)


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help="check tenant files (default: tenants/): everything plan, render and deploy "
        "would refuse",
    )
    p.add_argument("paths", nargs="*", type=Path, default=[Path("tenants")])
    p.add_argument(
        "--stacks",
        type=Path,
        default=Path("stacks"),
        help="Pulumi.platform.yaml and the stack configs (default: stacks/)",
    )
    p.add_argument(
        "--base",
        metavar="REF",
        help="also check rollouts against the tenant files at git REF (a canary needs its "
        "stable version deployed there)",
    )
    add_format(p)
    p.add_argument(
        "--resolved",
        action="store_true",
        help="also print each valid tenant's resolved spec (tier defaults applied)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(
            f"{', '.join(map(str, missing))}: no such file or directory; pass tenant files or "
            "a directory of them (default: tenants/)"
        )
    platform = platform_from(args.stacks)
    one_dir = args.paths[0] if len(args.paths) == 1 and args.paths[0].is_dir() else None
    if args.base and one_dir is None:
        raise UsageError("--base needs one directory of tenant files (e.g. tenants/)")
    reg = check(
        args.paths,
        platform,
        stacks_dir=args.stacks,
        tenants_dir=one_dir,
        base=base_ref(args.base, one_dir) if one_dir else None,
    )
    if one_dir is not None:
        require_tenants(reg, one_dir)
    errs = errors(reg.problems)
    if args.format == "json":
        out = {
            "ok": not errs,
            "tenants": sorted(reg.tenants),
            "problems": [p.to_dict() for p in reg.problems],
        }
        if args.resolved:
            out["resolved"] = {n: to_data(t) for n, t in sorted(reg.tenants.items())}
        write_json(out)
    else:
        print_problems(reg.problems, "text", sys.stderr if errs else sys.stdout)
        if args.resolved:
            for name, tenant in sorted(reg.tenants.items()):
                sys.stdout.write(f"--- # {name} (resolved)\n")
                sys.stdout.write(yaml.safe_dump(to_data(tenant), sort_keys=False))
        warnings = len(reg.problems) - len(errs)
        summary = f"{len(reg.tenants)} tenant(s) valid, {len(errs)} error(s), {warnings} warning(s)"
        if errs:
            sys.stderr.write(f"{PREFIX}{summary}; fix the errors listed above\n")
        else:
            sys.stdout.write(summary + "\n")
    return EXIT_INVALID if errs else EXIT_OK
