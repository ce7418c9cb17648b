"""Invariants every plan must satisfy; shared by the exact and the property tests."""

from __future__ import annotations

from collections import Counter, defaultdict

from tenantry.planner import WHOLE_GPU, PoolDemand, PoolPlan
from tenantry.planner.layouts import layout_problems_of


def check_pool(d: PoolDemand, p: PoolPlan) -> None:
    assert p.name == d.name and p.gpu_model == d.gpu_model
    assert len(p.gpus) == p.nodes * d.gpus_per_node
    assert sorted((g.node, g.index) for g in p.gpus) == [
        (n, i) for n in range(p.nodes) for i in range(d.gpus_per_node)
    ]
    assert len(p.node_configs) == p.nodes
    group_of = {(r.tenant, r.model): r.group for r in d.requests}
    got: Counter[tuple[str, str, str, str]] = Counter()
    nodes_of: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for g in p.gpus:
        if not g.used:
            assert g.group == ""
            continue
        # placeable: legal starts, no overlap, <= compute slices and max counts
        if g.mig:
            assert layout_problems_of(p.gpu_model, g.layout) == [], g
        else:
            assert g.layout == ((WHOLE_GPU, 0),)
        for s in g.slots:
            if s.role == "spare":
                continue
            got[(s.tenant, s.model, s.profile, s.role)] += 1
            # isolation: a slot only serves a request of the GPU's own group
            assert group_of[(s.tenant, s.model)] == g.group, (s, g.group)
            if s.role == "guaranteed":
                nodes_of[(s.tenant, s.model, s.profile)].add(g.node)
    want: Counter[tuple[str, str, str, str]] = Counter()
    for r in d.requests:
        want[(r.tenant, r.model, r.profile, r.role)] += r.instances
    # covers the demand: every guaranteed replica and every headroom slice has its slot
    assert got == want, (got, want)
    # a pod of several devices has them all on one node: per node, its request's slots
    # come in whole pods (the scheduler binds a pod, and so all its devices, to one node)
    for r in d.requests:
        if r.devices == 1:
            continue
        per_node: Counter[int] = Counter(
            g.node
            for g in p.gpus
            for s in g.slots
            if (s.tenant, s.model, s.profile, s.role) == (r.tenant, r.model, r.profile, r.role)
        )
        assert all(k % r.devices == 0 for k in per_node.values()), (r, per_node)
    for r in d.requests:
        if r.spread and r.role == "guaranteed" and r.count >= 2 and not p.warnings:
            assert len(nodes_of[(r.tenant, r.model, r.profile)]) >= 2, r
    if d.fixed_layout is None and not p.errors:
        assert p.used_gpus >= p.lower_bound
