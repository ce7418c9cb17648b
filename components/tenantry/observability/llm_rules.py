"""Token metering of the LLMs: recording rules and alerts (pure: plain data, no Pulumi).

Two places, as the two tenancy options are served (docs/llm.md):

**Shared base models** (the platform's ``PrometheusRule`` ``tenantry-llm-metering`` in
``monitoring``, :func:`platform_prometheus_rule`), from the Tenantry LLM gateway's counters
in front of every shared runtime (``tenantry.llmgateway.metrics``, the gateway contract):
``tenantry_llm_prompt_tokens_total`` / ``tenantry_llm_completion_tokens_total``
``{tenant, model, base_model, adapter}`` (from each response's ``usage``),
``tenantry_llm_requests_total{..., code}`` (every request for a caller's own model, by final
HTTP status, the gateway's own 429s included) and ``tenantry_llm_rejected_total{tenant,
model, reason}``. vLLM itself cannot split a shared runtime by tenant: its token counters
carry only ``model_name`` = the served base model (``vllm/v1/metrics/loggers.py``,
``PrometheusStatLogger``: labels ``model_name`` = ``model_config.served_model_name`` and
``engine``), never the adapter. Group ``tenantry.llm.metering``:

==============================================  ==========================================
``tenant_adapter:prompt_tokens:rate5m``         prompt tokens per second, by tenant,
                                                base_model, adapter, model (served name)
``tenant_adapter:completion_tokens:rate5m``     completion tokens per second
``tenant_adapter:tokens:rate5m``                both
``tenant_adapter:requests:rate5m``              requests per second, by ``code``
``tenant_adapter:rejections:rate5m``            the gateway's refusals, by ``reason``
                                                (tenant, model; identified callers only)
``base_model:tokens:rate5m``                    every tenant's tokens on a base model
``tenant_adapter:token_share:ratio5m``          the adapter's share of its base's tokens
``base_model:gpu_seconds:rate``                 GPU-seconds per second the base holds:
                                                replicas x devices x its profile's share
                                                of a GPU (catalog; all replicas run always)
``base_model:cost_usd:rate``                    USD per second of that, at catalog prices
``tenant_adapter:gpu_seconds:rate``             the base's GPU-seconds x the token share
``tenant_adapter:cost_usd:rate``                the base's cost x the token share
``base_model:unattributed_cost_usd:rate``       a base's cost while it serves no tokens
==============================================  ==========================================

**A tenant's own LLMs** (group ``tenantry.<tenant>.llm`` in the tenant's own
``PrometheusRule``, :func:`own_llm_rules`), from vLLM's own counters: the runtime is the
tenant's alone. KServe starts vLLM with ``--served-model-name`` = ``spec.model.name``
(``config/llmisvc/config-llm-template.yaml``), which Tenantry sets to ``<tenant>-<llm>``, so
``model_name`` names the LLM; the tenant is the series' ``namespace`` (a target label the
Prometheus Operator sets from the pod's namespace, which a scraped series cannot override).
Records ``tenant_llm:prompt_tokens:rate5m`` (``vllm:prompt_tokens_total``),
``tenant_llm:completion_tokens:rate5m`` (``vllm:generation_tokens_total``),
``tenant_llm:tokens:rate5m``, ``tenant_llm:requests:rate5m``
(``vllm:request_success_total``, every ``finished_reason``), ``tenant_llm:replicas:count``
(pods exporting ``vllm:num_requests_running``), ``tenant_llm:gpu_seconds:rate`` and
``tenant_llm:cost_usd:rate`` (replicas x the LLM's devices and price: all of it is the
tenant's), by tenant, tier, cost_center and model.

Alerts: ``TenantryLlmTokenBudget`` (more than :data:`BUDGET_REFUSED_RATIO` of a tenant's
requests to one model refused by its token budget over 15 minutes, for 15 minutes: the
tenant's callers meet 429s; raise ``tokensPerMinute`` or slow them down),
``TenantryLlmTokensMissing`` (the gateway answers a model's requests but meters no tokens:
the split and the tenant's cost are blind) and ``TenantryLlmSignalMissing`` (a declared own
LLM exports no vLLM series: nothing of it is metered), the missing-signal pattern of
``TenantrySloSignalMissing`` (:mod:`.rules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import namespaces
from ..cost import BaseModelRates, ModelRates, base_model_rates
from ..k8s.labels import MONITORING_NAMESPACE
from ..spec import PlatformSettings, ResolvedTenant
from . import signals as s
from .rules import DOCS, USAGE_INTERVAL, _num

# -- the gateway's metrics (gateway contract; tenantry.llmgateway.metrics) -------------------
GATEWAY_REQUESTS = "tenantry_llm_requests_total"
GATEWAY_PROMPT_TOKENS = "tenantry_llm_prompt_tokens_total"
GATEWAY_COMPLETION_TOKENS = "tenantry_llm_completion_tokens_total"
GATEWAY_REJECTED = "tenantry_llm_rejected_total"
BASE_MODEL, ADAPTER = "base_model", "adapter"
ADAPTER_BY = f"{s.TENANT}, {BASE_MODEL}, {ADAPTER}, {s.MODEL}"
TOKEN_BUDGET = "token_budget"  # tenantry_llm_rejected_total{reason}
# Only the gateway's own series count: the namespace is a target label (the Prometheus
# Operator sets it from the pod's namespace; a scraped series cannot override it), so a pod of
# a tenant exporting metrics of these names can never shift cost onto another tenant.
GATEWAY_MATCHER = f'namespace="{namespaces.LLM}"'


def gateway(*matchers: str) -> str:
    """A selector of the gateway's series of identified callers, with ``matchers``."""
    return s.selector(GATEWAY_MATCHER, f'{s.TENANT}!=""', *matchers)


# -- vLLM's own metrics (vllm/v1/metrics/loggers.py, PrometheusStatLogger) --------------------
VLLM_PROMPT_TOKENS = "vllm:prompt_tokens_total"
VLLM_GENERATION_TOKENS = "vllm:generation_tokens_total"
VLLM_REQUEST_SUCCESS = "vllm:request_success_total"
VLLM_RUNNING = "vllm:num_requests_running"
VLLM_MODEL_NAME = "model_name"
NAMESPACE = "namespace"

# -- records --------------------------------------------------------------------------------
ADAPTER_PROMPT = "tenant_adapter:prompt_tokens:rate5m"
ADAPTER_COMPLETION = "tenant_adapter:completion_tokens:rate5m"
ADAPTER_TOKENS = "tenant_adapter:tokens:rate5m"
ADAPTER_REQUESTS = "tenant_adapter:requests:rate5m"
ADAPTER_REJECTIONS = "tenant_adapter:rejections:rate5m"
ADAPTER_SHARE = "tenant_adapter:token_share:ratio5m"
ADAPTER_GPU_SECONDS = "tenant_adapter:gpu_seconds:rate"
ADAPTER_COST = "tenant_adapter:cost_usd:rate"
BASE_TOKENS = "base_model:tokens:rate5m"
BASE_GPU_SECONDS = "base_model:gpu_seconds:rate"
BASE_COST = "base_model:cost_usd:rate"
BASE_UNATTRIBUTED = "base_model:unattributed_cost_usd:rate"

LLM_PROMPT = "tenant_llm:prompt_tokens:rate5m"
LLM_COMPLETION = "tenant_llm:completion_tokens:rate5m"
LLM_TOKENS = "tenant_llm:tokens:rate5m"
LLM_REQUESTS = "tenant_llm:requests:rate5m"
LLM_REPLICAS = "tenant_llm:replicas:count"
LLM_GPU_SECONDS = "tenant_llm:gpu_seconds:rate"
LLM_COST = "tenant_llm:cost_usd:rate"

ALERT_TOKEN_BUDGET = "TenantryLlmTokenBudget"
ALERT_TOKENS_MISSING = "TenantryLlmTokensMissing"
ALERT_SIGNAL_MISSING = "TenantryLlmSignalMissing"
BUDGET_REFUSED_RATIO = 0.05  # 1 request in 20 refused for its token budget
ALERT_WINDOW = "15m"

PLATFORM_RULE = "tenantry-llm-metering"
PLATFORM_GROUP = "tenantry.llm.metering"


def _rec(record: str, expr: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"record": record, "expr": expr}
    if labels:
        rule["labels"] = dict(labels)
    return rule


def _tokens(prompt: str, completion: str, window: str, sel: str, by: str) -> str:
    """Prompt plus completion tokens per second, ``sum by (by)``: the two counters told
    apart by a ``kind`` label first (``rate()`` drops the name, and the two series of one
    model have the same labels), so a model with only one of them still counts."""
    parts = " or ".join(
        f'label_replace(rate({metric}{sel}[{window}]), "kind", "{kind}", "", "")'
        for metric, kind in ((prompt, "prompt"), (completion, "completion"))
    )
    return f"sum by ({by}) ({parts})"


def base_rates_for(platform: PlatformSettings) -> dict[str, BaseModelRates]:
    """Each shared base model's held GPUs and price (:func:`tenantry.cost.base_model_rates`)."""
    return {b.name: base_model_rates(b, platform) for b in platform.llm_base_models}


def shared_base_rules(rates: Mapping[str, BaseModelRates]) -> list[dict[str, Any]]:
    """The shared-base recording rules and alerts (see the module docstring), in one group's
    order: every rule reads only records above it."""
    gw = gateway()
    rules = [
        _rec(ADAPTER_PROMPT, f"sum by ({ADAPTER_BY}) (rate({GATEWAY_PROMPT_TOKENS}{gw}[5m]))"),
        _rec(
            ADAPTER_COMPLETION,
            f"sum by ({ADAPTER_BY}) (rate({GATEWAY_COMPLETION_TOKENS}{gw}[5m]))",
        ),
        _rec(
            ADAPTER_TOKENS,
            _tokens(GATEWAY_PROMPT_TOKENS, GATEWAY_COMPLETION_TOKENS, "5m", gw, ADAPTER_BY),
        ),
        _rec(ADAPTER_REQUESTS, f"sum by ({ADAPTER_BY}, code) (rate({GATEWAY_REQUESTS}{gw}[5m]))"),
        _rec(
            ADAPTER_REJECTIONS,
            f"sum by ({s.TENANT}, {s.MODEL}, reason) (rate({GATEWAY_REJECTED}{gw}[5m]))",
        ),
        _rec(BASE_TOKENS, f"sum by ({BASE_MODEL}) ({ADAPTER_TOKENS})"),
        _rec(
            ADAPTER_SHARE,
            f"{ADAPTER_TOKENS} / on ({BASE_MODEL}) group_left() ({BASE_TOKENS} > 0)",
        ),
    ]
    for name, r in sorted(rates.items()):
        label = {BASE_MODEL: name}
        rules.append(_rec(BASE_GPU_SECONDS, f"vector({_num(r.gpus)})", label))
        rules.append(_rec(BASE_COST, f"vector({_num(r.usd_per_second)})", label))
    for record, base in ((ADAPTER_GPU_SECONDS, BASE_GPU_SECONDS), (ADAPTER_COST, BASE_COST)):
        rules.append(_rec(record, f"{ADAPTER_SHARE} * on ({BASE_MODEL}) group_left() {base}"))
    rules.append(
        _rec(
            BASE_UNATTRIBUTED,
            f"{BASE_COST} unless on ({BASE_MODEL}) ({BASE_TOKENS} > 0)",
        )
    )
    return rules + shared_base_alerts()


def shared_base_alerts() -> list[dict[str, Any]]:
    """The token-budget and metering-blind alerts of the gateway (per tenant and model)."""
    w = ALERT_WINDOW
    by = f"{s.TENANT}, {s.MODEL}"
    refused = gateway(f'reason="{TOKEN_BUDGET}"')
    gw = gateway()
    answered = gateway('code=~"2.."')
    limit = _num(BUDGET_REFUSED_RATIO)
    return [
        {
            "alert": ALERT_TOKEN_BUDGET,
            "expr": f"sum by ({by}) (rate({GATEWAY_REJECTED}{refused}[{w}])) / sum by ({by}) "
            f"(rate({GATEWAY_REQUESTS}{gw}[{w}])) > {limit}",
            "for": w,
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "{{ $labels.tenant }}: {{ $value | humanizePercentage }} of the "
                "requests to {{ $labels.model }} are refused by its token budget",
                "description": f"Over the last {w}, more than {BUDGET_REFUSED_RATIO:.0%} of "
                "the tenant's requests to this model were answered 429 (rate_limit_exceeded) "
                "by the LLM gateway's token bucket (tokensPerMinute in the tenant file). "
                "Raise the adapter's tokensPerMinute or slow its callers down.",
                "runbook_url": f"{DOCS}#llm-token-budget",
            },
        },
        {
            "alert": ALERT_TOKENS_MISSING,
            "expr": f"(sum by ({by}) (rate({GATEWAY_REQUESTS}{answered}[{w}])) > 0) unless on "
            f"({by}) ({_tokens(GATEWAY_PROMPT_TOKENS, GATEWAY_COMPLETION_TOKENS, w, gw, by)}"
            " > 0)",
            "for": w,
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "{{ $labels.tenant }}/{{ $labels.model }} is answered but no "
                "tokens are metered: its share of the base model's cost is blind",
                "description": f"The LLM gateway answered requests (2xx) in the last {w} "
                "but counted no prompt or completion tokens for them: the responses carry "
                "no usage (a streaming reply without stream_options.include_usage), or the "
                "gateway is older than the metering contract.",
                "runbook_url": f"{DOCS}#llm-tokens-missing",
            },
        },
    ]


def platform_rule_groups(
    rates: Mapping[str, BaseModelRates], interval: str = USAGE_INTERVAL
) -> list[dict[str, Any]]:
    return [{"name": PLATFORM_GROUP, "interval": interval, "rules": shared_base_rules(rates)}]


def platform_prometheus_rule(
    platform: PlatformSettings, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The ``monitoring.coreos.com/v1`` PrometheusRule ``tenantry-llm-metering`` in
    ``monitoring`` (the platform's labels), for the shared base models of ``platform``."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": PLATFORM_RULE,
            "namespace": MONITORING_NAMESPACE,
            "labels": dict(labels),
        },
        "spec": {"groups": platform_rule_groups(base_rates_for(platform))},
    }


def served_name(t: ResolvedTenant, llm: str) -> str:
    """What KServe serves a tenant's own LLM as (``spec.model.name``, vLLM's
    ``--served-model-name`` and so its ``model_name`` label); its rates' key in
    :func:`.rules.rates_for`."""
    return next(x.served_name for x in t.llms if x.name == llm)


def _own(metric: str, t: ResolvedTenant, window: str | None = "5m") -> str:
    """``rate(<metric>[window])`` (or the bare selector) of the tenant's own LLMs: the
    tenant's namespace and its declared served names only."""
    names = "|".join(sorted(served_name(t, llm.name) for llm in t.llms))
    sel = s.selector(f'{NAMESPACE}="{t.name}"', f'{VLLM_MODEL_NAME}=~"{names}"')
    return f"rate({metric}{sel}[{window}])" if window else f"{metric}{sel}"


def _by_tenant(expr: str, op: str = "sum") -> str:
    """``<op> by (tenant, model)`` of series labelled namespace and model_name: the tenant
    is the namespace, the model vLLM's model_name."""
    inner = f'label_replace({expr}, "{s.TENANT}", "$1", "{NAMESPACE}", "(.*)")'
    inner = f'label_replace({inner}, "{s.MODEL}", "$1", "{VLLM_MODEL_NAME}", "(.*)")'
    return f"{op} by ({s.TENANT}, {s.MODEL}) ({inner})"


def own_llm_rules(t: ResolvedTenant, rates: Mapping[str, ModelRates]) -> list[dict[str, Any]]:
    """The recording rules and missing-signal alerts of the tenant's own LLMs (empty
    without any); ``rates``: :func:`.rules.rates_for`. Each record carries the tenant's
    tier and cost_center as rule labels."""
    if not t.llms:
        return []
    tag = {s.TIER: t.tier.name, s.COST_CENTER: t.cost_center}
    both = " or ".join(
        f'label_replace({_own(metric, t)}, "kind", "{kind}", "", "")'
        for metric, kind in ((VLLM_PROMPT_TOKENS, "prompt"), (VLLM_GENERATION_TOKENS, "gen"))
    )
    pods = f"count by ({NAMESPACE}, {VLLM_MODEL_NAME}, pod) ({_own(VLLM_RUNNING, t, None)})"
    rules = [
        _rec(LLM_PROMPT, _by_tenant(_own(VLLM_PROMPT_TOKENS, t)), tag),
        _rec(LLM_COMPLETION, _by_tenant(_own(VLLM_GENERATION_TOKENS, t)), tag),
        _rec(LLM_TOKENS, _by_tenant(both), tag),
        _rec(LLM_REQUESTS, _by_tenant(_own(VLLM_REQUEST_SUCCESS, t)), tag),
        _rec(LLM_REPLICAS, _by_tenant(pods, "count"), tag),
    ]
    for llm in t.llms:
        name = served_name(t, llm.name)
        r = rates[name]
        sel = s.selector(f'{s.TENANT}="{t.name}"', f'{s.MODEL}="{name}"')
        labels = {**tag, s.MODEL: name}
        rules.append(_rec(LLM_GPU_SECONDS, f"{LLM_REPLICAS}{sel} * {_num(r.gpu_share)}", labels))
        rules.append(
            _rec(LLM_COST, f"{LLM_REPLICAS}{sel} * {_num(r.usd_per_replica_second)}", labels)
        )
    for llm in t.llms:
        name = served_name(t, llm.name)
        sel = s.selector(f'{NAMESPACE}="{t.name}"', f'{VLLM_MODEL_NAME}="{name}"')
        rules.append(
            {
                "alert": ALERT_SIGNAL_MISSING,
                "expr": f"absent({VLLM_RUNNING}{sel})",
                "for": ALERT_WINDOW,
                "labels": {"severity": "ticket", s.TENANT: t.name, s.MODEL: name},
                "annotations": {
                    "summary": f"{t.name}/{name}: vLLM exports no metrics, so the LLM's "
                    "tokens and cost are not metered",
                    "description": f"No {VLLM_RUNNING} series of model_name {name} in "
                    f"namespace {t.name} for {ALERT_WINDOW}: the LLM is down or its "
                    "/metrics (port 8000) is not scraped.",
                    "runbook_url": f"{DOCS}#llm-signal-missing",
                },
            }
        )
    return rules
