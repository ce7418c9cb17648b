"""Fleet operations over per-tenant stacks: selection, ordering, bounded parallelism,
failure aggregation and destroy protection. Pure orchestration over a :class:`StackRunner`.

Ordering: ``up`` and ``preview`` run the platform stack first, then tenants (a failed platform
``up`` skips every tenant: they stand on its outputs); ``destroy`` runs tenants first and the
platform only when asked for by name, last. Reruns are idempotent because each stack's
desired state is a pure function of its files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from ..spec import PLATFORM_STACK, ResolvedTenant
from .runner import Action, StackResult, StackRunner
from .safety import data_at_risk

Progress = Callable[[str, str], None]  # (stack, message)


@dataclass
class FleetReport:
    action: Action
    results: list[StackResult] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # destroy protection messages

    @property
    def failed(self) -> list[str]:
        return [r.stack for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.refused


def _skipped(stack: str, why: str) -> StackResult:
    return StackResult(stack, False, f"skipped: {why}")


def guarded(stack: str, call: Callable[[], StackResult]) -> StackResult:
    """``call()``, or a failed result naming the exception it raised: a runner bug must not
    hide the other stacks' results."""
    try:
        return call()
    except Exception as exc:
        return StackResult(stack, False, f"error: {type(exc).__name__}: {exc}")


def platform_first(
    action: Action,
    runner: StackRunner,
    configs: dict[str, dict[str, object]],
    progress: Progress,
    after_platform: Callable[[], str | None] | None,
) -> tuple[list[StackResult], str | None]:
    """Run ``action`` on the platform stack and, after a successful ``up``, ``after_platform``
    (the MIG reconfiguration; it returns a failure message or None). Returns the results and
    why the tenant stacks must not run (None: they may)."""
    progress(PLATFORM_STACK, f"{action}...")
    result = guarded(
        PLATFORM_STACK, lambda: runner.run(action, PLATFORM_STACK, configs.get(PLATFORM_STACK, {}))
    )
    progress(PLATFORM_STACK, result.summary)
    if action != "up":
        return [result], None
    if not result.ok:
        return [result], "the platform stack failed"
    failure = after_platform() if after_platform else None
    if failure:
        return [result, StackResult("mig-reconfiguration", False, failure)], (
            "MIG reconfiguration failed"
        )
    return [result], None


def run_fleet(
    action: Action,
    tenants: Sequence[ResolvedTenant],
    configs: dict[str, dict[str, object]],
    runner: StackRunner,
    *,
    parallel: int = 4,
    include_platform: bool = True,
    force: bool = False,
    progress: Progress = lambda stack, msg: None,
    after_platform: Callable[[], str | None] | None = None,
) -> FleetReport:
    """Run ``action`` on the platform stack (if included) and every tenant stack."""
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}")
    report = FleetReport(action)
    names = sorted(t.name for t in tenants)
    if action == "destroy" and not force:
        for t in sorted(tenants, key=lambda t: t.name):
            for loss in data_at_risk(t):
                report.refused.append(f"refusing to destroy {loss}; pass --force to accept")
        if report.refused:
            return report
    if action in ("preview", "up") and include_platform:
        results, stop = platform_first(action, runner, configs, progress, after_platform)
        report.results += results
        if stop:
            report.results += [_skipped(n, stop) for n in names]
            return report
    report.results += _run_parallel(action, names, configs, runner, parallel, progress)
    if action == "destroy" and include_platform:
        if report.failed:
            report.results.append(_skipped(PLATFORM_STACK, "tenant stacks failed to destroy"))
        else:
            progress(PLATFORM_STACK, "destroy...")
            report.results.append(
                runner.run("destroy", PLATFORM_STACK, configs.get(PLATFORM_STACK, {}))
            )
    return report


def _run_parallel(
    action: Action,
    names: list[str],
    configs: dict[str, dict[str, object]],
    runner: StackRunner,
    parallel: int,
    progress: Progress,
) -> list[StackResult]:
    results: dict[str, StackResult] = {}
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {}
        for name in names:
            progress(name, f"{action}...")
            futures[pool.submit(runner.run, action, name, configs.get(name, {}))] = name
        for future in as_completed(futures):
            name = futures[future]
            result = guarded(name, future.result)
            results[name] = result
            progress(name, result.summary)
    return [results[n] for n in names]
