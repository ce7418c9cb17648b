"""The gateway's Prometheus metrics (prometheus-client), names and labels fixed by the
gateway contract (metering rules, branch meter20, are written against them):

- ``tenantry_llm_requests_total{tenant, model, base_model, adapter, code}``: every request
  for one of the caller's own served models, by final HTTP status (the upstream's, the
  gateway's 429 or 502/503);
- ``tenantry_llm_prompt_tokens_total`` / ``tenantry_llm_completion_tokens_total``
  ``{tenant, model, base_model, adapter}``: from each response's ``usage``;
- ``tenantry_llm_rejected_total{tenant, model, reason}``: the gateway's own refusals.
  ``model`` is the served model for ``token_budget`` and ``concurrency``, and ``""`` for
  ``model_not_found``, ``blocked_path`` and ``no_identity`` (a caller-chosen string as a label
  value would let any caller grow the series without bound); ``tenant`` is ``""`` only for
  ``no_identity``;
- ``tenantry_llm_request_duration_seconds{tenant, base_model}``: histogram of forwarded
  requests, from arrival to the last byte of the response.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from .routes import ModelRoute

MODEL_LABELS = ("tenant", "model", "base_model", "adapter")
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
