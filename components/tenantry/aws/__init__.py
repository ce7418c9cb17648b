"""AWS side of a tenant: key, bucket, identity, dedicated node groups, provider.

Re-exports only. The Pulumi components are imported lazily so that the pure modules
(:mod:`.policy`, :mod:`.names`, :mod:`.tenant_policies`) can be used without Pulumi.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TenantAws": "tenant_aws",
    "TenantAwsArgs": "tenant_aws",
    "TenantKey": "kms_key",
    "TenantBucket": "bucket",
    "TenantIdentity": "identity",
    "PodIdentity": "identity",
    "Irsa": "identity",
    "DedicatedNodeGroup": "node_group",
    "NodeGroupPlatform": "node_group",
    "tenant_provider": "provider",
    "TenantNames": "names",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
