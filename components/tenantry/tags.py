"""The one tag and label policy (pure, no Pulumi).

Precedence, stated once: the tenant's own ``metadata.labels`` first, then the mandatory
cost-allocation keys on top, so a mandatory key always wins. (Validation also rejects a
tenant label that names a mandatory key, so the override never happens silently.)
AWS resources get these as tags, Kubernetes objects as labels, with the same keys and values:
:func:`tenant_tags` and :func:`tenant_labels` for a tenant's resources, :func:`platform_tags`
for the platform's own (``tenant=platform``, a name no tenant may take, ``tier=platform``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the spec imports MANDATORY_KEYS from here: no import cycle at run time
    from .spec import PlatformSettings, ResolvedTenant

MANDATORY_KEYS = ("tenant", "cost-center", "tier", "environment", "managed-by")
# Istio's sidecar injection labels on a namespace (istio.io "Installing the sidecar"). Istio's
# revision webhook selects namespaces with ``istio.io/rev=<revision>`` *and no*
# ``istio-injection`` label (istio/istio manifests/charts/istio-control/istio-discovery/
# templates/mutatingwebhook.yaml, namespaceSelector ``istio-injection: DoesNotExist``), so
# either key among a tenant's labels would decide whether its pods get a sidecar, and with
# it mTLS and every authorization policy at the pod.
INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
# The most tags AWS takes on one S3 object ("You can associate up to 10 tags with an
# object": S3 User Guide, "Categorizing your objects using tags"). Every model's
# config.pbtxt object in the tenant's bucket carries all of :func:`tenant_tags` (and the
# tenant's provider sets them as default tags on every resource), so a tenant's own labels
# may number at most this minus the mandatory keys.
S3_OBJECT_MAX_TAGS = 10
MAX_TENANT_LABELS = S3_OBJECT_MAX_TAGS - len(MANDATORY_KEYS)
# Label keys another system reads on the objects that carry a tenant's labels (its
# namespace, its pods): a tenant label may not set them (the spec's `label_reserved`).
SYSTEM_LABEL_KEYS: Mapping[str, str] = {
    INJECTION_LABEL: "Istio's sidecar injection label on the tenant's namespace",
    REVISION_LABEL: "Istio's revision label on the tenant's namespace",
}
MANAGED_BY = "tenantry"
PLATFORM_TENANT = "platform"  # the platform stack's name, reserved: no tenant may use it
PLATFORM_TIER = "platform"


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


def tenant_tags(t: ResolvedTenant) -> dict[str, str]:
    """A tenant's tags: the mandatory cost-allocation keys over the tenant's labels
    (``metadata.labels``); mandatory keys win."""
    return merge_tags(
        mandatory_tags(
            tenant=t.name, cost_center=t.cost_center, tier=t.tier.name, environment=t.environment
        ),
        t.labels,
    )


def tenant_labels(t: ResolvedTenant) -> dict[str, str]:
    """:func:`tenant_tags` as Kubernetes labels (same keys and values, sorted by key),
    without :data:`SYSTEM_LABEL_KEYS` (validation refuses them; a library caller who skips
    validation still cannot turn the sidecar off)."""
    return {k: v for k, v in sorted(tenant_tags(t).items()) if k not in SYSTEM_LABEL_KEYS}


def platform_tags(settings: PlatformSettings) -> dict[str, str]:
    """The platform's own resources: ``tenant=platform``, ``tier=platform``, the platform's
    ``costCenter`` and ``environment``, so finance sees the shared cost apart."""
    return mandatory_tags(
        tenant=PLATFORM_TENANT,
        cost_center=settings.cost_center,
        tier=PLATFORM_TIER,
        environment=settings.environment,
    )
