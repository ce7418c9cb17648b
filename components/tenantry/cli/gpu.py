"""``tenantry gpu plan``: MIG layouts and node counts for the fleet, or for an ad-hoc demand."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from ..pipeline import check
from ..planner import DemandError, FleetPlan, PoolPlan, adhoc_demand, extract_demands, plan
from ..planner.demand import check_gpu_model
from ..planner.fleet import EXTRA_GPUS, STRATEGIES
from ..spec.errors import errors
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    PREFIX,
    InvalidInput,
    UsageError,
    add_format,
    platform_from,
    write_json,
)

# Problems the planner itself reports (the plan shows them): not a reason to hide the plan.
FLEET_CODES = frozenset({"node_group_too_small", "shared_pool_too_small", "pool_unplannable"})


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gpu", help="plan MIG layouts and GPU node counts")
    gsub = p.add_subparsers(dest="gpu_command", required=True, metavar="SUBCOMMAND")
    pp = gsub.add_parser("plan", help="plan the fleet from tenant files, or an ad-hoc demand")
    pp.add_argument(
        "--tenants",
        type=Path,
        action="append",
        help="tenant files or directories (default: tenants/)",
    )
    pp.add_argument(
        "--stacks",
        type=Path,
        default=Path("stacks"),
        help="directory with Pulumi.platform.yaml (default: stacks/)",
    )
    pp.add_argument("--gpu", help="ad-hoc: GPU model, e.g. H100-80GB")
    pp.add_argument(
        "--demand",
        action="append",
        default=[],
        metavar="PROFILE=COUNT",
        help="ad-hoc: instances of a MIG profile (or gpu=N), repeatable",
    )
    pp.add_argument(
        "--previous",
        type=Path,
        help="a previous plan (from --format json): re-plan it instead of planning from scratch",
    )
    pp.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="minimal-disruption",
        help="with --previous: minimal-disruption (default) leaves GPUs holding other "
        "tenants' slices alone within --extra-gpus of a fresh plan; fewest-gpus never uses "
        "more GPUs than a fresh plan",
    )
    pp.add_argument(
        "--extra-gpus",
        type=int,
        default=EXTRA_GPUS,
        metavar="N",
        help=f"GPUs per pool a minimal-disruption re-plan may add over a fresh plan "
        f"(default {EXTRA_GPUS})",
    )
    add_format(pp, "mig-parted")
    pp.set_defaults(func=run)


def _parse_demand(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        profile, sep, count = item.partition("=")
        if not sep or not profile.strip():
            raise DemandError(f"--demand {item!r}: expected PROFILE=COUNT, e.g. 1g.10gb=3")
        try:
            n = int(count)
        except ValueError:
            raise DemandError(
                f"--demand {item!r}: count {count!r} is not an integer; "
                f"accepted: a positive integer"
            ) from None
        if n < 1:
            raise DemandError(f"--demand {item!r}: count must be a positive integer, got {n}")
        out[profile.strip()] = out.get(profile.strip(), 0) + n
    return out


def _previous(path: Path | None) -> FleetPlan | None:
    if path is None:
        return None
    try:
        data: Any = json.loads(path.read_text("utf-8"))
        return FleetPlan.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DemandError(
            f"--previous {path}: not a plan written by `tenantry gpu plan --format json` ({first})"
        ) from exc


def run(args: argparse.Namespace) -> int:
    try:
        if args.extra_gpus < 0:
            raise DemandError(f"--extra-gpus must be 0 or more, got {args.extra_gpus}")
        previous = _previous(args.previous)
        if args.gpu is not None or args.demand:
            if args.gpu is None:
                raise DemandError("--demand needs --gpu MODEL (e.g. --gpu H100-80GB)")
            if args.tenants:
                raise UsageError("--tenants and --gpu/--demand are exclusive; give one")
            check_gpu_model(args.gpu)
            demands = [adhoc_demand(args.gpu, _parse_demand(args.demand))]
        else:
            paths = args.tenants or [Path("tenants")]
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                raise UsageError(
                    f"{', '.join(missing)}: no such file or directory; pass --tenants PATH"
                )
            platform = platform_from(args.stacks)
            reg = check(paths, platform, stacks_dir=args.stacks)
            errs = [p for p in errors(reg.problems) if p.code not in FLEET_CODES]
            if errs:
                raise InvalidInput(
                    f"{len(errs)} error(s) in the tenant files; fix them first "
                    "(`tenantry validate`)",
                    errs,
                )
            demands = extract_demands(reg.tenants.values(), platform)
    except DemandError as exc:
        raise InvalidInput(str(exc)) from None
    fleet = plan(demands, previous=previous, strategy=args.strategy, extra_gpus=args.extra_gpus)
    if args.format == "json":
        write_json(fleet.to_dict())
    elif args.format == "mig-parted":
        sys.stdout.write(yaml.safe_dump(fleet.to_dict()["mig_parted"], sort_keys=False))
    else:
        _print_text(fleet)
    if args.format != "json" and fleet.errors:
        for e in fleet.errors:
            print(f"{PREFIX}{e}", file=sys.stderr)
        print(
            f"{PREFIX}the plan cannot be deployed; raise the pool's maxNodes (a node "
            "group's maxSize) or lower the demand",
            file=sys.stderr,
        )
    return EXIT_INVALID if fleet.errors else EXIT_OK


def _print_text(fleet: FleetPlan) -> None:
    for p in fleet.pools:
        used = [g for g in p.gpus if g.used]
        ratio = f"{len(used) / p.lower_bound:.2f}" if p.lower_bound else "-"
        print(
            f"{p.kind} {p.name}: {p.gpu_model} on {p.instance_type or '-'}, {p.nodes} node(s), "
            f"{len(used)} GPU(s) configured, lower bound {p.lower_bound} (ratio {ratio}), "
            f"nodes bound by {_bound(p)}"
        )
        if p.allocatable is not None:
            a = p.allocatable
            print(
                f"  allocatable per node: {a.cpu_m}m CPU, {a.memory_mib} MiB, {a.pods} pods "
                "(less kubeReserved, eviction threshold and node agents)"
            )
        for node, r in enumerate(p.node_requests):
            print(f"  node {node} requests: {r.cpu_m}m CPU, {r.memory_mib} MiB, {r.pods} pods")
        for node, label in enumerate(p.node_configs):
            print(f"  node {node}: nvidia.com/mig.config={label}")
        for g in used:
            cells = ", ".join(
                f"{s.profile}@{s.start}"
                + (f" {s.tenant}/{s.model or s.role}" if s.tenant else f" ({s.role})")
                for s in g.slots
            )
            print(f"    gpu {g.node}/{g.index} [{g.group}]: {cells}")
        kept = set(p.reconfigured)
        for n, i, tenants in p.disturbed:
            who = f" (drains {', '.join(tenants)})" if tenants else " (no tenant's slices)"
            what = "drain, then reconfigure" if (n, i) in kept else "drain, node removed"
            print(f"  {what}: node {n} gpu {i}{who}")
        for w in p.warnings:
            print(f"  warning: {w}")


def _bound(p: PoolPlan) -> str:
    """What set the pool's node count: its GPU slices, or a resource of each node."""
    if p.bound_by == "gpu":
        return "GPU slices"
    what = {"cpu": "CPU", "memory": "memory", "pods": "pod slots"}.get(p.bound_by, p.bound_by)
    return f"{what} ({p.gpu_nodes} node(s) would hold the GPU slices)"
