"""``tenantry fleet preview|up|destroy``: drive per-tenant stacks with the Automation API."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
from pathlib import Path
from typing import Literal

import yaml

from ..fleet import AutomationRunner, CliMissing, FleetReport, StackRunner, run_fleet
from ..fleet.drain import KubectlNodeOps, NodeOps, PodOps
from ..fleet.migrollout import PoolNodes, rollout
from ..fleet.runner import GitRollback
from ..fleet.safety import data_retained
from ..fleet.waves import (
    Rollback,
    Verdict,
    Verify,
    WaveReport,
    plan_waves,
    run_waves,
    summary_lines,
)
from ..pipeline import STACK_CONFIG_CODES, STACKS_COMMAND
from ..plan.gitrefs import SHARED_PREFIXES, GitError, affected_tenants, changed_files
from ..planner import FleetPlan, extract_demands, plan
from ..spec import PLATFORM_STACK, PlatformSettings, ResolvedTenant
from ..spec.platform import PREVIOUS_PLAN_KEY
from ..stackconfig import stack_config_path
from ..verify.percentile import DEFAULT_REQUESTS
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    PREFIX,
    InvalidInput,
    UsageError,
    add_dirs,
    add_format,
    valid_registry,
    write_json,
)
from .verify import TOKEN_ENV


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
        default=None,
        help="stacks at once (each stack's providers use hundreds of MB; default 4, with "
        "--waves the platform setting rollout.parallel)",
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
        help="the GPU plan the cluster runs now (`tenantry gpu plan --format json`): the "
        "platform stack and --reconfigure-mig re-plan it with the minimal-disruption "
        "strategy instead of planning from scratch, so only GPUs whose tenants change are "
        "drained",
    )
    w = p.add_argument_group("rollout in waves (up only)")
    w.add_argument(
        "--waves",
        action="store_true",
        help="apply tenants one cohort at a time (rollout.cohorts in the platform settings; "
        "default: early-access, then shared, premium, isolated, dedicated), verify each "
        "tenant of a wave, stop at the first failing wave and roll its failed tenants back",
    )
    w.add_argument(
        "--verify-url",
        metavar="TEMPLATE",
        help="where `tenantry verify` reaches a model version: host:port with {tenant}, "
        "{model}, {version} and {host} (the model's external InferenceService host), e.g. "
        "'{model}-predictor.{tenant}.svc.cluster.local:80' from inside the cluster",
    )
    w.add_argument(
        "--verify-requests",
        type=int,
        default=DEFAULT_REQUESTS,
        help=f"latency sample per model version (default {DEFAULT_REQUESTS}: enough to judge a "
        "p99, see docs/verify.md)",
    )
    w.add_argument(
        "--verify-token-file",
        type=Path,
        metavar="FILE",
        help=f"file holding the bearer token verify sends (the gateway's; '-': stdin); "
        f"default: {TOKEN_ENV}",
    )
    w.add_argument(
        "--verify-token",
        help=f"the token itself: a fallback only (shell history and ps show it); prefer "
        f"{TOKEN_ENV} or --verify-token-file",
    )
    w.add_argument(
        "--skip-artifacts",
        action="store_true",
        help="verify does not read the buckets to check artifact digests",
    )
    w.add_argument(
        "--last-good",
        metavar="REF",
        help="roll failed tenants back to this commit instead of each stack's last "
        "successful update (its git.head in the stack history)",
    )
    add_dirs(p)
    add_format(p)
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
            raise UsageError(f"--changed-since {args.changed_since}: {exc}") from None
        names = [n for n in affected_tenants(changed, tenants) if n in tenants]
        return names, any(p.startswith(SHARED_PREFIXES) for p in changed)
    return sorted(tenants), args.action != "destroy"


def run(
    args: argparse.Namespace,
    runner: StackRunner | None = None,
    nodes: tuple[PoolNodes, NodeOps] | None = None,
    pods: PodOps | None = None,
    verify: Verify | None = None,
    rollback: Rollback | None = None,
) -> int:
    """``runner``, ``nodes`` (the cluster's node list and node operations), ``pods`` (who
    holds which GPU, evictions), and for ``--waves`` ``verify`` (one tenant) and
    ``rollback`` (last good states) default to the Automation API, kubectl, ``tenantry
    verify`` and git; tests inject their own."""
    if args.parallel is not None and args.parallel < 1:
        raise UsageError(f"--parallel must be at least 1, got {args.parallel}")
    if args.waves and args.action != "up":
        raise UsageError(f"--waves applies to up only, not {args.action}")
    if args.verify_requests < 1:
        raise UsageError(f"--verify-requests must be at least 1, got {args.verify_requests}")
    if args.waves and verify is None and not args.verify_url:
        raise UsageError(
            "--waves needs --verify-url TEMPLATE: each wave is gated by `tenantry verify` "
            "of its tenants (e.g. --verify-url '{model}-predictor.{tenant}.svc.cluster.local:80')"
        )
    platform, reg = valid_registry(args.tenants, args.stacks)
    names, with_platform = select(args, reg.tenants)
    unready = [
        dataclasses.replace(p, severity="error")
        for p in reg.problems
        if p.code in STACK_CONFIG_CODES and any(p.file == reg.files[n] for n in names)
    ]
    if unready:
        raise InvalidInput(
            f"{len(unready)} stack config(s) missing or out of date; run `{STACKS_COMMAND}` "
            "and commit them, then deploy",
            unready,
        )
    configs: dict[str, dict[str, object]] = {}
    for name in [*names, *([PLATFORM_STACK] if with_platform else [])]:
        path = stack_config_path(args.stacks, name)
        try:
            doc = yaml.safe_load(path.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"{path}: cannot read the stack config ({exc})") from None
        configs[name] = dict(doc.get("config", {})) if isinstance(doc, dict) else {}
    if runner is None:
        try:
            runner = AutomationRunner(Path.cwd())
        except CliMissing as exc:
            raise UsageError(str(exc).splitlines()[0]) from None
    lock = threading.Lock()

    def progress(stack: str, message: str) -> None:
        with lock:
            out = sys.stderr if args.format == "json" else sys.stdout
            print(f"[{stack}] {message}", file=out, flush=True)

    chosen = [reg.tenants[n] for n in names]
    previous = _previous_plan(args.previous_plan)
    if previous is not None and PLATFORM_STACK in configs:
        configs[PLATFORM_STACK][PREVIOUS_PLAN_KEY] = str(args.previous_plan.resolve())
    after_platform = None
    if args.reconfigure_mig and args.action == "up":
        # the verdict's GPU plan; re-planned from the cluster's current plan when given
        fleet_plan = (
            reg.fleet
            if previous is None
            else plan(extract_demands(list(reg.tenants.values()), platform), previous)
        )
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

    if args.waves:
        waves = plan_waves(chosen, platform.rollout)
        if rollback is None:
            rollback = GitRollback(Path.cwd(), _commit(args.last_good) if args.last_good else None)
        wave_report = run_waves(
            chosen,
            configs,
            runner,
            verify or _verifier(args, platform, args.tenants, args.stacks),
            waves,
            commit=_commit("HEAD"),
            rollback=rollback,
            parallel=args.parallel or platform.rollout.parallel,
            include_platform=with_platform,
            progress=progress,
            after_platform=after_platform,
        )
        if args.format == "json":
            write_json(
                {
                    "ok": wave_report.ok,
                    "commit": wave_report.commit,
                    "stoppedAt": wave_report.stopped_at,
                    "summary": summary_lines(wave_report, chosen),
                    "problems": [p.to_dict() for p in reg.problems],
                }
            )
        else:
            _wave_summary(wave_report, chosen)
        return EXIT_OK if wave_report.ok else EXIT_INVALID
    report = run_fleet(
        args.action,
        chosen,
        configs,
        runner,
        parallel=args.parallel or 4,
        include_platform=with_platform,
        force=args.force,
        progress=progress,
        after_platform=after_platform,
    )
    if args.format == "json":
        write_json(
            {
                "ok": report.ok,
                "action": report.action,
                "results": [
                    {"stack": r.stack, "ok": r.ok, "summary": r.summary} for r in report.results
                ],
                "refused": list(report.refused),
                "failed": list(report.failed),
                "problems": [p.to_dict() for p in reg.problems],
            }
        )
    else:
        _summary(report, chosen)
    return EXIT_OK if report.ok else EXIT_INVALID


def _commit(ref: str) -> str:
    """The commit ``ref`` names (``git rev-parse``), with ``+changes`` when HEAD and the
    working tree differ; ``working tree`` outside a git repository."""
    import subprocess

    proc = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        if ref == "HEAD":
            return "working tree"
        raise UsageError(f"--last-good {ref}: not a commit here ({proc.stderr.strip()})")
    sha = proc.stdout.strip()
    if ref == "HEAD":
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
        )
        if dirty.stdout.strip():
            return f"{sha}+changes"
    return sha


def _verifier(
    args: argparse.Namespace, platform: PlatformSettings, tenants_dir: Path, stacks_dir: Path
) -> Verify:
    """``tenantry verify`` of one tenant: each model version at ``--verify-url`` rendered
    for it; the verdict counts failed checks (skipped ones are not failures)."""
    from ..aws.names import tenant_names
    from ..spec.hosts import model_hosts
    from ..triton import model_config, serving_caps, versions
    from ..verify import EndpointError, TritonEndpoint, verify_tenant
    from .verify import bucket_reader

    template: str = args.verify_url
    bearer = verify_token(args)

    def verify(t: ResolvedTenant) -> Verdict:
        caps = serving_caps(t)
        artifacts = None
        if not args.skip_artifacts:
            bucket = tenant_names(t.name, t.region, platform).bucket_name
            artifacts = bucket_reader(bucket, t.region)
        failed, total, problems = 0, 0, []
        for m in t.models:
            host = next(
                h.name
                for h in model_hosts(m.name, t.name, platform.ingress)
                if h.route == "inference-service" and h.visibility == "external"
            )
            for v in versions(m):
                url = template.format(tenant=t.name, model=m.name, version=v, host=host)
                one = dataclasses.replace(t, models=(m,))
                generated = {(m.name, v): model_config(m, t.tier, caps, v, t.name)}
                revision: Literal["canary", "stable"] = (
                    "canary" if m.canary and v == m.canary.version else "stable"
                )
                try:
                    endpoint = TritonEndpoint(url, token=bearer)
                except EndpointError as exc:
                    failed, total = failed + 1, total + 1
                    problems.append(f"{m.name} v{v}: {exc}")
                    continue
                results = verify_tenant(
                    one,
                    endpoint,
                    generated,
                    requests=args.verify_requests,
                    revisions=revision,
                    artifacts=artifacts,
                )
                total += len(results)
                bad = [r for r in results if not r.ok]
                failed += len(bad)
                problems += [f"{m.name} v{v} {r.check}: {r.detail}" for r in bad]
        if failed:
            return Verdict(False, f"{failed} of {total} checks failed: " + "; ".join(problems))
        return Verdict(True, f"{total} checks passed")

    return verify


def verify_token(args: argparse.Namespace) -> str | None:
    """The token the wave gate's verify sends: ``--verify-token-file``, else
    ``TENANTRY_VERIFY_TOKEN``, else ``--verify-token`` (with a warning), as
    ``tenantry verify`` reads its own."""
    from .verify import token

    return token(argparse.Namespace(token_file=args.verify_token_file, token=args.verify_token))


def _wave_summary(report: WaveReport, tenants: list[ResolvedTenant]) -> None:
    for r in report.platform:
        print(f"{r.stack}: {'ok' if r.ok else 'FAILED'}  {r.summary}")
    print(f"\nrolled out: {report.commit}")
    for line in summary_lines(report, tenants):
        print(line)
    if report.stopped_at:
        print(
            f"{PREFIX}stopped at wave {report.stopped_at}: later waves were not applied; fix "
            "the failed tenants (listed above) and run again",
            file=sys.stderr,
        )


def _previous_plan(path: Path | None) -> FleetPlan | None:
    if path is None:
        return None
    try:
        return FleetPlan.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--previous-plan {path}: not a plan written by `tenantry gpu plan --format json` "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None


def _summary(report: FleetReport, tenants: list[ResolvedTenant]) -> None:
    for message in report.refused:
        print(f"{PREFIX}{message}", file=sys.stderr)
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
        print(
            f"{PREFIX}failed: {', '.join(report.failed)}; see each stack's output above, fix, "
            "and run again",
            file=sys.stderr,
        )
