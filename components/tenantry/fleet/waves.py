"""Rollouts in waves: tenants in cohorts, one cohort at a time, each gated by verification,
with the failed tenants rolled back. Pure orchestration over injected callables; the CLI
wires the Automation API, ``tenantry verify`` and git (``tenantry fleet up --waves``).

1. :func:`plan_waves` puts every tenant in the first cohort that selects it (the platform
   settings' ``rollout.cohorts``; by default an ``early-access`` cohort of the tenants with
   ``spec.rollout.earlyAccess``, then one per tier: shared, premium, isolated, dedicated);
   tenants no cohort selects form a last ``remaining`` wave; empty cohorts are dropped.
2. :func:`run_waves` applies the platform stack first (and the MIG rollout after it, like
   ``run_fleet``), then each wave: it records every tenant's last good state (the commit of
   its stack's last successful update), runs ``up`` on the wave's tenants at most
   ``parallel`` at once, verifies each tenant whose ``up`` succeeded, and if any tenant of
   the wave failed (``up`` or verification) rolls exactly those tenants back to their last
   good state, verifies them again, and stops: later waves are not touched.
3. The report says, per tenant, what it runs now: the new commit, its last good commit after
   a rollback, or (not reached, failed without a known good state) what it ran before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..spec import ResolvedTenant
from ..spec.model import Tier
from ..spec.platform import Cohort, RolloutSettings
from .orchestrate import Progress, guarded, platform_first
from .runner import StackResult, StackRunner

TIER_ORDER: tuple[Tier, ...] = ("shared", "premium", "isolated", "dedicated")
EARLY_ACCESS = "early-access"
REMAINING = "remaining"
Verify = Callable[[ResolvedTenant], "Verdict"]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    summary: str  # one line: "14 passed, 0 failed" or the failures


class Rollback(Protocol):
    """Where a tenant's last good state comes from and how it is restored."""

    def last_good(self, stack: str) -> str | None:
        """The commit (git SHA) of the stack's last successful update; None if unknown."""
        ...

    def restore(self, stack: str, commit: str) -> StackResult:
        """``up`` with the program and tenant file of ``commit``."""
        ...


@dataclass(frozen=True)
class Wave:
    name: str
    tenants: tuple[str, ...]


def default_cohorts() -> tuple[Cohort, ...]:
    return (
        Cohort(name=EARLY_ACCESS, early_access=True),
        *(Cohort(name=tier, tiers=[tier]) for tier in TIER_ORDER),
    )


def _selects(c: Cohort, t: ResolvedTenant) -> bool:
    return t.name in c.tenants or t.tier.name in c.tiers or (c.early_access and t.early_access)


def plan_waves(tenants: Iterable[ResolvedTenant], rollout: RolloutSettings) -> list[Wave]:
    """The waves, in order; every tenant in exactly one."""
    cohorts = tuple(rollout.cohorts) or default_cohorts()
    members: dict[str, list[str]] = {c.name: [] for c in cohorts}
    rest: list[str] = []
    for t in sorted(tenants, key=lambda t: t.name):
        c = next((c for c in cohorts if _selects(c, t)), None)
        (members[c.name] if c else rest).append(t.name)
    waves = [Wave(c.name, tuple(members[c.name])) for c in cohorts if members[c.name]]
    if rest:
        waves.append(Wave(REMAINING, tuple(rest)))
    return waves


State = Literal["updated", "rolled-back", "failed", "not-reached", "platform-failed"]


@dataclass
class TenantOutcome:
    tenant: str
    wave: str
    before: str | None  # last good commit before this rollout (None: unknown)
    up: StackResult | None = None
    verdict: Verdict | None = None
    rollback: StackResult | None = None
    after_rollback: Verdict | None = None
    state: State = "not-reached"

    @property
    def ok(self) -> bool:
        return self.state in ("updated", "not-reached")

    def runs(self, commit: str) -> str:
        """What the tenant's stack runs after the rollout."""
        if self.state == "updated":
            return commit
        if self.state == "rolled-back" and self.rollback is not None and self.rollback.ok:
            return self.before or "unknown"
        if self.state == "not-reached" or self.state == "platform-failed":
            return self.before or "unknown (no successful update recorded)"
        return f"{commit} (failed, not rolled back)"


@dataclass
class WaveReport:
    commit: str
    waves: list[Wave]
    platform: list[StackResult] = field(default_factory=list)
    outcomes: dict[str, TenantOutcome] = field(default_factory=dict)
    stopped_at: str | None = None  # the wave that failed

    @property
    def ok(self) -> bool:
        return (
            self.stopped_at is None
            and all(r.ok for r in self.platform)
            and all(o.ok for o in self.outcomes.values())
        )


def _parallel(fn: Callable[[str], object], names: Sequence[str], parallel: int) -> None:
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for _ in pool.map(fn, names):
            pass


def _verify(verify: Verify, t: ResolvedTenant) -> Verdict:
    try:
        return verify(t)
    except Exception as exc:  # the gate fails closed
        return Verdict(False, f"verify error: {type(exc).__name__}: {exc}")


def run_waves(
    tenants: Sequence[ResolvedTenant],
    configs: dict[str, dict[str, object]],
    runner: StackRunner,
    verify: Verify,
    waves: Sequence[Wave],
    *,
    commit: str,
    rollback: Rollback | None = None,
    parallel: int = 4,
    include_platform: bool = True,
    progress: Progress = lambda stack, msg: None,
    after_platform: Callable[[], str | None] | None = None,
) -> WaveReport:
    """Apply ``waves`` in order (see the module doc); ``commit`` names what is rolled out."""
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}")
    by_name = {t.name: t for t in tenants}
    report = WaveReport(commit, list(waves))
    for w in waves:
        for name in w.tenants:
            report.outcomes[name] = TenantOutcome(name, w.name, None)
    if include_platform:
        report.platform, stop = platform_first("up", runner, configs, progress, after_platform)
        if stop:
            for o in report.outcomes.values():
                o.state = "platform-failed"
            _record_before(report, rollback, list(report.outcomes))
            return report
    for w in waves:
        progress(f"wave {w.name}", f"{len(w.tenants)} tenant(s): {', '.join(w.tenants)}")
        _record_before(report, rollback, list(w.tenants))
        outcomes = [report.outcomes[n] for n in w.tenants]

        def apply(name: str) -> None:
            o = report.outcomes[name]
            progress(name, "up...")
            o.up = guarded(name, lambda: runner.run("up", name, configs.get(name, {})))
            progress(name, o.up.summary)
            if o.up.ok:
                o.verdict = _verify(verify, by_name[name])
                progress(name, f"verify: {o.verdict.summary}")
            o.state = "updated" if o.up.ok and o.verdict and o.verdict.ok else "failed"

        _parallel(apply, w.tenants, parallel)
        failed = [o.tenant for o in outcomes if o.state == "failed"]
        if not failed:
            continue
        report.stopped_at = w.name
        progress(f"wave {w.name}", f"failed: {', '.join(failed)}; rolling back, stopping")

        def restore(name: str) -> None:
            o = report.outcomes[name]
            if rollback is None or o.before is None:
                progress(name, "no last good state known: left as it is")
                return
            before = o.before
            progress(name, f"rolling back to {before}...")
            o.rollback = guarded(name, lambda: rollback.restore(name, before))
            progress(name, o.rollback.summary)
            if o.rollback.ok:
                o.state = "rolled-back"
                o.after_rollback = _verify(verify, by_name[name])
                progress(name, f"verify after rollback: {o.after_rollback.summary}")

        _parallel(restore, failed, parallel)
        rest = [n for v in waves[waves.index(w) + 1 :] for n in v.tenants]
        _record_before(report, rollback, rest)
        break
    return report


def _record_before(report: WaveReport, rollback: Rollback | None, names: Sequence[str]) -> None:
    if rollback is None:
        return
    for name in names:
        o = report.outcomes[name]
        if o.before is None:
            try:
                o.before = rollback.last_good(name)
            except Exception:  # unknown history: no rollback target, said in the summary
                o.before = None


def summary_lines(report: WaveReport, tenants: Sequence[ResolvedTenant]) -> list[str]:
    """One line per tenant: wave, outcome, what it runs now and its model versions."""
    by_name = {t.name: t for t in tenants}
    rows = [("WAVE", "TENANT", "OUTCOME", "RUNS", "MODELS")]
    for w in report.waves:
        for name in w.tenants:
            o = report.outcomes[name]
            t = by_name.get(name)
            models = (
                ", ".join(
                    f"{m.name}@{m.version}" + (f"+canary@{m.canary.version}" if m.canary else "")
                    for m in t.models
                )
                if t is not None and o.state == "updated"
                else "as at that commit"
            )
            what: str = o.state
            if o.state == "failed" and o.verdict is not None and not o.verdict.ok:
                what = f"failed verify ({o.verdict.summary})"
            elif o.state == "failed" and o.up is not None and not o.up.ok:
                what = f"failed up ({o.up.summary})"
            elif o.state == "rolled-back":
                reason = (
                    o.verdict.summary
                    if o.verdict is not None and not o.verdict.ok
                    else (o.up.summary if o.up else "")
                )
                what = f"rolled back ({reason})"
            rows.append((w.name, name, what, o.runs(report.commit), models))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [
        "  ".join(c.ljust(wd) for c, wd in zip(r[:4], widths, strict=True)) + "  " + r[4]
        for r in rows
    ]
