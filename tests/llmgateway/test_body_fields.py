"""The gateway's request-body policy (pure): the per-path field allow-list and the
completion-limit clamp of :mod:`tenantry.llmgateway.policy`."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.llmgateway import policy
from tenantry.llmgateway.routes import ModelRoute


def _model(tpm: int = 1000) -> ModelRoute:
    return ModelRoute("acme-x", "acme", "x", "base", "rt", tpm, 4)


# Fields vLLM 0.32.0 reads (CompletionRequest / ChatCompletionRequest) that reach the engine
# or the server process in ways a shared runtime must not take from a caller.
REFUSED = [
    "vllm_xargs", "kv_transfer_params", "ec_transfer_params", "structured_outputs",
    "chat_template", "chat_template_kwargs", "documents", "mm_processor_kwargs",
    "media_io_kwargs", "mm_payload", "prompt_embeds", "use_beam_search", "length_penalty",
    "request_id", "session_id", "return_tokens_as_token_ids", "return_token_ids",
    "prompt_logprobs", "truncate_prompt_tokens", "guided_json", "best_of", "no_such_field",
]  # fmt: skip


@pytest.mark.parametrize("path", [policy.COMPLETIONS, policy.CHAT])
@pytest.mark.parametrize("field", REFUSED)
def test_a_field_outside_the_allow_list_is_refused_by_name(path: str, field: str) -> None:
    body = {"model": "acme-x", "prompt": "p", "messages": [], field: {"k": 1}}
    body.pop("messages" if path == policy.COMPLETIONS else "prompt")
    refusal = policy.field_refusal(path, body)
    assert refusal is not None
    assert (refusal.status, refusal.reason) == (400, "body_field")
    assert refusal.code == "unknown_parameter"
    out = refusal.body()["error"]
    assert out["param"] == field
    assert f"argument supplied: {field} " in out["message"]
    assert out["type"] == "invalid_request_error"


def test_the_first_of_several_refused_fields_is_named_and_the_answer_is_stable() -> None:
    body = {"model": "m", "prompt": "p", "vllm_xargs": {}, "kv_transfer_params": {}}
    first = policy.field_refusal(policy.COMPLETIONS, body)
    again = policy.field_refusal(policy.COMPLETIONS, dict(reversed(body.items())))
    assert first is not None and again is not None
    assert first.param == again.param == "kv_transfer_params"


def test_each_path_accepts_its_own_openai_fields_and_not_the_others() -> None:
    completions = {"model": "m", "prompt": "p", "suffix": "s", "echo": True, "logprobs": 2,
                   "max_tokens": 4, "n": 2, "stop": ["x"], "seed": 1, "user": "u",
                   "stream": True, "stream_options": {"include_usage": True},
                   "top_k": 5, "min_p": 0.1, "ignore_eos": True, "min_tokens": 1,
                   "priority": 7, "cache_salt": "mine"}  # fmt: skip
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "max_completion_tokens": 4, "tools": [], "tool_choice": "auto",
            "response_format": {"type": "text"}, "top_logprobs": 2, "logprobs": True,
            "parallel_tool_calls": False, "add_generation_prompt": True}  # fmt: skip
    assert policy.field_refusal(policy.COMPLETIONS, completions) is None
    assert policy.field_refusal(policy.CHAT, chat) is None
    wrong = policy.field_refusal(policy.COMPLETIONS, {"model": "m", "messages": []})
    assert wrong is not None and wrong.param == "messages"
    wrong = policy.field_refusal(policy.CHAT, {"model": "m", "messages": [], "suffix": "s"})
    assert wrong is not None and wrong.param == "suffix"


def test_the_allow_list_holds_only_fields_vllm_reads() -> None:
    """Every allowed name is a request field of vLLM 0.32.0 (copied from its
    CompletionRequest / ChatCompletionRequest by hand): a typo would let a caller's option
    pass the gateway and be ignored upstream."""
    vllm_completion = {
        "model", "prompt", "echo", "frequency_penalty", "logit_bias", "logprobs",
        "max_tokens", "n", "presence_penalty", "seed", "stop", "stream", "stream_options",
        "suffix", "temperature", "top_p", "user", "use_beam_search", "top_k", "min_p",
        "repetition_penalty", "watermarking", "length_penalty", "stop_token_ids",
        "include_stop_str_in_output", "ignore_eos", "min_tokens", "skip_special_tokens",
        "spaces_between_special_tokens", "truncate_prompt_tokens", "truncation_side",
        "allowed_token_ids", "prompt_logprobs", "logprob_token_ids", "bad_words",
        "prompt_embeds", "add_special_tokens", "response_format", "structured_outputs",
        "priority", "request_id", "session_id", "return_tokens_as_token_ids",
        "return_token_ids", "cache_salt", "kv_transfer_params", "vllm_xargs",
    }  # fmt: skip
    vllm_chat_extra = {
        "messages", "top_logprobs", "max_completion_tokens", "tools", "tool_choice",
        "reasoning_effort", "parallel_tool_calls", "add_generation_prompt",
        "continue_final_message", "chat_template",
    }  # fmt: skip
    assert policy.BODY_FIELDS[policy.COMPLETIONS] <= vllm_completion
    assert policy.BODY_FIELDS[policy.CHAT] <= vllm_completion | vllm_chat_extra
    for path in (policy.COMPLETIONS, policy.CHAT):
        assert (
            not {"vllm_xargs", "kv_transfer_params", "structured_outputs"}
            & (policy.BODY_FIELDS[path])
        )


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (policy.COMPLETIONS, {}, {"max_tokens": 1000}),
        (policy.COMPLETIONS, {"max_tokens": None}, {"max_tokens": 1000}),
        (policy.COMPLETIONS, {"max_tokens": 5}, {"max_tokens": 5}),
        (policy.COMPLETIONS, {"max_tokens": 1000}, {"max_tokens": 1000}),
        (policy.COMPLETIONS, {"max_tokens": 1001}, {"max_tokens": 1000}),
        (policy.COMPLETIONS, {"max_tokens": 10**12, "n": 3}, {"max_tokens": 333, "n": 3}),
        (policy.CHAT, {}, {"max_completion_tokens": 1000}),
        (policy.CHAT, {"max_tokens": 4000}, {"max_tokens": 1000}),
        (policy.CHAT, {"max_completion_tokens": 9000, "max_tokens": 3},
         {"max_completion_tokens": 1000, "max_tokens": 3}),
        (policy.CHAT, {"n": 4}, {"n": 4, "max_completion_tokens": 250}),
    ],
)  # fmt: skip
def test_the_completion_limit_is_clamped_or_set_to_the_minute_budget(
    path: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    out = policy.clamp_max_tokens(path, {"model": "acme-x", **body}, _model(1000))
    assert out == {"model": "acme-x", **expected}


def test_the_clamp_does_not_change_the_callers_body() -> None:
    body = {"model": "acme-x", "max_tokens": 5000}
    assert policy.clamp_max_tokens(policy.COMPLETIONS, body, _model(10)) == {
        "model": "acme-x",
        "max_tokens": 10,
    }
    assert body["max_tokens"] == 5000


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"max_tokens": "99999"}, '`max_tokens` must be an integer >= 1, got "99999"'),
        ({"max_tokens": 0}, "`max_tokens` must be an integer >= 1, got 0"),
        ({"max_tokens": True}, "`max_tokens` must be an integer >= 1, got true"),
        ({"max_tokens": 2.5}, "`max_tokens` must be an integer >= 1, got 2.5"),
        ({"n": "2"}, '`n` must be an integer >= 1, got "2"'),
        ({"n": 11}, "`n` (11) exceeds acme-x's 10 tokens per minute"),
    ],
)
def test_a_limit_the_gateway_cannot_read_as_vllm_would_is_refused(
    body: dict[str, Any], expected: str
) -> None:
    assert policy.clamp_max_tokens(policy.COMPLETIONS, body, _model(10)) == expected


def test_the_bound_is_the_minute_budget_shared_by_the_choices() -> None:
    m = _model(100)
    assert [policy.max_tokens_bound(m, n) for n in (1, 2, 3, 100, 101)] == [100, 50, 33, 1, 0]


# vLLM's CompletionRequest.prompt is a string, a token-id list, or a list of either; each
# element of a list of prompts is its own engine request with its own max_tokens (vLLM 0.32.0
# vllm/entrypoints/openai/completion/serving.py: one engine_client.generate per engine input),
# and n > 1 fans out into n child requests (vllm/v1/engine/parallel_sampling.py).
@pytest.mark.parametrize(
    ("body", "sequences"),
    [
        ({"prompt": "p"}, 1),
        ({"prompt": [1, 2, 3]}, 1),
        ({"prompt": ["a", "b", "c", "d"]}, 4),
        ({"prompt": [[1, 2], [3]]}, 2),
        ({"prompt": ["a", "b"], "n": 3}, 6),
        ({}, 1),
    ],
)
def test_every_prompt_of_a_batch_is_a_sequence(body: dict[str, Any], sequences: int) -> None:
    assert policy.sequences(policy.COMPLETIONS, body) == sequences
    out = policy.clamp_max_tokens(policy.COMPLETIONS, {"max_tokens": 10**6, **body}, _model(1200))
    assert isinstance(out, dict) and out["max_tokens"] == 1200 // sequences


def test_a_chat_is_one_conversation_times_n() -> None:
    body = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    assert policy.sequences(policy.CHAT, body) == 1
    assert policy.sequences(policy.CHAT, {**body, "n": 3}) == 3


def test_a_batch_larger_than_the_budget_is_refused() -> None:
    body = {"prompt": ["p"] * 11}
    assert policy.clamp_max_tokens(policy.COMPLETIONS, body, _model(10)) == (
        "11 sequences (n x prompts) exceed acme-x's 10 tokens per minute"
    )
