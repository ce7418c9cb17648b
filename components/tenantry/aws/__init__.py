"""AWS side of a tenant: key, bucket, identity, dedicated node groups, provider.

Re-exports only. The Pulumi components are imported lazily so that the pure modules
(:mod:`.policy`, :mod:`.names`, :mod:`.tenant_policies`) can be used without Pulumi.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bucket import TenantBucket, TenantBucketArgs
    from .identity import TenantIdentity, TenantIdentityArgs
    from .kms_key import TenantKey, TenantKeyArgs
    from .names import TenantNames
    from .node_group import DedicatedNodeGroup, DedicatedNodeGroupArgs
    from .provider import tenant_provider
    from .tenant_aws import TenantAws, TenantAwsArgs

_EXPORTS = {
    "TenantAws": "tenant_aws",
    "TenantAwsArgs": "tenant_aws",
    "TenantKey": "kms_key",
    "TenantKeyArgs": "kms_key",
    "TenantBucket": "bucket",
    "TenantBucketArgs": "bucket",
    "TenantIdentity": "identity",
    "TenantIdentityArgs": "identity",
    "DedicatedNodeGroup": "node_group",
    "DedicatedNodeGroupArgs": "node_group",
    "tenant_provider": "provider",
    "TenantNames": "names",
}
__all__ = [
    "DedicatedNodeGroup",
    "DedicatedNodeGroupArgs",
    "TenantAws",
    "TenantAwsArgs",
    "TenantBucket",
    "TenantBucketArgs",
    "TenantIdentity",
    "TenantIdentityArgs",
    "TenantKey",
    "TenantKeyArgs",
    "TenantNames",
    "tenant_provider",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
