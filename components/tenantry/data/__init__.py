"""Vector-database namespaces: backend protocol, pgvector backend, provider and component."""

from .backend import (
    DataLossError,
    NamespaceError,
    NamespaceSpec,
    NamespaceState,
    ProvisioningBlocked,
    RoleLimits,
    TenantState,
    TenantStore,
    VectorBackend,
)
from .names import IdentifierError, check_identifier, tenant_identifier

__all__ = [
    "DataLossError",
    "IdentifierError",
    "NamespaceError",
    "NamespaceSpec",
    "NamespaceState",
    "ProvisioningBlocked",
    "RoleLimits",
    "TenantState",
    "TenantStore",
    "VectorBackend",
    "check_identifier",
    "tenant_identifier",
]
