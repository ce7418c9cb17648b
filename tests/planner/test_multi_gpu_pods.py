"""Pods of several GPUs (an LLM replica with ``gpus: N``, tensor parallel) are placed whole on
one node: the Kubernetes scheduler binds a pod to one node and the device plugin gives its
container devices of that node only (Kubernetes docs, "Schedule GPUs"; KServe runs an
LLMInferenceService without ``worker`` as one pod per replica, kserve v0.20.0
``workload_single_node.go``), so node counts come from whole pods."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
import yaml

from tenantry.planner import (
    SHARED,
    FleetPlan,
    PoolDemand,
    PoolPlan,
    Request,
    extract_demands,
    plan,
    plan_pool,
)
from tenantry.spec import PlatformSettings, parse_text
from tests.planner.checks import check_pool
from tests.spec.helpers import Doc, codes, problems_for, variant

LLM = ("initech", "llm:clinical-llm", "gpu", "guaranteed")


def _only_llm(gpus: int, replicas: int) -> Doc:
    def change(d: Doc) -> None:
        d["spec"]["models"] = []
        d["spec"]["llms"][0].update(gpus=gpus, replicas=replicas)
        d["spec"]["quotas"]["gpus"] = {"gpu": gpus * replicas}
        # each replica's CPU and memory (defaults: tenantry.spec.llm_sizing) count too
        d["spec"]["quotas"].update(cpu=512, memoryGiB=16384)

    return variant("initech", change)


def _initech_plan(d: Doc, platform: PlatformSettings) -> tuple[PoolDemand, PoolPlan]:
    tenant, problems = parse_text(yaml.safe_dump(d), "t.yaml", platform, "initech")
    assert tenant is not None, [p.render() for p in problems]
    demands = {x.name: x for x in extract_demands([tenant], platform)}
    fleet = plan(list(demands.values()))
    got = fleet.pool("h100@initech")
    assert got is not None
    return demands["h100@initech"], got


def _pods_per_node(p: PoolPlan, key: tuple[str, str, str, str], devices: int) -> list[int]:
    slots = Counter(
        g.node for g in p.gpus for s in g.slots if (s.tenant, s.model, s.profile, s.role) == key
    )
    assert all(k % devices == 0 for k in slots.values()), slots
    return [slots[n] // devices for n in range(p.nodes)]


def test_five_replicas_of_three_gpus_need_three_p5_nodes_not_two(
    platform: PlatformSettings,
) -> None:
    """The reviewer's repro: initech (isolated: whole nodes h100@initech of p5.48xlarge, 8
    GPUs) with only clinical-llm at gpus: 3, replicas: 5. 15 GPUs would fit 2 nodes, but a
    node holds two 3-GPU pods (6 of its 8 GPUs), so the fifth pod needs a third node."""
    d, p = _initech_plan(_only_llm(3, 5), platform)
    (r,) = d.requests
    assert (r.count, r.devices, r.instances, r.spread) == (5, 3, 15, True)
    check_pool(d, p)
    assert (p.nodes, p.used_gpus, p.errors) == (3, 15, ())
    assert _pods_per_node(p, LLM, 3) == [2, 2, 1]
    # pod slots count pods, not devices: 2, 2 and 1 pods on the nodes
    assert [x.pods for x in p.node_requests] == [2, 2, 1]
    # the platform declares the tenant's node group from this count (min = desired = nodes)
    assert FleetPlan.from_dict(plan([d]).to_dict()).pools[0].nodes == 3


@pytest.mark.parametrize(
    ("gpus", "replicas", "nodes", "per_node"),
    [
        (8, 3, 3, [1, 1, 1]),  # a pod per node: the node's every GPU
        (5, 4, 4, [1, 1, 1, 1]),  # 3 GPUs of each node stay free: no second pod fits
        (4, 5, 3, [2, 2, 1]),
        (2, 9, 3, [4, 4, 1]),  # 18 GPUs: 3 nodes either way
        (1, 9, 2, [8, 1]),  # single-GPU pods: any GPU of any node
    ],
)
def test_node_count_comes_from_whole_pods(
    platform: PlatformSettings, gpus: int, replicas: int, nodes: int, per_node: list[int]
) -> None:
    d, p = _initech_plan(_only_llm(gpus, replicas), platform)
    check_pool(d, p)
    assert p.nodes == nodes
    got = _pods_per_node(p, LLM, gpus)
    if gpus > 1:  # first-fit decreasing: the lowest-numbered node with room
        assert got == per_node
    assert sum(got) == replicas and min(got[:2]) >= 1  # replicas >= 2: two nodes at least


def _pool(requests: tuple[Request, ...], kind: str = "shared-pool", **kw: object) -> PoolDemand:
    d = PoolDemand("h100", "shared-pool", "H100-80GB", "p5.48xlarge", 8, 0, None, None, requests)
    return replace(d, kind=kind, **kw)  # type: ignore[arg-type]


def test_mig_slices_fill_the_gpus_the_pods_leave_free() -> None:
    """3 pods of 5 whole GPUs take 3 nodes (one each); the 9 GPUs of 1g.10gb slices fill the
    3 free GPUs of each node, so 24 GPUs take exactly 3 nodes. One more slice GPU's worth
    (a 10th) needs a 4th node."""
    llm = Request(SHARED, "", "llm:big", "gpu", 3, "guaranteed", True, devices=5)
    for slices, nodes in ((63, 3), (64, 4)):  # 7 x 1g.10gb per GPU: 9 GPUs, then 10
        small = Request(SHARED, "acme", "emb", "1g.10gb", slices, "guaranteed", True, 1000, 2048)
        d = _pool((llm, small))
        p = plan_pool(d)
        check_pool(d, p)
        assert (p.nodes, p.used_gpus, p.errors) == (nodes, 15 + -(-slices // 7), ())
        assert _pods_per_node(p, ("", "llm:big", "gpu", "guaranteed"), 5)[:3] == [1, 1, 1]
        # every node's pod slots: its LLM pod plus the slices' pods (one per slice)
        per_node = [
            sum(1 for g in p.gpus if g.node == n for s in g.slots if s.model == "emb")
            for n in range(p.nodes)
        ]
        llm_pods = _pods_per_node(p, ("", "llm:big", "gpu", "guaranteed"), 5)
        assert [x.pods for x in p.node_requests] == [
            a + b for a, b in zip(per_node, llm_pods, strict=True)
        ]


def test_pods_of_several_sizes_beside_single_whole_gpus_and_mig_headroom() -> None:
    reqs = (
        Request(SHARED, "", "llm:a", "gpu", 2, "guaranteed", True, devices=6),
        Request(SHARED, "", "llm:b", "gpu", 3, "guaranteed", True, devices=3),
        Request(SHARED, "acme", "whole", "gpu", 4, "guaranteed", True),
        Request(SHARED, "acme", "m", "3g.40gb", 4, "guaranteed", True),
        Request(SHARED, "", "", "3g.40gb", 2, "overflow", False),
    )
    d = _pool(reqs)
    p = plan_pool(d)
    check_pool(d, p)
    # FFD: 6 -> node 0, 6 -> node 1 (spread), 3 -> node 2, 3 -> node 2, 3 -> node 3;
    # 2 + 2 + 2 + 5 free positions hold the 4 whole GPUs and 3 GPUs of 2 x 3g.40gb
    assert _pods_per_node(p, ("", "llm:a", "gpu", "guaranteed"), 6) == [1, 1, 0, 0]
    assert _pods_per_node(p, ("", "llm:b", "gpu", "guaranteed"), 3) == [0, 0, 2, 1]
    assert (p.nodes, p.used_gpus) == (4, 12 + 9 + 4 + 3)


def test_a_node_group_too_small_for_whole_pods_is_an_error() -> None:
    """A node group must hold its guaranteed pods at maxSize: 5 pods of 3 GPUs need 3 nodes
    of 8 GPUs, though 15 GPUs would fit 2."""
    llm = Request("t", "t", "llm:x", "gpu", 5, "guaranteed", True, devices=3)
    d = _pool((llm,), kind="node-group", name="t/own", tenant="t", max_nodes=2)
    p = plan_pool(d)
    assert p.needed_nodes == 3
    assert p.errors == ("guaranteed demand needs 3 node(s) of p5.48xlarge; maxSize is 2",)
    fits = replace(d, max_nodes=3)
    ok = plan_pool(fits)
    check_pool(fits, ok)
    assert (ok.nodes, ok.needed_nodes, ok.errors) == (3, 3, ())


@pytest.mark.parametrize("gpus", [1, 3, 8, 9, 16])
def test_validate_refuses_exactly_the_pods_the_planner_cannot_place(
    platform: PlatformSettings, gpus: int
) -> None:
    """``llm_gpus_exceed_node`` (validate) and the planner agree: a replica of more GPUs than
    a p5.48xlarge has is refused by validate and is a plan error; up to 8 it is planned."""
    d = _only_llm(gpus, 2)
    refused = ("llm_gpus_exceed_node", "spec.llms[0].gpus") in codes(problems_for(d, platform))
    assert refused is (gpus > 8)
    llm = Request("initech", "initech", "llm:clinical-llm", "gpu", 2, "guaranteed", True)
    pool = _pool((replace(llm, devices=gpus),), kind="tenant-nodes")
    p = plan_pool(pool)
    assert bool(p.errors) is refused
    if refused:
        assert p.errors == (
            f"initech/llm:clinical-llm: one pod asks for {gpus} GPUs and a node of "
            "p5.48xlarge has 8: the pod can never be scheduled",
        )
    else:
        check_pool(pool, p)
        assert p.nodes == 2  # two replicas, spread over two nodes


def test_several_mig_slices_per_pod_are_refused_not_split() -> None:
    """The spec allows several devices per replica for whole GPUs only
    (``llm_gpus_need_whole_gpus``); the planner refuses other pods rather than split them."""
    bad = Request(SHARED, "", "llm:x", "1g.10gb", 2, "guaranteed", False, devices=2)
    assert plan_pool(_pool((bad,))).errors == (
        "platform/llm:x: pods of 2 x 1g.10gb; the planner places pods of several whole GPUs "
        "only (a MIG slice is one device per replica)",
    )


def test_a_shared_base_models_replicas_of_several_gpus_are_pods_too(
    platform: PlatformSettings,
) -> None:
    """``llmBaseModels[]`` with gpus: N: one pod per replica of N whole GPUs on the shared
    pool, placed whole like a tenant's own LLM: 3 replicas of 6 GPUs take 3 p5 nodes."""
    doc = platform.model_dump(by_alias=True, mode="json", exclude_none=True)
    doc["llmBaseModels"][0].update(gpu="gpu", gpus=6, replicas=3)
    settings = PlatformSettings.model_validate(doc)
    (shared,) = [
        d for d in extract_demands([], settings) if d.name == doc["llmBaseModels"][0]["pool"]
    ]
    (r,) = [r for r in shared.requests if r.model.startswith("llm:")]
    assert (r.count, r.devices, r.instances, r.profile) == (3, 6, 18, "gpu")
    p = plan_pool(shared)
    check_pool(shared, p)
    assert p.nodes == 3 and _pods_per_node(p, (r.tenant, r.model, "gpu", "guaranteed"), 6) == [
        1,
        1,
        1,
    ]
