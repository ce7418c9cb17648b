"""Monthly cost estimate per tenant, from resolved tenants and the catalog's dated prices.

Pure. What is priced:
- dedicated node groups: nodes x instance on-demand price, at ``minSize`` and at ``maxSize``
  (spot node groups are priced on-demand too, as an upper bound, and flagged);
- the tenant's share of the shared GPU pools: guaranteed MIG compute slices (minReplicas,
  canary revisions twice) / the GPU's compute slices x the GPU-hour price (instance price / GPUs
  per instance); at maxReplicas for the burst figure. Isolated tenants get whole GPUs on the
  shared pool, so their share is rounded up to whole GPUs per pool.
Not priced: CPU-only models on the general node pool, storage, KMS, data transfer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from .catalog import gpu_models, instance_types
from .spec import PlatformSettings, ResolvedTenant

HOURS_PER_MONTH = 730.0  # AWS's convention for monthly estimates


@dataclass(frozen=True)
class CostLine:
    item: str  # "node-group h100" | "shared-pool h100"
    detail: str
    monthly_usd_min: float
    monthly_usd_max: float


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


def _gpu_hour(instance_type: str) -> float:
    it = instance_types()[instance_type]
    return it.on_demand_hourly_usd / it.gpus


def estimate(tenant: ResolvedTenant, platform: PlatformSettings) -> TenantCost:
    lines: list[CostLine] = []
    for ng in tenant.node_groups:
        price = instance_types()[ng.instance_type].on_demand_hourly_usd
        spot = " (spot, priced on-demand as an upper bound)" if ng.capacity_type == "spot" else ""
        lines.append(
            CostLine(
                item=f"node-group {ng.name}",
                detail=f"{ng.min_size}-{ng.max_size} x {ng.instance_type} @ ${price:.2f}/h{spot}",
                monthly_usd_min=round(ng.min_size * price * HOURS_PER_MONTH, 2),
                monthly_usd_max=round(ng.max_size * price * HOURS_PER_MONTH, 2),
            )
        )
    slices: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # pool -> [min, max]
    for m in tenant.models:
        if m.target_kind != "shared-pool" or m.gpu is None or m.gpu_model is None:
            continue
        gpu = gpu_models()[m.gpu_model]
        profile = gpu.profile(m.gpu)
        per_replica = 1.0 if profile is None else profile.compute_slices / gpu.compute_slices
        slices[m.target][0] += m.min_replicas * m.revisions * per_replica
        slices[m.target][1] += m.max_replicas * m.revisions * per_replica
    for pool_name, (gpus_min, gpus_max) in sorted(slices.items()):
        pool = platform.pool(pool_name)
        assert pool is not None, f"model placed on unknown pool {pool_name}"
        if tenant.tier.gpu_sharing == "exclusive-gpus":
            gpus_min, gpus_max = math.ceil(gpus_min - 1e-9), math.ceil(gpus_max - 1e-9)
        rate = _gpu_hour(pool.instance_type)
        lines.append(
            CostLine(
                item=f"shared-pool {pool_name}",
                detail=f"{gpus_min:.3g}-{gpus_max:.3g} GPU equivalents of {pool.instance_type} "
                f"@ ${rate:.2f}/GPU-h",
                monthly_usd_min=round(gpus_min * rate * HOURS_PER_MONTH, 2),
                monthly_usd_max=round(gpus_max * rate * HOURS_PER_MONTH, 2),
            )
        )
    price_date = next(iter(instance_types().values())).price_date
    return TenantCost(tenant.name, tenant.cost_center, tenant.tier.name, tuple(lines), price_date)
