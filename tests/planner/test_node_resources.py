"""Node counts bound by CPU, memory and pod slots, not only by GPU slices."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.catalog import NodeResources, instance_types, node_allocatable
from tenantry.catalog.allocatable import kube_reserved_cpu_m, kube_reserved_memory_mib
from tenantry.planner import SHARED, FleetPlan, PoolDemand, PoolPlan, Request, plan_pool
from tests.planner.checks import check_pool

P5 = instance_types()["p5.48xlarge"]  # H100-80GB x 8, 192 vCPUs, 2048 GiB


def _pool(requests: tuple[Request, ...], kind: str = "shared-pool", **kw: object) -> PoolDemand:
    d = PoolDemand("h100", "shared-pool", "H100-80GB", P5.name, P5.gpus, 0, None, None, requests)
    return replace(d, kind=kind, **kw)  # type: ignore[arg-type]


def _loads(p: PoolPlan, d: PoolDemand) -> list[NodeResources]:
    """Per node, what its slots' pods request, recomputed here from the slots."""
    per = {(r.tenant, r.model, r.profile, r.role): r for r in d.requests}
    out = []
    for n in range(p.nodes):
        slots = [
            per[(s.tenant, s.model, s.profile, s.role)]
            for g in p.gpus
            if g.node == n
            for s in g.slots
            if s.role != "spare"
        ]
        # a pod of several devices holds that many slots of the node: it counts once
        rs = [
            r for i, r in enumerate(slots) if slots[: i + 1].count(r) % r.devices == 1 % r.devices
        ]
        out.append(NodeResources(sum(r.cpu_m for r in rs), sum(r.memory_mib for r in rs), len(rs)))
    return out


def test_p5_allocatable_from_the_eks_formula() -> None:
    # kubeReserved CPU: 60m + 10m + 2 x 5m + 188 x 2.5m = 550m; memory 11 x 110 + 255 MiB
    assert kube_reserved_cpu_m(192) == 550
    assert kube_reserved_cpu_m(4) == 80
    assert kube_reserved_memory_mib() == 1465
    a = node_allocatable(P5.vcpu, P5.memory_gib, gpu_node=True)
    # less the node agents' 130m (NFD worker 5m, aws-node 25m, kube-proxy 100m)
    assert a.cpu_m == 192_000 - 550 - 130
    # 2048 GiB less 7.5 % VM overhead, kubeReserved, 100 MiB eviction, NFD's 64 MiB
    assert a.memory_mib == int(2048 * 1024 * 0.925) - 1465 - 100 - 64
    assert a.pods == 110 - 8


def test_56_small_slices_fit_one_node_by_gpu_but_19_by_cpu() -> None:
    """56 x 1g.10gb fill one p5.48xlarge's 8 GPUs x 7 slices; at cpu: 10 per replica only
    19 fit its 191.32 allocatable cores. ceil(56 / 19) = 3 nodes is the bound; the planner
    keeps its fewest-GPU packing (8 full GPUs) and moves whole GPUs between nodes, so 3
    nodes would hold 3 + 3 + 2 GPUs = 21 replicas on one: it plans 4 (2 GPUs, 14 replicas
    each)."""
    gpu_only = _pool((Request(SHARED, "t", "m", "1g.10gb", 56, "guaranteed", False),))
    p = plan_pool(gpu_only)
    assert (p.nodes, p.gpu_nodes, p.bound_by) == (1, 1, "gpu")
    cpu = _pool((Request(SHARED, "t", "m", "1g.10gb", 56, "guaranteed", False, 10_000, 1024),))
    p = plan_pool(cpu)
    assert (p.gpu_nodes, p.bound_by) == (1, "cpu")
    assert p.nodes == 4 and p.needed_nodes == 4 and not p.errors
    assert p.allocatable is not None
    assert p.allocatable.cpu_m // 10_000 == 19
    loads = _loads(p, cpu)
    assert list(p.node_requests) == loads
    assert all(p.allocatable.fits(x) for x in loads)
    assert max(x.pods for x in loads) <= 19
    check_pool(cpu, p)
    # the plan's dict keeps every field it had and adds the new ones
    d = p.to_dict()
    assert d["nodes"] == 4 and d["gpu_nodes"] == 1 and d["bound_by"] == "cpu"
    assert d["node_allocatable"] == {
        "cpu_millicores": 191_320,
        "memory_mib": d["node_allocatable"]["memory_mib"],
        "pods": 102,
    }
    again = FleetPlan.from_dict({"pools": [d]}).pools[0]
    assert (again.bound_by, again.gpu_nodes, again.node_requests) == (
        "cpu",
        1,
        p.node_requests,
    )


def test_memory_bound_pool() -> None:
    """56 x 1g.10gb at memoryGiB: 100 need 5600 GiB; a p5.48xlarge offers its pods
    1892.8 GiB, i.e. 18 such replicas: 2 whole GPUs (14 replicas) per node, 4 nodes."""
    d = _pool((Request(SHARED, "t", "m", "1g.10gb", 56, "guaranteed", False, 1000, 100 * 1024),))
    p = plan_pool(d)
    assert p.allocatable is not None and p.allocatable.memory_mib // (100 * 1024) == 18
    assert (p.nodes, p.gpu_nodes, p.bound_by) == (4, 1, "memory")
    assert all(p.allocatable.fits(x) for x in _loads(p, d))
    check_pool(d, p)


def test_cpu_binds_carved_tenant_nodes_and_node_groups_and_max_nodes() -> None:
    r = Request("t", "t", "m", "1g.10gb", 56, "guaranteed", False, 10_000, 1024)
    carved = plan_pool(_pool((r,), kind="tenant-nodes", shared_pool="h100", tenant="t"))
    assert (carved.nodes, carved.bound_by) == (4, "cpu")
    group = plan_pool(_pool((r,), kind="node-group", max_nodes=2, tenant="t"))
    # a node group must hold its guaranteed demand at maxSize: at least 3 nodes by CPU
    assert group.needed_nodes >= 3 and group.bound_by == "cpu"
    assert any("maxSize is 2" in e for e in group.errors)
    shared = plan_pool(_pool((replace(r, group=SHARED),), max_nodes=2))
    assert any("maxNodes is 2" in e for e in shared.errors)


def test_a_gpu_whose_replicas_outgrow_a_node_is_an_error_not_a_silent_plan() -> None:
    # 7 x 1g.10gb at 30 cores each: one GPU's seven slices ask 210 cores of 191.32
    d = _pool((Request(SHARED, "t", "m", "1g.10gb", 7, "guaranteed", False, 30_000, 1024),))
    p = plan_pool(d)
    assert p.errors and "request more than a node of p5.48xlarge offers" in p.errors[0]


@st.composite
def resource_demands(draw: st.DrawFn) -> PoolDemand:
    profiles = ["1g.10gb", "2g.20gb", "3g.40gb", "7g.80gb", "gpu"]
    reqs = []
    for i in range(draw(st.integers(1, 4))):
        t = draw(st.sampled_from(["a", "b"]))
        n = draw(st.integers(1, 30))
        profile = draw(st.sampled_from(profiles))
        reqs.append(
            Request(
                SHARED,
                t,
                f"m{i}",
                profile,
                n,
                "guaranteed",
                draw(st.booleans()) and n >= 2,
                # up to 27 cores: seven 1g slices of one GPU still fit one node
                draw(st.integers(1, 27)) * 1000,
                draw(st.integers(1, 260)) * 1024,
                # whole GPUs: sometimes pods of several (one pod, its requests once)
                devices=draw(st.integers(1, 8)) if profile == "gpu" else 1,
            )
        )
    merged = {(r.tenant, r.model): r for r in reqs}
    return _pool(tuple(merged.values()))


@settings(max_examples=40, deadline=None)
@given(resource_demands())
def test_every_node_holds_what_its_pods_request(d: PoolDemand) -> None:
    p = plan_pool(d)
    check_pool(d, p)
    assert p.allocatable is not None and not p.errors
    assert all(p.allocatable.fits(x) for x in _loads(p, d))
    assert p.nodes >= p.gpu_nodes
    assert (p.bound_by == "gpu") == (p.nodes == p.gpu_nodes)
