"""Grafana dashboards as code (pure): one per tenant, from its tenant file, and one for the
fleet, over the recording rules of :mod:`.rules`; delivered as ConfigMaps that Grafana's
dashboard sidecar loads.

Delivery: a ConfigMap labelled ``grafana_dashboard: "1"`` with the dashboard JSON under
``<uid>.json`` and the annotation ``grafana_folder: Tenantry``: the Grafana Helm chart's
dashboard sidecar (kube-prometheus-stack's default: ``sidecar.dashboards.label``
``grafana_dashboard``, ``labelValue`` ``"1"``; ``folderAnnotation`` sets the folder) loads
every such ConfigMap it watches (``searchNamespace: ALL`` to find tenant namespaces). No
Grafana Operator CRD is needed.

Every query reads recorded series only (cheap at dashboard refresh) and names no Grafana
macro, so each can be checked against a real Prometheus as written (the e2e test does).
The data source is the dashboard variable ``datasource`` (any Prometheus data source).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..spec import ResolvedTenant
from . import llm_rules as L
from . import rules as r
from .slo import LATENCY_OBJECTIVE

SCHEMA_VERSION = 39  # Grafana 10.4/11 dashboard JSON model
DASHBOARD_LABEL = "grafana_dashboard"
FOLDER_ANNOTATION = "grafana_folder"
FOLDER = "Tenantry"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
FLEET_UID = "tenantry-fleet"


def tenant_uid(tenant: str) -> str:
    return f"tenantry-{tenant}"


def _target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {"datasource": DATASOURCE, "expr": expr, "refId": ref}
    if legend:
        target["legendFormat"] = legend
    if instant:
        target["instant"] = True
        target["format"] = "table"
    return target


class _Layout:
    """Places panels on Grafana's 24-column grid, row by row."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_h = 0

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        panel["datasource"] = DATASOURCE
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        self.y += 1


def _stat(title: str, expr: str, unit: str, description: str = "") -> dict[str, Any]:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": [_target(expr)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"},
    }


def _series(
    title: str,
    targets: list[dict[str, Any]],
    unit: str,
    description: str = "",
    threshold: float | None = None,
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if threshold is not None:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": threshold}],
        }
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
    }


def _table(title: str, targets: list[dict[str, Any]], description: str = "") -> dict[str, Any]:
    return {
        "type": "table",
        "title": title,
        "description": description,
        "targets": targets,
        "transformations": [{"id": "merge", "options": {}}],
        "fieldConfig": {"defaults": {}, "overrides": []},
    }


def _dashboard(
    uid: str, title: str, tags: list[str], panels: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": tags,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def tenant_dashboard(t: ResolvedTenant) -> dict[str, Any]:
    """The tenant's dashboard: what it serves, how well (against its SLOs), what it holds
    and what it costs, per model version."""
    sel = f'{{tenant="{t.name}"}}'
    by = "model, version"
    legend = "{{model}} v{{version}}"
    lay = _Layout()
    lay.row(f"{t.display_name} ({t.name}) - tier {t.tier.name}, cost center {t.cost_center}")
    lay.add(_stat("Requests/s", f"sum({r.REQUESTS}{sel})", "reqps"), 4, 4)
    lay.add(
        _stat(
            "Refused/s",
            f"sum({r.REJECTIONS}{sel})",
            "reqps",
            "rate-limited (gateway 429) and queue-full (503/UNAVAILABLE) requests",
        ),
        4,
        4,
    )
    lay.add(_stat("Cost (USD/h)", f"sum({r.COST_USD}{sel}) * 3600", "currencyUSD"), 4, 4)
    lay.add(
        _stat(
            "GPU equivalents held",
            f"sum({r.GPU_SECONDS}{sel})",
            "none",
            "replicas x the MIG slice's share of its GPU",
        ),
        4,
        4,
    )
    lay.add(_stat("Replicas", f"sum({r.REPLICAS}{sel})", "none"), 4, 4)
    lay.add(
        _stat(
            "Alerts firing",
            f'count(ALERTS{{tenant="{t.name}", alertstate="firing"}}) or vector(0)',
            "none",
        ),
        4,
        4,
    )
    lay.row("Traffic")
    lay.add(
        _series(
            "Requests/s by model",
            [_target(f"sum by ({by}) ({r.REQUESTS}{sel})", legend)],
            "reqps",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Refused and failed/s",
            [
                _target(f"sum by ({by}, reason) ({r.REJECTIONS}{sel})", legend + " {{reason}}"),
                _target(
                    f"sum by ({by}, reason) ({r.FAILURES}{sel})",
                    legend + " Triton {{reason}}",
                    "B",
                ),
            ],
            "reqps",
        ),
        12,
        8,
    )
    lay.row("Latency and SLOs")
    lay.add(
        _series(
            "Mean queue wait and compute (ms)",
            [
                _target(
                    f"1000 * sum by ({by}) ({r.QUEUE_SECONDS}{sel}) / "
                    f"sum by ({by}) ({r.REQUESTS}{sel})",
                    legend + " queue",
                ),
                _target(
                    f"1000 * sum by ({by}) ({r.COMPUTE_SECONDS}{sel}) / "
                    f"sum by ({by}) ({r.REQUESTS}{sel})",
                    legend + " compute",
                    "B",
                ),
            ],
            "ms",
            "Triton's queue and compute time per request",
        ),
        8,
        8,
    )
    lay.add(
        _series(
            "Server errors (share, 1h)",
            [_target(f"{r.sli_record('availability', '1h')}{sel}", legend)],
            "percentunit",
            f"availability objective {t.tier.availability_objective:.2%}",
            threshold=1 - t.tier.availability_objective,
        ),
        8,
        8,
    )
    lay.add(
        _series(
            "Slower than p99LatencyMs (share, 1h)",
            [_target(f"{r.sli_record('latency', '1h')}{sel}", legend)],
            "percentunit",
            "per model: " + ", ".join(f"{m.name} {m.p99_latency_ms:g} ms" for m in t.models),
            threshold=1 - LATENCY_OBJECTIVE,
        ),
        8,
        8,
    )
    lay.row("Capacity and cost")
    lay.add(
        _series(
            "Replicas",
            [_target(f"sum by ({by}) ({r.REPLICAS}{sel})", legend)],
            "none",
        ),
        6,
        8,
    )
    lay.add(
        _series(
            "GPU / vCPU seconds per second",
            [
                _target(f"sum by ({by}) ({r.GPU_SECONDS}{sel})", legend + " GPU"),
                _target(f"sum by ({by}) ({r.CPU_SECONDS}{sel})", legend + " vCPU", "B"),
            ],
            "none",
        ),
        6,
        8,
    )
    lay.add(
        _series(
            "Cost (USD/h)",
            [_target(f"3600 * sum by ({by}) ({r.COST_USD}{sel})", legend)],
            "currencyUSD",
        ),
        6,
        8,
    )
    lay.add(
        _series(
            "Waiting in queue-proxy",
            [_target(f"max by ({by}) ({r.QUEUE_PROXY_DEPTH}{sel})", legend)],
            "none",
            "requests Knative's queue-proxy holds back (containerConcurrency)",
        ),
        6,
        8,
    )
    if t.llm_adapters or t.llms:
        _tenant_llm_panels(lay, t)
    return _dashboard(
        tenant_uid(t.name),
        f"Tenantry / {t.name}",
        ["tenantry", f"tenant:{t.name}", f"tier:{t.tier.name}"],
        lay.panels,
    )


def _both(template: str, t: ResolvedTenant | None = None) -> list[str]:
    """``template`` (with ``{rec}`` and ``{sel}``) for the records of the tenant's adapters on
    shared base models and of its own LLMs, each only where the tenant has such (all
    tenants: both)."""
    sel = f'{{tenant="{t.name}"}}' if t else ""
    out = []
    for rec, has in (
        ("tenant_adapter", t is None or bool(t.llm_adapters)),
        ("tenant_llm", t is None or bool(t.llms)),
    ):
        if has:
            out.append(template.format(rec=rec, sel=sel))
    return out


def _targets(exprs: list[str], legend: str) -> list[dict[str, Any]]:
    return [_target(e, legend, chr(ord("A") + i)) for i, e in enumerate(exprs)]


def _tenant_llm_panels(lay: _Layout, t: ResolvedTenant) -> None:
    """The tenant's LLM row: tokens, refusals and cost of its adapters on shared base models
    (the platform's :mod:`.llm_rules` records) and of its own LLMs (its own records)."""
    sel = f'{{tenant="{t.name}"}}'
    lay.row("LLM tokens (shared base models: metered by the LLM gateway; own LLMs: by vLLM)")
    lay.add(
        _series(
            "Tokens/s by model",
            _targets(
                _both("sum by (model) ({rec}:prompt_tokens:rate5m{sel})", t)
                + _both("sum by (model) ({rec}:completion_tokens:rate5m{sel})", t),
                "{{model}}",
            ),
            "none",
            "prompt and completion tokens per second, per served model",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "LLM cost (USD/h)",
            _targets(_both("3600 * sum by (model) ({rec}:cost_usd:rate{sel})", t), "{{model}}"),
            "currencyUSD",
            "shared base models: the base's price x the model's share of its tokens; own "
            "LLMs: all their replicas",
        ),
        12,
        8,
    )
    if t.llm_adapters:
        lay.add(
            _series(
                "Share of the base model's tokens",
                [_target(f"{L.ADAPTER_SHARE}{sel}", "{{model}} on {{base_model}}")],
                "percentunit",
                "what splits the base model's GPU-seconds and cost",
            ),
            12,
            8,
        )
        lay.add(
            _series(
                "Refused by the LLM gateway/s",
                [
                    _target(
                        f"sum by (model, reason) ({L.ADAPTER_REJECTIONS}{sel})",
                        "{{model}} {{reason}}",
                    )
                ],
                "reqps",
                "token_budget: over tokensPerMinute (429); concurrency: over maxConcurrentRequests",
            ),
            12,
            8,
        )


def fleet_dashboard() -> dict[str, Any]:
    """Every tenant at once: which are degraded (burn-rate alerts firing, refusals, errors)
    and what each and each cost center costs."""
    lay = _Layout()
    lay.row("Fleet")
    lay.add(
        _stat(
            "Tenants degraded",
            f'count(count by (tenant) (ALERTS{{alertname="{r.ALERT_BURN_RATE}", '
            'alertstate="firing"})) or vector(0)',
            "none",
            "tenants with an SLO burn-rate alert firing",
        ),
        6,
        4,
    )
    lay.add(_stat("Requests/s", f"sum({r.REQUESTS})", "reqps"), 6, 4)
    lay.add(_stat("Cost (USD/h)", f"3600 * sum({r.COST_USD})", "currencyUSD"), 6, 4)
    lay.add(_stat("GPU equivalents held", f"sum({r.GPU_SECONDS})", "none"), 6, 4)
    lay.add(
        _table(
            "Tenants",
            [
                _target(
                    f"sum by (tenant, tier, cost_center) ({r.REQUESTS})", ref="A", instant=True
                ),
                _target(f"sum by (tenant) ({r.REJECTIONS})", ref="B", instant=True),
                _target(
                    f"max by (tenant) ({r.sli_record('availability', '1h')})", ref="C", instant=True
                ),
                _target(
                    f"max by (tenant) ({r.sli_record('latency', '1h')})", ref="D", instant=True
                ),
                _target(f"3600 * sum by (tenant) ({r.COST_USD})", ref="E", instant=True),
                _target(
                    f'count by (tenant) (ALERTS{{alertname="{r.ALERT_BURN_RATE}", '
                    'alertstate="firing"})',
                    ref="F",
                    instant=True,
                ),
            ],
            "requests/s (A), refused/s (B), worst model's server-error share (C) and "
            "latency-miss share (D) over 1h, USD/h (E), burn-rate alerts firing (F)",
        ),
        24,
        10,
    )
    lay.row("Over time")
    lay.add(
        _series(
            "Cost by tenant (USD/h)",
            [_target(f"3600 * sum by (tenant) ({r.COST_USD})", "{{tenant}}")],
            "currencyUSD",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Cost by cost center (USD/h)",
            [_target(f"3600 * sum by (cost_center) ({r.COST_USD})", "{{cost_center}}")],
            "currencyUSD",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Requests/s by tenant",
            [_target(f"sum by (tenant) ({r.REQUESTS})", "{{tenant}}")],
            "reqps",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Refused/s by tenant",
            [_target(f"sum by (tenant, reason) ({r.REJECTIONS})", "{{tenant}} {{reason}}")],
            "reqps",
        ),
        12,
        8,
    )
    lay.row("LLM tokens")
    lay.add(
        _series(
            "Tokens/s by tenant",
            _targets(_both("sum by (tenant) ({rec}:tokens:rate5m)"), "{{tenant}}"),
            "none",
            "shared base models (LLM gateway) and own LLMs (vLLM)",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "LLM cost by tenant (USD/h)",
            _targets(_both("3600 * sum by (tenant) ({rec}:cost_usd:rate)"), "{{tenant}}"),
            "currencyUSD",
            "shared base models split by token share; own LLMs whole",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Shared base models: tokens/s by tenant",
            [
                _target(
                    f"sum by (base_model, tenant) ({L.ADAPTER_TOKENS})", "{{base_model}} {{tenant}}"
                )
            ],
            "none",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Shared base models: unattributed cost (USD/h)",
            [_target(f"3600 * sum by (base_model) ({L.BASE_UNATTRIBUTED})", "{{base_model}}")],
            "currencyUSD",
            "a base model's price while it serves no tokens: nobody's share",
        ),
        12,
        8,
    )
    lay.add(
        _series(
            "Token-budget refusals/s by tenant",
            [
                _target(
                    f'sum by (tenant, model) ({L.ADAPTER_REJECTIONS}{{reason="{L.TOKEN_BUDGET}"}})',
                    "{{tenant}} {{model}}",
                )
            ],
            "reqps",
        ),
        24,
        8,
    )
    return _dashboard(FLEET_UID, "Tenantry / fleet", ["tenantry", "fleet"], lay.panels)


def dashboard_config_map(
    dashboard: Mapping[str, Any], namespace: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The ConfigMap ``grafana-dashboard-<uid>`` that Grafana's sidecar loads."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"grafana-dashboard-{dashboard['uid']}",
            "namespace": namespace,
            "labels": {**dict(labels), DASHBOARD_LABEL: "1"},
            "annotations": {FOLDER_ANNOTATION: FOLDER},
        },
        "data": {f"{dashboard['uid']}.json": json.dumps(dashboard, indent=1, sort_keys=True)},
    }


def queries(dashboard: Mapping[str, Any]) -> Iterable[str]:
    """Every PromQL expression of a dashboard's panels."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]
