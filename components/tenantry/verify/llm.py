"""Post-deploy checks of a tenant's LLM adapters through the Tenantry LLM gateway (an
OpenAI-compatible endpoint; contract in docs/llm.md).

Per adapter (served name ``<tenant>-<adapter>``):

- ``completion``: ``POST /v1/completions`` with the adapter's served name answers 200 with a
  completion (``choices``), the served name as ``model``, and ``usage`` (``prompt_tokens``,
  ``completion_tokens``, ``total_tokens``, integers, total = prompt + completion: OpenAI's
  ``CompletionUsage``); the response carries OpenAI's budget headers
  ``x-ratelimit-limit-tokens`` (the adapter's declared ``tokensPerMinute``),
  ``x-ratelimit-remaining-tokens`` and ``x-ratelimit-reset-tokens``;
- ``budget accounting``: a second completion right after shows the bucket charged from
  ``usage.total_tokens`` (remaining after <= remaining before - the smaller of the two
  charges + what refills at ``tokensPerMinute`` / 60 per second in between);
- ``other tenants refused``: the same request naming each other tenant's served name on the
  platform's base models (or, with none, a name nobody serves) answers 404 with OpenAI's error
  body, ``code: model_not_found``, ``type: invalid_request_error`` - the gateway's one answer
  for another tenant's adapter, the bare base and a nonexistent name alike;
- ``budget refusal`` (only with ``exhaust``: it spends the adapter's budget for up to a
  minute, so never by default): completions until refused; the refusal is 429 with ``code:
  rate_limit_exceeded``, a ``retry-after`` header and the three budget headers.

Per own LLM (``spec.llms``; served name ``<tenant>-<llm>``, reached directly on its vLLM,
no gateway in the path: :func:`verify_own_llm`):

- ``completion``: as for an adapter, without budget headers (an own LLM has no budget);
- ``declared model``: ``GET /v1/models`` lists exactly the served name (Tenantry renders an
  own LLM with no adapters, so any other name means the deployment differs from the file),
  with ``max_model_len`` = the declared ``maxModelLen`` (vLLM's ``ModelCard`` carries it:
  ``vllm/entrypoints/openai/protocol.py``);
- ``unknown name refused``: a name nobody serves answers 404 (vLLM's ``NotFoundError`` for a
  model it does not serve), never a completion from the served model.

A check that cannot be made is reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..spec import ResolvedTenant
from ..spec.resolved import ResolvedLlm, ResolvedLlmAdapter
from .checks import CheckResult

COMPLETIONS = "/v1/completions"
PROMPT = "Tenantry verify:"
MAX_TOKENS = 8
BUDGET_HEADERS = (
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)
NOBODY = "tenantry-verify-no-such-model"  # a served name no tenant can have (no tenant name)
MAX_EXHAUST_REQUESTS = 10_000


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names lower-case
    body: Any  # parsed JSON, or None when the body is not JSON


class LlmEndpoint(Protocol):
    def post(self, path: str, body: Mapping[str, Any]) -> Reply:
        """POST ``body`` as JSON; any HTTP status is a reply; raises ``OSError`` when no
        reply comes (refused, timed out)."""
        ...


class OwnLlmEndpoint(LlmEndpoint, Protocol):
    def get(self, path: str) -> Reply:
        """GET ``path``; any HTTP status is a reply; raises ``OSError`` when no reply comes."""
        ...


class HttpLlmEndpoint:
    """The gateway at ``base_url`` (``http://host:port``), with ``headers`` on every request
    (e.g. a bearer token). Inside the mesh the caller's sidecar gives the gateway its
    identity; nothing here forges one."""

    def __init__(
        self, base_url: str, headers: Mapping[str, str] | None = None, timeout: float = 60.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout

    def post(self, path: str, body: Mapping[str, Any]) -> Reply:
        req = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        return self._send(req)

    def get(self, path: str) -> Reply:
        return self._send(
            urllib.request.Request(self.base_url + path, headers=self.headers, method="GET")
        )

    def _send(self, req: urllib.request.Request) -> Reply:
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return _reply(r.status, r.headers.items(), r.read())
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, exc.headers.items(), exc.read())


def _reply(status: int, headers: Any, raw: bytes) -> Reply:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return Reply(status, {str(k).lower(): str(v) for k, v in headers}, body)


def _request(model: str) -> dict[str, Any]:
    return {"model": model, "prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _usage_problem(body: Any) -> str | None:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return "no usage object in the response"
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    if not all(isinstance(usage.get(k), int) for k in keys):
        return f"usage {usage!r}: accepted: integer {', '.join(keys)}"
    if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
        return f"usage {usage!r}: total_tokens is not prompt_tokens + completion_tokens"
    return None


def _headers_problem(reply: Reply, limit: int) -> str | None:
    missing = [h for h in BUDGET_HEADERS if h not in reply.headers]
    if missing:
        return f"missing header(s) {', '.join(missing)}"
    got = _int(reply.headers["x-ratelimit-limit-tokens"])
    if got != limit:
        return (
            f"x-ratelimit-limit-tokens {reply.headers['x-ratelimit-limit-tokens']!r}: the "
            f"declared tokensPerMinute is {limit}"
        )
    remaining = _int(reply.headers["x-ratelimit-remaining-tokens"])
    if remaining is None or not 0 <= remaining <= limit:
        return (
            f"x-ratelimit-remaining-tokens {reply.headers['x-ratelimit-remaining-tokens']!r}: "
            f"accepted: an integer in 0..{limit}"
        )
    return None


def _error_code(body: Any) -> str | None:
    err = body.get("error") if isinstance(body, dict) else None
    return str(err.get("code")) if isinstance(err, dict) else None


def other_served_names(tenant: str, tenants: Sequence[ResolvedTenant]) -> list[str]:
    """Every other tenant's adapter served names (those ``tenant``'s callers must be refused)."""
    return sorted(a.served_name for t in tenants if t.name != tenant for a in t.llm_adapters)


class AdapterHolder(Protocol):
    """What the checks read of a tenant (:class:`~tenantry.spec.ResolvedTenant` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def llm_adapters(self) -> Sequence[ResolvedLlmAdapter]: ...


def verify_llm(
    tenant: AdapterHolder,
    endpoint: LlmEndpoint,
    others: Sequence[str],
    *,
    exhaust: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> list[CheckResult]:
    """The checks of the module docstring for each of ``tenant``'s adapters; ``others``:
    served names the tenant's callers must be refused (:func:`other_served_names`)."""
    results: list[CheckResult] = []
    for a in tenant.llm_adapters:
        record = _recorder(results, tenant.name, a.served_name, a.base_model)
        try:
            _verify_adapter(
                a.served_name, a.tokens_per_minute, endpoint, others, exhaust, clock, record
            )
        except OSError as exc:
            record("endpoint", False, f"no reply: {exc}")
    return results


def _recorder(
    results: list[CheckResult], tenant: str, served: str, base: str
) -> Callable[..., None]:
    """Appends one result of adapter ``served`` (its base model in the version column)."""

    def record(check: str, ok: bool, detail: str, skipped: bool = False) -> None:
        results.append(CheckResult(tenant, served, base, check, ok, detail, skipped))

    return record


def _verify_adapter(
    served: str,
    limit: int,
    endpoint: LlmEndpoint,
    others: Sequence[str],
    exhaust: bool,
    clock: Callable[[], float],
    record: Callable[..., None],
) -> None:
    t0 = clock()
    first = endpoint.post(COMPLETIONS, _request(served))
    problem = None
    if first.status != 200:
        problem = f"HTTP {first.status}: {json.dumps(first.body)[:200]}"
    elif not isinstance(first.body, dict) or not first.body.get("choices"):
        problem = "no choices in the response"
    elif first.body.get("model") != served:
        problem = f"model {first.body.get('model')!r}: asked for {served!r}"
    else:
        problem = _usage_problem(first.body) or _headers_problem(first, limit)
    if problem is not None:
        record("completion", False, problem)
        record("budget accounting", True, "not checked: the completion failed", skipped=True)
    else:
        usage = first.body["usage"]
        record(
            "completion",
            True,
            f"200, usage {usage['prompt_tokens']}+{usage['completion_tokens']} tokens, "
            f"limit {limit} tokens/min",
        )
        second = endpoint.post(COMPLETIONS, _request(served))
        elapsed = clock() - t0
        _accounting(first, second, limit, elapsed, record)
    refused = list(others) or [NOBODY]
    wrong = []
    for name in refused:
        r = endpoint.post(COMPLETIONS, _request(name))
        err = r.body.get("error") if isinstance(r.body, dict) else None
        if (
            r.status != 404
            or _error_code(r.body) != "model_not_found"
            or not isinstance(err, dict)
            or err.get("type") != "invalid_request_error"
        ):
            wrong.append(f"{name}: HTTP {r.status} {json.dumps(r.body)[:160]}")
    what = "other tenants' served names" if others else f"a name nobody serves ({NOBODY})"
    record(
        "other tenants refused",
        not wrong,
        "; ".join(wrong) if wrong else f"404 model_not_found for {len(refused)} of {what}",
    )
    if not exhaust:
        record(
            "budget refusal",
            True,
            "not checked: it spends the adapter's budget (--exhaust-budget)",
            skipped=True,
        )
        return
    _refusal(served, limit, endpoint, record)


def _accounting(
    first: Reply, second: Reply, limit: int, elapsed: float, record: Callable[..., None]
) -> None:
    if second.status != 200 or _headers_problem(second, limit):
        why = _headers_problem(second, limit) if second.status == 200 else None
        record("budget accounting", False, f"second completion: HTTP {second.status} {why or ''}")
        return
    before = int(first.headers["x-ratelimit-remaining-tokens"])
    after = int(second.headers["x-ratelimit-remaining-tokens"])
    # the headers show the bucket after (or, by some gateways, before) that request's
    # charge: between the two replies at least the smaller of the two charges went out
    charged = min(
        int(first.body["usage"]["total_tokens"]),
        int((second.body or {}).get("usage", {}).get("total_tokens", 0)),
    )
    refill = limit * elapsed / 60.0
    bound = before - charged + refill
    ok = after <= bound + 1  # +1: the gateway rounds the bucket to whole tokens
    record(
        "budget accounting",
        ok,
        f"remaining {before} -> {after} after {charged} tokens charged "
        f"(at most {bound:.0f} with {elapsed:.2f} s of refill)",
    )


def _refusal(served: str, limit: int, endpoint: LlmEndpoint, record: Callable[..., None]) -> None:
    body = {**_request(served), "max_tokens": 64}
    for n in range(1, MAX_EXHAUST_REQUESTS + 1):
        r = endpoint.post(COMPLETIONS, body)
        if r.status == 200:
            continue
        problems = []
        if r.status != 429:
            problems.append(f"HTTP {r.status} (accepted: 429)")
        if _error_code(r.body) != "rate_limit_exceeded":
            problems.append(f"error code {_error_code(r.body)!r} (accepted: rate_limit_exceeded)")
        if _int(r.headers.get("retry-after")) is None:
            problems.append(f"retry-after {r.headers.get('retry-after')!r}")
        missing = [h for h in BUDGET_HEADERS if h not in r.headers]
        if missing:
            problems.append(f"missing header(s) {', '.join(missing)}")
        elif _int(r.headers["x-ratelimit-limit-tokens"]) != limit:
            problems.append(f"x-ratelimit-limit-tokens {r.headers['x-ratelimit-limit-tokens']!r}")
        record(
            "budget refusal",
            not problems,
            "; ".join(problems)
            if problems
            else f"429 rate_limit_exceeded after {n} request(s), retry-after "
            f"{r.headers['retry-after']} s",
        )
        return
    record("budget refusal", False, f"no refusal in {MAX_EXHAUST_REQUESTS} requests")


class OwnLlmHolder(Protocol):
    """What the own-LLM checks read of a tenant (:class:`~tenantry.spec.ResolvedTenant`)."""

    @property
    def name(self) -> str: ...

    @property
    def llms(self) -> Sequence[ResolvedLlm]: ...


def verify_own_llm(
    tenant: OwnLlmHolder, endpoints: Mapping[str, OwnLlmEndpoint]
) -> list[CheckResult]:
    """The own-LLM checks of the module docstring for each of ``tenant``'s own LLMs that has
    an endpoint in ``endpoints`` (keyed by the LLM's ``name``); an LLM without one is
    reported skipped."""
    results: list[CheckResult] = []
    for llm in tenant.llms:
        served = llm.served_name
        record = _recorder(results, tenant.name, served, "own")
        endpoint = endpoints.get(llm.name)
        if endpoint is None:
            record("completion", True, "not checked: no --own-llm-url for it", skipped=True)
            continue
        try:
            _verify_own(served, llm.max_model_len, endpoint, record)
        except OSError as exc:
            record("endpoint", False, f"no reply: {exc}")
    return results


def _verify_own(
    served: str, max_model_len: int, endpoint: OwnLlmEndpoint, record: Callable[..., None]
) -> None:
    first = endpoint.post(COMPLETIONS, _request(served))
    if first.status != 200:
        problem: str | None = f"HTTP {first.status}: {json.dumps(first.body)[:200]}"
    elif not isinstance(first.body, dict) or not first.body.get("choices"):
        problem = "no choices in the response"
    elif first.body.get("model") != served:
        problem = f"model {first.body.get('model')!r}: asked for {served!r}"
    else:
        problem = _usage_problem(first.body)
    if problem is None:
        usage = first.body["usage"]
        detail = f"200, usage {usage['prompt_tokens']}+{usage['completion_tokens']} tokens"
    record("completion", problem is None, problem or detail)

    listed = endpoint.get("/v1/models")
    cards = listed.body.get("data") if isinstance(listed.body, dict) else None
    if listed.status != 200 or not isinstance(cards, list):
        record(
            "declared model",
            False,
            f"GET /v1/models: HTTP {listed.status} {json.dumps(listed.body)[:160]}",
        )
    else:
        ids = sorted(str(c.get("id")) for c in cards if isinstance(c, dict))
        mine = [c for c in cards if isinstance(c, dict) and c.get("id") == served]
        problems = []
        if ids != [served]:
            problems.append(f"serves {ids}: declared only [{served!r}]")
        if mine and mine[0].get("max_model_len") != max_model_len:
            problems.append(
                f"max_model_len {mine[0].get('max_model_len')!r}: declared maxModelLen "
                f"{max_model_len}"
            )
        record(
            "declared model",
            not problems,
            "; ".join(problems) or f"serves {served} only, max_model_len {max_model_len}",
        )

    r = endpoint.post(COMPLETIONS, _request(NOBODY))
    record(
        "unknown name refused",
        r.status == 404,
        f"404 for {NOBODY}"
        if r.status == 404
        else f"{NOBODY}: HTTP {r.status} {json.dumps(r.body)[:160]} (accepted: 404)",
    )
