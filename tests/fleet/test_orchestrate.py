"""Fleet orchestration with an injected stack runner: ordering, concurrency, failures,
destroy protection."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from tenantry.fleet import StackResult, run_fleet
from tenantry.spec import PlatformSettings, ResolvedTenant, load_registry
from tests.conftest import TENANTS


class FakeRunner:
    def __init__(
        self,
        fail: frozenset[str] = frozenset(),
        delay: float = 0.0,
        crash: frozenset[str] = frozenset(),
    ) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail, self.delay, self.crash = fail, delay, crash
        self.running = 0
        self.max_running = 0
        self.lock = threading.Lock()

    def run(self, action: str, stack: str, config: dict[str, object]) -> StackResult:
        with self.lock:
            self.calls.append((action, stack))
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.delay)
        with self.lock:
            self.running -= 1
        if stack in self.crash:
            raise RuntimeError("runner bug")
        if stack in self.fail:
            return StackResult(stack, False, "error: boom")
        return StackResult(stack, True, "1 create", {"create": 1})


@pytest.fixture(scope="module")
def tenants(platform: PlatformSettings) -> list[ResolvedTenant]:
    return list(load_registry([TENANTS], platform).tenants.values())


def test_up_runs_platform_first_then_tenants(tenants: list[ResolvedTenant]) -> None:
    runner = FakeRunner()
    report = run_fleet("up", tenants, {}, runner, parallel=2)
    assert runner.calls[0] == ("up", "platform")
    assert sorted(s for _, s in runner.calls[1:]) == ["acme", "globex", "initech", "umbrella"]
    assert report.ok and report.results[0].stack == "platform"


def test_bounded_parallelism(tenants: list[ResolvedTenant]) -> None:
    runner = FakeRunner(delay=0.05)
    run_fleet("preview", tenants, {}, runner, parallel=2, include_platform=False)
    assert runner.max_running == 2
    runner = FakeRunner(delay=0.05)
    run_fleet("preview", tenants, {}, runner, parallel=1, include_platform=False)
    assert runner.max_running == 1


def test_failures_are_aggregated_and_named(tenants: list[ResolvedTenant]) -> None:
    runner = FakeRunner(fail=frozenset({"acme", "umbrella"}), crash=frozenset({"globex"}))
    report = run_fleet("up", tenants, {}, runner, parallel=3)
    assert report.failed == ["acme", "globex", "umbrella"]
    crashed = next(r for r in report.results if r.stack == "globex")
    assert crashed.summary == "error: RuntimeError: runner bug"
    assert not report.ok


def test_failed_platform_skips_tenants_on_up(tenants: list[ResolvedTenant]) -> None:
    runner = FakeRunner(fail=frozenset({"platform"}))
    report = run_fleet("up", tenants, {}, runner)
    assert runner.calls == [("up", "platform")]
    assert all(r.summary == "skipped: the platform stack failed" for r in report.results[1:])


def test_destroy_runs_tenants_first_platform_last(tenants: list[ResolvedTenant]) -> None:
    runner = FakeRunner()
    run_fleet("destroy", tenants, {}, runner, parallel=4)
    assert runner.calls[-1] == ("destroy", "platform")
    assert {s for _, s in runner.calls[:-1]} == {"acme", "globex", "initech", "umbrella"}
    runner = FakeRunner(fail=frozenset({"acme"}))
    report = run_fleet("destroy", tenants, {}, runner)
    assert ("destroy", "platform") not in runner.calls
    assert report.results[-1].summary == "skipped: tenant stacks failed to destroy"


def test_destroy_refuses_data_loss_unless_forced(tenants: list[ResolvedTenant]) -> None:
    acme = next(t for t in tenants if t.name == "acme")
    risky = dataclasses.replace(
        acme,
        storage=acme.storage.model_copy(update={"force_destroy": True}),
        vector_namespaces=(
            acme.vector_namespaces[0].model_copy(update={"retain_on_delete": False}),
        ),
    )
    runner = FakeRunner()
    report = run_fleet("destroy", [risky], {}, runner, include_platform=False)
    assert runner.calls == []
    assert report.refused == [
        "refusing to destroy acme: every object and version in the model bucket "
        "(spec.storage.forceDestroy: true); pass --force to accept",
        "refusing to destroy acme: vector namespace 'docs' and its embeddings "
        "(retainOnDelete: false); pass --force to accept",
    ]
    report = run_fleet("destroy", [risky], {}, runner, include_platform=False, force=True)
    assert runner.calls == [("destroy", "acme")] and report.ok


def test_defaults_lose_no_data_on_destroy(tenants: list[ResolvedTenant]) -> None:
    report = run_fleet("destroy", tenants, {}, FakeRunner(), include_platform=False)
    assert report.refused == [] and report.ok


def test_rerun_is_idempotent(tenants: list[ResolvedTenant]) -> None:
    configs = {t.name: {"tenantry:tenant": t.name} for t in tenants}
    first, second = FakeRunner(), FakeRunner()
    a = run_fleet("up", tenants, configs, first, parallel=1)
    b = run_fleet("up", tenants, configs, second, parallel=1)
    assert first.calls == second.calls and a.results == b.results


def test_a_platform_runner_crash_is_a_failed_result_and_skips_every_tenant(
    tenants: list[ResolvedTenant],
) -> None:
    """As in waves (one platform-first step for both): the exception does not escape."""
    report = run_fleet("up", tenants, {}, FakeRunner(crash=frozenset({"platform"})))
    assert report.results[0].stack == "platform"
    assert report.results[0].summary == "error: RuntimeError: runner bug"
    assert {r.stack for r in report.results[1:]} == {"acme", "globex", "initech", "umbrella"}
    assert all(r.summary == "skipped: the platform stack failed" for r in report.results[1:])
