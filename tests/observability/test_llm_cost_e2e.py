"""End to end on this machine: a REAL Prometheus (Debian's package) scrapes the LLM gateway's
token counters, with the platform's generated LLM metering rules loaded, and ``tenantry cost
--actual`` splits the shared base model's price by the tokens it measured.

The counters are exported by prometheus-client under the names and labels of the gateway
contract (docs: the gateway's metrics, ``tenantry_llm_*_total``); the gateway server itself
(``tenantry.llmgateway``) lands from another branch, whose own tests check that it counts
them. Two tenants send a known number of tokens: acme 4,000 (3,000 prompt + 1,000
completion) over 40 requests, globex 1,000 over 10.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from tenantry.cli.main import main
from tenantry.devserver.process import free_port
from tenantry.devserver.prometheus import PrometheusUnavailable, running_prometheus
from tenantry.observability import llm_rules as L
from tenantry.observability.dashboards import fleet_dashboard, queries
from tenantry.observability.prometheus import PrometheusClient
from tenantry.spec import load_platform
from tests.conftest import STACKS, server_missing
from tests.observability.llm_fleet import two_tenant_fleet

pytestmark = pytest.mark.server
PLATFORM = load_platform(STACKS)
SENT = {  # served model: (prompt tokens, completion tokens, requests)
    ("acme", "support-agent"): (3000, 1000, 40),
    ("globex", "helper"): (600, 400, 10),
}
TOLERANCE = 0.05


def _wait(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    registry = CollectorRegistry()
    labels = ["tenant", "model", "base_model", "adapter"]
    prompt = Counter("tenantry_llm_prompt_tokens", "prompt", labels, registry=registry)
    completion = Counter("tenantry_llm_completion_tokens", "completion", labels, registry=registry)
    requests = Counter("tenantry_llm_requests", "requests", [*labels, "code"], registry=registry)
    port = free_port()
    server, thread = start_http_server(port, "127.0.0.1", registry=registry)
    series = {
        key: {
            "tenant": key[0],
            "model": f"{key[0]}-{key[1]}",
            "base_model": "llama-3-8b",
            "adapter": key[1],
        }
        for key in SENT
    }
    # Every series exists at 0 before any traffic, as the gateway must export them (each
    # routed model's children created when the routes load): a counter first exported with
    # its first request already counted loses that request to increase() and rate(), which
    # extrapolate from the first sample they see (measured against the gateway of branch
    # gw20 at 0ea73df: 24 prompt tokens sent, 6.1 counted by increase()).
    for lab in series.values():
        prompt.labels(**lab)
        completion.labels(**lab)
        requests.labels(**lab, code="200")
    scrape = [
        {
            "job_name": "tenantry-llm-gateway",
            "scrape_interval": "250ms",
            "static_configs": [
                {"targets": [f"127.0.0.1:{port}"], "labels": {"namespace": "tenantry-llm"}}
            ],
        }
    ]
    groups = L.platform_rule_groups(L.base_rates_for(PLATFORM), interval="1s")
    try:
        prom_cm = running_prometheus(scrape, groups, evaluation_interval="1s")
        prom = prom_cm.__enter__()
    except PrometheusUnavailable as exc:
        server.shutdown()
        server.server_close()
        server_missing(str(exc))
    try:
        client = PrometheusClient(prom.url)
        _wait(
            lambda: bool(client.query(f"{L.GATEWAY_PROMPT_TOKENS}")),
            "the gateway's counters scraped",
        )
        time.sleep(3)
        for key, (p, c, n) in SENT.items():
            for _ in range(n):  # per request, as the gateway counts each response's usage
                prompt.labels(**series[key]).inc(p / n)
                completion.labels(**series[key]).inc(c / n)
                requests.labels(**series[key], code="200").inc()
        time.sleep(6)  # flat tail: later samples, rules evaluated on them
        at = time.time()
        fleet = two_tenant_fleet(tmp_path_factory.mktemp("fleet"))
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(
                [
                    "cost",
                    "--actual",
                    "--prometheus",
                    prom.url,
                    "--window",
                    "1m",
                    "--at",
                    f"{at:.3f}",
                    "--format",
                    "json",
                    "--tenants",
                    str(fleet),
                    "--stacks",
                    str(STACKS),
                ]
            )
        assert code == 0
        recorded = {
            r: client.query(r, at)
            for r in (L.ADAPTER_SHARE, L.ADAPTER_COST, L.BASE_TOKENS, L.BASE_COST)
        }
        fleet_board = fleet_dashboard()
        tokens_panel = next(p for p in fleet_board["panels"] if p["title"] == "Tokens/s by tenant")
        panel = client.query(tokens_panel["targets"][0]["expr"], at)
        for expr in queries(fleet_board):
            client.query(expr, at)  # every query runs as written
        yield {"json": json.loads(buf.getvalue()), "recorded": recorded, "panel": panel}
    finally:
        prom_cm.__exit__(None, None, None)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_actual_splits_the_base_model_by_the_tokens_prometheus_measured(
    report: dict[str, Any],
) -> None:
    doc = report["json"]
    (split,) = doc["llmBaseModels"]
    assert split["basis"] == "measured tokens"
    # the base's price over the 1-minute window: all its GPUs, held the whole window
    rates = L.base_rates_for(PLATFORM)["llama-3-8b"]
    assert split["usd"] == pytest.approx(rates.usd_per_second * 60, abs=1e-6)
    sent_total = sum(p + c for p, c, _ in SENT.values())
    by_model = {a["model"]: a for a in split["adapters"]}
    for (tenant, adapter), (p, c, _) in SENT.items():
        a = by_model[f"{tenant}-{adapter}"]
        # both series were sampled at the same instants, so increase() extrapolates them
        # alike: the shares are exact, the token counts within the extrapolation
        assert a["share"] == pytest.approx((p + c) / sent_total, abs=1e-6)
        assert a["weight"] == pytest.approx(p + c, rel=TOLERANCE)
        assert a["usd"] == pytest.approx(split["usd"] * (p + c) / sent_total, abs=2e-6)
    tenants = {t["tenant"]: t for t in doc["tenants"]}
    for (tenant, adapter), (p, c, n) in SENT.items():
        (row,) = tenants[tenant]["llmAdapters"]
        assert row["model"] == f"{tenant}-{adapter}"
        assert row["promptTokens"] == pytest.approx(p, rel=TOLERANCE)
        assert row["completionTokens"] == pytest.approx(c, rel=TOLERANCE)
        assert row["requests"] == pytest.approx(n, rel=TOLERANCE)
        assert row["gpuSeconds"] == pytest.approx(rates.gpus * 60 * row["tokenShare"], abs=1e-3)
        assert tenants[tenant]["measured"]["tokens"] == pytest.approx(p + c, rel=TOLERANCE)
        # no Triton usage was measured: the tenant's measured cost is its LLM share
        assert tenants[tenant]["measured"]["costUsd"] == pytest.approx(row["costUsd"], abs=1e-6)


def test_the_recorded_rules_agree_with_the_split(report: dict[str, Any]) -> None:
    """The platform rules, evaluated by the real Prometheus on the scraped counters, give
    the same token shares (the 5-minute rate over the same samples)."""
    rec = report["recorded"]
    shares = {s.labels["model"]: s.value for s in rec[L.ADAPTER_SHARE]}
    sent_total = sum(p + c for p, c, _ in SENT.values())
    for (tenant, adapter), (p, c, _) in SENT.items():
        assert shares[f"{tenant}-{adapter}"] == pytest.approx((p + c) / sent_total, abs=1e-6)
    rates = L.base_rates_for(PLATFORM)["llama-3-8b"]
    costs = {s.labels["model"]: s.value for s in rec[L.ADAPTER_COST]}
    assert sum(costs.values()) == pytest.approx(rates.usd_per_second, rel=1e-6)


def test_the_fleet_dashboard_shows_each_tenants_tokens(report: dict[str, Any]) -> None:
    rates = {x.labels["tenant"]: x.value for x in report["panel"]}
    assert set(rates) == {"acme", "globex"}
    assert rates["acme"] == pytest.approx(4 * rates["globex"], rel=1e-6)
