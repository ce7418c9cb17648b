"""``plan()``: demands (and optionally the previous plan) -> nodes and per-GPU layouts.

Per pool, every isolation group (the shared tenants together; each isolated tenant alone; a
node group's tenant) is packed onto GPUs of its own, so no GPU ever holds two groups; an
isolated tenant's demand on a shared pool is a pool of its own (``tenant-nodes``, see
:mod:`.demand`), so no node holds two groups either.

With a previous plan there are two re-plan strategies:

- ``minimal-disruption`` (default): reconfigure no GPU that holds running slices of a tenant
  whose demand did not change, using spare slots, free GPUs and new GPUs first, as long as
  the pool stays within ``extra_gpus`` GPUs of a from-scratch packing (see :mod:`.replan`);
  only when that budget cannot be met otherwise are the GPUs disturbing the fewest other
  tenants reconfigured. Nodes holding such GPUs are kept.
- ``fewest-gpus``: a group first keeps every previous GPU whose layout is still fully used,
  then those partly used when keeping them costs no extra GPU, and packs only what is left;
  if that would need more GPUs than a fresh packing, the fresh packing is used, and so it is
  when the whole plan, spread repairs included, exceeds a fresh plan by more than
  ``extra_gpus``. This is also
  the fallback of the first strategy.

Either way, every request first takes back the slots it held on GPUs whose layout did not
change; new layouts go first to positions whose previous layout is identical (no change),
then to free GPUs, then to GPUs being reconfigured. GPU positions are filled index-major (GPU
0 of every node, then GPU 1...), so a group's GPUs alternate between nodes; replicas of models
with minReplicas >= 2 are then assigned to slices on two nodes, adding a slice on another node
where that is impossible. A pod of several whole GPUs (an LLM replica with ``gpus: N``) is
placed first, whole on one node, first-fit decreasing (:func:`_place_pods`); the other GPUs
take the positions left. ``PoolPlan.disturbed`` names, per GPU that is reconfigured or loses
its node, the tenants whose slices it held.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from ..catalog import NodeResources, gpu_models, instance_types, node_allocatable, place
from .demand import SHARED, WHOLE_GPU, PoolDemand, Request
from .geometry import Vec, geometry
from .layouts import Layout, add_instance, placements
from .migparted import node_label
from .model import FleetPlan, GpuPlan, PoolPlan, Slot
from .packer import pack_vec
from .replan import Held, choose

Pos = tuple[int, int]  # (node, gpu index)
Key = tuple[str, str, str, str]  # (tenant, model, profile, role) of a request or slot
PodId = tuple[Key, int]  # a multi-device pod: its request's key and its index
PHASE_B_LIMIT = 64  # partly used previous GPUs considered per group
Strategy = Literal["minimal-disruption", "fewest-gpus"]
STRATEGIES: tuple[Strategy, ...] = ("minimal-disruption", "fewest-gpus")
EXTRA_GPUS = 1  # default: GPUs per pool a minimal-disruption re-plan may use over a fresh one


@dataclass
class _Gpu:
    group: str
    layout: Layout  # (profile, start); whole GPU: (("gpu", 0),)
    pos: Pos | None = None
    slots: list[Slot] = field(default_factory=list)
    kept: bool = False  # a previous GPU kept in place with its layout
    others: frozenset[str] = frozenset()  # kept: tenants on it whose demand did not change
    pod: PodId | None = None  # a whole GPU of one multi-device pod (see _place_pods)


def plan(
    demands: Sequence[PoolDemand],
    previous: FleetPlan | None = None,
    *,
    strategy: Strategy = "minimal-disruption",
    extra_gpus: int = EXTRA_GPUS,
) -> FleetPlan:
    """Plan every pool; with ``previous``, re-plan by ``strategy`` (see the module doc):
    ``extra_gpus`` is how many GPUs per pool a minimal-disruption re-plan may use beyond a
    from-scratch packing of the same demand to leave other tenants' GPUs alone."""
    plans = [
        plan_pool(
            d,
            previous.pool(d.name) if previous else None,
            strategy=strategy,
            extra_gpus=extra_gpus,
        )
        for d in demands
    ]
    return FleetPlan(tuple(_within_pool(plans)))


def _within_pool(plans: Sequence[PoolPlan]) -> list[PoolPlan]:
    """A shared pool's ``maxNodes`` bounds the pool with the tenants' own nodes carved from
    it: when together they need more, the shared pool's plan says so (the platform stack
    declares each tenant's nodes and the pool's own nodes as separate node groups)."""
    out = list(plans)
    for i, p in enumerate(out):
        if p.kind != "shared-pool" or p.max_nodes is None or p.errors:
            continue
        carved = [q for q in out if q.kind == "tenant-nodes" and q.shared_pool == p.name]
        total = p.nodes + sum(q.nodes for q in carved)
        if total <= p.max_nodes or not carved:
            continue
        own = ", ".join(f"{q.nodes} for tenant {q.tenant}" for q in carved)
        out[i] = dataclasses.replace(
            p,
            errors=(
                f"the plan needs {total} node(s) of {p.instance_type} ({p.nodes} shared, "
                f"{own}: isolated tenants get whole nodes of their own); maxNodes is "
                f"{p.max_nodes}",
            ),
            needed_nodes=total,
        )
    return out


def plan_pool(
    d: PoolDemand,
    prev: PoolPlan | None = None,
    *,
    strategy: Strategy = "minimal-disruption",
    extra_gpus: int = EXTRA_GPUS,
) -> PoolPlan:
    if strategy not in STRATEGIES:
        raise ValueError(f"re-plan strategy {strategy!r}; accepted: {', '.join(STRATEGIES)}")
    if extra_gpus < 0:
        raise ValueError(f"extra_gpus must be 0 or more, got {extra_gpus}")
    if prev is not None and (
        prev.gpu_model != d.gpu_model or prev.gpus_per_node != d.gpus_per_node
    ):
        prev = None  # another instance type: nothing carries over

    def run(floor: int, guaranteed_floor: int) -> PoolPlan:
        if d.fixed_layout is not None:
            return _plan_fixed(d, prev, floor, guaranteed_floor)
        return _plan_packed(
            d, prev, strategy, extra_gpus, floor=floor, guaranteed_floor=guaranteed_floor
        )

    return _fit_nodes(d, run)


RESOURCES = ("cpu", "memory", "pods")


Pods = Mapping[Key, tuple[NodeResources, int]]


def _pod_requests(d: PoolDemand) -> dict[Key, tuple[NodeResources, int]]:
    """(tenant, model, profile, role) of a slot -> what its pod requests on the node and
    how many devices (slots) the pod holds."""
    out: dict[Key, tuple[NodeResources, int]] = {}
    for r in d.requests:
        key = (r.tenant, r.model, r.profile, r.role)
        was, devices = out.get(key, (NodeResources(0, 0, 1), r.devices))
        out[key] = (
            NodeResources(max(was.cpu_m, r.cpu_m), max(was.memory_mib, r.memory_mib), 1),
            max(devices, r.devices),
        )
    return out


def _node_loads(p: PoolPlan, pods: Pods) -> list[NodeResources]:
    """What the pods of every node of ``p`` request (pooled headroom included: a burst
    replica lands on its slice's node). A pod of several devices holds several slots of
    one node (:func:`_place_pods`): it counts once."""
    slots: list[Counter[Key]] = [Counter() for _ in range(p.nodes)]
    for g in p.gpus:
        for s in g.slots:
            slots[g.node][(s.tenant, s.model, s.profile, s.role)] += 1
    out = []
    for node in slots:
        cpu = mem = n = 0
        for key, k in node.items():
            got = pods.get(key)
            if got is None:
                continue
            r, devices = got
            count = -(-k // devices)
            cpu += count * r.cpu_m
            mem += count * r.memory_mib
            n += count
        out.append(NodeResources(cpu, mem, n))
    return out


def _gpu_over(p: PoolPlan, pods: Pods, alloc: NodeResources) -> GpuPlan | None:
    """A GPU whose slices' pods alone request more than a node offers (more nodes cannot
    help: the packing put too many instances on one GPU for the node's CPU or memory)."""
    for g in p.gpus:
        load: list[NodeResources] = []
        for s in g.slots:
            got = pods.get((s.tenant, s.model, s.profile, s.role))
            if got is not None:
                load.append(got[0])
        total = NodeResources(
            sum(x.cpu_m for x in load), sum(x.memory_mib for x in load), len(load)
        )
        if not alloc.fits(total):
            return g
    return None


def _overload(load: NodeResources, alloc: NodeResources) -> float:
    """How many times a node's requests exceed its allocatable, by the worst resource."""
    return max(
        load.cpu_m / max(alloc.cpu_m, 1),
        load.memory_mib / max(alloc.memory_mib, 1),
        load.pods / max(alloc.pods, 1),
    )


def _binding(loads: Sequence[NodeResources], alloc: NodeResources) -> str:
    """The resource whose total over the pool's nodes is the largest share of theirs."""
    totals = (
        sum(x.cpu_m for x in loads) / max(alloc.cpu_m, 1),
        sum(x.memory_mib for x in loads) / max(alloc.memory_mib, 1),
        sum(x.pods for x in loads) / max(alloc.pods, 1),
    )
    return RESOURCES[max(range(3), key=lambda i: (totals[i], -i))]


def _floor(requests: Sequence[Request], alloc: NodeResources) -> int:
    """Nodes the requests' pods need by CPU, memory and pod slots alone (fractional bound;
    ``count`` is pods, whatever their devices)."""
    need = (
        sum(r.count * r.cpu_m for r in requests) / alloc.cpu_m if alloc.cpu_m > 0 else 0,
        sum(r.count * r.memory_mib for r in requests) / alloc.memory_mib
        if alloc.memory_mib > 0
        else 0,
        sum(r.count for r in requests) / alloc.pods if alloc.pods > 0 else 0,
    )
    return max(math.ceil(round(x, 9)) for x in need)


def _fit_nodes(d: PoolDemand, run: Callable[[int, int], PoolPlan]) -> PoolPlan:
    """Plan with enough nodes that every node's pods fit its allocatable: the GPU-only plan
    first, then at least the nodes the pods' summed requests need; while a node's pods
    request more CPU, memory or pod slots than it offers, plan again with the node count
    scaled by the fullest node's overload (GPU positions fill index-major, so extra nodes
    spread the GPUs and their replicas), then bisect down to the fewest nodes that fit.
    ``bound_by`` names the resource that set the count."""
    gpu_only = run(0, 0)
    it = instance_types().get(d.instance_type or "")
    if it is None:
        return dataclasses.replace(gpu_only, gpu_nodes=gpu_only.nodes)
    alloc = node_allocatable(it.vcpu, it.memory_gib, gpu_node=True)
    pods = _pod_requests(d)
    out = gpu_only
    floor = _floor(d.requests, alloc)
    guaranteed_floor = _floor([r for r in d.requests if r.role == "guaranteed"], alloc)
    if floor > out.nodes or guaranteed_floor > out.needed_nodes:
        out = run(floor, guaranteed_floor)
    loads = _node_loads(out, pods)
    limit = out.nodes + sum(r.count for r in d.requests)  # one replica per node at most
    errors: list[str] = []
    low = out.nodes  # the most nodes known not to fit
    while not all(alloc.fits(x) for x in loads):
        bad = _gpu_over(out, pods, alloc)
        if bad is not None or out.nodes >= limit:
            where = f"GPU {bad.index} of node {bad.node}" if bad else "the plan's nodes"
            errors.append(
                f"the pods of {where} request more than a node of {d.instance_type} offers "
                f"({alloc.cpu_m}m CPU, {alloc.memory_mib} MiB, {alloc.pods} pods allocatable "
                "less the node agents): the GPU packing puts more replicas on one GPU than "
                "a node's CPU or memory holds"
            )
            break
        # GPUs spread evenly over the nodes: scale by the fullest node's overload
        low = out.nodes
        worst = max(_overload(x, alloc) for x in loads)
        out = run(min(limit, max(low + 1, math.ceil(low * worst))), guaranteed_floor)
        loads = _node_loads(out, pods)
    if not errors:  # the fewest nodes between the last that did not fit and the first that did
        while out.nodes - low > 1:
            mid = (low + out.nodes) // 2
            trial = run(mid, guaranteed_floor)
            trial_loads = _node_loads(trial, pods)
            if trial.nodes < out.nodes and all(alloc.fits(x) for x in trial_loads):
                out, loads = trial, trial_loads
            else:
                low = mid
    bound = "gpu" if out.nodes <= gpu_only.nodes else _binding(loads, alloc)
    return dataclasses.replace(
        out,
        allocatable=alloc,
        node_requests=tuple(loads),
        gpu_nodes=gpu_only.nodes,
        bound_by=bound,
        errors=out.errors + tuple(errors),
    )


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
            whole += r.instances
        else:
            counts[r.profile] += r.instances
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
                kept.append(_Gpu(group, g.layout, (g.node, g.index), kept=True))
            continue
        try:
            v = geo.vec(g.counts())
        except KeyError:
            continue
        if all(x <= r for x, r in zip(v, rem, strict=True)):
            rem = [r - x for x, r in zip(v, rem, strict=True)]
            kept.append(_Gpu(group, g.layout, (g.node, g.index), kept=True))
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
            kept.append(_Gpu(group, g.layout, (g.node, g.index), kept=True))
            rem, base = list(after_rem), after
    new = _fresh(gpu_model, group, tuple(rem), whole)
    if len(kept) + len(new) > len(fresh):
        return fresh  # stability would cost GPUs: re-pack, matching positions where equal
    return kept + new


def _owner_counts(slots: Sequence[Slot]) -> Counter[tuple[str, str, str, str]]:
    return Counter((s.tenant, s.model, s.profile, s.role) for s in slots if s.role != "spare")


def changed_tenants(requests: Sequence[Request], previous: Sequence[GpuPlan]) -> frozenset[str]:
    """Tenants whose slots in ``previous`` differ from what ``requests`` ask for (by model,
    profile, role and count)."""
    before = _owner_counts([s for g in previous for s in g.slots])
    now: Counter[tuple[str, str, str, str]] = Counter()
    for r in requests:
        now[(r.tenant, r.model, r.profile, r.role)] += r.instances
    return frozenset(t for t, _, _, _ in (before - now) + (now - before) if t)


def _minimal(
    gpu_model: str,
    group: str,
    requests: Sequence[Request],
    vec: Vec,
    whole: int,
    previous: list[GpuPlan],
    budget: int,
) -> list[_Gpu] | None:
    """The group's GPUs by :func:`.replan.choose`; None when it finds none within budget."""
    if not previous:
        return _fresh(gpu_model, group, vec, whole)
    geo = geometry(gpu_model)
    changed = changed_tenants(requests, previous)
    held: list[Held] = []
    kept_from: list[GpuPlan] = []  # previous GPUs that may be kept, parallel to ``held``
    for g in previous:
        others = frozenset(s.tenant for s in g.slots if s.tenant and s.role != "spare") - changed
        busy = sum(s.role != "spare" for s in g.slots)
        if g.mig:
            try:
                v: Vec | None = geo.vec(g.counts())
            except KeyError:  # a profile this GPU model lacks: the GPU cannot be kept
                continue
        else:
            v = None
        spare = sum(_slices(gpu_model, s.profile) for s in g.slots if s.role == "spare")
        held.append(Held(v, others, busy, spare))
        kept_from.append(g)
    c = choose(gpu_model, vec, whole, held, budget)
    if c is None:
        return None
    out = [
        _Gpu(
            group,
            kept_from[i].layout,
            (kept_from[i].node, kept_from[i].index),
            kept=True,
            others=held[i].others,
        )
        for i in c.keep
    ]
    out += [_Gpu(group, placements(gpu_model, v)) for v in c.new]
    out += [_Gpu(group, ((WHOLE_GPU, 0),)) for _ in range(c.new_whole)]
    return out


@lru_cache(maxsize=256)
def _slices(gpu_model: str, profile: str) -> int:
    """Compute plus memory slices of one instance (a whole GPU: all of them)."""
    gpu = gpu_models()[gpu_model]
    p = gpu.profile(profile)
    if p is None:
        return gpu.compute_slices + gpu.memory_slices
    return p.compute_slices + p.memory_slices


def _pods_of(requests: Sequence[Request]) -> list[Request]:
    """The requests whose pods hold several devices, in placement order: the largest pods
    first, then spread requests, then by tenant and model (one entry per request)."""
    many = [r for r in requests if r.devices > 1 and r.profile == WHOLE_GPU]
    return sorted(many, key=lambda r: (-r.devices, not r.spread, r.tenant, r.model, r.role))


def _ffd(
    requests: Sequence[Request],
    free: Sequence[int],
    gpn: int,
    before: Mapping[Key, Sequence[int]] | None = None,
    worst_fit: bool = False,
) -> tuple[list[tuple[Request, int, int]], list[int]]:
    """First-fit decreasing of the multi-device pods of ``requests`` onto nodes with
    ``free`` GPU positions (more nodes of ``gpn`` added as needed): each pod goes to the
    lowest-numbered node with room for all its devices; while a request that must spread
    (minReplicas >= 2) has all its pods on one node, the next avoids it. ``before`` gives
    the nodes of pods a request already holds (kept from the previous plan): only the rest
    are placed. With ``worst_fit`` each pod goes to the node with the most free positions
    instead (the pool has more nodes than its GPUs need: CPU, memory or pod slots bind, and
    the pods' requests spread over them). Returns (request, pod index, node) of every pod
    placed, and the free positions left per node. A pod of more devices than ``gpn`` fits
    no node: left out."""
    left = list(free)
    out: list[tuple[Request, int, int]] = []
    for r in _pods_of(requests):
        if r.devices > gpn:
            continue
        on = list((before or {}).get((r.tenant, r.model, r.profile, r.role), ()))
        for i in range(len(on), r.count):
            avoid = on[0] if r.spread and len(set(on)) == 1 else None
            fits = [n for n, k in enumerate(left) if k >= r.devices and n != avoid]
            node = max(fits, key=lambda n: (left[n], -n)) if worst_fit and fits else None
            node = fits[0] if fits and node is None else node
            if node is None:
                left.append(gpn)
                node = len(left) - 1
            left[node] -= r.devices
            out.append((r, i, node))
            on.append(node)
    return out, left


def _place_pods(
    d: PoolDemand,
    gpus: list[_Gpu],
    nodes: int,
    prev: PoolPlan | None,
    errors: list[str],
    worst_fit: bool = False,
) -> int:
    """Pin the whole GPUs of every multi-device pod (an LLM replica of ``gpus: N``) to one
    node: the Kubernetes scheduler binds a pod to one node and the device plugin gives its
    container devices of that node only, so a pod's GPUs split over nodes would leave it
    Pending. A pod whose GPUs the previous plan had on one node, all still kept in place,
    stays there; the others are placed first-fit decreasing (:func:`_ffd`) onto the
    positions no pinned GPU holds, adding nodes where none has room. Returns the (possibly
    larger) node count. The group's other GPUs are placed afterwards (:func:`_place_gpus`)."""
    many = [r for r in d.requests if r.devices > 1]
    if not many:
        return nodes
    gpn = d.gpus_per_node
    for r in many:
        if r.profile != WHOLE_GPU:
            errors.append(
                f"{r.tenant or 'platform'}/{r.model}: pods of {r.devices} x {r.profile}; "
                f"the planner places pods of several whole GPUs only (a MIG slice is one "
                f"device per replica)"
            )
        elif r.devices > gpn:
            errors.append(
                f"{r.tenant or 'platform'}/{r.model}: one pod asks for {r.devices} GPUs and "
                f"a node of {d.instance_type or d.gpu_model} has {gpn}: the pod can never be "
                "scheduled"
            )
    many = [r for r in many if r.profile == WHOLE_GPU and r.devices <= gpn]
    if not many:
        return nodes
    groups = {r.group for r in many}
    kept: dict[Pos, _Gpu] = {}  # whole GPUs of those groups still in place
    loose: dict[str, list[_Gpu]] = defaultdict(list)  # and those without a position
    for g in gpus:
        if g.group in groups and g.layout == ((WHOLE_GPU, 0),):
            g.pod = None
            if g.pos is None:
                loose[g.group].append(g)
            else:
                kept[g.pos] = g
    # pods that keep their GPUs: the previous plan's slots of the request, per node
    held: dict[Key, dict[int, list[Pos]]] = defaultdict(lambda: defaultdict(list))
    if prev is not None:
        for pg in prev.gpus:
            if pg.used and not pg.mig:
                for s in pg.slots:
                    held[(s.tenant, s.model, s.profile, s.role)][pg.node].append(
                        (pg.node, pg.index)
                    )
    before: dict[Key, list[int]] = defaultdict(list)
    for r in _pods_of(many):
        key = (r.tenant, r.model, r.profile, r.role)
        chunks: list[list[list[_Gpu]]] = []  # per node, the pods it can keep
        for _, was in sorted(held.get(key, {}).items()):
            was, fits = sorted(was), []
            while len(was) >= r.devices:
                at, was = was[: r.devices], was[r.devices :]
                same = [kept[p] for p in at if p in kept]
                if len(same) < r.devices or any(k.group != r.group for k in same):
                    break
                fits.append(same)
            if fits:
                chunks.append(fits)
        # one pod of each node in turn, so that kept pods spread where they did before
        order = [
            c[i] for i in range(max(map(len, chunks), default=0)) for c in chunks if i < len(c)
        ]
        order = order[: r.count]
        if r.spread and len(chunks) == 1 and r.count >= 2 and len(order) == r.count:
            order = order[:-1]  # all on one node: the last goes to another
        for pod in order:
            for k in pod:
                k.pod = (key, len(before[key]))
            before[key].append(_pos(pod[0])[0])
    for g in kept.values():  # kept whole GPUs of no pod: moved first if a pod needs GPUs
        if g.pod is None:
            loose[g.group].append(g)
    occupied = {g.pos for g in gpus if g.pos is not None}
    free = [sum((n, i) not in occupied for i in range(gpn)) for n in range(nodes)]
    placed, left = _ffd(many, free, gpn, before, worst_fit)
    nodes = max(nodes, len(left))
    for r, i, node in placed:
        for pos in [p for p in ((node, x) for x in range(gpn)) if p not in occupied][: r.devices]:
            # a GPU with no position first, then a kept one of no pod (it moves)
            mine = loose[r.group]
            unplaced = next((g for g in mine if g.pos is None), None)
            if unplaced is not None:
                mine.remove(unplaced)
                g = unplaced
            elif mine:
                g = mine.pop()
                occupied.discard(g.pos)
            else:  # not expected: the group's GPUs hold every instance of its demand
                g = _Gpu(r.group, ((WHOLE_GPU, 0),))
                gpus.append(g)
            g.pos, g.kept, g.pod = pos, False, ((r.tenant, r.model, r.profile, r.role), i)
            occupied.add(pos)
    return nodes


def _positions(nodes: int, gpn: int, pods: set[Pos | None] | None = None) -> list[Pos]:
    """Every position, index-major (GPU 0 of every node, then GPU 1...), so that GPUs taken
    in this order alternate between nodes; positions of multi-device pods (``pods``) are
    left out and each node's others ranked among themselves, so the alternation holds
    beside the pods too (at equal rank, nodes holding fewer pod GPUs first)."""
    if not pods:
        return [(node, idx) for idx in range(gpn) for node in range(nodes)]
    ranked: list[tuple[int, int, int, int]] = []
    for node in range(nodes):
        mine = [idx for idx in range(gpn) if (node, idx) not in pods]
        ranked.extend((k, gpn - len(mine), node, idx) for k, idx in enumerate(mine))
    return [(node, idx) for _, _, node, idx in sorted(ranked)]


def _place_gpus(gpus: list[_Gpu], nodes: int, gpn: int, prev: PoolPlan | None) -> None:
    """Give every unpinned GPU a position: identical previous layout, free, then dirty."""
    occupied = {g.pos for g in gpus if g.pos is not None}
    prev_at: dict[Pos, GpuPlan] = {}
    if prev is not None:
        prev_at = {(g.node, g.index): g for g in prev.gpus if g.used and g.node < nodes}
    same: dict[tuple[str, Layout], deque[Pos]] = defaultdict(deque)
    clean: list[Pos] = []
    dirty: list[Pos] = []
    for pos in _positions(nodes, gpn, {g.pos for g in gpus if g.pod is not None}):
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


def _sticky(
    by_profile: Mapping[str, list[tuple[int, _Gpu, int]]], prev_at: Mapping[Pos, GpuPlan]
) -> dict[tuple[str, str, str, str], list[int]]:
    """(tenant, model, profile, role) -> indices (into ``by_profile[profile]``) of the slots
    it held before on GPUs whose layout and group did not change."""
    out: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    if not prev_at:
        return out
    for profile, lst in by_profile.items():
        for j, (_, g, start) in enumerate(lst):
            pg = prev_at.get(_pos(g))
            if pg is None or pg.layout != g.layout or pg.group != g.group:
                continue
            for s in pg.slots:
                if s.start == start and s.role != "spare":
                    out[(s.tenant, s.model, profile, s.role)].append(j)
    return out


def _assign(
    requests: list[Request], gpus: list[_Gpu], prev_at: Mapping[Pos, GpuPlan] | None = None
) -> list[Request]:
    """Fill each GPU's slots with replicas, each request first taking back the slots it held
    in ``prev_at`` (the previous plan by position); returns the spread requests left on one
    node."""
    by_profile: dict[str, list[tuple[int, _Gpu, int]]] = defaultdict(list)
    pods: dict[PodId, list[_Gpu]] = defaultdict(list)
    for g in gpus:
        assert g.pos is not None
        g.slots = []
        if g.pod is not None:  # a multi-device pod's GPU: its request's, placed whole
            pods[g.pod].append(g)
            continue
        for profile, start in g.layout:
            by_profile[profile].append((g.pos[0], g, start))
    for lst in by_profile.values():
        lst.sort(key=lambda s: (s[1].pos[1], s[1].pos[0], s[2]))  # type: ignore[index]
    used: dict[str, list[bool]] = {p: [False] * len(v) for p, v in by_profile.items()}
    ptr: dict[str, int] = defaultdict(int)
    held: dict[int, list[tuple[int, Slot]]] = defaultdict(list)  # id(request) -> (index, slot)

    def mark(r: Request, j: int) -> int:
        used[r.profile][j] = True
        node, g, start = by_profile[r.profile][j]
        slot = Slot(start, r.profile, r.tenant, r.model, r.role)
        g.slots.append(slot)
        held[id(r)].append((j, slot))
        return node

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
        return mark(r, j)

    def release(r: Request) -> int:
        """Give back ``r``'s last slot; returns the node it was on."""
        j, slot = held[id(r)].pop()
        node, g, _ = by_profile[r.profile][j]
        used[r.profile][j] = False
        ptr[r.profile] = min(ptr[r.profile], j)
        g.slots.remove(slot)
        return node

    for r in requests:  # the pods of several devices: the GPUs _place_pods pinned for them
        key = (r.tenant, r.model, r.profile, r.role)
        for i in range(r.count if r.devices > 1 else 0):
            for g in pods.get((key, i), ()):
                g.slots.append(Slot(0, r.profile, r.tenant, r.model, r.role))
    order = sorted(
        (r for r in requests if r.devices == 1),
        key=lambda r: (r.role != "guaranteed", not r.spread, r.tenant, r.model, r.profile),
    )
    left = {id(r): r.count for r in order}
    sticky = _sticky(by_profile, prev_at or {})
    for r in order:  # slots held before, where they still exist
        for j in sticky.get((r.tenant, r.model, r.profile, r.role), ()):
            if left[id(r)] == 0:
                break
            if not used[r.profile][j]:
                mark(r, j)
                left[id(r)] -= 1
    violations = []
    for r in order:  # first two replicas of each spread model on two nodes
        if not (r.role == "guaranteed" and r.spread and r.count >= 2):
            continue
        nodes = {by_profile[r.profile][j][0] for j, _ in held[id(r)]}
        if len(nodes) >= 2:
            continue
        if not nodes:
            first = take(r)
            left[id(r)] -= first is not None
        else:
            first = next(iter(nodes))
            if left[id(r)] == 0:  # every replica came back on one node: move one
                release(r)
                left[id(r)] += 1
        second = take(r, avoid=first)
        left[id(r)] -= second is not None
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


def _repair_spread(
    d: PoolDemand, gpus: list[_Gpu], r: Request, nodes: int, leave_others: bool = False
) -> int:
    """Add one ``r.profile`` instance on a node other than the one holding ``r``'s replicas:
    on a GPU that changes anyway, else on a free GPU, else (unless ``leave_others``) by
    growing a kept GPU that holds other tenants' slices, else on a new node; returns the
    (possibly larger) node count."""
    holding = {
        _pos(g)[0]
        for g in gpus
        for s in g.slots
        if s.tenant == r.tenant and s.model == r.model and s.profile == r.profile
    }
    growable = sorted(
        (
            g
            for g in gpus
            if r.profile != WHOLE_GPU
            and g.group == r.group
            and g.layout
            and g.layout[0][0] != WHOLE_GPU
            and _pos(g)[0] not in holding
        ),
        key=lambda g: (g.kept, _rank(_pos(g))),
    )

    def grow(candidates: list[_Gpu]) -> bool:
        for g in candidates:
            grown = add_instance(d.gpu_model, g.layout, r.profile)
            if grown is not None:
                g.layout = grown
                g.kept = False
                return True
        return False

    # GPUs that change anyway first; a kept GPU holding other tenants only as a last resort
    if grow([g for g in growable if not g.others]):
        return nodes
    occupied = {g.pos for g in gpus}
    free = [
        p for p in _positions(nodes, d.gpus_per_node) if p not in occupied and p[0] not in holding
    ]
    if not free and not leave_others and grow([g for g in growable if g.others]):
        return nodes
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
    guaranteed_nodes: int,
) -> PoolPlan:
    # a shared pool and a tenant's nodes carved from it run every planned node (the platform
    # stack sets their desired size); a node group's autoscaler adds the burst nodes
    needed = guaranteed_nodes if d.kind == "node-group" else nodes
    if d.kind == "shared-pool" and d.max_nodes is not None and nodes > d.max_nodes and not errors:
        # spreading replicas over two nodes added a node after the limits were checked
        errors = [
            f"the plan needs {nodes} node(s) of {d.instance_type} (guaranteed demand, overflow "
            f"headroom and replicas spread over two nodes); maxNodes is {d.max_nodes}"
        ]
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
    reconfigured, removed, disturbed = _changes(prev, out, nodes)
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
        reconfigured=reconfigured,
        removed_nodes=removed,
        disturbed=disturbed,
        errors=tuple(errors),
        warnings=tuple(warnings),
        max_nodes=d.max_nodes,
        needed_nodes=needed,
        shared_pool=d.shared_pool,
        tenant=d.tenant,
    )


Disturbed = tuple[tuple[int, int, tuple[str, ...]], ...]


def _changes(
    prev: PoolPlan | None, gpus: Sequence[GpuPlan], nodes: int
) -> tuple[tuple[Pos, ...], tuple[int, ...], Disturbed]:
    """(reconfigured GPUs, removed nodes, disturbed GPUs with their tenants) from ``prev``
    to ``gpus``: a previously used GPU whose layout or group changes is reconfigured, and
    disturbed with every GPU on a node that goes away."""
    if prev is None:
        return (), (), ()
    reconfigured: list[Pos] = []
    disturbed: list[tuple[int, int, tuple[str, ...]]] = []
    now = {(g.node, g.index): g for g in gpus}
    for pg in prev.gpus:
        if not pg.used:
            continue
        ng = now.get((pg.node, pg.index))
        if ng is not None and ng.layout == pg.layout and ng.group == pg.group:
            continue
        if ng is not None:
            reconfigured.append((pg.node, pg.index))
        disturbed.append((pg.node, pg.index, tuple(sorted(_tenants(pg)))))
    return tuple(sorted(reconfigured)), tuple(range(nodes, prev.nodes)), tuple(sorted(disturbed))


def _node_limits(
    d: PoolDemand, nodes_all: int, nodes_guaranteed: int, errors: list[str], warnings: list[str]
) -> None:
    """A node group must hold its guaranteed demand at ``maxSize`` (its autoscaler adds
    burst nodes up to it: short of the headroom is a warning). A shared pool runs every
    planned node (the platform stack sets its desired size to the plan), so it must hold
    the headroom too."""
    what = "maxNodes" if d.kind == "shared-pool" else "maxSize"
    if d.max_nodes is None:
        return
    if nodes_guaranteed > d.max_nodes:
        # a shared pool runs every planned node: say the number its maxNodes must reach
        headroom = (
            f", {nodes_all} with the overflow headroom the pool runs"
            if d.kind == "shared-pool" and nodes_all > nodes_guaranteed
            else ""
        )
        errors.append(
            f"guaranteed demand needs {nodes_guaranteed} node(s) of "
            f"{d.instance_type}{headroom}; {what} is {d.max_nodes}"
        )
    elif nodes_all > d.max_nodes and d.kind == "shared-pool":
        errors.append(
            f"guaranteed demand plus overflow headroom needs {nodes_all} node(s) of "
            f"{d.instance_type}; {what} is {d.max_nodes}"
        )
    elif nodes_all > d.max_nodes:
        warnings.append(
            f"guaranteed demand plus overflow headroom needs {nodes_all} node(s); "
            f"{what} is {d.max_nodes}, so bursts may not find capacity"
        )


def _plan_packed(
    d: PoolDemand,
    prev: PoolPlan | None,
    strategy: Strategy,
    extra_gpus: int,
    tighten: int = 0,
    floor: int = 0,
    guaranteed_floor: int = 0,
) -> PoolPlan:
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
    fresh_plan: PoolPlan | None = None
    budgets: dict[str, int] = {}
    if strategy == "minimal-disruption" and prev is not None:
        fresh_plan = _plan_packed(d, None, strategy, extra_gpus, 0, floor, guaranteed_floor)
        budgets = _group_budgets(d, by_group, prev_by_group, fresh_plan, extra_gpus - tighten)
    for group, reqs in by_group.items():
        vec, whole = _group_vec(d.gpu_model, reqs)
        previous = prev_by_group.get(group, [])
        mine: list[_Gpu] | None = None
        if group in budgets:
            if not changed_tenants(reqs, previous) and _same_demand(reqs, previous):
                mine = [
                    _Gpu(group, g.layout, (g.node, g.index), kept=True, others=_tenants(g))
                    for g in previous
                ]
            else:
                mine = _minimal(d.gpu_model, group, reqs, vec, whole, previous, budgets[group])
        if mine is None:
            mine = _stable(d.gpu_model, group, vec, whole, previous)
        gpus.extend(mine)
        lower += geo.lower_bound(vec) + whole
        lb_plus += geo.plain_lower_bound(vec) + whole
        gvec, gwhole = _group_vec(d.gpu_model, reqs, guaranteed_only=True)
        guaranteed += len(pack_vec(d.gpu_model, gvec)) + gwhole
    if spread:
        lower, lb_plus = max(lower, 2), max(lb_plus, 2)
    min_spread = 2 if spread else 0
    # a node holding a kept GPU with other tenants' slices stays (moving it would drain them)
    holding = max((g.pos[0] + 1 for g in gpus if g.pos is not None and g.others), default=0)
    nodes = max(d.min_nodes, math.ceil(len(gpus) / gpn), min_spread, holding, floor)
    errors: list[str] = []
    warnings: list[str] = []
    guaranteed_nodes = max(
        math.ceil(guaranteed / gpn),
        min_spread if guaranteed else 0,
        guaranteed_floor,
        len(_ffd([r for r in d.requests if r.role == "guaranteed"], [], gpn)[1]),
    )
    for g in gpus:
        if g.pos is not None and g.pos[0] >= nodes:
            g.pos, g.kept = None, False  # on a node that goes away
    nodes = _place_pods(d, gpus, nodes, prev, errors, worst_fit=floor > 0)
    _node_limits(d, nodes, guaranteed_nodes, errors, warnings)
    _place_gpus(gpus, nodes, gpn, prev)
    prev_at = {(g.node, g.index): g for g in prev.gpus if g.used} if prev is not None else {}
    gpus_of: dict[str, list[_Gpu]] = defaultdict(list)
    for g in gpus:
        gpus_of[g.group].append(g)
    for group, reqs in by_group.items():
        mine = gpus_of[group]
        for _ in range(len(reqs) + 1):
            violations = _assign(reqs, mine, prev_at)
            if not violations:
                break
            before = len(gpus)
            nodes = _repair_spread(
                d, gpus, violations[0], nodes, leave_others=fresh_plan is not None
            )
            mine.extend(gpus[before:])  # a repair adds at most one GPU, of this group
        else:
            warnings.append(f"group {group!r}: could not spread every model over two nodes")
    out = _finish(d, gpus, nodes, prev, lower, lb_plus, errors, warnings, guaranteed_nodes)
    if fresh_plan is None and strategy == "fewest-gpus" and prev is not None:
        # Each group kept its GPUs only where that cost no GPU before the spread repairs; the
        # repairs of kept layouts can still cost more than a fresh plan's (a property test
        # drew +2). Judged on the whole plan: beyond the allowance, the fresh plan wins.
        fresh = _plan_packed(d, None, strategy, extra_gpus, 0, floor, guaranteed_floor)
        if out.used_gpus > fresh.used_gpus + extra_gpus:
            moved = _changes(prev, fresh.gpus, fresh.nodes)
            return dataclasses.replace(
                fresh, reconfigured=moved[0], removed_nodes=moved[1], disturbed=moved[2]
            )
    if fresh_plan is None:
        return out
    over = out.used_gpus - fresh_plan.used_gpus - extra_gpus
    if over > 0 and tighten == 0:  # spread repairs went over the budget: once more with less
        out = _plan_packed(d, prev, strategy, extra_gpus, over, floor, guaranteed_floor)
    for fallback in ("fewest-gpus", "from-scratch"):
        if out.used_gpus <= fresh_plan.used_gpus + extra_gpus or tighten:
            break
        if fallback == "fewest-gpus":
            out = _plan_packed(d, prev, "fewest-gpus", extra_gpus, 0, floor, guaranteed_floor)
        else:  # the from-scratch plan itself, named against the previous one
            moved = _changes(prev, fresh_plan.gpus, fresh_plan.nodes)
            out = dataclasses.replace(
                fresh_plan, reconfigured=moved[0], removed_nodes=moved[1], disturbed=moved[2]
            )
    return out


def _tenants(g: GpuPlan) -> frozenset[str]:
    return frozenset(s.tenant for s in g.slots if s.tenant and s.role != "spare")


def _same_demand(requests: Sequence[Request], previous: Sequence[GpuPlan]) -> bool:
    """Whether ``previous`` holds exactly the slots ``requests`` ask for (pooled headroom,
    which has no tenant, included)."""
    now: Counter[tuple[str, str, str, str]] = Counter()
    for r in requests:
        now[(r.tenant, r.model, r.profile, r.role)] += r.instances
    return _owner_counts([s for g in previous for s in g.slots]) == now


def _group_budgets(
    d: PoolDemand,
    by_group: Mapping[str, Sequence[Request]],
    prev_by_group: Mapping[str, Sequence[GpuPlan]],
    fresh: PoolPlan,
    extra_gpus: int,
) -> dict[str, int]:
    """GPUs each group may use so that the pool stays within ``extra_gpus`` of ``fresh``:
    a group whose demand did not change keeps what it holds; the groups that changed share
    the rest, each its from-scratch count plus what is left of the allowance, in plan order
    (the shared group first)."""
    fresh_of: Counter[str] = Counter(g.group for g in fresh.gpus if g.used)
    unchanged = {
        group
        for group, reqs in by_group.items()
        if prev_by_group.get(group) and _same_demand(reqs, prev_by_group[group])
    }
    left = fresh.used_gpus + extra_gpus
    left -= sum(len(prev_by_group[g]) for g in unchanged)
    left -= sum(fresh_of[g] for g in by_group if g not in unchanged)
    out = {}
    for group in by_group:
        if group in unchanged:
            out[group] = len(prev_by_group[group])
        else:
            out[group] = fresh_of[group] + max(left, 0)
    return out


def _plan_fixed(
    d: PoolDemand, prev: PoolPlan | None, floor: int = 0, guaranteed_floor: int = 0
) -> PoolPlan:
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
        need_all[r.profile] += r.instances
        if r.role == "guaranteed":
            need_guar[r.profile] += r.instances
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
    nodes = max(d.min_nodes, math.ceil(g_all / gpn), min_spread if g_all else 0, floor)
    g_guar = gpus_for(need_guar)
    guaranteed_nodes = max(math.ceil(g_guar / gpn), min_spread if g_guar else 0, guaranteed_floor)
    _node_limits(d, nodes, guaranteed_nodes, errors, warnings)
    group = d.requests[0].group if d.requests else d.name.split("/")[0]
    gpus = [_Gpu(group, fixed, pos) for pos in _positions(nodes, gpn)] if fixed else []
    violations = _assign([r for r in d.requests if r.profile in layout], gpus)
    for r in violations:
        warnings.append(
            f"{r.tenant}/{r.model}: cannot spread over two nodes "
            f"({nodes} node(s) of the fixed layout)"
        )
    lower = max(g_all, min_spread if g_all else 0)
    return _finish(d, gpus, nodes, prev, lower, lower, errors, warnings, guaranteed_nodes)
