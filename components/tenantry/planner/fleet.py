"""``plan()``: demands (and optionally the previous plan) -> nodes and per-GPU layouts.

Per pool, every isolation group (the shared tenants together; each isolated tenant alone; a
node group's tenant) is packed onto GPUs of its own, so no GPU ever holds two groups. With a
previous plan, a group first keeps every previous GPU whose layout is still fully used, then
those partly used when keeping them costs no extra GPU, and packs only what is left; if that
would need more GPUs than a fresh packing, the fresh packing is used. New layouts go first to
positions whose previous layout is identical (no change), then to free GPUs, then to GPUs
being reconfigured. GPU positions are filled index-major (GPU 0 of every node, then GPU 1...),
so a group's GPUs alternate between nodes; replicas of models with minReplicas >= 2 are then
assigned to slices on two nodes, adding a slice on another node where that is impossible.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..catalog import gpu_models, place
from .demand import SHARED, WHOLE_GPU, PoolDemand, Request
from .geometry import Vec, geometry
from .layouts import Layout, add_instance, placements
from .migparted import node_label
from .model import FleetPlan, GpuPlan, PoolPlan, Slot
from .packer import pack_vec

Pos = tuple[int, int]  # (node, gpu index)
PHASE_B_LIMIT = 64  # partly used previous GPUs considered per group


@dataclass
class _Gpu:
    group: str
    layout: Layout  # (profile, start); whole GPU: (("gpu", 0),)
    pos: Pos | None = None
    slots: list[Slot] = field(default_factory=list)


def plan(demands: Sequence[PoolDemand], previous: FleetPlan | None = None) -> FleetPlan:
    """Plan every pool; with ``previous``, change as few GPUs as possible."""
    return FleetPlan(
        tuple(plan_pool(d, previous.pool(d.name) if previous else None) for d in demands)
    )


def plan_pool(d: PoolDemand, prev: PoolPlan | None = None) -> PoolPlan:
    if prev is not None and (
        prev.gpu_model != d.gpu_model or prev.gpus_per_node != d.gpus_per_node
    ):
        prev = None  # another instance type: nothing carries over
    if d.fixed_layout is not None:
        return _plan_fixed(d, prev)
    return _plan_packed(d, prev)


def _by_group(d: PoolDemand) -> dict[str, list[Request]]:
    """The pool's requests per isolation group (request order kept), groups in plan order."""
    by: dict[str, list[Request]] = defaultdict(list)
    for r in d.requests:
        by[r.group].append(r)
    return {g: by[g] for g in sorted(by, key=lambda g: (g != SHARED, g))}


def _group_vec(
    gpu_model: str, requests: Sequence[Request], guaranteed_only: bool = False
) -> tuple[Vec, int]:
    geo = geometry(gpu_model)
    counts: dict[str, int] = defaultdict(int)
    whole = 0
    for r in requests:
        if guaranteed_only and r.role != "guaranteed":
            continue
        if r.profile == WHOLE_GPU:
            whole += r.count
        else:
            counts[r.profile] += r.count
    return geo.vec(counts), whole


def _fresh(gpu_model: str, group: str, vec: Vec, whole: int) -> list[_Gpu]:
    out = [_Gpu(group, placements(gpu_model, v)) for v in pack_vec(gpu_model, vec)]
    out.extend(_Gpu(group, ((WHOLE_GPU, 0),)) for _ in range(whole))
    return out


def _stable(
    gpu_model: str, group: str, vec: Vec, whole: int, previous: list[GpuPlan]
) -> list[_Gpu]:
    """The group's GPUs: previous ones kept in place where they still serve, plus new ones."""
    fresh = _fresh(gpu_model, group, vec, whole)
    if not previous:
        return fresh
    geo = geometry(gpu_model)
    kept: list[_Gpu] = []
    rest: list[tuple[GpuPlan, Vec]] = []
    rem = list(vec)
    for g in previous:  # phase A: previous GPUs that are still fully used
        if not g.mig:
            if whole > 0:
                whole -= 1
                kept.append(_Gpu(group, g.layout, (g.node, g.index)))
            continue
        try:
            v = geo.vec(g.counts())
        except KeyError:
            continue
        if all(x <= r for x, r in zip(v, rem, strict=True)):
            rem = [r - x for x, r in zip(v, rem, strict=True)]
            kept.append(_Gpu(group, g.layout, (g.node, g.index)))
        else:
            rest.append((g, v))
    # phase B: partly used previous GPUs, kept when that costs no extra GPU
    base = len(pack_vec(gpu_model, tuple(rem)))
    overlap = sorted(
        rest,
        key=lambda gv: (
            -sum(min(x, r) for x, r in zip(gv[1], rem, strict=True)),
            gv[0].node,
            gv[0].index,
        ),
    )
    for g, v in overlap[:PHASE_B_LIMIT]:
        inter = [min(x, r) for x, r in zip(v, rem, strict=True)]
        if not any(inter):
            continue
        after_rem = tuple(r - x for x, r in zip(inter, rem, strict=True))
        after = len(pack_vec(gpu_model, after_rem))
        if after + 1 <= base:
            kept.append(_Gpu(group, g.layout, (g.node, g.index)))
            rem, base = list(after_rem), after
    new = _fresh(gpu_model, group, tuple(rem), whole)
    if len(kept) + len(new) > len(fresh):
        return fresh  # stability would cost GPUs: re-pack, matching positions where equal
    return kept + new


def _positions(nodes: int, gpn: int) -> list[Pos]:
    return [(node, idx) for idx in range(gpn) for node in range(nodes)]


def _place_gpus(gpus: list[_Gpu], nodes: int, gpn: int, prev: PoolPlan | None) -> None:
    """Give every unpinned GPU a position: identical previous layout, free, then dirty."""
    occupied = {g.pos for g in gpus if g.pos is not None}
    prev_at: dict[Pos, GpuPlan] = {}
    if prev is not None:
        prev_at = {(g.node, g.index): g for g in prev.gpus if g.used and g.node < nodes}
    same: dict[tuple[str, Layout], deque[Pos]] = defaultdict(deque)
    clean: list[Pos] = []
    dirty: list[Pos] = []
    for pos in _positions(nodes, gpn):
        if pos in occupied:
            continue
        pg = prev_at.get(pos)
        if pg is None:
            clean.append(pos)
        else:
            dirty.append(pos)
            same[(pg.group, pg.layout)].append(pos)
    taken: set[Pos] = set()
    pending = []
    for g in gpus:
        if g.pos is not None:
            continue
        q = same.get((g.group, g.layout))
        while q and q[0] in taken:
            q.popleft()
        if q:
            g.pos = q.popleft()
            taken.add(g.pos)
        else:
            pending.append(g)
    free = iter(p for p in clean + dirty if p not in taken)
    for g in pending:
        pos = next(free)
        while pos in taken:
            pos = next(free)
        g.pos = pos
        taken.add(pos)


def _rank(pos: Pos) -> tuple[int, int]:
    return pos[1], pos[0]


def _pos(g: _Gpu) -> Pos:
    assert g.pos is not None
    return g.pos


def _assign(requests: list[Request], gpus: list[_Gpu]) -> list[Request]:
    """Fill each GPU's slots with replicas; returns the spread requests left on one node."""
    by_profile: dict[str, list[tuple[int, _Gpu, int]]] = defaultdict(list)
    for g in gpus:
        assert g.pos is not None
        g.slots = []
        for profile, start in g.layout:
            by_profile[profile].append((g.pos[0], g, start))
    for lst in by_profile.values():
        lst.sort(key=lambda s: (s[1].pos[1], s[1].pos[0], s[2]))  # type: ignore[index]
    used: dict[str, list[bool]] = {p: [False] * len(v) for p, v in by_profile.items()}
    ptr: dict[str, int] = defaultdict(int)

    def take(r: Request, avoid: int | None = None) -> int | None:
        lst, flags = by_profile.get(r.profile, []), used.get(r.profile, [])
        i = ptr[r.profile]
        while i < len(lst) and flags[i]:
            i += 1
        ptr[r.profile] = i
        j = i
        while avoid is not None and j < len(lst) and (flags[j] or lst[j][0] == avoid):
            j += 1
        if j >= len(lst):
            return None
        flags[j] = True
        node, g, start = lst[j]
        g.slots.append(Slot(start, r.profile, r.tenant, r.model, r.role))
        return node

    order = sorted(
        requests, key=lambda r: (r.role != "guaranteed", not r.spread, r.tenant, r.model, r.profile)
    )
    left = {id(r): r.count for r in order}
    violations = []
    for r in order:  # first two replicas of each spread model on two nodes
        if r.role == "guaranteed" and r.spread and r.count >= 2:
            first = take(r)
            second = take(r, avoid=first)
            left[id(r)] -= (first is not None) + (second is not None)
            if second is None:
                violations.append(r)
    for r in order:
        for _ in range(left[id(r)]):
            if take(r) is None:
                break
    for g in gpus:
        taken = {s.start for s in g.slots}
        g.slots.extend(_spare(p, start) for p, start in g.layout if start not in taken)
        g.slots.sort()
    return violations


@lru_cache(maxsize=1024)
def _spare(profile: str, start: int) -> Slot:
    """An unassigned slot (immutable, so one object per (profile, start) is shared)."""
    return Slot(start, profile)


def _repair_spread(d: PoolDemand, gpus: list[_Gpu], r: Request, nodes: int) -> int:
    """Add one ``r.profile`` instance on a node other than the one holding ``r``'s replicas;
    returns the (possibly larger) node count."""
    holding = {
        _pos(g)[0]
        for g in gpus
        for s in g.slots
        if s.tenant == r.tenant and s.model == r.model and s.profile == r.profile
    }
    if r.profile != WHOLE_GPU:
        for g in sorted(
            (g for g in gpus if g.group == r.group and g.layout and g.layout[0][0] != WHOLE_GPU),
            key=lambda g: _rank(_pos(g)),
        ):
            if g.pos is not None and g.pos[0] not in holding:
                grown = add_instance(d.gpu_model, g.layout, r.profile)
                if grown is not None:
                    g.layout = grown
                    return nodes
    occupied = {g.pos for g in gpus}
    free = [
        p for p in _positions(nodes, d.gpus_per_node) if p not in occupied and p[0] not in holding
    ]
    if not free:
        nodes += 1
        free = [(nodes - 1, 0)]
    if r.profile == WHOLE_GPU:
        layout: Layout = ((WHOLE_GPU, 0),)
    else:
        layout = add_instance(d.gpu_model, (), r.profile) or ()
    gpus.append(_Gpu(r.group, layout, free[0]))
    return nodes


def _finish(
    d: PoolDemand,
    gpus: list[_Gpu],
    nodes: int,
    prev: PoolPlan | None,
    lower: int,
    lb_plus: int,
    errors: list[str],
    warnings: list[str],
) -> PoolPlan:
    at = {g.pos: g for g in gpus}
    out = []
    for node in range(nodes):
        for idx in range(d.gpus_per_node):
            g = at.get((node, idx))
            if g is None:
                out.append(GpuPlan(node, idx, "", ()))
            else:
                out.append(GpuPlan(node, idx, g.group, tuple(g.slots)))
    by_node: dict[int, list[GpuPlan]] = defaultdict(list)
    for gp in out:
        by_node[gp.node].append(gp)
    configs = tuple(node_label(by_node[n]) for n in range(nodes))
    reconfigured: list[Pos] = []
    removed: list[int] = []
    if prev is not None:
        now = {(g.node, g.index): g for g in out}
        for pg in prev.gpus:
            if not pg.used:
                continue
            if pg.node >= nodes:
                continue
            ng = now[(pg.node, pg.index)]
            if ng.layout != pg.layout or ng.group != pg.group:
                reconfigured.append((pg.node, pg.index))
        removed = list(range(nodes, prev.nodes))
    return PoolPlan(
        name=d.name,
        kind=d.kind,
        gpu_model=d.gpu_model,
        instance_type=d.instance_type,
        gpus_per_node=d.gpus_per_node,
        nodes=nodes,
        gpus=tuple(out),
        lower_bound=lower,
        lb_plus=lb_plus,
        node_configs=configs,
        reconfigured=tuple(sorted(reconfigured)),
        removed_nodes=tuple(removed),
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def _node_limits(
    d: PoolDemand, nodes_all: int, nodes_guaranteed: int, errors: list[str], warnings: list[str]
) -> None:
    what = "maxNodes" if d.kind == "shared-pool" else "maxSize"
    if d.max_nodes is None:
        return
    if nodes_guaranteed > d.max_nodes:
        errors.append(
            f"guaranteed demand needs {nodes_guaranteed} node(s) of "
            f"{d.instance_type}; {what} is {d.max_nodes}"
        )
    elif nodes_all > d.max_nodes:
        warnings.append(
            f"guaranteed demand plus overflow headroom needs {nodes_all} node(s); "
            f"{what} is {d.max_nodes}, so bursts may not find capacity"
        )


def _plan_packed(d: PoolDemand, prev: PoolPlan | None) -> PoolPlan:
    geo = geometry(d.gpu_model)
    gpn = d.gpus_per_node
    spread = any(r.spread for r in d.requests)
    prev_by_group: dict[str, list[GpuPlan]] = defaultdict(list)
    if prev is not None:
        for pg in prev.gpus:
            if pg.used:
                prev_by_group[pg.group].append(pg)
    gpus: list[_Gpu] = []
    lower = lb_plus = guaranteed = 0
    by_group = _by_group(d)
    for group, reqs in by_group.items():
        vec, whole = _group_vec(d.gpu_model, reqs)
        gpus.extend(_stable(d.gpu_model, group, vec, whole, prev_by_group.get(group, [])))
        lower += geo.lower_bound(vec) + whole
        lb_plus += geo.plain_lower_bound(vec) + whole
        gvec, gwhole = _group_vec(d.gpu_model, reqs, guaranteed_only=True)
        guaranteed += len(pack_vec(d.gpu_model, gvec)) + gwhole
    if spread:
        lower, lb_plus = max(lower, 2), max(lb_plus, 2)
    min_spread = 2 if spread else 0
    nodes = max(d.min_nodes, math.ceil(len(gpus) / gpn), min_spread)
    errors: list[str] = []
    warnings: list[str] = []
    _node_limits(
        d,
        nodes,
        max(math.ceil(guaranteed / gpn), min_spread if guaranteed else 0),
        errors,
        warnings,
    )
    for g in gpus:
        if g.pos is not None and g.pos[0] >= nodes:
            g.pos = None  # on a node that goes away
    _place_gpus(gpus, nodes, gpn, prev)
    gpus_of: dict[str, list[_Gpu]] = defaultdict(list)
    for g in gpus:
        gpus_of[g.group].append(g)
    for group, reqs in by_group.items():
        mine = gpus_of[group]
        for _ in range(len(reqs) + 1):
            violations = _assign(reqs, mine)
            if not violations:
                break
            before = len(gpus)
            nodes = _repair_spread(d, gpus, violations[0], nodes)
            mine.extend(gpus[before:])  # a repair adds at most one GPU, of this group
        else:
            warnings.append(f"group {group!r}: could not spread every model over two nodes")
    return _finish(d, gpus, nodes, prev, lower, lb_plus, errors, warnings)


def _plan_fixed(d: PoolDemand, prev: PoolPlan | None) -> PoolPlan:
    """A node group with a declared migLayout: choose the node count, keep the layout."""
    assert d.fixed_layout is not None
    layout = dict(d.fixed_layout)
    gpu = gpu_models()[d.gpu_model]
    placed = place(gpu, layout)
    errors: list[str] = []
    warnings: list[str] = []
    if placed is None:
        errors.append(f"migLayout {layout} cannot be placed on one {d.gpu_model}")
        placed = ()
    fixed: Layout = tuple((p.profile, p.start) for p in placed)
    need_all: dict[str, int] = defaultdict(int)
    need_guar: dict[str, int] = defaultdict(int)
    for r in d.requests:
        need_all[r.profile] += r.count
        if r.role == "guaranteed":
            need_guar[r.profile] += r.count
    for profile in sorted(need_all):
        if profile not in layout:
            errors.append(
                f"demand for {profile!r} but the node group's migLayout offers only "
                f"{', '.join(sorted(layout))}"
            )

    def gpus_for(need: dict[str, int]) -> int:
        return max((math.ceil(n / layout[p]) for p, n in need.items() if p in layout), default=0)

    gpn = d.gpus_per_node
    spread = any(r.spread for r in d.requests)
    min_spread = 2 if spread else 0
    g_all = gpus_for(need_all)
    nodes = max(d.min_nodes, math.ceil(g_all / gpn), min_spread if g_all else 0)
    g_guar = gpus_for(need_guar)
    _node_limits(
        d, nodes, max(math.ceil(g_guar / gpn), min_spread if g_guar else 0), errors, warnings
    )
    group = d.requests[0].group if d.requests else d.name.split("/")[0]
    gpus = [_Gpu(group, fixed, pos) for pos in _positions(nodes, gpn)] if fixed else []
    violations = _assign([r for r in d.requests if r.profile in layout], gpus)
    for r in violations:
        warnings.append(
            f"{r.tenant}/{r.model}: cannot spread over two nodes "
            f"({nodes} node(s) of the fixed layout)"
        )
    lower = max(g_all, min_spread if g_all else 0)
    return _finish(d, gpus, nodes, prev, lower, lower, errors, warnings)
