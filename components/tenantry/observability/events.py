"""Cost events: one JSON record per tenant, model version and short window (pure).

Why per window and not per request: what a request costs is what it held of a GPU slice or
a CPU while it ran, and the split between queue wait and compute is known only to Triton
(the sidecar's access log sees one duration); per-window records carry Triton's queue and
compute seconds, the held GPU-/vCPU-seconds and the same prices as the showback, from the
same signals (:mod:`.usage`), so the stream and the monthly showback always add up. They are
also a fraction of the volume: one record per model version per window, whatever the traffic
(a per-request stream at 1,000 requests/s is 86 million records a day).

The shape (:class:`CostEvent`, JSON Schema in ``docs/cost-event.schema.json``) is versioned
by ``schema``; ``event_id`` is deterministic (SHA-256 of tenant, model, version and window),
so a record written twice is one record to a reader. ``degraded`` is true when the window's
server-error ratio exceeded the tier's availability budget, its latency-miss ratio exceeded
the p99 objective's 1%, or requests were refused for want of queue room. Tenantry has no
fallback route: a request is served by the model the tenant declared or refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..spec.tiers import TIERS
from .showback import ModelShowback
from .slo import LATENCY_OBJECTIVE

SCHEMA = "tenantry.dev/cost-event/v1"


class Pricing(BaseModel):
    """The catalog prices the estimate used (``tenantry.cost.model_rates``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_type: str = Field(description="EC2 instance type the prices are of")
    gpu_share: float = Field(description="GPU equivalents one replica holds (0: CPU-only)")
    usd_per_gpu_hour: float = Field(description="instance price / GPUs per instance")
    vcpus: float = Field(description="priced vCPUs per replica (CPU-only models)")
    usd_per_vcpu_hour: float = Field(description="instance price / vCPUs")
    price_date: str = Field(description="date of the catalog's on-demand prices")


class Rejections(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_limited: float = Field(description="refused by the tenant's rate limit (429 / RL)")
    queue_full: float = Field(
        description="answered HTTP 503 / gRPC UNAVAILABLE from behind the pod's sidecar: "
        "Triton's or queue-proxy's queue full, and any other such answer (a model not ready)"
    )


class CostEvent(BaseModel):
    """One tenant model version over one window. Counts are ``increase()`` over the window
    (extrapolated to its edges, so not always integers); seconds are seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["tenantry.dev/cost-event/v1"] = Field(alias="schema")
    event_id: str = Field(description="sha256 of tenant/model/version/window_end, hex")
    window_start: str = Field(description="RFC 3339, UTC")
    window_end: str = Field(description="RFC 3339, UTC")
    window_seconds: float
    tenant: str
    cost_center: str
    tier: str
    route: str = Field(description="the model's KServe v2 inference route")
    model: str
    version: str
    requests: float = Field(description="requests Triton answered")
    successes: float
    failures: dict[str, float] = Field(description="Triton failures by reason")
    rejections: Rejections
    queue_wait_seconds: float = Field(description="time requests waited in Triton's queue")
    queue_wait_ms_mean: float | None
    inference_seconds: float = Field(description="Triton compute (input+infer+output)")
    inference_ms_mean: float | None
    cache_hits: float = Field(description="requests answered from Triton's response cache")
    replica_seconds: float | None = Field(description="pod-seconds serving the version")
    gpu_seconds: float | None = Field(description="replica-seconds x the slice's GPU share")
    cpu_seconds: float | None = Field(description="replica-seconds x vCPUs (CPU-only models)")
    error_ratio: float | None = Field(description="server errors / requests at the sidecar")
    latency_miss_ratio: float | None = Field(description="share slower than p99LatencyMs")
    degraded: bool
    cost_estimate_usd: float | None = Field(
        description="replica-seconds x the catalog price of a replica-second"
    )
    pricing: Pricing | None


def _rfc3339(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _mean_ms(seconds: float, requests: float) -> float | None:
    return round(seconds / requests * 1000, 3) if requests > 0 else None


def _ratio(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def cost_event(m: ModelShowback, *, end: float, window_seconds: float) -> CostEvent:
    """The event of one model version's usage over the window ending ``end``."""
    u, rates = m.usage, m.rates
    tier = TIERS.get(u.tier)
    budget = 1 - tier.availability_objective if tier else 0.0
    degraded = (
        (not math.isnan(u.error_ratio) and u.error_ratio > budget)
        or (not math.isnan(u.latency_miss_ratio) and u.latency_miss_ratio > 1 - LATENCY_OBJECTIVE)
        or u.rejections_queue_full > 0
    )
    window_end = _rfc3339(end)
    digest = hashlib.sha256(f"{u.tenant}/{u.model}/{u.version}/{window_end}".encode()).hexdigest()
    pricing = None
    if rates is not None:
        pricing = Pricing(
            instance_type=rates.instance_type,
            gpu_share=round(rates.gpu_share, 6),
            usd_per_gpu_hour=rates.usd_per_gpu_hour,
            vcpus=rates.vcpus,
            usd_per_vcpu_hour=round(rates.usd_per_vcpu_hour, 6),
            price_date=rates.price_date,
        )

    def r3(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return CostEvent(
        schema=SCHEMA,
        event_id=digest,
        window_start=_rfc3339(end - window_seconds),
        window_end=window_end,
        window_seconds=window_seconds,
        tenant=u.tenant,
        cost_center=u.cost_center,
        tier=u.tier,
        route=f"/v2/models/{u.model}",
        model=u.model,
        version=u.version,
        requests=round(u.requests, 3),
        successes=round(u.successes, 3),
        failures={k: round(v, 3) for k, v in sorted(u.failures.items())},
        rejections=Rejections(
            rate_limited=round(u.rejections_rate_limited, 3),
            queue_full=round(u.rejections_queue_full, 3),
        ),
        queue_wait_seconds=round(u.queue_seconds, 6),
        queue_wait_ms_mean=_mean_ms(u.queue_seconds, u.requests),
        inference_seconds=round(u.compute_seconds, 6),
        inference_ms_mean=_mean_ms(u.compute_seconds, u.requests),
        cache_hits=round(u.cache_hits, 3),
        replica_seconds=r3(u.replica_seconds),
        gpu_seconds=r3(u.gpu_seconds),
        cpu_seconds=r3(u.cpu_seconds),
        error_ratio=_ratio(u.error_ratio),
        latency_miss_ratio=_ratio(u.latency_miss_ratio),
        degraded=degraded,
        cost_estimate_usd=None if m.cost_usd is None else round(m.cost_usd, 6),
        pricing=pricing,
    )


def event_schema() -> dict[str, object]:
    """The JSON Schema of one cost event (``docs/cost-event.schema.json``)."""
    schema = CostEvent.model_json_schema(by_alias=True)
    schema["$id"] = "https://tenantry.dev/schemas/cost-event/v1.json"
    return schema
