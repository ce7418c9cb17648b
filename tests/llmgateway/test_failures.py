"""The gateway process when what it depends on fails: the runtime does not answer (502) and
the shared bucket store goes away (503, fail closed). No vLLM needed: the upstream is a port
nothing listens on."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tenantry.devserver.llm import RedisUnavailable, running_llm_gateway, running_redis
from tenantry.devserver.process import free_port
from tests.conftest import server_missing
from tests.llmgateway.test_routes_and_policy import _doc

XFCC = {"X-Forwarded-Client-Cert": "URI=spiffe://cluster.local/ns/acme/sa/default"}


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{url}/v1/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **XFCC},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _metric(url: str, line_start: str) -> float:
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def _upstreams() -> dict[str, str]:
    return {"llama-3-8b": f"http://127.0.0.1:{free_port()}", "other": "http://127.0.0.1:9"}


@pytest.mark.server
def test_a_runtime_that_does_not_answer_is_502_and_counted() -> None:
    with running_llm_gateway(_doc(), _upstreams()) as gw:
        status, out = _post(gw.url, {"model": "acme-support", "prompt": "x"})
        assert status == 502 and out["error"]["code"] == "bad_gateway"
        for stream in (False, True):
            body = {"model": "acme-support", "prompt": "x", "stream": stream}
            assert _post(gw.url, body)[0] == 502
        counted = _metric(
            gw.metrics_url,
            'tenantry_llm_requests_total{adapter="support",base_model="llama-3-8b",code="502",'
            'model="acme-support",tenant="acme"}',
        )
        assert counted == 3


@pytest.mark.server
def test_without_its_bucket_store_the_gateway_fails_closed() -> None:
    redis_cm = running_redis()
    try:
        redis = redis_cm.__enter__()
    except RedisUnavailable as exc:
        server_missing(str(exc))
    stopped = False
    try:
        with running_llm_gateway(_doc(), _upstreams(), redis=redis) as gw:
            assert _post(gw.url, {"model": "acme-support", "prompt": "x"})[0] == 502
            redis_cm.__exit__(None, None, None)  # Redis goes away
            stopped = True
            status, out = _post(gw.url, {"model": "acme-support", "prompt": "x"})
            assert status == 503 and out["error"]["code"] == "service_unavailable"
            assert "rate-limit state unavailable" in gw.log.read_text()
    finally:
        if not stopped:
            redis_cm.__exit__(None, None, None)


@pytest.mark.server
def test_the_running_gateway_exports_its_models_at_zero_before_any_request() -> None:
    with (
        running_llm_gateway(_doc(), _upstreams()) as gw,
        urllib.request.urlopen(gw.metrics_url, timeout=10) as r,
    ):
        text = r.read().decode()
    line = (
        'tenantry_llm_prompt_tokens_total{adapter="support",base_model="llama-3-8b",'
        'model="acme-support",tenant="acme"} 0.0'
    )
    assert line in text.splitlines()
