"""Names and tags of the platform's own resources (pure, no Pulumi).

Tags: :func:`tenantry.tags.platform_tags` (the one tag policy).
"""

from __future__ import annotations

from ..spec import PLATFORM_STACK, PlatformSettings


def prefix(settings: PlatformSettings) -> str:
    """``tenantry-platform-<environment>``: AWS names of the platform's resources (tenant
    resources are ``tenantry-<tenant>-...`` and no tenant may be named ``platform``)."""
    return f"tenantry-{PLATFORM_STACK}-{settings.environment}"


def pool_group_name(settings: PlatformSettings, pool: str) -> str:
    return f"{prefix(settings)}-{pool}"


KEY_ALIAS = "alias/tenantry/platform"
