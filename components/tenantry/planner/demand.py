"""What each GPU pool must hold: demand extraction from resolved tenants and ad-hoc demand.

Isolation groups: the tenants whose slices may share a GPU form one group per shared pool
(:data:`SHARED`); every other tenant's demand (the isolated tier on a shared pool, any tenant
on its own node group) is a group of its own. A non-shared group on a shared pool becomes a
pool of its own, of kind ``tenant-nodes`` (:func:`tenant_nodes_name`): whole nodes of the
shared pool's instance type that the platform stack declares as the tenant's node group,
labelled and tainted for it, so the scheduler, not only the plan, keeps other tenants off them.

Guaranteed demand is minReplicas x profile (a canary runs a second revision, so it counts
twice, as the quota rules count it). Overflow headroom is ``platform.overflow_headroom`` x the
burst (maxReplicas - minReplicas, canaries twice), rounded up: pooled per shared pool for the
tenants that share GPUs, and per tenant where the tenant gets GPUs (or nodes) of its own.

Each request also carries what one instance's pod asks of its node besides the slice
(``cpu_m``, ``memory_mib``: the model's ``cpu`` and ``memoryGiB``; headroom: the largest of
the models it stands for), which the planner packs against the node's allocatable.

A request counts pods (``count``), each asking for ``devices`` devices of its profile: an LLM
replica with ``gpus: N`` (tensor parallelism) is one pod asking for N whole GPUs, all of
which the scheduler takes from one node (a pod is bound to one node, and the device plugin
allocates a container's devices on that node: Kubernetes docs, "Schedule GPUs"; KServe runs
an LLMInferenceService without ``worker`` as one pod per replica, kserve v0.20.0
``workload_single_node.go``). The planner places each such pod's devices on one node.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from ..catalog import GpuModel, cpu_m, gpu_models, instance_types, memory_mib
from ..spec import PlatformSettings, ResolvedTenant

WHOLE_GPU = "gpu"
SHARED = "shared"  # isolation group of the tenants whose slices may share a GPU
Role = Literal["guaranteed", "overflow"]
PoolKind = Literal["shared-pool", "node-group", "tenant-nodes"]


def tenant_nodes_name(pool: str, tenant: str) -> str:
    """The name of a tenant's own nodes carved from shared pool ``pool``:
    ``<pool>@<tenant>`` (``@`` is in neither a pool nor a tenant name, so it cannot collide
    with a shared pool or with a node group's ``<tenant>/<group>``)."""
    return f"{pool}@{tenant}"


class DemandError(ValueError):
    """Demand that cannot be planned (unknown GPU model, profile, or a bad count)."""


@dataclass(frozen=True)
class Request:
    """``count`` pods, each of ``devices`` instances of ``profile`` (a MIG profile or "gpu"),
    for one model or headroom; ``instances`` = count x devices slices or GPUs in all."""

    group: str  # isolation group: "shared", or the tenant that owns its GPUs
    tenant: str  # "" for headroom pooled across the shared tenants
    model: str  # "" for overflow headroom
    profile: str
    count: int
    role: Role
    spread: bool  # replicas must land on at least two nodes
    # what each pod requests on its node besides its GPU slices: millicores, MiB (pooled
    # headroom: the largest of the models it stands in for; an LLM replica's, own or shared
    # base model, its cpu and memoryGiB: tenantry.spec.llm_sizing)
    cpu_m: int = 0
    memory_mib: int = 0
    # devices per pod, all on one node: an LLM replica's whole GPUs (gpus: N); 1 otherwise
    devices: int = 1

    @property
    def instances(self) -> int:
        """Slices (or whole GPUs) of ``profile`` in all: ``count`` x ``devices``."""
        return self.count * self.devices


@dataclass(frozen=True)
class PoolDemand:
    """A pool of identical GPU nodes and the requests it must hold."""

    name: str  # shared pool name, "<tenant>/<node group>" or "<pool>@<tenant>"
    kind: PoolKind
    gpu_model: str
    instance_type: str | None
    gpus_per_node: int
    min_nodes: int
    max_nodes: int | None
    fixed_layout: tuple[tuple[str, int], ...] | None  # a node group's declared migLayout
    requests: tuple[Request, ...]
    shared_pool: str | None = None  # tenant-nodes: the shared pool whose settings it uses
    tenant: str | None = None  # node-group, tenant-nodes: whose nodes they are


def _devices(what: str, profile: str, gpus: int) -> int:
    """Devices per pod of an LLM replica: ``gpus`` whole GPUs; the spec refuses several MIG
    slices per replica (validate ``llm_gpus_need_whole_gpus``, the platform settings'
    ``llmBaseModels`` check), and the planner refuses to plan them rather than guess."""
    if gpus > 1 and profile != WHOLE_GPU:
        raise DemandError(
            f"{what}.gpus: {gpus} devices per replica need whole GPUs; a MIG slice "
            f'({profile}) is one device; accepted: 1, or gpu: "gpu"'
        )
    return gpus


def _headroom(platform_share: float, burst: int) -> int:
    return math.ceil(round(platform_share * burst, 9))


def _pod(resources: tuple[float, float]) -> tuple[int, int]:
    """(millicores, MiB) of a pod of (cores, GiB) requests (an LLM replica's:
    :mod:`tenantry.spec.llm_sizing`)."""
    return cpu_m(resources[0]), memory_mib(resources[1])


def extract_demands(
    tenants: Iterable[ResolvedTenant], platform: PlatformSettings
) -> list[PoolDemand]:
    """Every shared pool (even when empty) and every tenant node group, with its requests."""
    pools: dict[str, PoolDemand] = {}
    for sp in platform.shared_pools:
        it = instance_types().get(sp.instance_type)
        if it is None:
            raise DemandError(
                f"shared pool {sp.name!r}: instance type {sp.instance_type!r} is not in the "
                f"catalog; accepted: {', '.join(sorted(instance_types()))}"
            )
        pools[sp.name] = PoolDemand(
            sp.name,
            "shared-pool",
            it.gpu_model,
            it.name,
            it.gpus,
            sp.min_nodes,
            sp.max_nodes,
            None,
            (),
        )
    requests: dict[str, list[Request]] = defaultdict(list)
    shared_burst: dict[tuple[str, str], int] = defaultdict(int)
    # (pool, profile) -> the largest (millicores, MiB) of a replica its headroom stands for
    shared_pod: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for t in sorted(tenants, key=lambda t: t.name):
        for ng in t.node_groups:
            key = f"{t.name}/{ng.name}"
            layout = tuple(sorted(ng.mig_layout.items())) if ng.mig_layout else None
            pools[key] = PoolDemand(
                key,
                "node-group",
                ng.gpu_model,
                ng.instance_type,
                ng.gpus_per_node,
                ng.min_size,
                ng.max_size,
                layout,
                (),
                tenant=t.name,
            )
        own_burst: dict[tuple[str, str], int] = defaultdict(int)
        own_pod: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
        exclusive = t.tier.gpu_sharing != "shared-gpus"
        for m in t.models:
            if m.gpu is None or m.target_kind == "cpu-nodes":
                continue
            pool = m.target if m.target_kind == "shared-pool" else f"{t.name}/{m.target}"
            group = t.name if exclusive or m.target_kind == "node-group" else SHARED
            guaranteed = m.min_replicas * m.revisions
            pod = (cpu_m(m.cpu), memory_mib(m.memory_gib))
            if guaranteed:
                requests[pool].append(
                    Request(
                        group,
                        t.name,
                        m.name,
                        m.gpu,
                        guaranteed,
                        "guaranteed",
                        m.min_replicas >= 2,
                        *pod,
                    )
                )
            burst = (m.max_replicas - m.min_replicas) * m.revisions
            burst_of, pod_of = (
                (shared_burst, shared_pod) if group == SHARED else (own_burst, own_pod)
            )
            burst_of[(pool, m.gpu)] += burst
            if burst:
                was = pod_of[(pool, m.gpu)]
                pod_of[(pool, m.gpu)] = (max(was[0], pod[0]), max(was[1], pod[1]))
        for llm in t.llms:  # own LLMs: a fixed replica count, all guaranteed
            pool = llm.target if llm.target_kind == "shared-pool" else f"{t.name}/{llm.target}"
            group = t.name if exclusive or llm.target_kind == "node-group" else SHARED
            requests[pool].append(
                Request(
                    group,
                    t.name,
                    f"llm:{llm.name}",
                    llm.gpu,
                    llm.replicas,
                    "guaranteed",
                    llm.replicas >= 2,
                    cpu_m(llm.cpu),  # the pod's requests = limits (tenantry.spec.llm_sizing)
                    memory_mib(llm.memory_gib),
                    devices=_devices(
                        f"spec.llms[{llm.name}] of tenant {t.name}", llm.gpu, llm.gpus
                    ),
                )
            )
        for (pool, profile), burst in sorted(own_burst.items()):
            n = _headroom(platform.overflow_headroom, burst)
            if n:
                group = t.name
                requests[pool].append(
                    Request(
                        group, t.name, "", profile, n, "overflow", False, *own_pod[(pool, profile)]
                    )
                )
    for base in platform.llm_base_models:  # shared base LLMs: served once, on shared GPUs
        requests[base.pool].append(
            Request(
                SHARED,
                "",
                f"llm:{base.name}",
                base.gpu,
                base.replicas,
                "guaranteed",
                base.replicas >= 2,
                *_pod(platform.base_model_resources(base)),
                devices=_devices(f"llmBaseModels[{base.name}]", base.gpu, base.gpus),
            )
        )
    for (pool, profile), burst in sorted(shared_burst.items()):
        n = _headroom(platform.overflow_headroom, burst)
        if n:
            requests[pool].append(
                Request(SHARED, "", "", profile, n, "overflow", False, *shared_pod[(pool, profile)])
            )
    for sp in platform.shared_pools:  # a non-shared group on a shared pool: nodes of its own
        mine = requests.get(sp.name, [])
        requests[sp.name] = [r for r in mine if r.group == SHARED]
        for tenant in sorted({r.group for r in mine if r.group != SHARED}):
            p = pools[sp.name]
            key = tenant_nodes_name(sp.name, tenant)
            pools[key] = PoolDemand(
                key,
                "tenant-nodes",
                p.gpu_model,
                p.instance_type,
                p.gpus_per_node,
                0,
                None,  # the shared pool's maxNodes bounds it with the pool (see plan())
                None,
                (),
                shared_pool=sp.name,
                tenant=tenant,
            )
            requests[key] = [r for r in mine if r.group == tenant]
    kinds = {"shared-pool": 0, "tenant-nodes": 1, "node-group": 2}
    out = []
    for name in sorted(pools, key=lambda n: (kinds[pools[n].kind], n)):
        p = pools[name]
        out.append(dataclasses.replace(p, requests=tuple(requests.get(name, ()))))
    return out


def check_gpu_model(gpu_model: str) -> GpuModel:
    models = gpu_models()
    gpu = models.get(gpu_model)
    if gpu is None:
        raise DemandError(f"unknown GPU model {gpu_model!r}; accepted: {', '.join(sorted(models))}")
    return gpu


def adhoc_demand(
    gpu_model: str, demand: Mapping[str, int], gpus_per_node: int | None = None
) -> PoolDemand:
    """A one-pool demand for ``gpu_model``; raises DemandError naming what is accepted."""
    gpu = check_gpu_model(gpu_model)
    accepted = ", ".join([*gpu.profile_names, WHOLE_GPU])
    if not demand:
        raise DemandError(f"no demand given; pass PROFILE=COUNT with a profile of {accepted}")
    for profile, count in demand.items():
        if profile != WHOLE_GPU and gpu.profile(profile) is None:
            raise DemandError(
                f"profile {profile!r} is not offered by {gpu_model}; accepted: {accepted}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise DemandError(f"count for {profile!r} must be a positive integer, got {count!r}")
    its = sorted(
        (it for it in instance_types().values() if it.gpu_model == gpu_model),
        key=lambda it: (-it.gpus, it.name),
    )
    it = its[0] if its else None
    gpn = gpus_per_node or (it.gpus if it else 8)
    reqs = tuple(
        Request(SHARED, "adhoc", profile, profile, count, "guaranteed", False)
        for profile, count in sorted(demand.items())
    )
    return PoolDemand(
        f"adhoc-{gpu_model}",
        "shared-pool",
        gpu_model,
        it.name if it else None,
        gpn,
        0,
        None,
        None,
        reqs,
    )
