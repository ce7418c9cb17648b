"""Post-deploy verification of a tenant's models against a live Triton endpoint.

The names below load on first use, so that the CLI can read :mod:`.percentile`'s defaults
without importing numpy and tritonclient."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checks import CheckResult, verify_tenant
    from .endpoint import Endpoint, EndpointError, TensorSpec, TritonEndpoint

_WHERE = {
    "CheckResult": ".checks",
    "verify_tenant": ".checks",
    "Endpoint": ".endpoint",
    "EndpointError": ".endpoint",
    "TensorSpec": ".endpoint",
    "TritonEndpoint": ".endpoint",
}

__all__ = [
    "CheckResult",
    "Endpoint",
    "EndpointError",
    "TensorSpec",
    "TritonEndpoint",
    "verify_tenant",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
