"""Triton's administrative APIs, restricted to the platform (pure: no Pulumi, no pydantic; the
CrossGuard pack imports it).

Triton (server 2.41+, NGC 23.12+; measured here on tritonserver 2.51.0) can require an extra
header on chosen API groups: ``--http-restricted-api=<apis>:<key>=<value>`` for HTTP/REST and
``--grpc-restricted-protocol=<protocols>:<key>=<value>`` for gRPC, where a gRPC client sends
the header as ``triton-grpc-protocol-<key>``. Groups: health, metadata, inference,
shared-memory, model-config, model-repository, statistics, trace, logging (``tritonserver
--help``; Triton docs, "Inference Protocols and APIs", section "Limit Endpoint Access").

Restricted here (:data:`ADMIN_APIS`): ``model-repository`` (repository index, load/unload),
``logging`` and ``trace`` (server-wide settings: verbose logging is a cheap denial of service),
``shared-memory`` (registering host/CUDA shared-memory regions) and ``statistics``. Callers
keep health, metadata, model-config and inference. The model-control mode is pinned to
``none`` (:data:`MODEL_CONTROL_MODE`): Triton loads the repository at start and never changes
it, so even the key cannot load or unload a model.

The header value (:func:`admin_key`) is derived from a platform secret and the tenant's name
(HMAC-SHA256, RFC 2104), so only the platform can compute it and no tenant's key opens
another tenant's server. That secret is its own platform stack config,
:data:`ADMIN_SECRET_CONFIG` (``pulumi config set --secret tenantry:tritonAdminSecret -s
platform``), exported to tenant stacks as the secret output ``tritonAdminSecret``: it rotates
without touching the vector database's password (docs/platform.md, "Rotating the Triton admin
secret"). Pods read it from the Secret :data:`ADMIN_SECRET` in the tenant's
namespace (tenant admins cannot read Secrets, see :mod:`tenantry.k8s.namespace`); Kubernetes
expands ``$(TRITON_ADMIN_KEY)`` in the container's args from that env var.
"""

from __future__ import annotations

import hashlib
import hmac

ADMIN_APIS: tuple[str, ...] = (
    "logging",
    "model-repository",
    "shared-memory",
    "statistics",
    "trace",
)
ADMIN_HEADER = "tenantry-triton-admin"  # HTTP header; gRPC metadata: triton-grpc-protocol-<this>
ADMIN_SECRET = "tenantry-triton-admin"  # Secret in the tenant namespace, key ADMIN_SECRET_KEY
ADMIN_SECRET_KEY = "key"
ADMIN_ENV = "TRITON_ADMIN_KEY"
MODEL_CONTROL_MODE = "none"
ADMIN_SECRET_CONFIG = "tenantry:tritonAdminSecret"  # the platform stack's secret config
_CONTEXT = b"tenantry/triton-admin/v1/"


def checked_secret(platform_secret: str) -> str:
    """``platform_secret`` when it is usable as the key of :func:`admin_key`; ValueError naming
    :data:`ADMIN_SECRET_CONFIG` when it is empty or only whitespace."""
    if not platform_secret.strip():
        raise ValueError(
            f"{ADMIN_SECRET_CONFIG}: empty; the tenants' Triton admin keys are derived from it "
            f"(set one: pulumi config set --secret {ADMIN_SECRET_CONFIG} <value> -s platform)"
        )
    return platform_secret


def admin_key(platform_secret: str, tenant: str) -> str:
    """The header value that opens ``tenant``'s Triton admin APIs: hex HMAC-SHA256 of the
    tenant's name under ``platform_secret`` (64 hex characters); ValueError when the secret
    is empty (:func:`checked_secret`)."""
    checked_secret(platform_secret)
    return hmac.new(
        platform_secret.encode(), _CONTEXT + tenant.encode(), hashlib.sha256
    ).hexdigest()


def admin_args(value: str = f"$({ADMIN_ENV})") -> list[str]:
    """Triton arguments that pin the model-control mode and restrict :data:`ADMIN_APIS` on
    HTTP and gRPC to requests carrying :data:`ADMIN_HEADER` = ``value`` (default: the env
    var Kubernetes expands from the Secret)."""
    apis = ",".join(ADMIN_APIS)
    return [
        f"--model-control-mode={MODEL_CONTROL_MODE}",
        f"--http-restricted-api={apis}:{ADMIN_HEADER}={value}",
        f"--grpc-restricted-protocol={apis}:{ADMIN_HEADER}={value}",
    ]


def restricted(args: list[str], flag: str) -> set[str]:
    """The API groups a list of Triton arguments restricts with ``flag``
    (``--http-restricted-api`` or ``--grpc-restricted-protocol``), with a non-empty key and
    value; repeated flags add up (Triton keeps one header per API group)."""
    found: set[str] = set()
    for a in args:
        if not a.startswith(f"{flag}="):
            continue
        apis, _, header = a.split("=", 1)[1].partition(":")
        key, _, value = header.partition("=")
        if key and value:
            found |= {x for x in apis.split(",") if x}
    return found


def model_control_mode(args: list[str]) -> str:
    """The ``--model-control-mode`` a list of Triton arguments sets (last wins; Triton's
    default ``none`` when absent)."""
    mode = MODEL_CONTROL_MODE
    for a in args:
        if a.startswith("--model-control-mode="):
            mode = a.split("=", 1)[1]
    return mode
