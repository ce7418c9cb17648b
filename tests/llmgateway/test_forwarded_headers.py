"""What the gateway forwards of the caller's headers: ``X-Request-Id`` becomes the engine's
request id in vLLM (vLLM 0.32.0 ``vllm/entrypoints/serve/engine/serving.py``,
``_base_request_id``: ``cmpl-<X-Request-Id>``), an identifier every tenant of a shared runtime
shares, like the body's ``request_id`` the gateway refuses. Forwarded, it is scoped to the
caller's tenant, so no tenant can name another's request."""

from __future__ import annotations

import json

from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestClient, TestServer

from tenantry.llmgateway.limits import MemoryLimits
from tenantry.llmgateway.metrics import GatewayMetrics
from tenantry.llmgateway.routes import parse_routes
from tenantry.llmgateway.server import Gateway, GatewayConfig
from tests.llmgateway.test_routes_and_policy import _doc
from tests.llmgateway.test_sequences import USAGE, _run


def _xfcc(tenant: str) -> str:
    return f"URI=spiffe://cluster.local/ns/{tenant}/sa/default"


async def _ids() -> list[str | None]:
    seen: list[str | None] = []

    async def completions(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Request-Id"))
        return web.json_response({"choices": [], "usage": USAGE})

    upstream_app = web.Application()
    upstream_app.router.add_post("/v1/completions", completions)
    async with TestServer(upstream_app) as upstream:
        url = str(upstream.make_url("")).rstrip("/")
        routes = parse_routes(json.dumps(_doc()))
        config = GatewayConfig(routes=routes, upstreams={b: url for b in routes.base_models})
        gateway = Gateway(config, MemoryLimits(), GatewayMetrics())
        async with TestClient(TestServer(gateway.app())) as client:
            for tenant, model, rid in (
                ("acme", "acme-x", "req-1"),
                ("globex", "globex-chat", "req-1"),
                ("acme", "acme-x", None),
            ):
                headers = {"X-Forwarded-Client-Cert": _xfcc(tenant)}
                if rid is not None:
                    headers["X-Request-Id"] = rid
                r = await client.post(
                    "/v1/completions",
                    json={"model": model, "prompt": "p"},
                    headers=headers,
                    timeout=ClientTimeout(total=20),
                )
                assert r.status == 200, await r.text()
    return seen


def test_a_callers_request_id_reaches_the_runtime_scoped_to_its_tenant() -> None:
    assert _run(_ids()) == ["acme/req-1", "globex/req-1", None]
