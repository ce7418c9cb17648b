"""Post-deploy verification of a tenant's models against a live Triton endpoint."""

from .checks import CheckResult, verify_tenant
from .endpoint import Endpoint, EndpointError, TensorSpec, TritonEndpoint

__all__ = [
    "CheckResult",
    "Endpoint",
    "EndpointError",
    "TensorSpec",
    "TritonEndpoint",
    "verify_tenant",
]
