"""Names and tags of the platform's own resources (pure, no Pulumi).

Tags: :func:`tenantry.tags.platform_tags` (the one tag policy).
"""

from __future__ import annotations

from ..spec import PLATFORM_STACK, PlatformSettings
from ..spec.platform import Cluster


def prefix(settings: PlatformSettings) -> str:
    """``tenantry-platform-<environment>``: AWS names of the platform's resources (tenant
    resources are ``tenantry-<tenant>-...`` and no tenant may be named ``platform``)."""
    return f"tenantry-{PLATFORM_STACK}-{settings.environment}"


def pool_group_name(settings: PlatformSettings, pool: str) -> str:
    """EKS managed node group (and launch template) of a shared pool."""
    return f"{prefix(settings)}-{pool}"


def node_role_name(settings: PlatformSettings) -> str:
    """IAM role of every GPU node the platform and the tenants' node groups run."""
    return f"{prefix(settings)}-node"


def vector_db_identifier(settings: PlatformSettings) -> str:
    """RDS DB instance identifier of the vector database (and its subnet group)."""
    return f"{prefix(settings)}-vectors"


def cluster_role_name(cluster: Cluster) -> str:
    """IAM role of a created EKS cluster."""
    return f"tenantry-cluster-{cluster.name}"


def system_node_group_name(cluster: Cluster) -> str:
    """EKS managed node group of a created cluster's general (CPU) nodes."""
    return f"tenantry-system-{cluster.name}"


KEY_ALIAS = "alias/tenantry/platform"
