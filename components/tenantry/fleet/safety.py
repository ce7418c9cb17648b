"""What a destroy would lose, from the resolved tenant (pure)."""

from __future__ import annotations

from ..spec import ResolvedTenant


def data_at_risk(t: ResolvedTenant) -> list[str]:
    """Data that ``destroy`` would delete for good. Empty with Tenantry's defaults: the model
    bucket is not force-destroyed (a non-empty bucket is refused) and vector namespaces are
    retained on delete."""
    lost = []
    if t.storage.force_destroy:
        lost.append(
            f"{t.name}: every object and version in the model bucket "
            "(spec.storage.forceDestroy: true)"
        )
    for ns in t.vector_namespaces:
        if not ns.retain_on_delete:
            lost.append(
                f"{t.name}: vector namespace {ns.name!r} and its embeddings (retainOnDelete: false)"
            )
    return lost


def data_retained(t: ResolvedTenant) -> list[str]:
    """What stays behind after a destroy (to clean up by hand, deliberately)."""
    kept = []
    if not t.storage.force_destroy:
        kept.append(f"{t.name}: the model bucket, if it holds objects (deletion is refused)")
    kept += [
        f"{t.name}: vector namespace {ns.name!r}"
        for ns in t.vector_namespaces
        if ns.retain_on_delete
    ]
    return kept
