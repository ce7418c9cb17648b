"""One tenant's ``PrometheusRule``: usage recording rules, SLO burn-rate alerts and the
usage-shift alert (pure: plain data, no Pulumi).

Recording rules (level ``tenant_model``: aggregated by tenant, tier, cost_center, model and
version, :data:`.signals.SERIES_LABELS`), group ``tenantry.<tenant>.usage``:

===========================================  ==========================================
``tenant_model:requests:rate5m``             requests Triton answered, per second
``tenant_model:successes:rate5m``            of which successful
``tenant_model:failures:rate5m``             failed, by ``reason`` (REJECTED = queue timeout)
``tenant_model:rejections:rate5m``           refused, by ``reason``: ``rate_limited``
                                             (the sidecar's 429 / flag RL) and
                                             ``queue_full`` (any 503 / UNAVAILABLE from
                                             behind the sidecar: Triton's or
                                             queue-proxy's queue full, a model not
                                             ready; :data:`.signals.QUEUE_FULL`)
``tenant_model:queue_seconds:rate5m``        seconds waited in Triton's queue, per second
``tenant_model:compute_seconds:rate5m``      seconds of Triton compute, per second
``tenant_model:replicas:count``              pods serving the model version
``tenant_model:gpu_seconds:rate``            GPU-seconds per second held: replicas x the
                                             MIG slice's share of its GPU (catalog)
``tenant_model:cpu_seconds:rate``            vCPU-seconds per second held (CPU-only models)
``tenant_model:cost_usd:rate``               USD per second at the catalog's prices
``tenant_model:queue_proxy_depth:max``       requests waiting in Knative's queue-proxy
===========================================  ==========================================

SLI ratios (group ``tenantry.<tenant>.slo``), one per window of :data:`.slo.WINDOWS`:
``tenant_model:slo_availability_errors:ratio_rate<w>`` and
``tenant_model:slo_latency_misses:ratio_rate<w>``, then the ``TenantrySloBurnRate`` alerts
(per model, SLI and severity; :mod:`.slo`). In the usage group, after the usage records:
``TenantrySloSignalMissing`` (Triton serves a model but its sidecar reports nothing, so the
SLO alerts are blind) and ``TenantryUsageShift`` (a model's last hour of requests or cost
against its own 7-day baseline, ``tenant_model:requests:rate1h``/``...:rate1h_avg7d`` and
``tenant_model:cost_usd:avg1h``/``...:avg1h_avg7d``; these series are per model, without
``version``: a new version has no baseline of its own).

The GPU/CPU-seconds and cost rules carry the model's share and price as constants from the
catalog (:func:`tenantry.cost.model_rates`): a price change changes the rule, visibly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..cost import ModelRates, llm_rates, model_rates
from ..spec import PlatformSettings, ResolvedTenant
from ..tags import tenant_labels
from . import signals as s
from .slo import BURN_RATE_WINDOWS, WINDOWS, Slo, model_slos

LEVEL = "tenant_model"
REQUESTS = f"{LEVEL}:requests:rate5m"
SUCCESSES = f"{LEVEL}:successes:rate5m"
FAILURES = f"{LEVEL}:failures:rate5m"
REJECTIONS = f"{LEVEL}:rejections:rate5m"
QUEUE_SECONDS = f"{LEVEL}:queue_seconds:rate5m"
COMPUTE_SECONDS = f"{LEVEL}:compute_seconds:rate5m"
REPLICAS = f"{LEVEL}:replicas:count"
GPU_SECONDS = f"{LEVEL}:gpu_seconds:rate"
CPU_SECONDS = f"{LEVEL}:cpu_seconds:rate"
COST_USD = f"{LEVEL}:cost_usd:rate"
QUEUE_PROXY_DEPTH = f"{LEVEL}:queue_proxy_depth:max"
REQUESTS_1H = f"{LEVEL}:requests:rate1h"
REQUESTS_1H_BASELINE = f"{LEVEL}:requests:rate1h_avg7d"
COST_1H = f"{LEVEL}:cost_usd:avg1h"
COST_1H_BASELINE = f"{LEVEL}:cost_usd:avg1h_avg7d"
SHIFT_BY = "tenant, tier, cost_center, model"

ALERT_BURN_RATE = "TenantrySloBurnRate"
ALERT_SIGNAL_MISSING = "TenantrySloSignalMissing"
ALERT_USAGE_SHIFT = "TenantryUsageShift"

USAGE_INTERVAL = "30s"
SLO_INTERVAL = "1m"
# Usage-shift alert: fire when the last hour is above SHIFT_FACTOR x the 7-day baseline or
# below it / SHIFT_FACTOR, for SHIFT_FOR, once the baseline is at least SHIFT_MIN_RPS.
SHIFT_FACTOR = 3.0
SHIFT_FOR = "30m"
SHIFT_MIN_RPS = 0.01  # 36 requests an hour: below it the ratio is noise
DOCS = "docs/observability.md"  # in this repository (no published URL yet)


def sli_record(sli: str, window: str) -> str:
    name = "availability_errors" if sli == "availability" else "latency_misses"
    return f"{LEVEL}:slo_{name}:ratio_rate{window}"


@dataclass(frozen=True)
class RuleSettings:
    """How often the groups evaluate. The showback integrates the gauges
    (GPU/CPU-seconds, cost) as samples x ``usage_interval``, so it must match what
    Prometheus runs; tests shorten both."""

    usage_interval: str = USAGE_INTERVAL
    slo_interval: str = SLO_INTERVAL


def _rec(record: str, expr: str, model: str | None = None) -> dict[str, Any]:
    """A recording rule; ``model``: a per-model rule also sets the ``model`` label it
    already selects, so that rules of one name differ (promtool's duplicate-rule lint)."""
    rule: dict[str, Any] = {"record": record, "expr": expr}
    if model is not None:
        rule["labels"] = {s.MODEL: model}
    return rule


def _num(x: float) -> str:
    return f"{x:.10g}"


def rates_for(t: ResolvedTenant, platform: PlatformSettings) -> dict[str, ModelRates]:
    """Each model's share and unit prices where it runs (:func:`tenantry.cost.model_rates`),
    by model name, and each own LLM's (:func:`tenantry.cost.llm_rates`) by its served name
    ``<tenant>-<llm>``: what the GPU-/vCPU-seconds and cost rules multiply by."""
    rates = {m.name: model_rates(t, m, platform) for m in t.models}
    for llm in t.llms:
        served = llm.served_name
        if served in rates:
            raise ValueError(
                f"tenant {t.name}: model {served!r} has the name its own LLM {llm.name!r} is "
                f"served as; rename one of them"
            )
        rates[served] = llm_rates(t, llm, platform)
    return rates


def usage_rules(t: ResolvedTenant, rates: Mapping[str, ModelRates]) -> list[dict[str, Any]]:
    """The usage recording rules of one tenant (see the module docstring); ``rates``:
    :func:`rates_for`."""
    n = t.name
    rules = [
        _rec(REQUESTS, s.REQUESTS.expr("rate", "5m", n)),
        _rec(SUCCESSES, s.SUCCESSES.expr("rate", "5m", n)),
        _rec(FAILURES, s.FAILURES.expr("rate", "5m", n)),
    ]
    for reason, counter in (("rate_limited", s.RATE_LIMITED), ("queue_full", s.QUEUE_FULL)):
        rule = _rec(REJECTIONS, counter.expr("rate", "5m", n))
        rule["labels"] = {"reason": reason}
        rules.append(rule)
    rules += [
        _rec(QUEUE_SECONDS, s.QUEUE_SECONDS.expr("rate", "5m", n)),
        _rec(COMPUTE_SECONDS, s.COMPUTE_SECONDS.expr("rate", "5m", n)),
        _rec(
            REPLICAS,
            f"count by ({s.BY}) ({s.TRITON_PENDING}{s.selector(s.tenant_matcher(n))})",
        ),
    ]
    for m in t.models:
        rate = rates[m.name]
        sel = s.selector(f'{s.TENANT}="{n}"', f'{s.MODEL}="{m.name}"')
        if rate.gpu_share:
            rules.append(_rec(GPU_SECONDS, f"{REPLICAS}{sel} * {_num(rate.gpu_share)}", m.name))
        else:
            rules.append(_rec(CPU_SECONDS, f"{REPLICAS}{sel} * {_num(rate.vcpus)}", m.name))
        cost = f"{REPLICAS}{sel} * {_num(rate.usd_per_replica_second)}"
        rules.append(_rec(COST_USD, cost, m.name))
    depth = " or ".join(
        f"{metric}{s.selector(s.tenant_matcher(n))}" for metric in s.KNATIVE_QUEUE_DEPTH
    )
    rules.append(_rec(QUEUE_PROXY_DEPTH, f"max by ({s.BY}) ({depth})"))
    return rules


def slo_rules(t: ResolvedTenant) -> list[dict[str, Any]]:
    """SLI error ratios over every alert window, per model version."""
    rules: list[dict[str, Any]] = []
    for w in WINDOWS:
        errors = s.SERVER_ERRORS.expr("rate", w, t.name)
        served = s.SERVED.expr("rate", w, t.name)
        rules.append(_rec(sli_record("availability", w), f"({errors}) / ({served})"))
    for m in t.models:
        for w in WINDOWS:
            fast = s.latency_fast(w, m.p99_latency_ms, t.name, m.name)
            total = s.latency_total(w, t.name, m.name)
            rules.append(_rec(sli_record("latency", w), f"1 - (({fast}) / ({total}))", m.name))
    return rules


def _burn_alert(slo: Slo, severity: str) -> dict[str, Any]:
    sel = s.selector(f'{s.TENANT}="{slo.tenant}"', f'{s.MODEL}="{slo.model}"')
    clauses = []
    for w in (w for w in BURN_RATE_WINDOWS if w.severity == severity):
        limit = _num(w.burn_rate * slo.error_budget)
        clauses.append(
            f"({sli_record(slo.sli, w.long)}{sel} > {limit} "
            f"and {sli_record(slo.sli, w.short)}{sel} > {limit})"
        )
    windows = ", ".join(
        f"{w.long}/{w.short} at {w.burn_rate:g}x"
        for w in BURN_RATE_WINDOWS
        if w.severity == severity
    )
    return {
        "alert": ALERT_BURN_RATE,
        "expr": " or ".join(clauses),
        "labels": {"severity": severity, "slo": slo.sli, s.MODEL: slo.model},
        "annotations": {
            "summary": "{{ $labels.tenant }}/{{ $labels.model }} v{{ $labels.version }} "
            f"is burning its {slo.sli} error budget",
            "description": f"SLO: {slo.describe()} over 30 days (error budget "
            f"{slo.error_budget:.4g}). The error ratio exceeds the burn rate over both windows "
            f"of one of: {windows} (Google SRE Workbook, ch. 5). Current ratio: "
            "{{ $value | humanizePercentage }}.",
            "runbook_url": f"{DOCS}#slo-alerts",
        },
    }


def burn_rate_alerts(t: ResolvedTenant) -> list[dict[str, Any]]:
    """Page and ticket burn-rate alerts per model and SLO."""
    rules: list[dict[str, Any]] = []
    for m in t.models:
        for slo in model_slos(t, m):
            rules += [_burn_alert(slo, "page"), _burn_alert(slo, "ticket")]
    return rules


def usage_alerts(t: ResolvedTenant) -> list[dict[str, Any]]:
    """The blind-SLO alert, the usage-shift records and the usage-shift alerts."""
    rules: list[dict[str, Any]] = []
    triton = s.SUCCESSES.expr("rate", "15m", t.name)
    reported = s.selector(s.tenant_matcher(t.name), 'reporter="destination"')
    sidecar = f"sum by ({s.BY}) (rate({s.ISTIO_REQUESTS}{reported}[15m]))"
    rules.append(
        {
            "alert": ALERT_SIGNAL_MISSING,
            "expr": f"({triton} > 0) unless on ({s.BY}) ({sidecar})",
            "for": "15m",
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": "{{ $labels.tenant }}/{{ $labels.model }} serves requests but its "
                "sidecar reports none: its SLO alerts cannot fire",
                "description": "Triton answered requests in the last 15 minutes but the pod's "
                "Istio sidecar (reporter=destination, scraped on port http-envoy-prom) "
                "reported none. Check sidecar injection and the PodMonitor's envoy endpoint.",
                "runbook_url": f"{DOCS}#slo-signal-missing",
            },
        }
    )
    tsel = s.selector(s.tenant_matcher(t.name))
    rules += [
        _rec(REQUESTS_1H, f"sum by ({SHIFT_BY}) ({s.REQUESTS.expr('rate', '1h', t.name)})"),
        _rec(REQUESTS_1H_BASELINE, f"avg_over_time({REQUESTS_1H}{tsel}[7d])"),
        _rec(COST_1H, f"sum by ({SHIFT_BY}) (avg_over_time({COST_USD}{tsel}[1h]))"),
        _rec(COST_1H_BASELINE, f"avg_over_time({COST_1H}{tsel}[7d])"),
    ]
    f = _num(SHIFT_FACTOR)
    for signal, recent, base, floor in (
        ("requests", REQUESTS_1H, REQUESTS_1H_BASELINE, _num(SHIFT_MIN_RPS)),
        ("cost", COST_1H, COST_1H_BASELINE, "0"),
    ):
        r, b = f"{recent}{tsel}", f"{base}{tsel}"
        expr = (
            f"(({r} > {f} * {b}) or ({r} < {b} / {f}) or ({b} unless on ({SHIFT_BY}) {r})) "
            f"and on ({SHIFT_BY}) ({b} > {floor})"
        )
        rules.append(
            {
                "alert": ALERT_USAGE_SHIFT,
                "expr": expr,
                "for": SHIFT_FOR,
                "labels": {"severity": "ticket", "signal": signal},
                "annotations": {
                    "summary": f"{{{{ $labels.tenant }}}}/{{{{ $labels.model }}}}: {signal} "
                    "moved away from its own 7-day baseline",
                    "description": f"The model's {signal} over the last hour is above "
                    f"{SHIFT_FACTOR:g}x or below 1/{SHIFT_FACTOR:g} of its 7-day average, or "
                    f"stopped, for {SHIFT_FOR}. Value: {{{{ $value | humanize }}}} per second "
                    "(the last hour's, or the baseline's when it stopped).",
                    "runbook_url": f"{DOCS}#usage-shift",
                },
            }
        )
    return rules


def alert_rules(t: ResolvedTenant) -> list[dict[str, Any]]:
    """Every alert of the tenant (and the usage-shift records between them)."""
    return burn_rate_alerts(t) + usage_alerts(t)


def rule_groups(
    t: ResolvedTenant, rates: Mapping[str, ModelRates], settings: RuleSettings | None = None
) -> list[dict[str, Any]]:
    """The rule groups of one tenant (what ``promtool check rules`` reads). A rule that reads
    a record sits in the record's group, after it: Prometheus evaluates a group's rules in
    order, while groups run independently (a record of another group is seen one
    evaluation late, or not, depending on timing)."""
    from .llm_rules import own_llm_rules  # llm_rules builds on this module's helpers

    st = settings or RuleSettings()
    llm: list[dict[str, Any]] = []
    if t.llms:
        llm = [
            {
                "name": f"tenantry.{t.name}.llm",
                "interval": st.usage_interval,
                "rules": own_llm_rules(t, rates),
            }
        ]
    return [
        {
            "name": f"tenantry.{t.name}.usage",
            "interval": st.usage_interval,
            "rules": usage_rules(t, rates) + usage_alerts(t),
        },
        {
            "name": f"tenantry.{t.name}.slo",
            "interval": st.slo_interval,
            "rules": slo_rules(t) + burn_rate_alerts(t),
        },
        *llm,
    ]


def prometheus_rule(
    t: ResolvedTenant, rates: Mapping[str, ModelRates], settings: RuleSettings | None = None
) -> dict[str, Any]:
    """The ``monitoring.coreos.com/v1`` PrometheusRule ``tenantry-<tenant>`` in the tenant's
    namespace, labelled with the tag policy's keys."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"tenantry-{t.name}",
            "namespace": t.name,
            "labels": tenant_labels(t),
        },
        "spec": {"groups": rule_groups(t, rates, settings)},
    }
