"""Tenantry's LLM gateway: per-tenant rules in front of a shared vLLM runtime.

vLLM has no notion of a tenant (docs/llm.md, "The gaps"): any caller that reaches it may name
any loaded adapter, choose its own scheduling ``priority`` and ``cache_salt``, load or unload
adapters, and spend the runtime without limit. The gateway sits between the tenants and every
shared base-model runtime in namespace ``tenantry-llm`` and, per caller identity (the mesh
identity in ``X-Forwarded-Client-Cert``, :mod:`.identity`):

- pins the caller to its own served models (404 ``model_not_found`` for anything else) and
  to the OpenAI-compatible paths (404 for the rest), :mod:`.policy`;
- overwrites ``priority`` and ``cache_salt`` on every request, :mod:`.policy`;
- enforces ``tokensPerMinute`` and ``maxConcurrentRequests`` per tenant and served model,
  in process or in Redis, :mod:`.limits`;
- counts requests, tokens, refusals and durations for metering, :mod:`.metrics`.

Run::

    python -m tenantry.llmgateway --routes /etc/tenantry/routes.json \\
        --upstream llama-3-8b=http://tenantry-llm-llama-3-8b.tenantry-llm.svc:8000 \\
        --salt-key-file /etc/tenantry/salt/key \\
        [--redis redis://redis:6379/0 --redis-password-file /etc/tenantry/redis/password] \\
        --port 8080 --metrics-port 9090

The routes are what :func:`tenantry.k8s.llm_inference_service.tenant_llm_routes` renders
(ConfigMap ``tenantry-llm/tenantry-llm-routes``, key ``routes.json``); the gateway reloads
them when the file changes. ``/metrics``, ``/healthz`` (liveness) and ``/readyz`` (readiness,
503 from SIGTERM on) are served on the metrics port only. On SIGTERM it drains: new requests
get 503, those in flight (streams included) finish, at most ``--max-request-seconds``
(:meth:`Gateway.drain`). ``--redis-password-file`` holds Redis' password. Needs the
``tenantry[gateway]`` extra (aiohttp, redis).
"""

from __future__ import annotations

from .identity import Caller, caller_from_xfcc
from .limits import BucketState, MemoryLimits, RedisLimits
from .metrics import GatewayMetrics
from .routes import ModelRoute, Routes, RoutesError, TenantRoute, load_routes, parse_routes
from .server import Gateway, GatewayConfig

__all__ = [
    "BucketState",
    "Caller",
    "Gateway",
    "GatewayConfig",
    "GatewayMetrics",
    "MemoryLimits",
    "ModelRoute",
    "RedisLimits",
    "Routes",
    "RoutesError",
    "TenantRoute",
    "caller_from_xfcc",
    "load_routes",
    "parse_routes",
]
