"""Kubernetes namespaces that the platform, its prerequisites or Kubernetes itself run in or
refer to (pure data). A tenant's namespace is named after the tenant, so no tenant may take
one of these: its default-deny NetworkPolicies and quota would land on that system, and
Istio applies policies in its root namespace to the whole mesh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

KUBE_PREFIX: Final = "kube-"  # reserved by Kubernetes for its system namespaces
KUBERNETES: Final = {
    "default": "Kubernetes' default namespace",
    "kube-system": "Kubernetes' system namespace",
    "kube-public": "Kubernetes' public namespace",
    "kube-node-lease": "Kubernetes' node heartbeat namespace",
}
ISTIO_ROOT: Final = "istio-system"  # Istio's default root namespace (meshConfig.rootNamespace)
KNATIVE_SERVING: Final = "knative-serving"  # Knative Serving: activator, autoscaler
KSERVE: Final = "kserve"  # KServe's controller (the platform's kserve chart)
CERT_MANAGER: Final = "cert-manager"  # cert-manager (the platform's chart: KServe's webhooks)
GPU_OPERATOR: Final = "gpu-operator"  # NVIDIA GPU operator (the platform's chart)
MONITORING: Final = "monitoring"  # Prometheus, which scrapes the tenants' metrics ports
LLM: Final = "tenantry-llm"  # the shared base LLMs (tenantry.k8s.llm_inference_service)
TENANTRY: Final = {
    "platform": "the name of the platform stack",
    "tenantry": "Tenantry's own name",
    # tenantry-<tenant>-<group> of its node groups would be the platform's general nodes'
    # EKS node group tenantry-system-<cluster> (tenantry.platform.names)
    "system": "the platform's system node group tenantry-system-<cluster>",
}
PLATFORM: Final = {
    ISTIO_ROOT: "Istio's root namespace (policies there apply to the whole mesh)",
    KNATIVE_SERVING: "Knative Serving's namespace (activator, autoscaler)",
    KSERVE: "KServe's namespace",
    CERT_MANAGER: "cert-manager's namespace",
    GPU_OPERATOR: "the NVIDIA GPU operator's namespace",
    MONITORING: "the monitoring namespace (Prometheus)",
    LLM: "the platform's namespace of shared base LLMs",
}
SOURCES: Final = (
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/"
    " ('kube-' is reserved for Kubernetes system namespaces); Istio root namespace: "
    "https://istio.io/latest/docs/reference/config/security/authorization-policy/"
)


def reserved(settings_namespaces: Mapping[str, str]) -> dict[str, str]:
    """Every reserved namespace name -> why: the built-in list plus the namespaces the
    platform settings name (``settings_namespaces``: name -> the setting that names it)."""
    out = {**KUBERNETES, **TENANTRY, **PLATFORM}
    for name, setting in settings_namespaces.items():
        out.setdefault(name, f"the namespace the platform setting {setting} names")
    return out


def reserved_reason(name: str, settings_namespaces: Mapping[str, str]) -> str | None:
    """Why ``name`` cannot be a tenant's namespace, or None when it can."""
    if name.startswith(KUBE_PREFIX):
        return "the 'kube-' prefix is reserved for Kubernetes system namespaces"
    return reserved(settings_namespaces).get(name)
