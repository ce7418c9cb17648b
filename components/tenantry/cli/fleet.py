"""``tenantry fleet preview|up|destroy``: drive per-tenant stacks with the Automation API."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

import yaml

from ..fleet import AutomationRunner, CliMissing, FleetReport, StackRunner, run_fleet
from ..fleet.drain import KubectlNodeOps, NodeOps, PodOps
from ..fleet.migrollout import PoolNodes, rollout
from ..fleet.safety import data_retained
from ..plan.gitrefs import SHARED_PREFIXES, GitError, affected_tenants, changed_files
from ..planner import FleetPlan, extract_demands, plan
from ..spec import PLATFORM_STACK, ResolvedTenant
from ..spec.platform import PREVIOUS_PLAN_KEY
from ..stackconfig import stack_config_path
from .common import EXIT_INVALID, EXIT_OK, UsageError, valid_registry


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fleet", help="preview, deploy or destroy many stacks (needs Pulumi CLI)")
    p.add_argument("action", choices=["preview", "up", "destroy"])
    p.add_argument(
        "--tenant",
        action="append",
        default=[],
        metavar="T",
        help="only these stacks (repeatable; 'platform' names the platform stack)",
    )
    p.add_argument(
        "--changed-since",
        metavar="REF",
        help="only tenants whose file, or the shared code, changed since REF",
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=4,
        help="stacks at once (each stack's providers use hundreds of MB; default 4)",
    )
    p.add_argument(
        "--force", action="store_true", help="destroy even when a tenant's data would be lost"
    )
    p.add_argument(
        "--reconfigure-mig",
        action="store_true",
        help="on up: after the platform stack, move every GPU node to its planned "
        "MIG layout (cordon, drain, relabel, wait for mig-manager, uncordon)",
    )
    p.add_argument(
        "--previous-plan",
        type=Path,
        metavar="PLAN",
        help="the GPU plan the cluster runs now (`tenantry gpu plan --json`): the platform "
        "stack and --reconfigure-mig re-plan it with the minimal-disruption strategy instead "
        "of planning from scratch, so only GPUs whose tenants change are drained",
    )
    p.add_argument("--tenants", type=Path, default=Path("tenants"))
    p.add_argument("--stacks", type=Path, default=Path("stacks"))
    p.set_defaults(func=run)


def select(args: argparse.Namespace, tenants: dict[str, ResolvedTenant]) -> tuple[list[str], bool]:
    """(tenant names, whether the platform stack is included)."""
    if args.tenant:
        unknown = sorted(set(args.tenant) - set(tenants) - {PLATFORM_STACK})
        if unknown:
            raise UsageError(
                f"unknown tenant(s): {', '.join(unknown)}; accepted: "
                f"{', '.join([PLATFORM_STACK, *sorted(tenants)])}"
            )
        return sorted(set(args.tenant) - {PLATFORM_STACK}), PLATFORM_STACK in args.tenant
    if args.changed_since:
        try:
            changed = changed_files(Path.cwd(), args.changed_since)
        except GitError as exc:
            raise UsageError(str(exc)) from exc
        names = [n for n in affected_tenants(changed, tenants) if n in tenants]
        return names, any(p.startswith(SHARED_PREFIXES) for p in changed)
    return sorted(tenants), args.action != "destroy"


def run(
    args: argparse.Namespace,
    runner: StackRunner | None = None,
    nodes: tuple[PoolNodes, NodeOps] | None = None,
    pods: PodOps | None = None,
) -> int:
    """``runner``, ``nodes`` (the cluster's node list and node operations) and ``pods`` (who
    holds which GPU, evictions) default to the Automation API and kubectl; tests inject
    their own."""
    if args.parallel < 1:
        raise UsageError(f"--parallel must be at least 1, got {args.parallel}")
    platform, reg = valid_registry([args.tenants], args.stacks)
    names, with_platform = select(args, reg.tenants)
    configs: dict[str, dict[str, object]] = {}
    for name in [*names, *([PLATFORM_STACK] if with_platform else [])]:
        doc = yaml.safe_load(stack_config_path(args.stacks, name).read_text("utf-8"))
        configs[name] = dict(doc.get("config", {}))
    if runner is None:
        try:
            runner = AutomationRunner(Path.cwd())
        except CliMissing as exc:
            raise UsageError(str(exc)) from exc
    lock = threading.Lock()

    def progress(stack: str, message: str) -> None:
        with lock:
            print(f"[{stack}] {message}", flush=True)

    chosen = [reg.tenants[n] for n in names]
    previous = _previous_plan(args.previous_plan)
    if previous is not None and PLATFORM_STACK in configs:
        configs[PLATFORM_STACK][PREVIOUS_PLAN_KEY] = str(args.previous_plan.resolve())
    after_platform = None
    if args.reconfigure_mig and args.action == "up":
        fleet_plan = plan(extract_demands(list(reg.tenants.values()), platform), previous)
        if nodes is None:
            kubectl = KubectlNodeOps()
            nodes, pods = (kubectl, kubectl), kubectl
        cluster, ops = nodes

        def after_platform() -> str | None:
            return rollout(
                fleet_plan,
                cluster,
                ops,
                log=lambda msg: progress("mig-reconfiguration", msg),
                previous=previous,
                pods=pods,
            )

    report = run_fleet(
        args.action,
        chosen,
        configs,
        runner,
        parallel=args.parallel,
        include_platform=with_platform,
        force=args.force,
        progress=progress,
        after_platform=after_platform,
    )
    _summary(report, chosen)
    return EXIT_OK if report.ok else EXIT_INVALID


def _previous_plan(path: Path | None) -> FleetPlan | None:
    if path is None:
        return None
    try:
        return FleetPlan.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--previous-plan {path}: not a plan written by `tenantry gpu plan --json` ({exc})"
        ) from exc


def _summary(report: FleetReport, tenants: list[ResolvedTenant]) -> None:
    for message in report.refused:
        print(message, file=sys.stderr)
    if report.results:
        width = max(len(r.stack) for r in report.results)
        print(f"\n{'STACK'.ljust(width)}  RESULT  SUMMARY")
        for r in report.results:
            print(f"{r.stack.ljust(width)}  {'ok' if r.ok else 'FAILED':6}  {r.summary}")
    if report.action == "destroy" and report.ok:
        for t in tenants:
            for kept in data_retained(t):
                print(f"retained: {kept}")
    if report.failed:
        print(f"failed: {', '.join(report.failed)}", file=sys.stderr)
