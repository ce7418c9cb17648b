"""Rollouts in waves with an injected stack runner, verifier and rollback (the Pulumi CLI
cannot run here): wave order, bounded parallelism within a wave, the verification gate,
stop-on-failure, rollback of exactly the failed tenants, and the summary."""

from __future__ import annotations

import argparse
import dataclasses
import threading

import pytest

from tenantry.cli import fleet
from tenantry.cli.common import UsageError
from tenantry.fleet import StackResult
from tenantry.fleet.waves import (
    Verdict,
    Wave,
    plan_waves,
    run_waves,
    summary_lines,
)
from tenantry.spec import PlatformSettings, ResolvedTenant, load_registry
from tenantry.spec.platform import Cohort, RolloutSettings
from tests.conftest import ROOT, TENANTS
from tests.fleet.test_orchestrate import FakeRunner

NEW = "c0ffee0000000000000000000000000000000000"


@pytest.fixture(scope="module")
def tenants(platform: PlatformSettings) -> list[ResolvedTenant]:
    return list(load_registry([TENANTS], platform).tenants.values())


def tiered(tenants: list[ResolvedTenant], n: int = 2) -> list[ResolvedTenant]:
    """n copies of every example tenant (acme-0, acme-1, ...), so waves hold several."""
    return [dataclasses.replace(t, name=f"{t.name}-{i}") for t in tenants for i in range(n)]


class FakeVerify:
    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = set(failing)
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, t: ResolvedTenant) -> Verdict:
        with self.lock:
            self.calls.append(t.name)
        if t.name in self.failing:
            return Verdict(False, "1 of 14 checks failed: fraud-detector v12 warm: cold")
        return Verdict(True, "14 checks passed")


class FakeRollback:
    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.restored: list[tuple[str, str]] = []
        self.asked: list[str] = []

    def last_good(self, stack: str) -> str | None:
        self.asked.append(stack)
        return self.known.get(stack)

    def restore(self, stack: str, commit: str) -> StackResult:
        self.restored.append((stack, commit))
        return StackResult(stack, True, f"restored {commit[:12]}: 1 update")


def good_states(names: list[str]) -> dict[str, str]:
    return {n: f"{i:040x}" for i, n in enumerate(names, 1)}


def test_default_waves_early_access_then_tiers(tenants: list[ResolvedTenant]) -> None:
    waves = plan_waves(tenants, RolloutSettings())
    # globex (shared) opted into early access; the shared cohort is then empty and dropped
    assert waves == [
        Wave("early-access", ("globex",)),
        Wave("premium", ("acme",)),
        Wave("isolated", ("initech",)),
        Wave("dedicated", ("umbrella",)),
    ]


def test_named_cohorts_and_the_remaining_wave(tenants: list[ResolvedTenant]) -> None:
    rollout = RolloutSettings(
        cohorts=[
            Cohort(name="internal-canary", tenants=["initech"]),
            Cohort(name="shared-and-premium", tiers=["shared", "premium"]),
        ]
    )
    assert plan_waves(tenants, rollout) == [
        Wave("internal-canary", ("initech",)),
        Wave("shared-and-premium", ("acme", "globex")),
        Wave("remaining", ("umbrella",)),  # no cohort selects dedicated: nobody is skipped
    ]


def test_waves_run_in_order_with_bounded_parallelism(tenants: list[ResolvedTenant]) -> None:
    many = tiered(tenants, 3)
    waves = plan_waves(many, RolloutSettings())
    runner = FakeRunner(delay=0.03)
    order: list[str] = []
    lock = threading.Lock()

    def verify(t: ResolvedTenant) -> Verdict:
        with lock:
            order.append(t.name)
        return Verdict(True, "ok")

    report = run_waves(many, {}, runner, verify, waves, commit=NEW, parallel=2)
    assert report.ok and report.stopped_at is None
    assert runner.calls[0] == ("up", "platform")
    assert 1 < runner.max_running <= 2
    ups = [s for _, s in runner.calls[1:]]
    # every tenant of a wave is applied (and verified) before the next wave starts
    wave_of = {n: i for i, w in enumerate(waves) for n in w.tenants}
    assert [wave_of[n] for n in ups] == sorted(wave_of[n] for n in ups)
    assert [wave_of[n] for n in order] == sorted(wave_of[n] for n in order)
    assert all(o.state == "updated" for o in report.outcomes.values())


def test_a_failed_gate_stops_and_rolls_back_only_the_failed_tenants(
    tenants: list[ResolvedTenant],
) -> None:
    many = tiered(tenants, 2)
    waves = plan_waves(many, RolloutSettings())
    rollback = FakeRollback(good_states([t.name for t in many]))
    verify = FakeVerify(frozenset({"acme-1"}))
    runner = FakeRunner()
    report = run_waves(many, {}, runner, verify, waves, commit=NEW, rollback=rollback, parallel=2)
    assert not report.ok and report.stopped_at == "premium"
    applied = {s for _, s in runner.calls}
    assert applied == {"platform", "globex-0", "globex-1", "acme-0", "acme-1"}
    # later waves are not touched, the failed tenant alone goes back to its last good commit
    assert rollback.restored == [("acme-1", rollback.known["acme-1"])]
    o = report.outcomes
    assert o["acme-1"].state == "rolled-back" and o["acme-0"].state == "updated"
    assert o["initech-0"].state == "not-reached" and o["umbrella-1"].state == "not-reached"
    assert verify.calls.count("acme-1") == 2  # the gate, then after the rollback
    # what every tenant runs now
    assert o["acme-0"].runs(NEW) == NEW and o["globex-0"].runs(NEW) == NEW
    assert o["acme-1"].runs(NEW) == rollback.known["acme-1"]
    assert o["initech-0"].runs(NEW) == rollback.known["initech-0"]


def test_a_failed_up_is_rolled_back_too_and_unknown_history_is_said(
    tenants: list[ResolvedTenant],
) -> None:
    waves = plan_waves(tenants, RolloutSettings())
    rollback = FakeRollback({})  # no stack has a successful update with git metadata
    runner = FakeRunner(fail=frozenset({"globex"}))
    messages: list[tuple[str, str]] = []
    report = run_waves(
        tenants,
        {},
        runner,
        FakeVerify(),
        waves,
        commit=NEW,
        rollback=rollback,
        progress=lambda s, m: messages.append((s, m)),
    )
    assert report.stopped_at == "early-access" and rollback.restored == []
    assert ("globex", "no last good state known: left as it is") in messages
    assert report.outcomes["globex"].state == "failed"
    assert report.outcomes["globex"].runs(NEW) == f"{NEW} (failed, not rolled back)"
    assert [s for _, s in runner.calls] == ["platform", "globex"]


def test_a_failed_platform_applies_no_wave(tenants: list[ResolvedTenant]) -> None:
    runner = FakeRunner(fail=frozenset({"platform"}))
    report = run_waves(
        tenants, {}, runner, FakeVerify(), plan_waves(tenants, RolloutSettings()), commit=NEW
    )
    assert runner.calls == [("up", "platform")] and not report.ok
    assert {o.state for o in report.outcomes.values()} == {"platform-failed"}
    runner = FakeRunner()
    report = run_waves(
        tenants,
        {},
        runner,
        FakeVerify(),
        plan_waves(tenants, RolloutSettings()),
        commit=NEW,
        after_platform=lambda: "node-3: mig-manager reports failed",
    )
    assert runner.calls == [("up", "platform")] and report.platform[-1].stack == (
        "mig-reconfiguration"
    )


def test_a_crashing_verifier_fails_the_gate(tenants: list[ResolvedTenant]) -> None:
    def broken(t: ResolvedTenant) -> Verdict:
        raise ConnectionError("no route to host")

    report = run_waves(
        tenants, {}, FakeRunner(), broken, plan_waves(tenants, RolloutSettings()), commit=NEW
    )
    verdict = report.outcomes["globex"].verdict
    assert (
        verdict is not None and verdict.summary == "verify error: ConnectionError: no route to host"
    )
    assert report.stopped_at == "early-access"


def test_summary_says_who_runs_what(tenants: list[ResolvedTenant]) -> None:
    waves = plan_waves(tenants, RolloutSettings())
    rollback = FakeRollback(good_states(["globex", "acme", "initech", "umbrella"]))
    report = run_waves(
        tenants,
        {},
        FakeRunner(),
        FakeVerify(frozenset({"acme"})),
        waves,
        commit=NEW,
        rollback=rollback,
    )
    lines = summary_lines(report, tenants)
    assert lines[0].split() == ["WAVE", "TENANT", "OUTCOME", "RUNS", "MODELS"]
    globex = next(line for line in lines if " globex " in line)
    assert "updated" in globex and NEW in globex and "intent-classifier@7" in globex
    acme = next(line for line in lines if " acme " in line)
    assert "rolled back (1 of 14 checks failed" in acme and rollback.known["acme"] in acme
    initech = next(line for line in lines if " initech " in line)
    assert "not-reached" in initech and rollback.known["initech"] in initech


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    fleet.add(p.add_subparsers())
    return p.parse_args(["fleet", *argv])


def test_cli_fleet_up_waves(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rollback = FakeRollback(good_states(["globex", "acme", "initech", "umbrella"]))
    runner = FakeRunner()
    code = fleet.run(
        _args("up", "--waves", "--parallel", "1"),
        runner,
        verify=FakeVerify(frozenset({"initech"})),
        rollback=rollback,
    )
    assert code == 1
    out, err = capsys.readouterr()
    assert "[wave early-access] 1 tenant(s): globex" in out
    assert out.index("[wave premium]") < out.index("[wave isolated]")
    assert "[wave dedicated]" not in out  # stopped before it
    assert rollback.restored == [("initech", rollback.known["initech"])]
    assert "stopped at wave isolated: later waves were not applied" in err
    assert [s for _, s in runner.calls] == ["platform", "globex", "acme", "initech"]


def test_cli_waves_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(UsageError, match="--waves applies to up only"):
        fleet.run(_args("preview", "--waves"), FakeRunner())
    with pytest.raises(UsageError, match="--waves needs --verify-url"):
        fleet.run(_args("up", "--waves"), FakeRunner())
    with pytest.raises(UsageError, match="--verify-requests must be at least 1, got 0"):
        fleet.run(_args("up", "--waves", "--verify-requests", "0"), FakeRunner())
