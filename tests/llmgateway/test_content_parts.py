"""Chat content parts a shared runtime may be sent (:func:`tenantry.llmgateway.policy.
content_problem`): text, and media only inline; no URL the runtime would fetch, no serialized
tensors, no reference into the runtime's shared multimodal cache. Pure checks, and the gateway
in process in front of a stand-in runtime that records what reached it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tenantry.llmgateway import policy
from tenantry.llmgateway.limits import MemoryLimits
from tenantry.llmgateway.metrics import GatewayMetrics
from tenantry.llmgateway.routes import parse_routes
from tenantry.llmgateway.server import Gateway, GatewayConfig
from tests.llmgateway.test_routes_and_policy import _doc
from tests.llmgateway.test_sequences import XFCC, _run

PNG = "data:image/png;base64,iVBORw0KGgo="
ACCEPTED = [
    {"type": "text", "text": "hello http://example.com/not-fetched"},
    {"type": "input_text", "text": "hi"},
    {"type": "refusal", "refusal": "no"},
    {"type": "image_url", "image_url": {"url": PNG}},
    {"type": "image_url", "image_url": {"url": PNG, "detail": "auto"}},
    {"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64,UklGRg=="}},
    {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}},
    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
]
REFUSED = {
    "fetched image": {"type": "image_url", "image_url": {"url": "http://169.254.169.254/x"}},
    "fetched audio": {"type": "audio_url", "audio_url": {"url": "https://internal/x.wav"}},
    "fetched video": {"type": "video_url", "video_url": "http://internal/x.mp4"},
    "local file": {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}},
    "untyped url": {"image_url": "http://internal/x.png"},
    "cache reference": {"type": "image_url", "image_url": {"url": PNG}, "uuid": "abc"},
    "untyped cache reference": {"uuid": "abc"},
    "image embeds": {"type": "image_embeds", "image_embeds": "AAAA"},
    "prompt embeds": {"type": "prompt_embeds", "data": "AAAA"},
    "pil image": {"type": "image_pil", "image_pil": None},
    "responses image": {"type": "input_image", "image_url": "http://internal/x.png"},
    "text with a media key": {"type": "text", "text": "t", "image_url": {"url": PNG}},
    "not an object": "just a string",
}


def chat(*parts: Any) -> dict[str, Any]:
    return {"model": "acme-x", "messages": [{"role": "user", "content": list(parts)}]}


@pytest.mark.parametrize("part", ACCEPTED, ids=lambda p: p["type"])
def test_text_and_inline_media_pass(part: dict[str, Any]) -> None:
    assert policy.content_problem(policy.CHAT, chat(part)) is None


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_parts_that_reach_past_the_request_are_refused_naming_the_part(case: str) -> None:
    body = chat({"type": "text", "text": "first"}, REFUSED[case])
    problem = policy.content_problem(policy.CHAT, body)
    assert problem is not None and problem.startswith("messages[0].content[1]: "), problem


def test_string_content_and_completions_have_no_parts() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "http://x"}]}
    assert policy.content_problem(policy.CHAT, body) is None
    assert policy.content_problem(policy.COMPLETIONS, {"prompt": "x"}) is None


async def _through_the_gateway(parts: list[Any]) -> tuple[list[int], list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    async def chat_completions(request: web.Request) -> web.Response:
        received.append(await request.json())
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        return web.json_response({"choices": [], "usage": usage})

    upstream_app = web.Application()
    upstream_app.router.add_post("/v1/chat/completions", chat_completions)
    statuses = []
    async with TestServer(upstream_app) as upstream:
        url = str(upstream.make_url("")).rstrip("/")
        routes = parse_routes(json.dumps(_doc()))
        config = GatewayConfig(routes=routes, upstreams={b: url for b in routes.base_models})
        gateway = Gateway(config, MemoryLimits(), GatewayMetrics())
        async with TestClient(TestServer(gateway.app())) as client:
            for part in parts:
                r = await client.post("/v1/chat/completions", json=chat(part), headers=XFCC)
                statuses.append(r.status)
                if r.status == 400:
                    err = (await r.json())["error"]
                    assert err["type"] == "invalid_request_error"
                    assert err["message"].startswith("messages[0].content[0]: ")
    return statuses, received


def test_the_gateway_refuses_before_the_runtime_sees_it() -> None:
    fetched = REFUSED["fetched image"]
    statuses, received = _run(_through_the_gateway([fetched, ACCEPTED[3]]))
    assert statuses == [400, 200]
    assert len(received) == 1 and received[0]["messages"][0]["content"] == [ACCEPTED[3]]
