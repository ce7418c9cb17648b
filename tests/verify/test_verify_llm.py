"""``tenantry verify --llm-url`` against replies of the LLM gateway's recorded shape (the
contract in docs/llm.md; tests/llm/test_verify_llm.py runs the same checks against the real
gateway in front of the real vLLM): a conforming gateway passes every check, and each way a
reply can break the contract fails the check that reads it, naming what it got."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tenantry.cli.main import main
from tenantry.spec.resolved import ResolvedLlmAdapter
from tenantry.verify.llm import NOBODY, Reply, other_served_names, verify_llm, verify_own_llm
from tests.components.helpers import tenants

LIMIT = 600


def adapter(served: str = "acme-support-agent", tpm: int = LIMIT) -> ResolvedLlmAdapter:
    return ResolvedLlmAdapter(
        name=served.split("-", 1)[1],
        served_name=served,
        base_model="llama-3-8b",
        path="adapters/x/",
        digest="sha256:" + "0" * 64,
        rank=8,
        tokens_per_minute=tpm,
        max_concurrent_requests=4,
    )


@dataclass
class Tenant:
    name: str
    llm_adapters: tuple[ResolvedLlmAdapter, ...]


@dataclass
class Gateway:
    """The gateway's replies as recorded from tenantry.llmgateway (field names, error
    bodies, headers): a token bucket charged with usage.total_tokens after each answer."""

    mine: set[str]
    limit: int = LIMIT
    level: int = LIMIT
    calls: list[str] = field(default_factory=list)
    mutate: Callable[[str, Reply], Reply] | None = None

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-tokens": str(self.limit),
            "x-ratelimit-remaining-tokens": str(max(self.level, 0)),
            "x-ratelimit-reset-tokens": f"{(self.limit - self.level) * 60 / self.limit:.3f}s",
        }

    def post(self, path: str, body: Mapping[str, Any]) -> Reply:
        model = str(body.get("model"))
        self.calls.append(model)
        if model not in self.mine:
            err = {
                "message": f"The model '{model}' does not exist.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
            reply = Reply(404, {}, {"error": err})
        elif self.level <= 0:
            err = {
                "message": "Token budget exceeded.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
            reply = Reply(429, {**self.headers(), "retry-after": "6"}, {"error": err})
        else:
            usage = {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}
            self.level -= 13
            out = {
                "id": "cmpl-1",
                "object": "text_completion",
                "model": model,
                "choices": [{"index": 0, "text": " a b c", "finish_reason": "length"}],
                "usage": usage,
            }
            reply = Reply(200, self.headers(), out)
        return self.mutate(model, reply) if self.mutate else reply


def checks(gw: Gateway, others: list[str], exhaust: bool = False) -> dict[str, Any]:
    t = Tenant("acme", (adapter(),))
    results = verify_llm(t, gw, others, exhaust=exhaust, clock=iter(range(100)).__next__)
    return {r.check: r for r in results}


def test_a_conforming_gateway_passes_every_check() -> None:
    gw = Gateway({"acme-support-agent"})
    got = checks(gw, ["globex-chat", "umbrella-bot"], exhaust=True)
    assert {k: (r.ok, r.skipped) for k, r in got.items()} == {
        "completion": (True, False),
        "budget accounting": (True, False),
        "other tenants refused": (True, False),
        "budget refusal": (True, False),
    }
    assert got["budget refusal"].detail.startswith("429 rate_limit_exceeded after ")
    assert {"globex-chat", "umbrella-bot"} <= set(gw.calls)
    # without --exhaust-budget the refusal is skipped, never passed
    skipped = checks(Gateway({"acme-support-agent"}), [])["budget refusal"]
    assert skipped.skipped and "--exhaust-budget" in skipped.detail


def _broken(change: Callable[[str, Reply], Reply]) -> dict[str, Any]:
    return checks(Gateway({"acme-support-agent"}, mutate=change), ["globex-chat"], exhaust=True)


def _drop(header: str) -> Callable[[str, Reply], Reply]:
    return lambda _m, r: Reply(
        r.status, {k: v for k, v in r.headers.items() if k != header}, r.body
    )


@pytest.mark.parametrize(
    ("change", "check", "detail"),
    [
        (_drop("x-ratelimit-remaining-tokens"), "completion", "x-ratelimit-remaining-tokens"),
        (
            lambda m, r: (
                Reply(r.status, {**r.headers, "x-ratelimit-limit-tokens": "999"}, r.body)
                if r.status == 200
                else r
            ),
            "completion",
            "declared tokensPerMinute is 600",
        ),
        (
            lambda m, r: (
                Reply(200, r.headers, {**r.body, "usage": {"total_tokens": 3}})
                if r.status == 200
                else r
            ),
            "completion",
            "usage",
        ),
        (
            # another tenant's adapter served: the pinning is gone
            lambda m, r: Reply(200, {}, {"model": m}) if m == "globex-chat" else r,
            "other tenants refused",
            "globex-chat: HTTP 200",
        ),
        (
            lambda m, r: (
                Reply(404, {}, {"error": {"code": "not_found"}}) if m == "globex-chat" else r
            ),
            "other tenants refused",
            "not_found",
        ),
        (_drop("retry-after"), "budget refusal", "retry-after"),
        (
            lambda m, r: Reply(503, r.headers, r.body) if r.status == 429 else r,
            "budget refusal",
            "HTTP 503",
        ),
    ],
    ids=[
        "no-remaining",
        "wrong-limit",
        "bad-usage",
        "other-served",
        "wrong-code",
        "no-retry-after",
        "not-429",
    ],
)
def test_each_broken_reply_fails_its_check(
    change: Callable[[str, Reply], Reply], check: str, detail: str
) -> None:
    got = _broken(change)
    assert not got[check].ok and detail in got[check].detail, got[check]


def test_an_uncharged_bucket_fails_the_accounting() -> None:
    gw = Gateway({"acme-support-agent"})
    gw.mutate = lambda m, r: Reply(
        r.status, {**r.headers, "x-ratelimit-remaining-tokens": str(LIMIT)}, r.body
    )
    got = checks(gw, [])
    assert not got["budget accounting"].ok
    assert "remaining 600 -> 600 after 13 tokens charged" in got["budget accounting"].detail


def test_other_served_names_are_every_other_tenants_adapters() -> None:
    ts = list(tenants().values())
    assert other_served_names("globex", ts) == ["acme-support-agent"]
    assert other_served_names("acme", ts) == []  # the example has one adapter: acme's


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[tuple[str, Gateway, list[dict[str, str]]]]:
    gw = Gateway({"acme-support-agent"}, limit=60000, level=60000)
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            r = gw.post(self.path, body)
            data = json.dumps(r.body).encode()
            self.send_response(r.status)
            for k, v in r.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gw, seen
    finally:
        server.shutdown()
        server.server_close()


def test_verify_llm_url_checks_the_tenants_adapters(
    stub: tuple[str, Gateway, list[dict[str, str]]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, gw, seen = stub
    args = ["verify", "acme", "--llm-url", url, "--llm-header", "X-Probe: 1", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["failed"] == 0 and out["skipped"] == 1
    assert [c["check"] for c in out["checks"]] == [
        "completion",
        "budget accounting",
        "other tenants refused",
        "budget refusal",
    ]
    assert gw.calls[-1] == NOBODY  # acme is the only tenant with an adapter
    assert all(h["x-probe"] == "1" for h in seen)


def test_verify_needs_an_endpoint_and_refuses_bad_llm_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["verify", "acme"]) == 2
    assert "give --url" in capsys.readouterr().err
    assert main(["verify", "acme", "--llm-url", "127.0.0.1:1"]) == 2
    assert "accepted: http(s)://host:port" in capsys.readouterr().err
    assert main(["verify", "acme", "--llm-url", "http://x", "--llm-header", "nocolon"]) == 2
    assert "--llm-header 'nocolon': accepted: NAME:VALUE" in capsys.readouterr().err


def test_a_gateway_that_does_not_answer_fails_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["verify", "acme", "--llm-url", f"http://127.0.0.1:{port}"]) == 1
    out = capsys.readouterr()
    assert "endpoint" in out.out and "no reply" in out.out and "Traceback" not in out.err


@dataclass
class OwnVllm:
    """An own LLM's vLLM as recorded from the real server (tests/llm/test_verify_llm.py runs
    the checks against it): ``/v1/models`` cards with ``max_model_len``, 404 NotFoundError
    for a name it does not serve."""

    served: str
    max_model_len: int
    extra: tuple[str, ...] = ()

    def get(self, path: str) -> Reply:
        assert path == "/v1/models"
        cards = [
            {"id": n, "object": "model", "owned_by": "vllm", "max_model_len": self.max_model_len}
            for n in (self.served, *self.extra)
        ]
        return Reply(200, {}, {"object": "list", "data": cards})

    def post(self, path: str, body: Mapping[str, Any]) -> Reply:
        model = body.get("model")
        if model not in (self.served, *self.extra):
            err = {"message": f"The model `{model}` does not exist.", "type": "NotFoundError"}
            return Reply(404, {}, {"error": {**err, "param": "model", "code": 404}})
        usage = {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}
        return Reply(200, {}, {"model": model, "choices": [{"text": "x"}], "usage": usage})


def test_an_own_llm_that_serves_what_its_file_declares_passes() -> None:
    t = tenants()["initech"]
    (llm,) = t.llms
    got = {
        r.check: r
        for r in verify_own_llm(t, {llm.name: OwnVllm(llm.served_name, llm.max_model_len)})
    }
    assert {k: r.ok for k, r in got.items()} == {
        "completion": True,
        "declared model": True,
        "unknown name refused": True,
    }, {k: r.detail for k, r in got.items()}
    assert not any(r.skipped for r in got.values())
    assert all(r.model == llm.served_name for r in got.values())
    # an own LLM without an endpoint is skipped, never passed silently
    (skipped,) = verify_own_llm(t, {})
    assert skipped.skipped and "no --own-llm-url" in skipped.detail


def test_verify_refuses_bad_own_llm_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "acme", "--own-llm-url", "http://x:8000"]) == 2
    assert "accepted: none: it declares no spec.llms" in capsys.readouterr().err
    assert main(["verify", "initech", "--own-llm-url", "notes=http://x:8000"]) == 2
    assert "'notes' is not an own LLM of tenant 'initech'; accepted: clinical-llm" in (
        capsys.readouterr().err
    )
    assert main(["verify", "initech", "--own-llm-url", "clinical-llm=x:8000"]) == 2
    assert "accepted: [LLM=]http(s)://host:port" in capsys.readouterr().err


def test_an_own_llm_that_does_not_answer_fails_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["verify", "initech", "--own-llm-url", f"http://127.0.0.1:{port}"]) == 1
    out = capsys.readouterr()
    assert "initech-clinical-llm" in out.out and "no reply" in out.out
    assert "Traceback" not in out.err
