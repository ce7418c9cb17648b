"""Monthly cost estimate per tenant, from resolved tenants and the catalog's dated prices.

Pure. What is priced, from the fleet plan (:mod:`tenantry.planner`, the one source of node
counts) and the catalog:
- capacity held for the tenant alone, whole, whatever its models use of it (the models, own
  LLMs and CPU-only models on it are in that price, never counted again):
  - dedicated node groups (:func:`node_group_lines`): nodes x instance on-demand price, from
    ``max(minSize, the nodes the plan needs for the guaranteed demand)`` (the autoscaler adds
    the nodes that hold pending guaranteed pods) to ``maxSize`` (spot node groups are priced
    on-demand too, as an upper bound, and flagged);
  - an isolated tenant's own nodes carved from a shared pool (:func:`tenant_nodes_lines`,
    the plan's ``tenant-nodes`` pools ``<pool>@<tenant>``): the planned nodes x the pool
    instance's price, floor and ceiling alike (the platform stack runs exactly those nodes);
- the tenant's share of the shared GPU pools: guaranteed MIG compute slices (minReplicas,
  canary revisions twice; the tenant's own LLMs at their fixed replicas x devices) / the
  GPU's compute slices x the GPU-hour price (instance price / GPUs per instance); at
  maxReplicas for the burst figure. (Demand of a tenant that never shares a GPU is on its
  own nodes above; were a plan to carve none for it, its share is rounded up to whole GPUs.)
- CPU-only models on the cluster's general nodes: cores x replicas (canary revisions twice)
  x the vCPU-hour price of ``cluster.systemInstanceType`` (instance price / vCPUs), at
  minReplicas and maxReplicas. (A dedicated tenant's CPU-only models run on its own node
  groups, already priced.) Without a catalog price for that instance type the line says
  "CPU not priced" (``priced=False``, $0) instead of a silent $0.
- the tenant's share of each shared base LLM its adapters run on (:func:`plan_split`): the
  base model's GPUs (replicas x devices x the profile's share of its GPU, at the pool's
  GPU-hour; the base serves all its replicas always) split across the tenants holding
  adapters on it by each tenant's declared ``tokensPerMinute`` share (``tenantry cost
  --actual`` splits by measured tokens instead, :func:`token_split`). Only with the fleet's
  split passed to :func:`estimate` (``tenantry cost`` does; the per-tenant plan does not).
The burst figure never goes beyond what the tenant's quotas admit (Kubernetes' ResourceQuota
refuses the pods beyond them; see :func:`_admitted_by_quota`): the part of the maxReplicas
demand the quota would never admit is reported per line as ``unreachable_usd``, not counted.
Not priced: storage, KMS, data transfer, the platform's own nodes.

:func:`model_rates` gives the same prices per model and second, for measured usage
(:mod:`tenantry.observability`): what one replica holds (GPU equivalents or vCPUs) and what
one second of it costs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .catalog import general_instance_types, gpu_models, instance_types
from .planner import FleetPlan, PoolPlan, extract_demands, plan
from .spec import PlatformSettings, ResolvedModel, ResolvedTenant
from .spec.platform import LlmBaseModel
from .spec.resolved import ResolvedLlm, ResolvedNodeGroup

HOURS_PER_MONTH = 730.0  # AWS's convention for monthly estimates
SECONDS_PER_HOUR = 3600.0


class UnpricedError(ValueError):
    """An instance type the catalog has no price for."""


@dataclass(frozen=True)
class ModelRates:
    """What one replica of a model holds and what it costs per second.

    ``gpu_share``: GPU equivalents per replica (the MIG profile's compute slices / the GPU's,
    1 for a whole GPU, 0 for a CPU-only model); ``vcpus``: priced cores per replica (CPU-only
    models; 0 for GPU models, whose instance price already covers the host's CPUs);
    ``usd_per_gpu_hour`` = instance price / GPUs per instance; ``usd_per_vcpu_hour`` =
    instance price / vCPUs; ``instance_type``: where the prices come from.
    """

    gpu_share: float
    usd_per_gpu_hour: float
    vcpus: float
    usd_per_vcpu_hour: float
    instance_type: str
    price_date: str

    @property
    def usd_per_replica_second(self) -> float:
        hourly = self.gpu_share * self.usd_per_gpu_hour + self.vcpus * self.usd_per_vcpu_hour
        return hourly / SECONDS_PER_HOUR


def _profile_share(gpu_model: str, gpu: str, devices: int) -> float:
    model = gpu_models()[gpu_model]
    profile = model.profile(gpu)
    return devices * (1.0 if profile is None else profile.compute_slices / model.compute_slices)


def gpu_share(m: ResolvedModel | ResolvedLlm) -> float:
    """GPU equivalents one replica holds: compute slices of its MIG profile / the GPU's
    (a ``1g.10gb`` on H100-80GB is 1/7), 1 for a whole GPU (x the devices of an LLM's
    replica), 0 for a CPU-only model."""
    if m.gpu is None or m.gpu_model is None:
        return 0.0
    return _profile_share(m.gpu_model, m.gpu, m.gpus if isinstance(m, ResolvedLlm) else 1)


def _vcpu_hour(instance_type: str) -> float:
    general = general_instance_types().get(instance_type)
    if general is not None:
        return general.vcpu_hourly_usd
    gpu_it = instance_types().get(instance_type)
    if gpu_it is not None:
        return gpu_it.on_demand_hourly_usd / gpu_it.vcpu
    accepted = sorted(general_instance_types()) + sorted(instance_types())
    raise UnpricedError(
        f"instance type {instance_type!r} has no price in the catalog "
        f"(components/tenantry/catalog/data/instances.yaml); priced: {', '.join(accepted)}"
    )


def model_rates(t: ResolvedTenant, m: ResolvedModel, platform: PlatformSettings) -> ModelRates:
    """The unit prices of one model where it runs (see :class:`ModelRates`).

    GPU models: the GPU-hour of the shared pool's or the tenant node group's instance type.
    CPU-only models: the vCPU-hour of ``cluster.systemInstanceType`` (general nodes) or of
    the tenant's node group (dedicated tenants). Raises :class:`UnpricedError` for an
    instance type without a catalog price."""
    price_date = next(iter(instance_types().values())).price_date
    if m.target_kind == "shared-pool":
        pool = platform.pool(m.target)
        assert pool is not None, f"model placed on unknown pool {m.target}"
        instance = pool.instance_type
    elif m.target_kind == "node-group":
        ng = next(g for g in t.node_groups if g.name == m.target)
        instance = ng.instance_type
    else:
        instance = platform.cluster.system_instance_type
    if m.gpu is not None:
        return ModelRates(gpu_share(m), _gpu_hour(instance), 0.0, 0.0, instance, price_date)
    return ModelRates(0.0, 0.0, m.cpu, _vcpu_hour(instance), instance, price_date)


def llm_rates(t: ResolvedTenant, llm: ResolvedLlm, platform: PlatformSettings) -> ModelRates:
    """The unit prices of one replica of a tenant's own LLM (its devices x the profile's
    share, at the GPU-hour of its shared pool's or node group's instance type): the whole
    runtime is the tenant's, so all of it is priced to the tenant."""
    if llm.target_kind == "shared-pool":
        pool = platform.pool(llm.target)
        assert pool is not None, f"LLM placed on unknown pool {llm.target}"
        instance = pool.instance_type
    else:
        instance = next(g for g in t.node_groups if g.name == llm.target).instance_type
    price_date = instance_types()[instance].price_date
    return ModelRates(gpu_share(llm), _gpu_hour(instance), 0.0, 0.0, instance, price_date)


@dataclass(frozen=True)
class BaseModelRates:
    """What a shared base LLM holds and costs: ``replicas`` x ``gpus_per_replica`` GPU
    equivalents (devices x the MIG profile's compute slices / the GPU's; 1 per whole GPU)
    on its pool's ``instance_type``, at ``usd_per_gpu_hour`` (instance price / GPUs). The
    LLMInferenceService runs all its replicas always, so this is held whatever it serves."""

    base_model: str
    replicas: int
    gpus_per_replica: float
    usd_per_gpu_hour: float
    instance_type: str
    price_date: str

    @property
    def gpus(self) -> float:
        return self.replicas * self.gpus_per_replica

    @property
    def usd_per_second(self) -> float:
        return self.gpus * self.usd_per_gpu_hour / SECONDS_PER_HOUR

    @property
    def monthly_usd(self) -> float:
        return self.gpus * self.usd_per_gpu_hour * HOURS_PER_MONTH

    def describe(self, gpu: str) -> str:
        return (
            f"{self.replicas} x {gpu} ({self.gpus:.3g} GPU) of {self.instance_type} "
            f"@ ${self.usd_per_gpu_hour:.2f}/GPU-h"
        )


def base_model_rates(base: LlmBaseModel, platform: PlatformSettings) -> BaseModelRates:
    """The held capacity and price of ``base`` (see :class:`BaseModelRates`)."""
    pool = platform.pool(base.pool)
    assert pool is not None, f"base model on unknown pool {base.pool}"
    it = instance_types()[pool.instance_type]
    devices = base.gpus if base.gpu == "gpu" else 1
    per_replica = _profile_share(it.gpu_model, base.gpu, devices)
    return BaseModelRates(
        base.name,
        base.replicas,
        per_replica,
        _gpu_hour(pool.instance_type),
        pool.instance_type,
        it.price_date,
    )


PLAN_BASIS = "declared tokensPerMinute"
ACTUAL_BASIS = "measured tokens"


@dataclass(frozen=True)
class AdapterShare:
    """One tenant adapter's part of a shared base model: ``weight`` (tokens per minute
    declared, or tokens measured), its ``share`` of the base's total weight and the
    ``usd`` that share of the base's price comes to."""

    tenant: str
    adapter: str
    served_name: str
    weight: float
    share: float
    usd: float


@dataclass(frozen=True)
class BaseModelSplit:
    """A shared base model's price (``usd``: a month for the plan, the window's for
    ``--actual``) split across its adapters by ``basis`` (:data:`PLAN_BASIS` or
    :data:`ACTUAL_BASIS`). With no weight at all (nothing declared or nothing served)
    nothing is attributed: ``unattributed_usd`` is the whole price."""

    rates: BaseModelRates
    gpu: str
    basis: str
    usd: float
    shares: tuple[AdapterShare, ...]

    @property
    def total_weight(self) -> float:
        return sum(s.weight for s in self.shares)

    @property
    def unattributed_usd(self) -> float:
        return self.usd - sum(s.usd for s in self.shares) if self.shares else self.usd

    def tenants(self) -> list[str]:
        return sorted({s.tenant for s in self.shares})

    def of_tenant(self, tenant: str) -> tuple[float, float, float]:
        """The tenant's weight, share and USD (all its adapters on this base)."""
        mine = [s for s in self.shares if s.tenant == tenant]
        return (
            sum(s.weight for s in mine),
            sum(s.share for s in mine),
            sum(s.usd for s in mine),
        )


def token_split(
    base: LlmBaseModel,
    platform: PlatformSettings,
    weights: Mapping[tuple[str, str, str], float],
    *,
    basis: str,
    usd: float,
) -> BaseModelSplit:
    """Split ``usd`` of ``base`` by ``weights`` ({(tenant, adapter, served name): weight});
    adapters with zero weight are kept with a zero share (unrounded: a short window's
    shares are fractions of a cent)."""
    total = sum(weights.values())
    shares = tuple(
        AdapterShare(
            tenant,
            adapter,
            served,
            w,
            w / total if total > 0 else 0.0,
            usd * w / total if total > 0 else 0.0,
        )
        for (tenant, adapter, served), w in sorted(weights.items())
    )
    return BaseModelSplit(
        base_model_rates(base, platform), base.gpu, basis, usd, shares if total > 0 else ()
    )


def plan_split(
    tenants: Sequence[ResolvedTenant], platform: PlatformSettings
) -> list[BaseModelSplit]:
    """Every shared base model's monthly price split by the declared ``tokensPerMinute`` of
    the adapters on it (the plan: what each tenant reserved, not what it used)."""
    out = []
    for base in platform.llm_base_models:
        weights = {
            (t.name, a.name, a.served_name): float(a.tokens_per_minute)
            for t in tenants
            for a in t.llm_adapters
            if a.base_model == base.name
        }
        usd = round(base_model_rates(base, platform).monthly_usd, 2)
        out.append(token_split(base, platform, weights, basis=PLAN_BASIS, usd=usd))
    return out


@dataclass(frozen=True)
class CostLine:
    # "node-group h100" | "tenant-nodes h100" | "shared-pool h100" | "cpu-nodes m6i.2xlarge"
    item: str
    detail: str
    monthly_usd_min: float
    monthly_usd_max: float
    priced: bool = True  # False: capacity the catalog has no price for (shown as such, $0)
    unreachable_usd: float = 0.0  # maxReplicas demand beyond the quotas (not in max)


@dataclass(frozen=True)
class TenantCost:
    tenant: str
    cost_center: str
    tier: str
    lines: tuple[CostLine, ...]
    price_date: str

    @property
    def monthly_usd_min(self) -> float:
        return round(sum(line.monthly_usd_min for line in self.lines), 2)

    @property
    def monthly_usd_max(self) -> float:
        return round(sum(line.monthly_usd_max for line in self.lines), 2)

    @property
    def unreachable_usd(self) -> float:
        return round(sum(line.unreachable_usd for line in self.lines), 2)

    @property
    def priced(self) -> bool:
        """Whether any capacity of the tenant is priced."""
        return any(line.priced for line in self.lines)

    @property
    def not_priced(self) -> tuple[str, ...]:
        return tuple(line.item for line in self.lines if not line.priced)


def _gpu_hour(instance_type: str) -> float:
    it = instance_types()[instance_type]
    return it.on_demand_hourly_usd / it.gpus


def own_plan(tenant: ResolvedTenant, platform: PlatformSettings) -> FleetPlan:
    """The plan of ``tenant``'s demand alone. Its own pools (node groups, nodes carved from
    a shared pool) depend on its demand only, so they are the fleet plan's from scratch; a
    re-plan of a previous plan may differ: pass the fleet plan to :func:`estimate` then."""
    return plan(extract_demands([tenant], platform))


def _on_demand(instance_type: str) -> float:
    return instance_types()[instance_type].on_demand_hourly_usd


def _spot(capacity_type: str) -> str:
    return " (spot, priced on-demand as an upper bound)" if capacity_type == "spot" else ""


def node_group_lines(tenant: ResolvedTenant, fleet: FleetPlan) -> list[CostLine]:
    """One line per dedicated node group: whole nodes from the floor the group runs at
    (``minSize``, or more when the plan's guaranteed demand needs more nodes: the cluster
    autoscaler adds nodes for pending pods up to ``maxSize``) to ``maxSize``."""
    lines = []
    for ng in tenant.node_groups:
        price = _on_demand(ng.instance_type)
        floor, why = _node_group_floor(tenant, ng, fleet)
        lines.append(
            CostLine(
                item=f"node-group {ng.name}",
                detail=f"{floor}-{ng.max_size} x {ng.instance_type} @ ${price:.2f}/h{why}"
                f"{_spot(ng.capacity_type)}",
                monthly_usd_min=round(floor * price * HOURS_PER_MONTH, 2),
                monthly_usd_max=round(ng.max_size * price * HOURS_PER_MONTH, 2),
            )
        )
    return lines


def _node_group_floor(
    tenant: ResolvedTenant, ng: ResolvedNodeGroup, fleet: FleetPlan
) -> tuple[int, str]:
    planned = fleet.pool(f"{tenant.name}/{ng.name}")
    needed = min(planned.needed_nodes, ng.max_size) if planned is not None else 0
    if needed <= ng.min_size:
        return ng.min_size, ""
    return needed, (
        f"; floor {needed} node(s), not minSize {ng.min_size}: the plan's guaranteed demand "
        "needs them"
    )


def tenant_nodes(tenant: str, fleet: FleetPlan) -> tuple[PoolPlan, ...]:
    """The plan's ``tenant-nodes`` pools of ``tenant``: its own nodes carved from shared
    pools (:func:`tenantry.planner.demand.tenant_nodes_name`), by pool."""
    return tuple(p for p in fleet.pools if p.kind == "tenant-nodes" and p.tenant == tenant)


def tenant_nodes_lines(
    tenant: ResolvedTenant, platform: PlatformSettings, fleet: FleetPlan
) -> list[CostLine]:
    """One line per shared pool the plan carved nodes of the tenant's own from: the
    planned nodes, whole, at the pool instance's on-demand price (floor = ceiling: the
    platform stack sets min = desired = max = the planned nodes,
    :func:`tenantry.platform.gpu_pool.tenant_nodes_size`). What runs on them (models, own
    LLMs, CPU-only models) is in this price."""
    lines = []
    for p in tenant_nodes(tenant.name, fleet):
        pool = platform.pool(p.shared_pool or "")
        assert pool is not None and p.instance_type, f"tenant nodes of unknown pool {p.name}"
        price = _on_demand(p.instance_type)
        held = sorted({s.model.removeprefix("llm:") for g in p.gpus for s in g.slots if s.model})
        usd = round(p.nodes * price * HOURS_PER_MONTH, 2)
        lines.append(
            CostLine(
                item=f"tenant-nodes {pool.name}",
                detail=f"{p.nodes} x {p.instance_type} @ ${price:.2f}/h, whole nodes of shared "
                f"pool {pool.name} for this tenant alone ({p.used_gpus} of "
                f"{p.nodes * p.gpus_per_node} GPUs planned: {', '.join(held) or 'headroom'})"
                f"{_spot(pool.capacity_type)}",
                monthly_usd_min=usd,
                monthly_usd_max=usd,
            )
        )
    return lines


def estimate(
    tenant: ResolvedTenant,
    platform: PlatformSettings,
    llm_split: Sequence[BaseModelSplit] = (),
    *,
    fleet: FleetPlan | None = None,
) -> TenantCost:
    """The tenant's monthly cost lines (see the module docstring). ``llm_split``
    (:func:`plan_split` over the whole fleet, since a share depends on the other tenants'
    declarations) adds one line per shared base model the tenant holds adapters on (without
    it, those are not priced). ``fleet``: the fleet plan the platform stack deploys
    (``Registry.fleet``); without it, :func:`own_plan`."""
    fleet = fleet if fleet is not None else own_plan(tenant, platform)
    lines = node_group_lines(tenant, fleet) + tenant_nodes_lines(tenant, platform, fleet)
    carved = {p.shared_pool for p in tenant_nodes(tenant.name, fleet)}
    slices: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # min, max, uncapped
    admitted = _admitted_by_quota(tenant)
    for m in tenant.models:
        if m.target_kind != "shared-pool" or m.gpu is None or m.gpu_model is None:
            continue
        if m.target in carved:  # on the tenant's own nodes, priced whole
            continue
        per_replica = gpu_share(m)
        share = slices[m.target]
        share[0] += m.min_replicas * m.revisions * per_replica
        share[1] += admitted[m.name] * per_replica
        share[2] += m.max_replicas * m.revisions * per_replica
    for llm in tenant.llms:  # the tenant's own LLMs: a fixed replica count
        if llm.target_kind == "shared-pool" and llm.target not in carved:
            held = llm.replicas * gpu_share(llm)
            for i in range(3):
                slices[llm.target][i] += held
    for pool_name, (gpus_min, gpus_max, gpus_all) in sorted(slices.items()):
        pool = platform.pool(pool_name)
        assert pool is not None, f"model placed on unknown pool {pool_name}"
        if tenant.tier.gpu_sharing == "exclusive-gpus":
            gpus_min, gpus_max, gpus_all = (
                math.ceil(x - 1e-9) for x in (gpus_min, gpus_max, gpus_all)
            )
        rate = _gpu_hour(pool.instance_type)
        lines.append(
            CostLine(
                item=f"shared-pool {pool_name}",
                detail=f"{gpus_min:.3g}-{gpus_all:.3g} GPU equivalents of {pool.instance_type} "
                f"@ ${rate:.2f}/GPU-h{_capped(gpus_max, gpus_all, 'GPU')}",
                monthly_usd_min=round(gpus_min * rate * HOURS_PER_MONTH, 2),
                monthly_usd_max=round(gpus_max * rate * HOURS_PER_MONTH, 2),
                unreachable_usd=round((gpus_all - gpus_max) * rate * HOURS_PER_MONTH, 2),
            )
        )
    cpu = [m for m in tenant.models if m.target_kind == "cpu-nodes"]
    if cpu:
        instance = platform.cluster.system_instance_type
        cores_min = sum(m.cpu * m.min_replicas * m.revisions for m in cpu)
        cores_max = sum(m.cpu * admitted[m.name] for m in cpu)
        cores_all = sum(m.cpu * m.max_replicas * m.revisions for m in cpu)
        shown = f"{cores_min:g}-{cores_all:g} vCPUs of {instance}"
        try:
            rate = _vcpu_hour(instance)
        except UnpricedError:
            lines.append(
                CostLine(
                    item=f"cpu-nodes {instance}",
                    detail=f"CPU not priced: {shown}, the catalog has no price for this "
                    "instance type",
                    monthly_usd_min=0.0,
                    monthly_usd_max=0.0,
                    priced=False,
                )
            )
        else:
            lines.append(
                CostLine(
                    item=f"cpu-nodes {instance}",
                    detail=f"{shown} @ ${rate:.4f}/vCPU-h{_capped(cores_max, cores_all, 'CPU')}",
                    monthly_usd_min=round(cores_min * rate * HOURS_PER_MONTH, 2),
                    monthly_usd_max=round(cores_max * rate * HOURS_PER_MONTH, 2),
                    unreachable_usd=round((cores_all - cores_max) * rate * HOURS_PER_MONTH, 2),
                )
            )
    for split in llm_split:
        if tenant.name not in split.tenants():
            continue
        weight, part, usd = split.of_tenant(tenant.name)
        lines.append(
            CostLine(
                item=f"llm-base {split.rates.base_model}",
                detail=f"{part:.1%} of {split.rates.describe(split.gpu)} = "
                f"${split.usd:,.2f}/month, split by {split.basis} "
                f"({weight:,.0f} of {split.total_weight:,.0f}/min)",
                monthly_usd_min=round(usd, 2),
                monthly_usd_max=round(usd, 2),
            )
        )
    price_date = next(iter(instance_types().values())).price_date
    return TenantCost(tenant.name, tenant.cost_center, tenant.tier.name, tuple(lines), price_date)


def _capped(admitted: float, demand: float, what: str) -> str:
    if demand <= admitted + 1e-9:
        return ""
    return f"; maxReplicas capped by the {what} quota at {admitted:.3g}"


def _admitted_by_quota(tenant: ResolvedTenant) -> dict[str, int]:
    """Per model: the replicas (x revisions) its tenant's quotas admit at maxReplicas.

    A pod is admitted only while the namespace's ResourceQuota holds its CPU, memory and GPU
    requests (https://kubernetes.io/docs/concepts/policy/resource-quotas/). The quotas are
    tenant-wide: every model's guaranteed replicas first (validation keeps them within the
    quotas), then the burst of each model in file order, while the quotas last."""
    q = tenant.quotas
    cpu_left, mem_left, gpu_left = q.cpu, q.memory_gib, dict(q.gpus)
    for llm in tenant.llms:  # own LLMs run all their replicas always
        gpu_left[llm.gpu] = gpu_left.get(llm.gpu, 0) - llm.replicas * llm.gpus
    out: dict[str, int] = {}
    for m in tenant.models:
        n = m.min_replicas * m.revisions
        out[m.name] = n
        cpu_left -= n * m.cpu
        mem_left -= n * m.memory_gib
        if m.gpu is not None:
            gpu_left[m.gpu] = gpu_left.get(m.gpu, 0) - n
    for m in tenant.models:
        fits = [(m.max_replicas - m.min_replicas) * m.revisions]
        if m.cpu > 0:
            fits.append(math.floor(cpu_left / m.cpu + 1e-9))
        if m.memory_gib > 0:
            fits.append(math.floor(mem_left / m.memory_gib + 1e-9))
        if m.gpu is not None:
            fits.append(gpu_left.get(m.gpu, 0))
        extra = max(0, min(fits))
        out[m.name] += extra
        cpu_left -= extra * m.cpu
        mem_left -= extra * m.memory_gib
        if m.gpu is not None:
            gpu_left[m.gpu] = gpu_left.get(m.gpu, 0) - extra
    return out


@dataclass(frozen=True)
class PoolCost:
    """What one pool of the fleet plan costs a month: its nodes (``nodes_min``-``nodes_max``)
    x the instance's on-demand price x 730 h. ``kind``: ``shared-pool`` (the platform runs
    the planned nodes, at least ``minNodes``), ``tenant-nodes`` (a tenant's nodes carved
    from a shared pool, exactly the planned nodes) or ``node-group`` (a dedicated tenant's,
    from its floor, :func:`node_group_lines`, to ``maxSize``); ``tenant``: whose nodes they
    are (None for a shared pool)."""

    pool: str
    kind: str
    tenant: str | None
    instance_type: str
    nodes_min: int
    nodes_max: int
    monthly_usd_min: float
    monthly_usd_max: float


def fleet_cost(
    fleet: FleetPlan, tenants: Mapping[str, ResolvedTenant], platform: PlatformSettings
) -> list[PoolCost]:
    """Every pool of the fleet plan, priced whole: what the fleet's GPU nodes cost, against
    which the tenants' estimates add up (the difference, on the shared pools, is what no
    tenant's share covers: overflow headroom, spare slices, the shared base LLMs)."""
    out = []
    for p in fleet.pools:
        if not p.instance_type:
            continue
        low = high = p.nodes
        if p.kind == "shared-pool":
            sp = platform.pool(p.name)
            low = high = max(p.nodes, sp.min_nodes if sp else 0)
        elif p.kind == "node-group" and p.tenant is not None and p.tenant in tenants:
            t = tenants[p.tenant]
            ng = next(g for g in t.node_groups if f"{t.name}/{g.name}" == p.name)
            low, high = _node_group_floor(t, ng, fleet)[0], ng.max_size
        price = _on_demand(p.instance_type) * HOURS_PER_MONTH
        out.append(
            PoolCost(
                p.name,
                p.kind,
                p.tenant,
                p.instance_type,
                low,
                high,
                round(low * price, 2),
                round(high * price, 2),
            )
        )
    return out
