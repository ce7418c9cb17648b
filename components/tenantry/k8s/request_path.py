"""A tenant's request-path objects as plain manifests, without recording its stack (pure
apart from importing the components' modules): what :mod:`tenantry.policy.reachability`
needs of the tenants a plan does not record."""

from __future__ import annotations

from typing import Any

from ..spec import PlatformSettings, ResolvedTenant
from ..tags import tenant_labels
from .gateway import request_path_manifests
from .inference_service import inference_service_manifest
from .llm_inference_service import own_llm_manifest
from .namespace import namespace_metadata, network_policy_specs

BUCKET_UNKNOWN = "bucket-not-recorded"  # the bucket is no part of the request path


def tenant_request_path_objects(
    t: ResolvedTenant, platform: PlatformSettings
) -> list[dict[str, Any]]:
    """The tenant's Namespace, NetworkPolicies, Istio objects, InferenceServices and own
    LLMInferenceServices, as its components declare them (the same builders)."""
    labels = tenant_labels(t)
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": namespace_metadata(t, platform),
        }
    ]
    out += [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": t.name, "labels": labels},
            "spec": spec,
        }
        for name, spec in network_policy_specs(t, platform).items()
    ]
    out += list(request_path_manifests(t, platform).values())
    out += [
        inference_service_manifest(t, m, BUCKET_UNKNOWN, f"{t.name}-inference") for m in t.models
    ]
    out += [
        own_llm_manifest(t, llm, BUCKET_UNKNOWN, f"{t.name}-inference", platform.pinned_vllm_image)
        for llm in t.llms
    ]
    return out
