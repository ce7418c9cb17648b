"""The Tenantry LLM gateway (``python -m tenantry.llmgateway``, a real process) in front of
the real vLLM: per-tenant pinning, refusals, overwrites, budgets, metrics and shared state.

The fixture's adapters are ``tenant-a-adapter`` and ``tenant-b-adapter``, so the routes
(rendered by :func:`tenant_llm_routes`, the platform's own function) give tenant ``tenant-a``
(premium, vLLM priority 1) the adapter ``adapter`` and tenant ``tenant-b`` (shared, priority
2) its own. Where the test must see what reaches vLLM, a recording hop (tests/llm/recorder.py)
sits between the gateway and vLLM and relays everything unchanged.
"""

from __future__ import annotations

import json
import math
import random
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantry.devserver.llm import GatewayServer, RedisUnavailable, running_llm_gateway
from tenantry.devserver.llm import running_redis as _running_redis
from tenantry.k8s.llm_inference_service import AdapterGrant, runtime_model, tenant_llm_routes
from tenantry.llmgateway.policy import cache_salt
from tenantry.spec.resolved import ResolvedLlmAdapter
from tests.conftest import server_missing
from tests.llm.conftest import call, call_full
from tests.llm.recorder import Recorder
from tests.platform.test_shared_llms import _settings

pytestmark = pytest.mark.server
BASE = "tiny-base"
A, B = "tenant-a", "tenant-b"
A_APPS = "tenant-a-apps"  # tenant A's allowed namespace (access.allowedNamespaces)
A_MODEL, B_MODEL = "tenant-a-adapter", "tenant-b-adapter"
# the names the runtime serves them under for the grants below (placeholder digest), which
# docs/llm/build_fixture.py publishes in the server's resolver directory
A_RUNTIME = runtime_model(A_MODEL, "sha256:" + "0" * 64)
ROOMY = {"tpm": 10_000_000, "conc": 8}
WORDS = ("the", "tenant", "asks", "model", "a", "question", "and", "answers", "one", "base",
         "serves", "many", "tenants", "with", "small", "adapter", "each", "burst", "from",
         "must", "not", "starve", "another")  # fmt: skip


def routes(a: dict[str, int] = ROOMY, b: dict[str, int] = ROOMY) -> dict[str, Any]:
    def grant(tenant: str, tier: str, limits: dict[str, int]) -> AdapterGrant:
        adapter = ResolvedLlmAdapter(
            name="adapter",
            served_name=f"{tenant}-adapter",
            base_model=BASE,
            path="adapters/adapter/",
            digest="sha256:" + "0" * 64,
            rank=8,
            tokens_per_minute=limits["tpm"],
            max_concurrent_requests=limits["conc"],
        )
        callers = (A_APPS,) if tenant == A else ()
        return AdapterGrant(tenant, tier, f"tenantry-{tenant}", adapter, callers)

    settings = _settings(llmPrefixCaching="per-tenant-salt", base={"name": BASE})
    return tenant_llm_routes(settings, [grant(A, "premium", a), grant(B, "shared", b)])


def xfcc(tenant: str) -> dict[str, str]:
    """The header the gateway's own Istio sidecar sets for a mTLS peer of ``tenant``."""
    return {
        "X-Forwarded-Client-Cert": (
            "By=spiffe://cluster.local/ns/tenantry-llm/sa/tenantry-llm-gateway;"
            f'Hash=0f;Subject="";URI=spiffe://cluster.local/ns/{tenant}/sa/default'
        )
    }


def complete(
    url: str, tenant: str | None, model: Any, **extra: Any
) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"prompt": "the tenant asks the model", "max_tokens": 8, "temperature": 0, **extra}
    if model is not None:
        body["model"] = model
    return call_full(f"{url}/v1/completions", body, xfcc(tenant) if tenant else {})


def samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(url, timeout=30) as r:
        text = r.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(snapshot: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    """Sum of ``name``'s samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in snapshot.items() if n == name and want <= ls)


def unique_prompt(words: int = 110) -> str:
    """A prompt no other request sent (its first KV block is new to the cache)."""
    rng = random.Random(time.time_ns())
    return " ".join(rng.choice(WORDS) for _ in range(words))


@pytest.fixture(scope="module")
def recorder(vllm: str) -> Iterator[Recorder]:
    with Recorder(vllm) as rec:
        yield rec


INGRESS = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"


@pytest.fixture(scope="module")
def gw(recorder: Recorder) -> Iterator[GatewayServer]:
    with running_llm_gateway(
        routes(), {BASE: recorder.url}, extra_args=["--ingress-identity", INGRESS]
    ) as server:
        yield server


# -- pinning and refusals ----------------------------------------------------------------
def test_a_tenant_reaches_its_own_adapter(gw: GatewayServer, vllm: str) -> None:
    status, out, headers = complete(gw.url, A, A_MODEL)
    assert status == 200, out
    assert out["model"] == A_MODEL
    _, direct, _ = complete(vllm, None, A_MODEL)  # greedy: the adapter's own answer
    assert out["choices"][0]["text"] == direct["choices"][0]["text"]
    _, base, _ = complete(vllm, None, BASE)
    assert out["choices"][0]["text"] != base["choices"][0]["text"]
    assert headers["x-ratelimit-limit-tokens"] == str(ROOMY["tpm"])
    assert int(headers["x-ratelimit-remaining-tokens"]) <= ROOMY["tpm"] - out["usage"][
        "total_tokens"] + 1  # fmt: skip
    status, listing, _ = call_full(f"{gw.url}/v1/models", None, xfcc(B))
    assert status == 200 and [m["id"] for m in listing["data"]] == [B_MODEL]


def test_a_tenants_allowed_namespace_calls_its_adapter_as_the_tenant(
    gw: GatewayServer, recorder: Recorder
) -> None:
    """A workload of tenant A's allowed namespace (the request path's declared caller) gets
    A's adapter, with A's priority and A's cache salt reaching vLLM and A's budget headers;
    B's adapter is refused with the same 404 and never reaches vLLM."""
    before = len(recorder.seen)
    status, out, headers = complete(gw.url, A_APPS, A_MODEL)
    assert status == 200 and out["model"] == A_MODEL, out
    assert headers["x-ratelimit-limit-tokens"] == str(ROOMY["tpm"])
    (seen,) = recorder.seen[before:]
    assert seen.body["priority"] == 1  # tenant A's tier (premium)
    assert seen.body["cache_salt"] == cache_salt(gw.salt_key, A)
    before = len(recorder.seen)
    status, out, _ = complete(gw.url, A_APPS, B_MODEL)
    assert status == 404 and out["error"]["code"] == "model_not_found"
    assert len(recorder.seen) == before
    status, listing, _ = call_full(f"{gw.url}/v1/models", None, xfcc(A_APPS))
    assert status == 200 and [m["id"] for m in listing["data"]] == [A_MODEL]


@pytest.mark.parametrize(
    "model", [B_MODEL, BASE, "tenant-z-adapter", None], ids=["other", "base", "none", "missing"]
)
def test_anything_but_its_own_gets_one_identical_404(
    gw: GatewayServer, recorder: Recorder, model: str | None
) -> None:
    before = len(recorder.seen)
    status, out, _ = complete(gw.url, A, model)
    assert status == 404
    assert out == {
        "error": {
            "message": f"The model `{model or ''}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    assert len(recorder.seen) == before  # nothing reached vLLM


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/v1/load_lora_adapter", {"lora_name": "tenant-c-adapter", "lora_path": "/x"}, {}),
        ("POST", "/v1/unload_lora_adapter", {"lora_name": A_MODEL}, {}),
        ("POST", "/invocations", {"model": A_MODEL, "prompt": "the"},
         {"X-Amzn-SageMaker-Adapter-Identifier": B_MODEL}),
        ("POST", "/v1/responses", {"model": B_MODEL, "input": "the"}, {}),
        ("POST", "/tokenize", {"model": B_MODEL, "prompt": "the"}, {}),
        ("GET", "/metrics", None, {}),
        ("GET", "/health", None, {}),
    ],
)  # fmt: skip
def test_management_and_other_runtime_paths_are_404(
    gw: GatewayServer,
    recorder: Recorder,
    vllm: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    before = len(recorder.seen)
    _, models = call(f"{vllm}/v1/models")
    loaded = {m["id"] for m in models["data"]}
    status, out, _ = call_full(f"{gw.url}{path}", body, {**xfcc(A), **headers}, method)
    assert status == 404 and out["error"]["code"] == "not_found", out
    assert len(recorder.seen) == before
    _, models = call(f"{vllm}/v1/models")
    assert {m["id"] for m in models["data"]} == loaded  # nothing loaded or unloaded


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Forwarded-Client-Cert": "By=x;Hash=y"}, {"X-Forwarded-Client-Cert": "URI=a"}],
    ids=["none", "no-uri", "not-spiffe"],
)
def test_no_identity_is_401(gw: GatewayServer, headers: dict[str, str]) -> None:
    body = {"model": A_MODEL, "prompt": "the"}
    status, out, _ = call_full(f"{gw.url}/v1/completions", body, headers)
    assert status == 401 and out["error"]["code"] == "no_identity"


def test_an_outside_caller_is_the_tenant_the_ingress_names(gw: GatewayServer) -> None:
    body = {"model": A_MODEL, "prompt": "the", "max_tokens": 2}
    ingress = {"X-Forwarded-Client-Cert": f"URI={INGRESS}"}
    assert call(f"{gw.url}/v1/completions", body, {**ingress, "X-Tenantry-Tenant": A})[0] == 200
    other = {**body, "model": B_MODEL}
    assert call(f"{gw.url}/v1/completions", other, {**ingress, "X-Tenantry-Tenant": A})[0] == 404
    assert call(f"{gw.url}/v1/completions", body, ingress)[0] == 401  # the ingress named nobody
    # from any other peer the header is not read: tenant-b cannot pass for tenant-a
    assert call(f"{gw.url}/v1/completions", body, {**xfcc(B), "X-Tenantry-Tenant": A})[0] == 404


# -- overwrites --------------------------------------------------------------------------
def test_priority_and_cache_salt_reaching_vllm_are_the_tenants(
    gw: GatewayServer, recorder: Recorder
) -> None:
    for tenant, model, priority in ((A, A_MODEL, 1), (B, B_MODEL, 2)):
        before = len(recorder.seen)
        status, out, _ = call_full(
            f"{gw.url}/v1/completions",
            {"model": model, "prompt": "the", "max_tokens": 2, "priority": -100,
             "cache_salt": "tenant-a"},
            {**xfcc(tenant), "X-Vllm-Priority": "-50"},
        )  # fmt: skip
        assert status == 200, out
        (seen,) = recorder.seen[before:]
        assert seen.path == "/v1/completions"
        assert seen.body["priority"] == priority
        assert seen.body["cache_salt"] == cache_salt(gw.salt_key, tenant)
        # vLLM takes priority from this header over the body (probe): never forwarded
        assert "x-vllm-priority" not in seen.headers
        assert "x-forwarded-client-cert" not in seen.headers


def test_prefix_cache_hits_within_a_tenant_never_across(gw: GatewayServer, vllm: str) -> None:
    """vLLM's behaviour shows the salt: a tenant's repeat hits its cache; the other tenant's
    same prompt does not; the runtime called directly with the same adapter and prompt hits
    only under the tenant's exact salt (HMAC of the gateway's key), not without one."""
    prompt = unique_prompt()
    hits_before = value(samples(f"{vllm}/metrics"), "vllm:prefix_cache_hits_total")

    def cached(url: str, tenant: str | None, model: str, **extra: Any) -> int:
        status, out, _ = complete(url, tenant, model, prompt=prompt, max_tokens=1, **extra)
        assert status == 200, out
        assert out["usage"]["prompt_tokens"] >= 96  # three full 32-token blocks
        return int(out["usage"]["prompt_tokens_details"]["cached_tokens"])

    seen = {
        "a-first": cached(gw.url, A, A_MODEL),
        "a-again": cached(gw.url, A, A_MODEL),
        "b-first": cached(gw.url, B, B_MODEL),
        "b-again-own-salt-claimed": cached(gw.url, B, B_MODEL, cache_salt="x"),
        # vLLM keys cached blocks by the adapter's name and path (kv_cache_utils.py): the
        # name the gateway sends, the adapter's runtime name (routes' runtimeModel)
        "direct-a-no-salt": cached(vllm, None, A_RUNTIME),
        "direct-a-tenant-salt": cached(
            vllm, None, A_RUNTIME, cache_salt=cache_salt(gw.salt_key, A)
        ),
    }
    assert seen == {
        "a-first": 0,
        "a-again": 96,
        "b-first": 0,
        "b-again-own-salt-claimed": 96,
        "direct-a-no-salt": 0,
        "direct-a-tenant-salt": 96,
    }
    hits = value(samples(f"{vllm}/metrics"), "vllm:prefix_cache_hits_total") - hits_before
    assert hits == sum(seen.values())


# -- streaming ---------------------------------------------------------------------------
def _stream(url: str, tenant: str, model: str, **extra: Any) -> list[Any]:
    body = {"model": model, "prompt": "the tenant", "max_tokens": 6, "ignore_eos": True,
            "stream": True, **extra}  # fmt: skip
    req = urllib.request.Request(
        f"{url}/v1/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **xfcc(tenant)},
    )
    events: list[Any] = []
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.headers["x-ratelimit-limit-tokens"]
        for line in r:
            if line.startswith(b"data:"):
                payload = line[5:].strip()
                events.append("[DONE]" if payload == b"[DONE]" else json.loads(payload))
    return events


def test_a_stream_is_charged_from_its_usage_and_the_forced_chunk_stays_hidden(
    gw: GatewayServer,
) -> None:
    labels = {"tenant": B, "model": B_MODEL, "base_model": BASE, "adapter": "adapter"}
    before = value(samples(gw.metrics_url), "tenantry_llm_completion_tokens_total", **labels)
    events = _stream(gw.url, B, B_MODEL)
    assert events[-1] == "[DONE]"
    # neither the usage-only chunk nor the per-chunk usage the gateway forced
    assert all(e["choices"] and "usage" not in e for e in events[:-1])
    mid = value(samples(gw.metrics_url), "tenantry_llm_completion_tokens_total", **labels)
    assert mid - before == 6
    events = _stream(gw.url, B, B_MODEL, stream_options={"include_usage": True})
    assert events[-2]["choices"] == [] and events[-2]["usage"]["completion_tokens"] == 6
    assert all("usage" not in e for e in events[:-2])
    after = value(samples(gw.metrics_url), "tenantry_llm_completion_tokens_total", **labels)
    assert after - mid == 6


def test_a_stream_flag_vllm_would_coerce_is_refused(gw: GatewayServer, vllm: str) -> None:
    """vLLM reads ``"stream": "true"`` as a stream (lax pydantic); relayed, it would not be
    metered as one, so the gateway refuses it."""
    body = {"model": A_MODEL, "prompt": "the", "max_tokens": 2, "stream": "true"}
    req = urllib.request.Request(
        f"{vllm}/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        r.read()
    status, out = call(f"{gw.url}/v1/completions", body, xfcc(A))
    assert status == 400 and "`stream` must be true or false" in out["error"]["message"]


# -- request body ------------------------------------------------------------------------
BOUND = 12  # tokensPerMinute of both tenants below: the completion bound of one request


@pytest.fixture(scope="module")
def small(recorder: Recorder) -> Iterator[GatewayServer]:
    small = {"tpm": BOUND, "conc": 4}
    with running_llm_gateway(routes(a=small, b=small), {BASE: recorder.url}) as server:
        yield server


def test_a_refused_field_never_reaches_vllm_and_a_limit_is_clamped_to_the_budget(
    small: GatewayServer, recorder: Recorder, vllm: str
) -> None:
    """vLLM itself takes ``vllm_xargs`` and ``kv_transfer_params`` (200 called directly);
    through the gateway each is a 400 naming it, counted as ``body_field``, and nothing
    reaches the runtime. A ``max_tokens`` far above the tenant's 12 tokens per minute, and a
    request without one, both reach vLLM as ``max_tokens: 12``; ``ignore_eos`` makes vLLM
    generate up to the limit it got, so ``completion_tokens`` shows the limit vLLM applied."""
    extras = {"vllm_xargs": {"x": 1}, "kv_transfer_params": {"do_remote_prefill": False}}
    for name, given in extras.items():
        direct = {"model": A_MODEL, "prompt": "the", "max_tokens": 1, name: given}
        assert call(f"{vllm}/v1/completions", direct, {})[0] == 200
        before = len(recorder.seen)
        status, out = call(f"{small.url}/v1/completions", direct, xfcc(A))
        assert status == 400, out
        assert out["error"]["param"] == name and out["error"]["code"] == "unknown_parameter"
        assert len(recorder.seen) == before  # never forwarded
    snap = samples(small.metrics_url)
    assert value(snap, "tenantry_llm_rejected_total", tenant=A, model=A_MODEL,
                 reason="body_field") == len(extras)  # fmt: skip
    assert value(snap, "tenantry_llm_requests_total", tenant=A, code="400") == len(extras)

    for tenant, model, limit in ((A, A_MODEL, {"max_tokens": 100_000}), (B, B_MODEL, {})):
        before = len(recorder.seen)
        body = {"model": model, "prompt": "the tenant", "ignore_eos": True, **limit}
        status, out = call(f"{small.url}/v1/completions", body, xfcc(tenant))
        assert status == 200, out
        (seen,) = recorder.seen[before:]
        assert seen.body["max_tokens"] == BOUND
        assert out["usage"]["completion_tokens"] == BOUND


# -- budgets -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tight(vllm: str) -> Iterator[GatewayServer]:
    """tenant-a: 60 tokens per minute; tenant-b: one request at a time."""
    with running_llm_gateway(
        routes(a={"tpm": 60, "conc": 8}, b={"tpm": 10_000_000, "conc": 1}), {BASE: vllm}
    ) as server:
        yield server


def test_the_token_budget_refuses_with_openai_headers_once_spent(tight: GatewayServer) -> None:
    """60 tokens per minute refill 1 token/s: the bucket admits while above zero and is
    charged each answer's usage.total_tokens (22 here), so the refusal comes once the
    tokens spent pass 60 plus what refilled meanwhile, and not before."""
    statuses, spent, last_remaining = [], 0, 60
    start = last = time.monotonic()
    for _ in range(30):
        status, out, headers = complete(tight.url, A, A_MODEL, max_tokens=16, ignore_eos=True)
        now = time.monotonic()
        statuses.append(status)
        if status == 429:
            break
        assert status == 200, out
        total = out["usage"]["total_tokens"]
        spent += total
        remaining = int(headers["x-ratelimit-remaining-tokens"])
        assert remaining <= max(0, last_remaining + math.ceil(now - last) + 1 - total)
        last_remaining, last = remaining, now
    refilled = time.monotonic() - start
    assert statuses[-1] == 429, statuses
    assert 60 <= spent <= 60 + refilled + 22, (spent, refilled)
    assert out["error"]["code"] == "rate_limit_exceeded"
    assert headers["x-ratelimit-limit-tokens"] == "60"
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    assert headers["x-ratelimit-reset-tokens"].endswith("s")
    assert 1 <= int(headers["retry-after"]) <= 60
    assert complete(tight.url, B, B_MODEL)[0] == 200  # the other tenant is not touched
    snap = samples(tight.metrics_url)
    assert value(snap, "tenantry_llm_rejected_total", tenant=A, model=A_MODEL,
                 reason="token_budget") == 1  # fmt: skip
    assert value(snap, "tenantry_llm_requests_total", tenant=A, code="429") == 1
    assert value(snap, "tenantry_llm_requests_total", tenant=A, code="200") == len(statuses) - 1


def _open_stream(url: str, tenant: str, model: str) -> Any:
    body = {"model": model, "prompt": "the tenant", "max_tokens": 1500, "ignore_eos": True,
            "stream": True}  # fmt: skip
    req = urllib.request.Request(
        f"{url}/v1/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **xfcc(tenant)},
    )
    r = urllib.request.urlopen(req, timeout=120)
    first = r.readline()
    assert first.startswith(b"data:"), first  # in flight at vLLM now
    return r


def test_concurrency_refusal_and_release_when_the_caller_goes(tight: GatewayServer) -> None:
    """The caller then leaves mid-stream: its lease is freed and the tokens it was sent are
    metered (from the usage vLLM puts in every chunk, forced by the gateway)."""
    labels = {"tenant": B, "model": B_MODEL}
    before = value(samples(tight.metrics_url), "tenantry_llm_completion_tokens_total", **labels)
    r = _open_stream(tight.url, B, B_MODEL)
    read = 1
    while read < 4:
        read += r.readline().startswith(b"data:")
    try:
        status, out, headers = complete(tight.url, B, B_MODEL)
        assert status == 429 and out["error"]["code"] == "rate_limit_exceeded", out
        assert headers["retry-after"] == "1" and "x-ratelimit-limit-tokens" in headers
    finally:
        r.close()  # the caller leaves mid-stream: the gateway ends it and frees the lease
    deadline = time.monotonic() + 30
    while (res := complete(tight.url, B, B_MODEL))[0] == 429 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert res[0] == 200
    snap = samples(tight.metrics_url)
    assert value(snap, "tenantry_llm_rejected_total", tenant=B, reason="concurrency") >= 1
    left = value(snap, "tenantry_llm_completion_tokens_total", **labels) - before
    left -= res[1]["usage"]["completion_tokens"]
    assert read <= left < 1500  # at least the chunks the caller read, not the whole request


# -- metrics equal what was sent ---------------------------------------------------------
def test_metrics_count_exactly_what_was_sent(vllm: str) -> None:
    with running_llm_gateway(routes(), {BASE: vllm}) as g:
        vllm_before = samples(f"{vllm}/metrics")
        prompt = completion = 0
        for _ in range(3):
            status, out, _ = complete(g.url, A, A_MODEL)
            assert status == 200
            prompt += out["usage"]["prompt_tokens"]
            completion += out["usage"]["completion_tokens"]
        events = _stream(g.url, B, B_MODEL, stream_options={"include_usage": True})
        b_usage = events[-2]["usage"]
        assert complete(g.url, A, B_MODEL)[0] == 404
        assert complete(g.url, A, BASE)[0] == 404
        assert call(f"{g.url}/v1/load_lora_adapter", {"lora_name": "x"}, xfcc(A))[0] == 404
        assert complete(g.url, None, A_MODEL)[0] == 401
        snap, vllm_after = samples(g.metrics_url), samples(f"{vllm}/metrics")

    a = {"tenant": A, "model": A_MODEL, "base_model": BASE, "adapter": "adapter"}
    b = {"tenant": B, "model": B_MODEL, "base_model": BASE, "adapter": "adapter"}
    expected = {
        ("tenantry_llm_requests_total", (*a.items(), ("code", "200"))): 3,
        ("tenantry_llm_requests_total", (*b.items(), ("code", "200"))): 1,
        ("tenantry_llm_prompt_tokens_total", tuple(a.items())): prompt,
        ("tenantry_llm_completion_tokens_total", tuple(a.items())): completion,
        ("tenantry_llm_prompt_tokens_total", tuple(b.items())): b_usage["prompt_tokens"],
        ("tenantry_llm_completion_tokens_total", tuple(b.items())): b_usage["completion_tokens"],
        ("tenantry_llm_rejected_total",
         (("tenant", A), ("model", ""), ("reason", "model_not_found"))): 2,
        ("tenantry_llm_rejected_total",
         (("tenant", A), ("model", ""), ("reason", "blocked_path"))): 1,
        ("tenantry_llm_rejected_total",
         (("tenant", ""), ("model", ""), ("reason", "no_identity"))): 1,
        ("tenantry_llm_request_duration_seconds_count",
         (("tenant", A), ("base_model", BASE))): 3,
        ("tenantry_llm_request_duration_seconds_count",
         (("tenant", B), ("base_model", BASE))): 1,
    }  # fmt: skip
    got = {
        (n, ls): v
        for (n, ls), v in snap.items()
        if n.startswith("tenantry_llm_")
        and not n.endswith(("_created", "_bucket", "_sum"))
        and v != 0  # every routed series is exported at 0 from the start (tests/llmgateway)
    }
    assert got == {(n, frozenset(ls)): float(v) for (n, ls), v in expected.items()}
    # and the runtime's own token counters moved by exactly what the gateway metered
    for ours, theirs in (
        ("tenantry_llm_prompt_tokens_total", "vllm:prompt_tokens_total"),
        ("tenantry_llm_completion_tokens_total", "vllm:generation_tokens_total"),
    ):
        assert value(snap, ours) == value(vllm_after, theirs) - value(vllm_before, theirs)


# -- several replicas --------------------------------------------------------------------
REDIS_PASSWORD = "redis-password-of-the-test"  # requirepass, as the platform renders Redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with _running_redis(password=REDIS_PASSWORD) as url:
            yield url
    except RedisUnavailable as exc:
        server_missing(str(exc))


def test_two_gateways_share_budgets_and_leases_through_redis(vllm: str, redis_url: str) -> None:
    limits = routes(a={"tpm": 60, "conc": 8}, b={"tpm": 10_000_000, "conc": 1})
    with (
        running_llm_gateway(
            limits, {BASE: vllm}, redis=redis_url, redis_password=REDIS_PASSWORD
        ) as one,
        running_llm_gateway(
            limits, {BASE: vllm}, redis=redis_url, redis_password=REDIS_PASSWORD
        ) as two,
    ):
        for _ in range(30):
            status = complete(one.url, A, A_MODEL, max_tokens=16, ignore_eos=True)[0]
            if status == 429:
                break
        assert status == 429
        status, out, headers = complete(two.url, A, A_MODEL)  # the other replica knows
        assert status == 429 and headers["x-ratelimit-remaining-tokens"] == "0", out
        r = _open_stream(one.url, B, B_MODEL)
        try:
            status, out, _ = complete(two.url, B, B_MODEL)
            assert status == 429 and "concurrent" in out["error"]["message"]
        finally:
            r.close()
