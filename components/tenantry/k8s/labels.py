"""Kubernetes label, node-label and quantity conventions shared by the k8s components (pure).

Node labels the platform puts on GPU nodes (the platform and node-group components set them;
these components only select on them):

- shared-pool nodes: ``tenantry.dev/pool=<pool>`` and taint ``nvidia.com/gpu=true:NoSchedule``;
- a tenant's dedicated nodes: ``tenantry.dev/tenant=<tenant>``,
  ``tenantry.dev/node-group=<name>``, taints ``tenantry.dev/tenant=<tenant>:NoSchedule`` and
  ``nvidia.com/gpu=true:NoSchedule``;
- CPU-only models of the shared tiers run on the general (untainted) nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..catalog import namespaces

if TYPE_CHECKING:
    from ..spec import ResolvedTenant

POOL_LABEL = "tenantry.dev/pool"
TENANT_LABEL = "tenantry.dev/tenant"
NODE_GROUP_LABEL = "tenantry.dev/node-group"
MODEL_LABEL = "tenantry.dev/model"
MODEL_VERSION_LABEL = "tenantry.dev/model-version"
# On an object whose image names no digest (offline renders only: ``pulumi up`` refuses it).
UNPINNED_IMAGE = "tenantry.dev/unpinned-image"
GPU_TAINT_KEY = "nvidia.com/gpu"
SERVING_SYSTEM_NAMESPACE = namespaces.KNATIVE_SERVING  # Knative activator and autoscaler
MONITORING_NAMESPACE = namespaces.MONITORING  # Prometheus, scrapes the metrics ports only
# Kubernetes group of the tenant's admins (mapped from its IAM admins by an EKS access entry)
ADMIN_GROUP = "tenantry:{tenant}:admins"


def admin_group(tenant: str) -> str:
    return ADMIN_GROUP.format(tenant=tenant)


def cpu_quantity(cores: float) -> str:
    return str(int(cores)) if float(cores).is_integer() else f"{round(cores * 1000)}m"


def memory_quantity(gib: float) -> str:
    return f"{int(gib)}Gi" if float(gib).is_integer() else f"{round(gib * 1024)}Mi"


# KServe's labels on an LLMInferenceService's workload pods (kserve v0.20.0
# ``pkg/controller/v1alpha2/llmisvc/workload_single_node.go``); ``app.kubernetes.io/name`` is
# the LLMInferenceService's name.
LLM_WORKLOAD_LABELS = {
    "app.kubernetes.io/part-of": "llminferenceservice",
    "app.kubernetes.io/component": "llminferenceservice-workload",
}
LLM_NAME_LABEL = "app.kubernetes.io/name"


def own_llm_pod_selector(t: ResolvedTenant) -> dict[str, Any]:
    """The label selector of the tenant's own LLMs' workload pods (a Kubernetes
    ``LabelSelector``: ``matchLabels`` + ``matchExpressions``), empty ``values`` when the
    tenant has none. One selector for everything that targets those pods (the PodMonitor,
    the NetworkPolicy admitting its scrape), so the two cannot drift apart."""
    return {
        "matchLabels": dict(LLM_WORKLOAD_LABELS),
        "matchExpressions": [
            {
                "key": LLM_NAME_LABEL,
                "operator": "In",
                "values": sorted(llm.name for llm in t.llms),
            }
        ],
    }
