"""Measured usage per tenant, model and version over a window, read from Prometheus: the
numbers behind ``tenantry cost --actual`` and the cost events.

Counters (requests, successes, failures, rejections, queue and compute seconds, cache hits)
are ``increase()`` over the window of the raw series, with the definitions of
:mod:`.signals` (the ones the recording rules use). Held capacity (replica-, GPU- and
vCPU-seconds) is the integral of the recorded gauges (``tenant_model:replicas:count``,
``...:gpu_seconds:rate``, ``...:cpu_seconds:rate``): their samples over the window x the
usage group's evaluation interval. SLI ratios are the window's average of the recorded
5-minute ratios.

``increase()`` extrapolates from the first and last samples in the window towards its edges
(Prometheus docs, "increase()"; promql ``extrapolatedRate``: at most about a scrape interval
at the end and half of one at the start), a share that vanishes on long windows; a model
version whose pods started inside the window is counted from its first scrape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import llm_rules as llm
from . import rules as r
from . import signals as s
from .prometheus import PrometheusClient, Sample

Key = tuple[str, str, str, str, str]  # tenant, tier, cost_center, model, version


@dataclass
class ModelUsage:
    """One model version of one tenant over a window (counts are requests; seconds are
    seconds; NaN ratios mean "no traffic to judge")."""

    tenant: str
    tier: str
    cost_center: str
    model: str
    version: str
    requests: float = 0.0
    successes: float = 0.0
    failures: dict[str, float] = field(default_factory=dict)
    rejections_rate_limited: float = 0.0
    rejections_queue_full: float = 0.0
    queue_seconds: float = 0.0
    compute_seconds: float = 0.0
    cache_hits: float = 0.0
    # held capacity: None when the tenant's usage rules are not loaded in this Prometheus
    replica_seconds: float | None = 0.0
    gpu_seconds: float | None = 0.0
    cpu_seconds: float | None = 0.0
    recorded_cost_usd: float | None = 0.0
    error_ratio: float = math.nan
    latency_miss_ratio: float = math.nan

    @property
    def key(self) -> Key:
        return (self.tenant, self.tier, self.cost_center, self.model, self.version)


def _key(sample: Sample) -> Key | None:
    labels = sample.labels
    if not labels.get(s.TENANT) or not labels.get(s.MODEL):
        return None
    return (
        labels.get(s.TENANT, ""),
        labels.get(s.TIER, ""),
        labels.get(s.COST_CENTER, ""),
        labels.get(s.MODEL, ""),
        labels.get(s.VERSION, ""),
    )


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def usage_group(tenant: str) -> str:
    """The rule group whose evaluation interval the capacity integrals use."""
    return f"tenantry.{tenant}.usage"


def measure(
    client: PrometheusClient,
    *,
    window: str,
    at: float | None,
    tenant: str | None = None,
) -> list[ModelUsage]:
    """Every model version with data in ``window`` (a Prometheus duration) ending ``at``
    (unix seconds; None: now), one tenant or all, sorted by tenant, model and version. The
    capacity integrals use each tenant's usage group interval as Prometheus reports it
    (``/api/v1/rules``); a tenant whose rules are not loaded gets None there."""
    usage: dict[Key, ModelUsage] = {}
    intervals = client.rule_group_intervals()

    def put(samples: Iterable[Sample], attr: str, integral: bool = False) -> None:
        for sample in samples:
            key = _key(sample)
            if key is None:
                continue
            u = usage.setdefault(key, ModelUsage(*key))
            value = _finite(sample.value)
            if integral:
                interval = intervals.get(usage_group(key[0]))
                if interval is None:
                    setattr(u, attr, None)
                    continue
                value *= interval
            if attr == "failures":
                reason = sample.labels.get("reason", "OTHER")
                u.failures[reason] = u.failures.get(reason, 0.0) + value
            elif attr in ("error_ratio", "latency_miss_ratio"):
                setattr(u, attr, sample.value)
            else:
                setattr(u, attr, (getattr(u, attr) or 0.0) + value)

    q = client.query
    for counter, attr in (
        (s.REQUESTS, "requests"),
        (s.SUCCESSES, "successes"),
        (s.FAILURES, "failures"),
        (s.RATE_LIMITED, "rejections_rate_limited"),
        (s.QUEUE_FULL, "rejections_queue_full"),
        (s.QUEUE_SECONDS, "queue_seconds"),
        (s.COMPUTE_SECONDS, "compute_seconds"),
        (s.CACHE_HITS, "cache_hits"),
    ):
        put(q(counter.expr("increase", window, tenant), at), attr)
    sel = s.selector(s.tenant_matcher(tenant))
    for record, attr in (
        (r.REPLICAS, "replica_seconds"),
        (r.GPU_SECONDS, "gpu_seconds"),
        (r.CPU_SECONDS, "cpu_seconds"),
        (r.COST_USD, "recorded_cost_usd"),
    ):
        expr = f"sum by ({s.BY}) (sum_over_time({record}{sel}[{window}]))"
        put(q(expr, at), attr, integral=True)
    for sli, attr in (("availability", "error_ratio"), ("latency", "latency_miss_ratio")):
        expr = f"avg by ({s.BY}) (avg_over_time({r.sli_record(sli, '5m')}{sel}[{window}]))"
        put(q(expr, at), attr)
    for u in usage.values():
        if usage_group(u.tenant) not in intervals:
            u.replica_seconds = u.gpu_seconds = u.cpu_seconds = u.recorded_cost_usd = None
    return [usage[k] for k in sorted(usage)]


@dataclass(frozen=True)
class AdapterTokens:
    """One tenant adapter on a shared base model over a window, from the LLM gateway's
    counters (``increase()``): prompt and completion tokens, and requests answered 2xx."""

    tenant: str
    base_model: str
    adapter: str
    model: str  # the served name <tenant>-<adapter>
    prompt_tokens: float = 0.0
    completion_tokens: float = 0.0
    requests: float = 0.0

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens


def measure_adapter_tokens(
    client: PrometheusClient, *, window: str, at: float | None
) -> list[AdapterTokens]:
    """Every adapter with gateway data in ``window`` ending ``at``, sorted by tenant and
    served name (the gateway's own series, :func:`.llm_rules.gateway`: identified callers,
    namespace ``tenantry-llm``)."""
    by = llm.ADAPTER_BY
    found: dict[tuple[str, str, str, str], dict[str, float]] = {}
    gw = llm.gateway()
    ok = llm.gateway('code=~"2.."')
    for metric, sel, attr in (
        (llm.GATEWAY_PROMPT_TOKENS, gw, "prompt_tokens"),
        (llm.GATEWAY_COMPLETION_TOKENS, gw, "completion_tokens"),
        (llm.GATEWAY_REQUESTS, ok, "requests"),
    ):
        for sample in client.query(f"sum by ({by}) (increase({metric}{sel}[{window}]))", at):
            lab = sample.labels
            key = (
                lab.get(s.TENANT, ""),
                lab.get(llm.BASE_MODEL, ""),
                lab.get(llm.ADAPTER, ""),
                lab.get(s.MODEL, ""),
            )
            values = found.setdefault(key, {})
            values[attr] = values.get(attr, 0.0) + _finite(sample.value)
    return [
        AdapterTokens(
            tenant,
            base,
            adapter,
            model,
            prompt_tokens=found[key].get("prompt_tokens", 0.0),
            completion_tokens=found[key].get("completion_tokens", 0.0),
            requests=found[key].get("requests", 0.0),
        )
        for key in sorted(found, key=lambda k: (k[0], k[3]))
        for tenant, base, adapter, model in [key]
    ]


@dataclass(frozen=True)
class OwnLlmUsage:
    """A tenant's own LLM over a window: tokens and requests from vLLM's own counters
    (``increase()`` in the tenant's namespace), replica-seconds integrated from
    ``tenant_llm:replicas:count`` (None when the tenant's LLM rules are not loaded)."""

    tenant: str
    model: str  # the served name <tenant>-<llm>
    prompt_tokens: float
    completion_tokens: float
    requests: float
    replica_seconds: float | None

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens


def llm_group(tenant: str) -> str:
    """The rule group of a tenant's own LLMs (its interval integrates their replicas)."""
    return f"tenantry.{tenant}.llm"


def measure_own_llms(
    client: PrometheusClient,
    served: dict[str, set[str]],
    *,
    window: str,
    at: float | None,
) -> list[OwnLlmUsage]:
    """The own LLMs ``served`` declares ({tenant: its served names}) with data in the
    window, sorted by tenant and model. A series counts for a tenant only in the tenant's
    own namespace (vLLM's series carry no tenant: :mod:`.llm_rules`)."""
    by = f"{llm.NAMESPACE}, {llm.VLLM_MODEL_NAME}"
    found: dict[tuple[str, str], dict[str, float]] = {}
    for metric, attr in (
        (llm.VLLM_PROMPT_TOKENS, "prompt"),
        (llm.VLLM_GENERATION_TOKENS, "completion"),
        (llm.VLLM_REQUEST_SUCCESS, "requests"),
    ):
        for sample in client.query(f"sum by ({by}) (increase({metric}[{window}]))", at):
            tenant = sample.labels.get(llm.NAMESPACE, "")
            model = sample.labels.get(llm.VLLM_MODEL_NAME, "")
            if model in served.get(tenant, set()):
                values = found.setdefault((tenant, model), {})
                values[attr] = values.get(attr, 0.0) + _finite(sample.value)
    intervals = client.rule_group_intervals()
    held: dict[tuple[str, str], float] = {}
    expr = f"sum by ({s.TENANT}, {s.MODEL}) (sum_over_time({llm.LLM_REPLICAS}[{window}]))"
    for sample in client.query(expr, at):
        key = (sample.labels.get(s.TENANT, ""), sample.labels.get(s.MODEL, ""))
        interval = intervals.get(llm_group(key[0]))
        if interval is not None and key[1] in served.get(key[0], set()):
            held[key] = _finite(sample.value) * interval
            found.setdefault(key, {})
    return [
        OwnLlmUsage(
            tenant,
            model,
            found[key].get("prompt", 0.0),
            found[key].get("completion", 0.0),
            found[key].get("requests", 0.0),
            held.get(key, 0.0) if llm_group(tenant) in intervals else None,
        )
        for key in sorted(found)
        for tenant, model in [key]
    ]
