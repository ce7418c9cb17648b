"""The request-path isolation proof for a plan: the reachability matrix of the planned
tenants' models against every caller class, over the objects of every tenant and the
platform (:mod:`tenantry.policy.reachability`).

The planned tenants' objects are the ones their stack programs declared (the recordings);
the other tenants' are built by the same builders their components use
(:func:`tenantry.k8s.request_path.tenant_request_path_objects`), the platform's by
:func:`tenantry.k8s.mesh.platform_request_path_manifests` and (the shared LLMs, their gateway
and fences, with every tenant's adapter grants)
:func:`tenantry.k8s.llm_gateway.request_path_objects`: a policy of any tenant can change
who reaches another's models (a root-namespace policy, a DENY at a shared gateway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..k8s.llm_gateway import request_path_objects as llm_request_path_objects
from ..k8s.llm_inference_service import adapter_grants
from ..k8s.mesh import platform_request_path_manifests
from ..k8s.request_path import BUCKET_UNKNOWN, tenant_request_path_objects
from ..policy.reachability import Report, analyze, intents_from
from ..spec import PlatformSettings, ResolvedTenant
from ..tags import platform_tags

TOP_KEYS = ("apiVersion", "kind", "metadata")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def recorded_objects(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The Kubernetes objects among recorded resources (no Helm releases, no patches)."""
    out = []
    for r in records:
        t = str(r.get("type", ""))
        if not r.get("custom", True) or not t.startswith("kubernetes:"):
            continue
        if t == HELM_RELEASE or t.endswith("Patch"):
            continue
        inputs = r.get("inputs") or {}
        keys = (*TOP_KEYS, "spec", "data") if inputs.get("kind") == "ConfigMap" else TOP_KEYS
        out.append({k: inputs[k] for k in (*keys, "spec") if k in inputs})
    return out


def fleet_objects(
    tenants: Mapping[str, ResolvedTenant],
    platform: PlatformSettings,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Every request-path object of the platform and the tenants: recorded where
    ``records`` has the tenant, built otherwise."""
    objects: list[dict[str, Any]] = list(platform_request_path_manifests(platform).values())
    grants = adapter_grants(list(tenants.values()), dict.fromkeys(tenants, BUCKET_UNKNOWN))
    labels = dict(sorted(platform_tags(platform).items()))
    objects += llm_request_path_objects(platform, grants, labels)
    for name, t in sorted(tenants.items()):
        if name in records:
            objects += recorded_objects(records[name])
        else:
            objects += tenant_request_path_objects(t, platform)
    return objects


def request_path(
    selected: Sequence[str],
    tenants: Mapping[str, ResolvedTenant],
    platform: PlatformSettings,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Report:
    """The proof for the models of ``selected``; ``records``: the recordings of (at least)
    the selected tenants."""
    objects = fleet_objects(tenants, platform, records)
    return analyze(objects, platform, intents_from(tenants.values(), platform), selected)


def tenant_section(report: Report, tenant: str) -> dict[str, Any]:
    """One tenant's part of the plan document: the verdict, the matrix rows (caller class ->
    status per model) and the edges (every declared caller, every caller that reaches)."""
    data = report.to_data()
    models = [m for m in data["models"] if m.split("/", 1)[0] == tenant]
    violations = [v for v in data["violations"] if v["model"].split("/", 1)[0] == tenant]
    findings = [v for v in data["violations"] if v["kind"] == "object"]
    return {
        "passed": not violations and not findings,
        "models": [m.split("/", 1)[1] for m in models],
        "callers": data["callers"],
        "matrix": {m.split("/", 1)[1]: data["matrix"][m] for m in models},
        "edges": [e for e in data["edges"] if e["model"] in models],
        "violations": violations + findings,
    }
