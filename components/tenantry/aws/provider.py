"""The tenant's explicit AWS provider: region from the tenant, ``default_tags`` = the tag policy.

Components also tag every taggable resource explicitly (mocks and policies see the tags on
the resource itself); the provider's default tags are the backstop for anything a later
change forgets, and they are what AWS applies to resources created on the provider's behalf.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..spec import ResolvedTenant
from ..tags import tenant_tags


def tenant_provider(
    name: str, t: ResolvedTenant, opts: pulumi.ResourceOptions | None = None
) -> aws.Provider:
    """``aws.Provider`` named ``<name>`` in ``t.region`` with ``default_tags`` = the tenant's
    tags (:func:`tenantry.tags.tenant_tags`: mandatory keys win over labels)."""
    return aws.Provider(
        name,
        region=t.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tenant_tags(t)),
        opts=opts,
    )
