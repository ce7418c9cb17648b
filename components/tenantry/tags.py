"""The one tag and label policy (pure, no Pulumi).

Precedence, stated once: the tenant's own ``metadata.labels`` first, then the mandatory
cost-allocation keys on top, so a mandatory key always wins. (Validation also rejects a
tenant label that names a mandatory key, so the override never happens silently.)
AWS resources get these as tags, Kubernetes objects as labels, with the same keys and values.
"""

from __future__ import annotations

from collections.abc import Mapping

MANDATORY_KEYS = ("tenant", "cost-center", "tier", "environment", "managed-by")
MANAGED_BY = "tenantry"


def mandatory_tags(*, tenant: str, cost_center: str, tier: str, environment: str) -> dict[str, str]:
    return {
        "tenant": tenant,
        "cost-center": cost_center,
        "tier": tier,
        "environment": environment,
        "managed-by": MANAGED_BY,
    }


def merge_tags(
    mandatory: Mapping[str, str], extra: Mapping[str, str] | None = None, *more: Mapping[str, str]
) -> dict[str, str]:
    """``extra`` (and ``more``) first, mandatory keys last: the mandatory keys win."""
    out: dict[str, str] = {}
    for layer in (extra or {}, *more):
        out.update(layer)
    out.update(mandatory)
    return out
