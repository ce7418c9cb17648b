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

SHARED_H100 = "tenantry.dev/pool=h100,!tenantry.dev/tenant"


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
    # a shared pool's own nodes: not the tenants' nodes carved from it (set-based "!key")
    assert selector("h100", "shared-pool") == "tenantry.dev/pool=h100,!tenantry.dev/tenant"
    assert selector("h100@initech", "tenant-nodes") == (
        "tenantry.dev/pool=h100,tenantry.dev/tenant=initech"
    )
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
    cluster = FakeCluster({SHARED_H100: {"n-a": "all-disabled", "n-b": h100.node_configs[0]}})
    nodes = FakeNodes(settle_polls=0)  # mig-manager done at once: no real sleeps
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


class FakePods:
    """dcgm-exporter's view: which pod holds which GPU index, per node."""

    def __init__(self, held: dict[str, dict[int, set[tuple[str, str]]]]) -> None:
        self.held = held
        self.evicted: list[tuple[str, str]] = []

    def gpu_pods(self, node: str) -> dict[int, set[tuple[str, str]]] | None:
        if node not in self.held:
            return None
        return {i: set(p) for i, p in self.held[node].items()}

    def evict(self, namespace: str, pod: str) -> None:
        self.evicted.append((namespace, pod))
        for pods in self.held.values():
            for holders in pods.values():
                holders.discard((namespace, pod))


def _pool_plans():  # type: ignore[no-untyped-def]
    from tenantry.planner import SHARED, FleetPlan, PoolDemand, Request, plan_pool

    def req(t: str, profile: str, n: int) -> Request:
        return Request(SHARED, t, "m", profile, n, "guaranteed", False)

    def demand(*reqs: Request) -> PoolDemand:
        return PoolDemand("h100", "shared-pool", "H100-80GB", "p5.48xlarge", 8, 0, None, None, reqs)

    before = demand(req("a", "3g.40gb", 2), req("b", "4g.40gb", 1), req("c", "1g.10gb", 7))
    first = FleetPlan((plan_pool(before),))
    after = demand(req("a", "3g.40gb", 2), req("b", "4g.40gb", 1), req("c", "1g.10gb", 3))
    return first, FleetPlan((plan_pool(after, first.pools[0], extra_gpus=0),))


def test_only_the_pods_on_changed_gpus_are_evicted() -> None:
    from tenantry.fleet.migrollout import device_configs

    first, second = _pool_plans()
    pool = second.pools[0]
    assert pool.disturbed, "the re-plan must change a GPU for this test"
    cluster = FakeCluster({SHARED_H100: {"node-x": first.pools[0].node_configs[0]}})
    [change] = planned_changes(second, cluster, previous=first)
    devices = device_configs(first, second)
    assert change.gpus == tuple(
        i
        for i in range(8)
        if devices[change.old or ""].get(i) != devices[change.new].get(i)  # type: ignore[union-attr]
    )
    holders = {i: {("c" if i in change.gpus else "a", f"pod-{i}")} for i in range(8)}
    pods = FakePods({"node-x": holders})
    nodes = FakeNodes(settle_polls=0)  # mig-manager done at once: no real sleeps
    messages: list[str] = []
    assert rollout(second, cluster, nodes, messages.append, previous=first, pods=pods) is None
    assert ("drain", "node-x") not in nodes.events  # no whole-node drain
    assert sorted(pods.evicted) == sorted(("c", f"pod-{i}") for i in change.gpus)
    assert nodes.events[0] == ("cordon", "node-x") and nodes.events[-1] == ("uncordon", "node-x")
    assert any("evicting" in m and "of c;" in m for m in messages)


def test_without_pod_information_the_node_is_drained() -> None:
    first, second = _pool_plans()
    cluster = FakeCluster({SHARED_H100: {"node-x": first.pools[0].node_configs[0]}})
    for pods, previous in ((FakePods({}), first), (None, first), (FakePods({}), None)):
        nodes = FakeNodes(settle_polls=0)  # mig-manager done at once: no real sleeps
        assert rollout(second, cluster, nodes, lambda m: None, previous=previous, pods=pods) is None
        assert ("drain", "node-x") in nodes.events


def test_pods_still_holding_a_gpu_stop_the_rollout() -> None:
    from tenantry.fleet import NodeChange, reconfigure
    from tenantry.fleet.drain import ReconfigureError

    class Stubborn(FakePods):
        def evict(self, namespace: str, pod: str) -> None:
            self.evicted.append((namespace, pod))

    pods = Stubborn({"n1": {0: {("t", "p")}}})
    ticks = iter(range(100))
    with pytest.raises(ReconfigureError, match="pods still hold GPU"):
        reconfigure(
            [NodeChange("n1", "a", "b", (0,))],
            FakeNodes(),
            pods=pods,
            timeout_s=3,
            clock=lambda: float(next(ticks)),
            sleep=lambda s: None,
        )


def test_dcgm_exporter_metrics_name_the_pod_on_each_gpu() -> None:
    from tenantry.fleet.drain import pods_by_gpu

    text = "\n".join(
        [
            "# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).",
            "# TYPE DCGM_FI_DEV_FB_USED gauge",
            'DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1",device="nvidia0",modelName="NVIDIA H100 '
            '80GB HBM3",GPU_I_PROFILE="3g.40gb",GPU_I_ID="2",Hostname="n1",container="kserve-'
            'container",namespace="acme",pod="fraud-detector-00001-deployment-abc"} 4120',
            'DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1",GPU_I_PROFILE="1g.10gb",GPU_I_ID="9",'
            'namespace="",pod=""} 0',
            'DCGM_FI_DEV_GPU_TEMP{gpu="3",UUID="GPU-4",namespace="globex",pod="intent-1"} 41',
        ]
    )
    assert pods_by_gpu(text) == {
        0: {("acme", "fraud-detector-00001-deployment-abc")},
        3: {("globex", "intent-1")},
    }
    # --kubernetes-use-old-namespace names them pod_name / pod_namespace
    old_names = 'DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-2",pod_namespace="acme",pod_name="p"} 40'
    assert pods_by_gpu(old_names) == {1: {("acme", "p")}}


def test_dcgm_exporter_metrics_that_name_no_pod_drain_the_whole_node() -> None:
    """No pod label anywhere: mapping off (or no kubelet socket) looks exactly like "no pod
    holds a GPU", so the node is drained rather than relabelled with nothing evicted."""
    from tenantry.fleet.drain import NodeChange, pods_by_gpu, reconfigure

    unmapped = 'DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1",GPU_I_PROFILE="3g.40gb",GPU_I_ID="2"} 9'
    assert pods_by_gpu(unmapped) is None

    class Unmapped:
        evicted: list[tuple[str, str]] = []

        def gpu_pods(self, node: str) -> dict[int, set[tuple[str, str]]] | None:
            return pods_by_gpu(unmapped)

        def evict(self, namespace: str, pod: str) -> None:
            self.evicted.append((namespace, pod))

    nodes = FakeNodes(settle_polls=0)
    reconfigure([NodeChange("n1", "a", "b", (0,))], nodes, pods=Unmapped(), sleep=lambda s: None)
    assert ("drain", "n1") in nodes.events and Unmapped.evicted == []
