"""Showback from measured usage, next to the capacity estimate (pure: usage in, report out).

Per model version: what it served (requests, successes, failures, rejections, queue and
compute seconds) and what it held (replica-, GPU- and vCPU-seconds), priced at the catalog's
prices for where it runs (:func:`tenantry.cost.model_rates`: replica-seconds x the price of
one replica-second), and the monthly pace (that cost scaled from the window to 730 hours).
Per tenant and per cost center: the sums, next to the estimate's monthly floor and ceiling
(:func:`tenantry.cost.estimate`). A model the tenant files no longer declare is priced from
the cost Prometheus recorded (its rule carried the price of its day).

Shared base LLMs (:func:`llm_splits`): each base model's price over the window (it holds its
GPUs whole window, :func:`tenantry.cost.base_model_rates`) split by each adapter's share of
the tokens the LLM gateway metered on it (:func:`.usage.measure_adapter_tokens`); the
tenant's part (its GPU-seconds and cost) is added to its totals, one ``llm-base`` row per
adapter. A base that served no tokens in the window is attributed to nobody (its price is
reported as unattributed).

What the measured figure covers: shared-pool GPU slices and CPU-only models, by what was
held. Not covered: capacity held for one tenant alone is paid whether used or not — a
dedicated tenant's node groups, an isolated tenant's nodes carved from a shared pool (the
estimate, from the fleet plan, prices them whole: its floor is the real cost; the measured
GPU-seconds show how much of them its models held).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, fields

from ..cost import (
    ACTUAL_BASIS,
    HOURS_PER_MONTH,
    SECONDS_PER_HOUR,
    BaseModelSplit,
    ModelRates,
    TenantCost,
    base_model_rates,
    estimate,
    llm_rates,
    model_rates,
    plan_split,
    token_split,
)
from ..planner import FleetPlan
from ..spec import PlatformSettings, ResolvedTenant
from .usage import AdapterTokens, ModelUsage, OwnLlmUsage

SECONDS_PER_MONTH = HOURS_PER_MONTH * SECONDS_PER_HOUR


@dataclass(frozen=True)
class ModelShowback:
    usage: ModelUsage
    rates: ModelRates | None  # None: the model is not in the tenant files
    cost_usd: float | None  # None: the tenant's rules were not loaded (no capacity figures)


@dataclass(frozen=True)
class LlmShowback:
    """One tenant adapter's part of a shared base model over the window."""

    usage: AdapterTokens
    share: float  # of the base model's tokens
    gpu_seconds: float  # the share x the base's GPU-seconds over the window
    cost_usd: float  # the share x the base's price over the window


@dataclass(frozen=True)
class OwnLlmShowback:
    """A tenant's own LLM over the window: all it held is the tenant's."""

    usage: OwnLlmUsage
    rates: ModelRates | None  # None: the LLM is not in the tenant files
    gpu_seconds: float | None  # None: the tenant's LLM rules were not loaded
    cost_usd: float | None


@dataclass
class Totals:
    requests: float = 0.0
    successes: float = 0.0
    failures: float = 0.0
    rejections_rate_limited: float = 0.0
    rejections_queue_full: float = 0.0
    queue_seconds: float = 0.0
    compute_seconds: float = 0.0
    gpu_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cost_usd: float = 0.0
    tokens: float = 0.0  # LLM tokens metered by the gateway (shared base models)
    complete: bool = True  # False: some capacity figures are unknown

    def add(self, m: ModelShowback) -> None:
        u = m.usage
        self.requests += u.requests
        self.successes += u.successes
        self.failures += sum(u.failures.values())
        self.rejections_rate_limited += u.rejections_rate_limited
        self.rejections_queue_full += u.rejections_queue_full
        self.queue_seconds += u.queue_seconds
        self.compute_seconds += u.compute_seconds
        if u.gpu_seconds is None or u.cpu_seconds is None or m.cost_usd is None:
            self.complete = False
        self.gpu_seconds += u.gpu_seconds or 0.0
        self.cpu_seconds += u.cpu_seconds or 0.0
        self.cost_usd += m.cost_usd or 0.0

    def add_llm(self, m: LlmShowback) -> None:
        self.requests += m.usage.requests
        self.successes += m.usage.requests
        self.tokens += m.usage.tokens
        self.gpu_seconds += m.gpu_seconds
        self.cost_usd += m.cost_usd

    def add_own_llm(self, m: OwnLlmShowback) -> None:
        self.requests += m.usage.requests
        self.successes += m.usage.requests
        self.tokens += m.usage.tokens
        if m.gpu_seconds is None or m.cost_usd is None:
            self.complete = False
        self.gpu_seconds += m.gpu_seconds or 0.0
        self.cost_usd += m.cost_usd or 0.0

    def merge(self, other: Totals) -> None:
        for f in fields(self):
            if f.name == "complete":
                self.complete = self.complete and other.complete
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class TenantShowback:
    tenant: str
    cost_center: str
    tier: str
    estimate: TenantCost | None  # None: the tenant is not in the tenant files
    models: list[ModelShowback] = field(default_factory=list)
    llm: list[LlmShowback] = field(default_factory=list)
    own_llms: list[OwnLlmShowback] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)


@dataclass
class CostCenterShowback:
    cost_center: str
    tenants: list[str]
    totals: Totals
    estimate_monthly_usd_min: float
    estimate_monthly_usd_max: float


@dataclass(frozen=True)
class Showback:
    window: str
    window_seconds: float
    end: float  # unix seconds
    tenants: list[TenantShowback]
    cost_centers: list[CostCenterShowback]
    totals: Totals
    price_date: str
    warnings: list[str]
    llm_splits: list[BaseModelSplit] = field(default_factory=list)

    def monthly_pace(self, cost_usd: float) -> float:
        """A cost measured over the window, scaled to a 730-hour month."""
        return cost_usd * SECONDS_PER_MONTH / self.window_seconds


def _cost(u: ModelUsage, rates: ModelRates | None) -> float | None:
    if rates is None:
        return u.recorded_cost_usd
    if u.replica_seconds is None:
        return None
    return u.replica_seconds * rates.usd_per_replica_second


def llm_splits(
    tokens: list[AdapterTokens],
    platform: PlatformSettings,
    window_seconds: float,
    warnings: list[str],
) -> list[BaseModelSplit]:
    """Each declared base model's price over the window split by measured tokens; tokens
    on a base model the platform does not declare are reported in ``warnings``."""
    out = []
    for base in platform.llm_base_models:
        weights = {
            (u.tenant, u.adapter, u.model): u.tokens for u in tokens if u.base_model == base.name
        }
        usd = base_model_rates(base, platform).usd_per_second * window_seconds
        out.append(token_split(base, platform, weights, basis=ACTUAL_BASIS, usd=usd))
    declared = {b.name for b in platform.llm_base_models}
    for b in sorted({u.base_model for u in tokens} - declared):
        warnings.append(
            f"the LLM gateway metered tokens on base model {b!r}, which llmBaseModels does "
            "not declare: not priced"
        )
    return out


def showback(
    usages: list[ModelUsage],
    tenants: dict[str, ResolvedTenant],
    platform: PlatformSettings,
    *,
    window: str,
    window_seconds: float,
    end: float,
    adapter_tokens: list[AdapterTokens] | None = None,
    own_llms: list[OwnLlmUsage] | None = None,
    fleet: FleetPlan | None = None,
) -> Showback:
    """The report (see the module docstring). Every tenant of the files appears, measured or
    not; measured tenants the files do not declare appear too (estimate None).
    ``adapter_tokens``: the gateway's metered tokens (:func:`.usage.measure_adapter_tokens`)
    that split the shared base models' price; ``own_llms``: the tenants' own LLMs
    (:func:`.usage.measure_own_llms`), priced whole to their tenant."""
    warnings: list[str] = []
    by_tenant: dict[str, TenantShowback] = {}
    plan = plan_split(list(tenants.values()), platform)
    for name, resolved in sorted(tenants.items()):
        by_tenant[name] = TenantShowback(
            name,
            resolved.cost_center,
            resolved.tier.name,
            estimate(resolved, platform, plan, fleet=fleet),
        )
    for u in usages:
        t = tenants.get(u.tenant)
        row = by_tenant.get(u.tenant)
        if row is None:
            row = by_tenant[u.tenant] = TenantShowback(u.tenant, u.cost_center, u.tier, None)
            warnings.append(
                f"tenant {u.tenant!r} has measured usage but no tenant file: priced at the "
                "cost its rules recorded"
            )
        model = next((m for m in t.models if m.name == u.model), None) if t else None
        if t is not None and model is None:
            warnings.append(
                f"{u.tenant}/{u.model} has measured usage but is not in the tenant file: "
                "priced at the cost its rules recorded"
            )
        rates = model_rates(t, model, platform) if t is not None and model is not None else None
        entry = ModelShowback(u, rates, _cost(u, rates))
        row.models.append(entry)
        row.totals.add(entry)
    splits = llm_splits(adapter_tokens or [], platform, window_seconds, warnings)
    for sp in splits:
        held = sp.rates.gpus * window_seconds
        for a in sp.shares:
            tok = next(
                u
                for u in adapter_tokens or []
                if (u.tenant, u.model, u.base_model)
                == (a.tenant, a.served_name, sp.rates.base_model)
            )
            row = by_tenant.get(a.tenant)
            if row is None:
                row = by_tenant[a.tenant] = TenantShowback(a.tenant, "", "", None)
                warnings.append(
                    f"tenant {a.tenant!r} has metered LLM tokens but no tenant file: its share "
                    f"of {sp.rates.base_model} is shown without a cost center"
                )
            part = LlmShowback(tok, a.share, a.share * held, a.usd)
            row.llm.append(part)
            row.totals.add_llm(part)
    for o in own_llms or []:
        t = tenants.get(o.tenant)
        row = by_tenant.get(o.tenant)
        llm = next((x for x in t.llms if f"{t.name}-{x.name}" == o.model), None) if t else None
        if row is None or t is None or llm is None:
            warnings.append(f"{o.tenant}/{o.model}: an own LLM the tenant files do not declare")
            continue
        rates = llm_rates(t, llm, platform)
        if o.replica_seconds is None:
            own = OwnLlmShowback(o, rates, None, None)
            warnings.append(
                f"tenant {o.tenant!r}: Prometheus has no rule group tenantry.{o.tenant}.llm, "
                f"so what {o.model} held and its cost are unknown: load its PrometheusRule"
            )
        else:
            own = OwnLlmShowback(
                o,
                rates,
                o.replica_seconds * rates.gpu_share,
                o.replica_seconds * rates.usd_per_replica_second,
            )
        row.own_llms.append(own)
        row.totals.add_own_llm(own)
    missing = sorted({u.tenant for u in usages if u.replica_seconds is None})
    for name in missing:
        warnings.append(
            f"tenant {name!r}: Prometheus has no rule group tenantry.{name}.usage, so what "
            "it held (GPU/vCPU-seconds) and its cost are unknown: load its PrometheusRule"
        )
    centers: dict[str, list[TenantShowback]] = defaultdict(list)
    for row in by_tenant.values():
        centers[row.cost_center].append(row)
    cost_centers = []
    grand = Totals()
    for cc, rows in sorted(centers.items()):
        totals = Totals()
        for row in rows:
            totals.merge(row.totals)
        grand.merge(totals)
        cost_centers.append(
            CostCenterShowback(
                cc,
                [row.tenant for row in rows],
                totals,
                sum(row.estimate.monthly_usd_min for row in rows if row.estimate),
                sum(row.estimate.monthly_usd_max for row in rows if row.estimate),
            )
        )
    price_date = next(
        (row.estimate.price_date for row in by_tenant.values() if row.estimate),
        "",
    )
    return Showback(
        window,
        window_seconds,
        end,
        list(by_tenant.values()),
        cost_centers,
        grand,
        price_date,
        warnings,
        splits,
    )


def ratio(x: float) -> float | None:
    """A ratio for JSON: None instead of NaN."""
    return None if math.isnan(x) else x
