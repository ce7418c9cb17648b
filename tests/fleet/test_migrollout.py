"""Rolling the planner's layouts onto nodes: selectors, minimal changes, ordering in fleet up."""

from __future__ import annotations

import pytest

from tenantry.fleet import run_fleet
from tenantry.fleet.migrollout import planned_changes, rollout, selector
from tenantry.planner import extract_demands, plan
from tenantry.spec import PlatformSettings, load_registry
from tests.conftest import TENANTS
from tests.fleet.test_drain import FakeNodes
from tests.fleet.test_orchestrate import FakeRunner


class FakeCluster:
    def __init__(self, pools: dict[str, dict[str, str | None]]) -> None:
        self.pools = pools

    def nodes(self, sel: str) -> dict[str, str | None]:
        return dict(self.pools.get(sel, {}))


@pytest.fixture(scope="module")
def fleet_plan(platform: PlatformSettings):  # type: ignore[no-untyped-def]
    tenants = list(load_registry([TENANTS], platform).tenants.values())
    return plan(extract_demands(tenants, platform))


def test_selectors() -> None:
    assert selector("h100", "shared-pool") == "tenantry.dev/pool=h100"
    assert selector("umbrella/h100", "node-group") == (
        "tenantry.dev/tenant=umbrella,tenantry.dev/node-group=h100"
    )


def test_nodes_already_planned_are_left_alone(fleet_plan) -> None:  # type: ignore[no-untyped-def]
    pools = {}
    for pool in fleet_plan.pools:
        pools[selector(pool.name, pool.kind)] = {
            f"{pool.name}-n{i}": cfg for i, cfg in enumerate(pool.node_configs)
        }
    assert planned_changes(fleet_plan, FakeCluster(pools)) == []


def test_new_layouts_drain_only_changed_nodes(fleet_plan) -> None:  # type: ignore[no-untyped-def]
    h100 = fleet_plan.pool("h100")
    assert h100 is not None and h100.node_configs
    cluster = FakeCluster(
        {"tenantry.dev/pool=h100": {"n-a": "all-disabled", "n-b": h100.node_configs[0]}}
    )
    nodes = FakeNodes()
    assert rollout(fleet_plan, cluster, nodes, log=lambda m: None) is None
    touched = {e[1] for e in nodes.events}
    assert touched <= {"n-a"}
    if len(h100.node_configs) > 1 or h100.node_configs[0] != "all-disabled":
        assert nodes.events[:2] == [("cordon", "n-a"), ("drain", "n-a")]


def test_fleet_up_reconfigures_between_platform_and_tenants(platform: PlatformSettings) -> None:
    tenants = list(load_registry([TENANTS], platform).tenants.values())
    runner = FakeRunner()
    order: list[str] = []

    def after_platform() -> str | None:
        order.append(f"mig after {len(runner.calls)} stack(s)")
        return None

    run_fleet("up", tenants, {}, runner, after_platform=after_platform)
    assert order == ["mig after 1 stack(s)"] and runner.calls[0] == ("up", "platform")
    runner = FakeRunner()
    report = run_fleet("up", tenants, {}, runner, after_platform=lambda: "n1: failed")
    assert runner.calls == [("up", "platform")]
    assert report.failed[0] == "mig-reconfiguration"
