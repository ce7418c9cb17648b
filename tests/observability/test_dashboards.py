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
