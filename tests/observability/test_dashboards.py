"""Dashboards as code: well-formed Grafana JSON models, delivered as sidecar ConfigMaps."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from tenantry.observability import rules as r
from tenantry.observability.dashboards import (
    DATASOURCE,
    dashboard_config_map,
    fleet_dashboard,
    queries,
    tenant_dashboard,
)
from tenantry.tags import tenant_labels
from tests.components.helpers import EXAMPLES, tenants


def _check(board: dict) -> None:  # type: ignore[type-arg]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        pos = p["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
        for target in p.get("targets", []):
            assert target["datasource"] == DATASOURCE
            assert "$__" not in target["expr"]  # no Grafana macro: runnable as written
    assert board["templating"]["list"][0]["name"] == "datasource"


@pytest.mark.parametrize("name", EXAMPLES)
def test_tenant_dashboard(name: str) -> None:
    t = tenants()[name]
    board = tenant_dashboard(t)
    _check(board)
    assert board["uid"] == f"tenantry-{name}"
    exprs = list(queries(board))
    assert all(f'tenant="{name}"' in e for e in exprs), "a tenant board shows its tenant only"
    used = {
        rec
        for rec in (r.REQUESTS, r.REJECTIONS, r.COST_USD, r.GPU_SECONDS)
        if any(rec in e for e in exprs)
    }
    assert len(used) == 4
    slo = next(p for p in board["panels"] if p["title"].startswith("Server errors"))
    steps = slo["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[1]["value"] == pytest.approx(1 - t.tier.availability_objective)


def test_fleet_dashboard_and_delivery() -> None:
    board = fleet_dashboard()
    _check(board)
    titles = {p["title"] for p in board["panels"]}
    assert {"Tenants degraded", "Tenants", "Cost by cost center (USD/h)"} <= titles
    t = tenants()["acme"]
    cm = dashboard_config_map(tenant_dashboard(t), t.name, tenant_labels(t))
    kubernetes_validate.validate(cm, "1.33.0", strict=True)
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["labels"]["tenant"] == "acme"
    assert json.loads(cm["data"]["tenantry-acme.json"])["uid"] == "tenantry-acme"


def _all_records() -> set[str]:
    from tenantry.observability import llm_rules as L
    from tests.components.helpers import platform

    groups = L.platform_rule_groups(L.base_rates_for(platform()))
    for t in tenants().values():
        groups += r.rule_groups(t, r.rates_for(t, platform()))
    return {rule["record"] for g in groups for rule in g["rules"] if "record" in rule}


def test_every_record_a_dashboard_reads_is_recorded() -> None:
    """A dashboard query naming a record no rule writes shows an empty panel forever."""
    import re

    recorded = _all_records()
    boards = [fleet_dashboard(), *(tenant_dashboard(t) for t in tenants().values())]
    read = {
        name
        for b in boards
        for e in queries(b)
        for name in re.findall(r"\b[a-z_]+:[a-z_0-9]+:[a-z_0-9]+\b", e)
    }
    assert read - recorded == set()
    for rec in ("tenant_adapter:tokens:rate5m", "tenant_llm:cost_usd:rate"):
        assert rec in read


def test_llm_token_panels_only_where_the_tenant_has_llms() -> None:
    ts = tenants()
    acme = list(queries(tenant_dashboard(ts["acme"])))  # an adapter on a shared base
    initech = list(queries(tenant_dashboard(ts["initech"])))  # its own LLM
    globex = list(queries(tenant_dashboard(ts["globex"])))  # neither
    assert any("tenant_adapter:tokens" in e or "tenant_adapter:prompt" in e for e in acme)
    assert not any("tenant_llm:" in e for e in acme)
    assert any("tenant_llm:prompt_tokens" in e for e in initech)
    assert not any("tenant_adapter:" in e for e in initech)
    assert not any("tenant_adapter:" in e or "tenant_llm:" in e for e in globex)
    titles = {p["title"] for p in fleet_dashboard()["panels"]}
    assert {"Tokens/s by tenant", "LLM cost by tenant (USD/h)"} <= titles
