"""The gateway in process (aiohttp) in front of a stand-in runtime that holds its answers:
a request takes one concurrency lease per sequence it makes the runtime run (``n`` x prompts),
so a batch of prompts cannot hold more of the shared runtime's sequence slots than the
tenant's ``maxConcurrentRequests``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestClient, TestServer

from tenantry.llmgateway.limits import MemoryLimits
from tenantry.llmgateway.metrics import GatewayMetrics
from tenantry.llmgateway.routes import parse_routes
from tenantry.llmgateway.server import Gateway, GatewayConfig
from tests.llmgateway.test_routes_and_policy import _doc

XFCC = {"X-Forwarded-Client-Cert": "URI=spiffe://cluster.local/ns/acme/sa/default"}
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


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
    out = asyncio.run(asyncio.wait_for(_scenario(), 60))
    status, body = out["five"]
    assert status == 400 and body["error"]["code"] == "invalid_value"
    message = body["error"]["message"]
    assert "5 sequences" in message and "maxConcurrentRequests 4" in message
    status, body = out["two_more"]  # 3 held + 2 > 4
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert out["held"][0] == 200 and out["one_more"][0] == 200  # 3 + 1 = 4
    assert out["after"][0] == 200  # every lease was released
    assert out["received"] == [3, 1, 4]  # the refused ones never reached the runtime
