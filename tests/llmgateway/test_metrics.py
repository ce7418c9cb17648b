"""The gateway exports every series of its routed models at 0 before their first request:
Prometheus' ``rate()``/``increase()`` need a sample before the first increment, so a series
born with its first request loses that request from every metered total (measured with the
real gateway and Prometheus before this: 24 prompt tokens counted as 6.1)."""

from __future__ import annotations

import json

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tenantry.llmgateway.metrics import MODEL_CODES, MODEL_REASONS, GatewayMetrics
from tenantry.llmgateway.routes import parse_routes
from tests.llmgateway.test_routes_and_policy import _doc


def _samples(metrics: GatewayMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.endswith("_total")
    }


def test_every_routed_models_series_exists_at_zero_before_any_request() -> None:
    routes = parse_routes(json.dumps(_doc()))
    metrics = GatewayMetrics()
    assert not _samples(metrics)  # nothing known yet: the check below can fail
    metrics.known(routes)
    got = _samples(metrics)
    models = [m for t in routes.tenants.values() for m in t.models.values()]
    assert models
    for m in models:
        labels = {
            "tenant": m.tenant,
            "model": m.served_name,
            "base_model": m.base_model,
            "adapter": m.adapter,
        }
        for name in ("tenantry_llm_prompt_tokens_total", "tenantry_llm_completion_tokens_total"):
            assert got[(name, frozenset(labels.items()))] == 0.0
        for code in MODEL_CODES:
            key = frozenset({**labels, "code": code}.items())
            assert got[("tenantry_llm_requests_total", key)] == 0.0
        assert {"token_budget", "concurrency", "body_field"} <= set(MODEL_REASONS)
        assert "400" in MODEL_CODES
        for reason in MODEL_REASONS:
            key = frozenset({"tenant": m.tenant, "model": m.served_name, "reason": reason}.items())
            assert got[("tenantry_llm_rejected_total", key)] == 0.0
    assert all(v == 0.0 for v in got.values())


def test_known_is_idempotent_and_counting_goes_on_from_zero() -> None:
    routes = parse_routes(json.dumps(_doc()))
    m = next(m for t in routes.tenants.values() for m in t.models.values())
    metrics = GatewayMetrics()
    metrics.known(routes)
    metrics.usage(m, 24, 8)
    metrics.known(routes)  # a reload must not reset what was counted
    got = _samples(metrics)
    labels = frozenset(
        {
            "tenant": m.tenant,
            "model": m.served_name,
            "base_model": m.base_model,
            "adapter": m.adapter,
        }.items()
    )
    assert got[("tenantry_llm_prompt_tokens_total", labels)] == 24.0
    assert got[("tenantry_llm_completion_tokens_total", labels)] == 8.0
