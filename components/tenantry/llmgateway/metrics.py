"""The gateway's Prometheus metrics (prometheus-client), names and labels fixed by the
gateway contract (metering rules, branch meter20, are written against them):

- ``tenantry_llm_requests_total{tenant, model, base_model, adapter, code}``: every request
  for one of the caller's own served models, by final HTTP status (the upstream's, the
  gateway's 400 for a refused body field or completion limit, 429 or 502/503);
- ``tenantry_llm_prompt_tokens_total`` / ``tenantry_llm_completion_tokens_total``
  ``{tenant, model, base_model, adapter}``: from each response's ``usage``;
- ``tenantry_llm_rejected_total{tenant, model, reason}``: the gateway's own refusals.
  ``model`` is the served model for ``token_budget``, ``concurrency`` and ``body_field``
  (a body field outside the path's allow-list, :data:`.policy.BODY_FIELDS`; the field
  itself is named in the 400 answer, never in a label), and ``""`` for
  ``model_not_found``, ``blocked_path`` and ``no_identity`` (a caller-chosen string as a label
  value would let any caller grow the series without bound); ``tenant`` is ``""`` only for
  ``no_identity``;
- ``tenantry_llm_request_duration_seconds{tenant, base_model}``: histogram of forwarded
  requests, from arrival to the last byte of the response.

Every series a routed model can have is exported at 0 as soon as the routes are known
(:meth:`GatewayMetrics.known`): Prometheus' ``rate()``/``increase()`` need a sample before the
first increment, so a series that appears with its first request loses that request (measured
with the real gateway and Prometheus: 24 prompt tokens counted as 6.1, a single 429 never seen).
Per-status series are created at 0 for the statuses the gateway itself answers and the
upstream's success (``MODEL_CODES``); other upstream statuses appear with their first request.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

from .routes import ModelRoute, Routes

MODEL_LABELS = ("tenant", "model", "base_model", "adapter")
MODEL_CODES = ("200", "400", "429", "502", "503")  # upstream success; the gateway's own answers
MODEL_REASONS = ("token_budget", "concurrency", "body_field")  # refusals that name the served model
TENANT_REASONS = ("model_not_found", "blocked_path")  # refusals with model ""
# LLM requests run from ~0.1 s (a short completion) to minutes (long generations).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class GatewayMetrics:
    """The gateway's collectors on their own ``registry`` (one per gateway in a process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tenantry_llm_requests",
            "Requests for a caller's own served model, by final HTTP status.",
            [*MODEL_LABELS, "code"],
            registry=r,
        )
        self.prompt_tokens = Counter(
            "tenantry_llm_prompt_tokens",
            "Prompt tokens of answered requests (response usage.prompt_tokens).",
            MODEL_LABELS,
            registry=r,
        )
        self.completion_tokens = Counter(
            "tenantry_llm_completion_tokens",
            "Completion tokens of answered requests (response usage.completion_tokens).",
            MODEL_LABELS,
            registry=r,
        )
        self.rejected = Counter(
            "tenantry_llm_rejected",
            "Requests the gateway refused itself, by reason.",
            ["tenant", "model", "reason"],
            registry=r,
        )
        self.duration = Histogram(
            "tenantry_llm_request_duration_seconds",
            "Forwarded requests, arrival to the last byte of the response.",
            ["tenant", "base_model"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )

    def known(self, routes: Routes | Iterable[ModelRoute]) -> None:
        """Export every series of ``routes``' models (and their tenants' refusals) at 0, so
        that the first request of each is seen by ``rate()``. Idempotent; call it whenever
        routes are loaded. A model that left the routes keeps its series (a counter must not
        vanish while Prometheus may still read its last value)."""
        models = (
            [m for t in routes.tenants.values() for m in t.models.values()]
            if isinstance(routes, Routes)
            else list(routes)
        )
        for m in models:
            labels = self._labels(m)
            self.prompt_tokens.labels(**labels)
            self.completion_tokens.labels(**labels)
            for code in MODEL_CODES:
                self.requests.labels(**labels, code=code)
            for reason in MODEL_REASONS:
                self.rejected.labels(tenant=m.tenant, model=m.served_name, reason=reason)
            self.rejected.labels(tenant=m.tenant, model="", reason=TENANT_REASONS[0])
            self.rejected.labels(tenant=m.tenant, model="", reason=TENANT_REASONS[1])
        self.rejected.labels(tenant="", model="", reason="no_identity")

    @staticmethod
    def _labels(m: ModelRoute) -> dict[str, str]:
        return {
            "tenant": m.tenant,
            "model": m.served_name,
            "base_model": m.base_model,
            "adapter": m.adapter,
        }

    def request(self, m: ModelRoute, code: int) -> None:
        self.requests.labels(**self._labels(m), code=str(code)).inc()

    def usage(self, m: ModelRoute, prompt: int, completion: int) -> None:
        self.prompt_tokens.labels(**self._labels(m)).inc(prompt)
        self.completion_tokens.labels(**self._labels(m)).inc(completion)

    def reject(self, tenant: str, model: str, reason: str) -> None:
        self.rejected.labels(tenant=tenant, model=model, reason=reason).inc()

    def observe(self, m: ModelRoute, seconds: float) -> None:
        self.duration.labels(tenant=m.tenant, base_model=m.base_model).observe(seconds)
