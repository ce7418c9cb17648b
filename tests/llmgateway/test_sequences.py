"""The gateway in process (aiohttp) in front of a stand-in runtime that holds its answers:
a request takes one concurrency lease per sequence it makes the runtime run (``n`` x prompts),
so a batch of prompts cannot hold more of the shared runtime's sequence slots than the
tenant's ``maxConcurrentRequests``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestClient, TestServer

from tenantry.llmgateway.limits import MemoryLimits
from tenantry.llmgateway.metrics import GatewayMetrics
from tenantry.llmgateway.routes import parse_routes
from tenantry.llmgateway.server import Gateway, GatewayConfig, UsageTally
from tests.llmgateway.test_routes_and_policy import _doc

XFCC = {"X-Forwarded-Client-Cert": "URI=spiffe://cluster.local/ns/acme/sa/default"}
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a loop of its own, at most 60 s (asyncio.run would leave the thread
    without a current loop, which Pulumi's engine in later tests needs)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 60))
    finally:
        loop.close()


async def _scenario() -> dict[str, Any]:
    release = asyncio.Event()
    received: list[dict[str, Any]] = []

    async def completions(request: web.Request) -> web.Response:
        received.append(await request.json())
        await release.wait()
        return web.json_response({"choices": [], "usage": USAGE})

    upstream_app = web.Application()
    upstream_app.router.add_post("/v1/completions", completions)
    out: dict[str, Any] = {}
    async with TestServer(upstream_app) as upstream:
        url = str(upstream.make_url("")).rstrip("/")
        routes = parse_routes(json.dumps(_doc()))
        config = GatewayConfig(routes=routes, upstreams={b: url for b in routes.base_models})
        gateway = Gateway(config, MemoryLimits(), GatewayMetrics())
        async with TestClient(TestServer(gateway.app())) as client:

            async def post(prompt: Any) -> tuple[int, dict[str, Any]]:
                body = {"model": "acme-x", "prompt": prompt, "max_tokens": 5}
                r = await client.post(
                    "/v1/completions", json=body, headers=XFCC, timeout=ClientTimeout(total=20)
                )
                return r.status, await r.json()

            # acme-x: maxConcurrentRequests 4
            out["five"] = await post(["p"] * 5)
            held = asyncio.create_task(post(["p"] * 3))
            while not received:
                await asyncio.sleep(0.01)
            out["two_more"] = await post(["p", "q"])
            one_more = asyncio.create_task(post("p"))
            while len(received) < 2:
                await asyncio.sleep(0.01)
            release.set()
            out["held"] = await held
            out["one_more"] = await one_more
            out["after"] = await post(["p"] * 4)
    out["received"] = [len(b["prompt"]) if isinstance(b["prompt"], list) else 1 for b in received]
    return out


def test_a_request_holds_one_lease_per_sequence() -> None:
    out = _run(_scenario())
    status, body = out["five"]
    assert status == 400 and body["error"]["code"] == "invalid_value"
    message = body["error"]["message"]
    assert "5 sequences" in message and "maxConcurrentRequests 4" in message
    status, body = out["two_more"]  # 3 held + 2 > 4
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert out["held"][0] == 200 and out["one_more"][0] == 200  # 3 + 1 = 4
    assert out["after"][0] == 200  # every lease was released
    assert out["received"] == [3, 1, 4]  # the refused ones never reached the runtime


def _chunk(index: int, prompt: int, completion: int) -> dict[str, Any]:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion}  # fmt: skip
    return {"id": "c", "choices": [{"index": index, "text": "t"}], "usage": usage}


# vLLM 0.32.0 streams with continuous_usage_stats put in each chunk the usage of that chunk's
# own sequence only: completions index = choice + prompt x n, with that prompt's tokens
# (vllm/entrypoints/openai/completion/serving.py); chat the one prompt and that choice's
# completion tokens (vllm/entrypoints/openai/chat_completion/serving.py). Only the final
# usage chunk (choices: []) holds the request's total.
def test_a_stream_cut_before_its_final_usage_is_charged_every_sequence() -> None:
    tally = UsageTally(n=1)
    for c in (_chunk(0, 5, 1), _chunk(1, 7, 1), _chunk(0, 5, 3), _chunk(1, 7, 2)):
        tally.add(c)
    assert tally.usage() == {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    chat = UsageTally(n=2)  # one prompt, two choices
    for c in (_chunk(0, 10, 4), _chunk(1, 10, 6)):
        chat.add(c)
    assert chat.usage() == {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    final = {"id": "c", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                 "total_tokens": 99}}  # fmt: skip
    chat.add(final)
    assert chat.usage() == final["usage"]  # the runtime's own total, when it came
    assert UsageTally(n=1).usage() is None


async def _cut_stream() -> list[str]:
    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if body.get("stream"):  # two prompts, then the runtime goes away: no final usage
            for c in (_chunk(0, 50, 10), _chunk(1, 60, 20)):
                await response.write(b"data: " + json.dumps(c).encode() + b"\n\n")
            return response
        await response.write(json.dumps({"choices": [], "usage": USAGE}).encode())
        return response

    upstream_app = web.Application()
    upstream_app.router.add_post("/v1/completions", completions)
    async with TestServer(upstream_app) as upstream:
        url = str(upstream.make_url("")).rstrip("/")
        routes = parse_routes(json.dumps(_doc()))
        config = GatewayConfig(routes=routes, upstreams={b: url for b in routes.base_models})
        gateway = Gateway(config, MemoryLimits(clock=lambda: 0.0), GatewayMetrics())
        async with TestClient(TestServer(gateway.app())) as client:
            body = {"model": "acme-x", "prompt": ["a", "b"], "stream": True, "max_tokens": 5}
            r = await client.post("/v1/completions", json=body, headers=XFCC)
            await r.read()
            r = await client.post(
                "/v1/completions", json={"model": "acme-x", "prompt": "p"}, headers=XFCC
            )
            await r.read()
            return [r.headers["x-ratelimit-remaining-tokens"]]


def test_the_gateway_charges_every_sequence_of_a_cut_stream() -> None:
    # acme-x: 1000 tokens per minute, a frozen clock; the cut stream used 50+10 and 60+20,
    # the plain request after it 2
    assert _run(_cut_stream()) == [str(1000 - 140 - 2)]
