"""Names and tags of the platform's own resources (pure, no Pulumi).

Tags: the one tag policy (:mod:`tenantry.tags`) with ``tenant=platform`` (a reserved tenant
name, so no tenant's cost mixes with the shared cost), ``tier=platform``, the platform's
``costCenter`` and ``environment``.
"""

from __future__ import annotations

from ..spec import PLATFORM_STACK, PlatformSettings
from ..tags import mandatory_tags, merge_tags

PLATFORM_TIER = "platform"


def platform_tags(settings: PlatformSettings) -> dict[str, str]:
    return merge_tags(
        mandatory_tags(
            tenant=PLATFORM_STACK,
            cost_center=settings.cost_center,
            tier=PLATFORM_TIER,
            environment=settings.environment,
        )
    )


def prefix(settings: PlatformSettings) -> str:
    """``tenantry-platform-<environment>``: AWS names of the platform's resources (tenant
    resources are ``tenantry-<tenant>-...`` and no tenant may be named ``platform``)."""
    return f"tenantry-{PLATFORM_STACK}-{settings.environment}"


def pool_group_name(settings: PlatformSettings, pool: str) -> str:
    return f"{prefix(settings)}-{pool}"


KEY_ALIAS = "alias/tenantry/platform"
