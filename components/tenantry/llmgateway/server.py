"""The HTTP layer (aiohttp): identity, then the pure decisions of :mod:`.policy`, the limits
of :mod:`.limits`, forwarding to the base model's runtime, metering from the response.

One request, in order: no identity -> 401; a path outside the allow-list or blocked -> 404;
``GET /v1/models`` -> the caller's own models (answered here); a body that is not a JSON
object, or whose ``stream`` is not a JSON boolean -> 400; a model outside the caller's list
-> 404 ``model_not_found``; a body field outside the path's allow-list -> 400
``body_field``; a ``max_tokens`` / ``n`` that is not a positive integer -> 400 (otherwise the
completion limit is clamped to, or set at, the tokens-per-minute bound, shared by the
request's sequences, ``n`` x prompts); more sequences than ``maxConcurrentRequests`` -> 400;
an empty token bucket -> 429 ``token_budget``; fewer free ``maxConcurrentRequests`` leases
than its sequences (it holds one per sequence) -> 429 ``concurrency``; otherwise the
rewritten body goes to the base model's upstream and the answer comes back with the bucket's
``x-ratelimit-*`` headers, charged with ``usage.total_tokens`` (a stream: from its last
chunk, after it ends; its headers show the level before the charge).

While the gateway drains (:meth:`Gateway.drain`, on SIGTERM) every new request gets 503
``service_unavailable`` with ``Connection: close`` before anything else is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import (
    ClientConnectorCertificateError,
    ClientError,
    ClientSession,
    ClientTimeout,
    TCPConnector,
    web,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import policy
from .identity import TENANT_HEADER, XFCC_HEADER, caller_of
from .limits import BucketState, Limits
from .metrics import GatewayMetrics
from .routes import ModelRoute, Routes, RoutesError, load_routes
from .tls import UpstreamTrust

log = logging.getLogger("tenantry.llmgateway")
MAX_BODY_BYTES = 8 * 1024 * 1024
REQUEST_ID = "X-Request-Id"
_FORWARDED_HEADERS = ("Accept", REQUEST_ID)  # never the caller's XFCC or credentials


@dataclass
class GatewayConfig:
    """``upstreams`` maps each base model name to its runtime's base URL."""

    routes: Routes
    upstreams: Mapping[str, str]
    salt_key: bytes | None = None
    trust_domain: str | None = None
    ingress_identities: frozenset[str] = frozenset()  # SPIFFE IDs of the Istio ingress
    upstream_timeout_s: float = 600.0
    # the longest a forwarded request may take, streamed or not (arrival to its last byte
    # from the runtime): leases lapse a minute after it, a drain waits at most that long
    max_request_s: float = 600.0
    # what https upstreams are verified against (cli --upstream-ca, re-read when the files
    # change); None: the system's CAs
    upstream_trust: UpstreamTrust | None = None
    routes_path: Path | None = None  # reloaded when it changes (a ConfigMap update)
    reload_interval_s: float = 10.0
    started: int = field(default_factory=lambda: int(time.time()))


def _error(refusal: policy.Refusal, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(refusal.body(), status=refusal.status, headers=headers)


def _openai_error(status: int, message: str, code: str, kind: str) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status)


class Gateway:
    def __init__(self, config: GatewayConfig, limits: Limits, metrics: GatewayMetrics) -> None:
        self.config = config
        self.routes = config.routes
        self.limits = limits
        self.metrics = metrics
        metrics.known(self.routes)
        self._session: ClientSession | None = None
        self._routes_stamp: tuple[int, int] | None = None
        self._reloader: asyncio.Task[None] | None = None
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle ---------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    def metrics_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def drain(self, timeout_s: float) -> bool:
        """Stop taking requests and wait up to ``timeout_s`` for those in flight (streams
        included) to end. From the call on, ``/readyz`` answers 503 and every new API
        request 503 ``service_unavailable`` with ``Connection: close``; ``/healthz`` and
        ``/metrics`` keep answering. True when nothing was left in flight."""
        self.draining = True
        log.info("draining: %d request(s) in flight, waiting up to %gs", self._in_flight,
                 timeout_s)  # fmt: skip
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            log.error("drain timed out with %d request(s) in flight", self._in_flight)
            return False
        log.info("drained")
        return True

    async def _start(self, _app: web.Application) -> None:
        # No pool limit: maxConcurrentRequests bounds what each tenant has in flight.
        self._session = ClientSession(
            connector=TCPConnector(limit=0),
            timeout=ClientTimeout(
                total=self.config.max_request_s, sock_read=self.config.upstream_timeout_s
            ),
        )
        if self.config.routes_path is not None:
            self._routes_stamp = self._stamp(self.config.routes_path)
        if self.config.routes_path is not None or self.config.upstream_trust is not None:
            self._reloader = asyncio.create_task(self._reload_loop(self.config.routes_path))

    async def _stop(self, _app: web.Application) -> None:
        if self._reloader is not None:
            self._reloader.cancel()
        if self._session is not None:
            await self._session.close()

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    async def _reload_loop(self, path: Path | None) -> None:
        """Reload the routes when their file changes, and the upstream CA files when they
        change; a bad file keeps the last good routes or CAs (a ConfigMap or Secret volume
        swaps its files through a symlink, so the stat follows it)."""
        while True:
            await asyncio.sleep(self.config.reload_interval_s)
            trust = self.config.upstream_trust
            if trust is not None:
                problem = trust.refresh()
                if problem:
                    log.error("upstream CAs not reloaded, keeping the previous ones: %s", problem)
                elif problem == "":
                    log.info("upstream CAs reloaded from %s", ", ".join(map(str, trust.files)))
            if path is None:
                continue
            stamp = self._stamp(path)
            if stamp is None or stamp == self._routes_stamp:
                continue
            self._routes_stamp = stamp
            try:
                routes = load_routes(path)
            except RoutesError as exc:
                log.error("routes not reloaded, keeping the previous ones: %s", exc)
                continue
            missing = routes.base_models - set(self.config.upstreams)
            if missing:
                log.error(
                    "routes not reloaded, keeping the previous ones: %s: no --upstream for "
                    "base model(s) %s",
                    path,
                    ", ".join(sorted(missing)),
                )
                continue
            self.metrics.known(routes)
            self.routes = routes
            log.info("routes reloaded from %s (%d tenants)", path, len(routes.tenants))

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def _healthz(self, _request: web.Request) -> web.Response:
        """Liveness: the process serves (also while it drains)."""
        return web.json_response({"status": "ok", "tenants": len(self.routes.tenants)})

    async def _readyz(self, _request: web.Request) -> web.Response:
        """Readiness: 503 from the start of a drain (SIGTERM), so the endpoint leaves the
        Service; the Redis state is not probed (its loss answers 503 per request)."""
        if self.draining:
            return web.json_response({"status": "draining"}, status=503)
        return web.json_response({"status": "ready", "tenants": len(self.routes.tenants)})

    # -- one request -------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.draining:
            body = {
                "error": {
                    "message": "The gateway is shutting down; retry the request.",
                    "type": "server_error",
                    "param": None,
                    "code": "service_unavailable",
                }
            }
            return web.json_response(body, status=503, headers={"Connection": "close"})
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._handle(request)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        routes = self.routes
        caller = caller_of(
            request.headers.get(XFCC_HEADER),
            request.headers.get(TENANT_HEADER),
            trust_domain=self.config.trust_domain,
            ingress_identities=self.config.ingress_identities,
        )
        if caller is None:
            self.metrics.reject("", "", "no_identity")
            return _error(policy.no_identity())
        # the caller's namespace: a tenant's own, or one that tenants list as their callers
        namespace = caller.tenant
        label = routes.label_of(namespace)
        refusal = policy.path_refusal(routes, request.method, request.path)
        if refusal is not None:
            self.metrics.reject(label, "", refusal.reason)
            return _error(refusal)
        if request.path == policy.MODELS:
            return web.json_response(policy.models_listing(routes, namespace, self.config.started))
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _openai_error(
                400, "The request body is not a JSON object.", "invalid_json",
                "invalid_request_error",
            )  # fmt: skip
        problem = policy.invalid_body(body)
        if problem is not None:
            return _openai_error(400, problem, "invalid_value", "invalid_request_error")
        model = policy.resolve_model(routes, namespace, body)
        if isinstance(model, policy.Refusal):
            self.metrics.reject(label, "", model.reason)
            return _error(model)
        refusal = policy.field_refusal(request.path, body)
        if refusal is not None:
            self.metrics.reject(model.tenant, model.served_name, refusal.reason)
            self.metrics.request(model, refusal.status)
            return _error(refusal)
        problem = policy.content_problem(request.path, body)
        if problem is not None:
            self.metrics.request(model, 400)
            return _openai_error(400, problem, "invalid_value", "invalid_request_error")
        clamped = policy.clamp_max_tokens(request.path, body, model)
        if isinstance(clamped, str):
            self.metrics.request(model, 400)
            return _openai_error(400, clamped, "invalid_value", "invalid_request_error")
        too_many = policy.sequence_refusal(request.path, clamped, model)
        if too_many is not None:
            self.metrics.request(model, 400)
            return _openai_error(400, too_many, "invalid_value", "invalid_request_error")
        seqs = policy.sequences(request.path, clamped)
        return await self._limited(request, routes, model, clamped, seqs)

    async def _acquire(self, key: str, m: ModelRoute, count: int) -> list[str] | None:
        """``count`` concurrency leases of ``key`` (one per sequence the request makes the
        runtime run, :func:`policy.sequences`), or None, holding none, when fewer are free."""
        leases: list[str] = []
        for _ in range(count):
            lease = await self.limits.acquire(key, m.max_concurrent_requests)
            if lease is None:
                await self._release(key, leases)
                return None
            leases.append(lease)
        return leases

    async def _release(self, key: str, leases: list[str]) -> None:
        try:
            for lease in leases:
                await self.limits.release(key, lease)
        except Exception as exc:  # the lease lapses by itself (RedisLimits.lease_s)
            log.error("could not release a concurrency lease of %s: %s", key, exc)

    async def _limited(
        self,
        request: web.Request,
        routes: Routes,
        m: ModelRoute,
        body: dict[str, Any],
        sequences: int,
    ) -> web.StreamResponse:
        key = f"{m.tenant}/{m.served_name}"
        start = time.monotonic()
        try:
            state = await self.limits.peek(key, m.tokens_per_minute)
            if not state.admits:
                return self._refuse(m, state, "token_budget", "tokens per minute")
            leases = await self._acquire(key, m, sequences)
            if leases is None:
                return self._refuse(m, state, "concurrency", "concurrent requests")
        except Exception as exc:  # Redis unreachable: fail closed, say why
            log.error("rate-limit state unavailable: %s", exc)
            self.metrics.request(m, 503)
            return _openai_error(
                503, "Rate-limit state unavailable.", "service_unavailable", "server_error"
            )
        try:
            upstream_body = policy.rewrite(
                body, routes, m.tenant, self.config.salt_key, m.upstream_model
            )
            if upstream_body.get("stream") is True:
                response = await self._stream(request, m, body, upstream_body, state, key)
            else:
                response = await self._forward(request, m, upstream_body, key)
            self.metrics.observe(m, time.monotonic() - start)
            return response
        finally:
            await self._release(key, leases)

    def _refuse(self, m: ModelRoute, state: BucketState, reason: str, what: str) -> web.Response:
        self.metrics.reject(m.tenant, m.served_name, reason)
        self.metrics.request(m, 429)
        body = {
            "error": {
                "message": f"Rate limit reached for {m.served_name} on {what}.",
                "type": "requests" if reason == "concurrency" else "tokens",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
        headers = state.headers(refused=True)
        return web.json_response(body, status=429, headers=headers)

    def _upstream_ssl(self) -> ssl.SSLContext | bool:
        trust = self.config.upstream_trust
        return trust.context if trust is not None else True

    def _upstream_url(self, m: ModelRoute, path: str) -> str:
        return self.config.upstreams[m.base_model].rstrip("/") + path

    @staticmethod
    def _upstream_headers(request: web.Request, tenant: str) -> dict[str, str]:
        """``Content-Type``, the caller's ``Accept`` and its ``X-Request-Id`` scoped to
        ``tenant`` (``<tenant>/<id>``): vLLM makes that header the engine's request id
        (vLLM 0.32.0 ``vllm/entrypoints/serve/engine/serving.py``, ``_base_request_id``),
        an identifier all tenants of the runtime share, as the refused body ``request_id``
        would be."""
        h = {"Content-Type": "application/json"}
        for name in _FORWARDED_HEADERS:
            if name in request.headers:
                h[name] = request.headers[name]
        if REQUEST_ID in h:
            h[REQUEST_ID] = f"{tenant}/{h[REQUEST_ID]}"
        return h

    async def _settle(
        self, m: ModelRoute, key: str, usage: Any, fallback_tokens: int = 0
    ) -> BucketState | None:
        """Meter ``usage`` and charge the bucket with its ``total_tokens`` (without usage:
        ``fallback_tokens``); the bucket after it, or None when its state is unreachable
        (logged; the answer still goes out)."""
        tokens = fallback_tokens
        if isinstance(usage, dict):
            prompt = _count(usage.get("prompt_tokens"))
            completion = _count(usage.get("completion_tokens"))
            tokens = _count(usage.get("total_tokens")) or prompt + completion
            self.metrics.usage(m, prompt, completion)
        try:
            return await self.limits.charge(key, m.tokens_per_minute, tokens)
        except Exception as exc:
            log.error("could not charge %d tokens to %s: %s", tokens, key, exc)
            return None

    def _upstream_post(self, request: web.Request, m: ModelRoute, body: dict[str, Any]) -> Any:
        """The request to ``m``'s runtime (``async with``: the aiohttp response): the caller's
        path, the rewritten ``body``, the forwarded headers and the upstream's TLS trust."""
        assert self._session is not None
        return self._session.post(
            self._upstream_url(m, request.path),
            json=body,
            headers=self._upstream_headers(request, m.tenant),
            ssl=self._upstream_ssl(),
        )

    async def _forward(
        self, request: web.Request, m: ModelRoute, upstream_body: dict[str, Any], key: str
    ) -> web.Response:
        assert self._session is not None
        try:
            async with self._upstream_post(request, m, upstream_body) as up:
                raw = await up.read()
                status, content_type = up.status, up.headers.get("Content-Type", "")
        except (ClientError, TimeoutError) as exc:
            _log_upstream_failure(m.base_model, exc)
            self.metrics.request(m, 502)
            return _openai_error(502, "The model's runtime did not answer.", "bad_gateway",
                                 "server_error")  # fmt: skip
        usage = None
        if status == 200:
            try:
                out = json.loads(raw)
            except ValueError:
                out = None
            usage = out.get("usage") if isinstance(out, dict) else None
            if isinstance(out, dict) and m.upstream_model != m.served_name:
                raw = _served_model(out, m)
        elif status == 404:
            raw, content_type = _not_served(m), "application/json"
        state = await self._settle(m, key, usage)
        self.metrics.request(m, status)
        headers = {
            "Content-Type": content_type or "application/json",
            **(state.headers() if state else {}),
        }
        return web.Response(body=raw, status=status, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        m: ModelRoute,
        caller_body: dict[str, Any],
        upstream_body: dict[str, Any],
        state: BucketState,
        key: str,
    ) -> web.StreamResponse:
        """Relay the server-sent events. Every chunk carries the usage of its sequence so far
        (forced); the final usage chunk, or else the sum over the sequences
        (:class:`UsageTally`), is what is metered and charged when the stream ends, also
        when the caller leaves early. The forced usage is removed from what the caller gets
        unless it asked for it. Without any usage (a runtime that ignores the option) the charge is
        the number of content chunks relayed, a lower bound of the tokens generated."""
        assert self._session is not None
        keep_final, keep_each = policy.caller_wants_usage(caller_body)
        n = upstream_body.get("n")
        tally = UsageTally(n if isinstance(n, int) and not isinstance(n, bool) else 1)
        chunks = 0
        response: web.StreamResponse | None = None
        status = 502
        try:
            async with self._upstream_post(request, m, upstream_body) as up:
                status = up.status
                if status != 200:
                    raw = await up.read()
                    content_type = up.headers.get("Content-Type", "application/json")
                    if status == 404:
                        raw, content_type = _not_served(m), "application/json"
                    self.metrics.request(m, status)
                    return web.Response(
                        body=raw,
                        status=status,
                        headers={"Content-Type": content_type, **state.headers()},
                    )
                response = web.StreamResponse(
                    status=200,
                    headers={
                        "Content-Type": up.headers.get("Content-Type", "text/event-stream"),
                        "Cache-Control": "no-cache",
                        **state.headers(),
                    },
                )
                await response.prepare(request)
                event: list[bytes] = []
                async for line in up.content:
                    event.append(line)
                    if line.strip():
                        continue
                    out, _ = _inspect_event(event, keep_final, keep_each, tally, m)
                    chunks += 1
                    if out:
                        await response.write(out)
                    event = []
                if event:
                    await response.write(b"".join(event))
                await response.write_eof()
        except (ClientError, TimeoutError, ConnectionResetError) as exc:
            if response is None:
                _log_upstream_failure(m.base_model, exc)
            else:
                log.error("stream of %s ended early: %s", m.served_name, exc)
            if response is None:
                self.metrics.request(m, 502)
                return _openai_error(502, "The model's runtime did not answer.", "bad_gateway",
                                     "server_error")  # fmt: skip
        finally:
            if response is not None:
                await self._settle(m, key, tally.usage(), fallback_tokens=max(chunks - 1, 0))
                self.metrics.request(m, status)
        assert response is not None
        return response


def _log_upstream_failure(base_model: str, exc: BaseException) -> None:
    """One line per failed forward; a certificate the gateway does not trust says so (the
    request failed closed: nothing was sent)."""
    if isinstance(exc, ClientConnectorCertificateError):
        log.error(
            "upstream %s refused: its TLS certificate is not trusted (check --upstream-ca): %s",
            base_model,
            exc.certificate_error,
        )
    else:
        log.error("upstream %s failed: %s", base_model, exc)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class UsageTally:
    """The usage of a stream so far, over all its sequences. With ``continuous_usage_stats``
    vLLM puts in each chunk the usage of that chunk's own sequence only: a completion's
    choice ``index`` is ``choice + prompt x n`` and its usage counts that prompt and that
    choice (vLLM 0.32.0 ``vllm/entrypoints/openai/completion/serving.py``); a chat's counts
    its one prompt and that choice (``.../chat_completion/serving.py``). Only the final
    usage chunk (``choices: []``) holds the request's total. A stream cut before it is
    charged the sum: each prompt once, every sequence's completion tokens."""

    def __init__(self, n: int) -> None:
        self.n = max(n, 1)
        self.final: dict[str, Any] | None = None
        self.last: dict[int, dict[str, Any]] = {}  # choice index -> its latest usage

    def add(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if not isinstance(usage, dict):
            return
        choices = chunk.get("choices")
        if not choices:
            self.final = usage
            return
        for choice in choices if isinstance(choices, list) else []:
            index = choice.get("index", 0) if isinstance(choice, dict) else 0
            self.last[index if isinstance(index, int) else 0] = usage

    def usage(self) -> dict[str, Any] | None:
        if self.final is not None or not self.last:
            return self.final
        prompts = {i // self.n: _count(u.get("prompt_tokens")) for i, u in self.last.items()}
        prompt = sum(prompts.values())
        completion = sum(_count(u.get("completion_tokens")) for u in self.last.values())
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


def _not_served(m: ModelRoute) -> bytes:
    """The body of the runtime's 404 for a routed model, as the caller sees it: the gateway's
    own ``model_not_found`` for the served name (vLLM's names the runtime's name of the
    adapter version and the base model). It happens while the runtime has not yet published
    a version the routes already name (docs/llm.md "Changes"); logged."""
    log.warning(
        "upstream %s does not serve %s (yet): answered 404 for %s",
        m.base_model,
        m.upstream_model,
        m.served_name,
    )
    return json.dumps(policy.model_not_found(m.served_name).body()).encode()


def _served_model(answer: dict[str, Any], m: ModelRoute) -> bytes:
    """``answer`` as the caller sees it: its ``model`` (the runtime's name of the adapter,
    :attr:`ModelRoute.upstream_model`) replaced by the served name the caller asked for."""
    if answer.get("model") == m.upstream_model:
        answer["model"] = m.served_name
    return json.dumps(answer, separators=(",", ":")).encode()


def _inspect_event(
    event: list[bytes],
    keep_final: bool,
    keep_each: bool,
    tally: UsageTally | None = None,
    m: ModelRoute | None = None,
) -> tuple[bytes, Any]:
    """(what to relay of this event, its ``usage`` when it carries one; each chunk with a
    usage is also added to ``tally``). The usage-only final chunk (``choices: []``) goes
    only to a caller that asked ``include_usage``; the usage in other chunks only to one
    that asked ``continuous_usage_stats``. With ``m`` whose runtime name differs from its
    served name, each chunk's ``model`` is the served name."""
    out: list[bytes] = []
    usage: Any = None
    rename = m is not None and m.upstream_model != m.served_name
    for line in event:
        payload = line[5:].strip() if line.startswith(b"data:") else b""
        try:
            chunk = json.loads(payload) if payload and payload != b"[DONE]" else None
        except ValueError:
            chunk = None
        if rename and isinstance(chunk, dict) and m is not None:
            line = b"data: " + _served_model(chunk, m) + b"\n"
        if not isinstance(chunk, dict) or not isinstance(chunk.get("usage"), dict):
            out.append(line)
            continue
        usage = chunk["usage"]
        if tally is not None:
            tally.add(chunk)
        if not chunk.get("choices"):
            if not keep_final:
                return b"", usage
            out.append(line)
        elif keep_each:
            out.append(line)
        else:
            del chunk["usage"]
            out.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n")
    return b"".join(out), usage
