"""Pinned Helm charts and their values for the platform stack (pure, no Pulumi).

Every chart is pinned to one version here, in one place; a test pins each of them, so an
upgrade is a visible, reviewed change (see docs/platform.md for the upgrade order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..k8s.gateway import DEFAULT_INGRESS_DOMAIN
from ..k8s.labels import GPU_TAINT_KEY

TRITON_IMAGE = "nvcr.io/nvidia/tritonserver"
TRITON_TAG = "25.09-py3"
MIG_CONFIG_MAP = "tenantry-mig-parted-config"
MIG_CONFIG_KEY = "config.yaml"  # the key the GPU operator's mig-manager requires
MIG_DEFAULT_CONFIG = "all-disabled"


@dataclass(frozen=True)
class Chart:
    """One Helm chart at one version, installed as release ``release`` in ``namespace``.
    ``repo`` None: ``chart`` is an OCI reference (``oci://...``)."""

    release: str
    chart: str
    version: str
    repo: str | None
    namespace: str


CERT_MANAGER = Chart(
    "cert-manager", "cert-manager", "v1.18.2", "https://charts.jetstack.io", "cert-manager"
)
KSERVE_CRD = Chart(
    "kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.15.2", None, "kserve"
)
KSERVE = Chart("kserve", "oci://ghcr.io/kserve/charts/kserve", "v0.15.2", None, "kserve")
GPU_OPERATOR = Chart(
    "gpu-operator",
    "gpu-operator",
    "v25.10.0",
    "https://helm.ngc.nvidia.com/nvidia",
    "gpu-operator",
)
CHARTS = (CERT_MANAGER, KSERVE_CRD, KSERVE, GPU_OPERATOR)

# Knative Serving features the tenants' InferenceServices use (Serverless mode): node
# selectors and tolerations (GPU placement), PriorityClass (tiers), pod security context
# (non-root uid/gid, fsGroup).
KNATIVE_FEATURES = {
    "kubernetes.podspec-nodeselector": "enabled",
    "kubernetes.podspec-tolerations": "enabled",
    "kubernetes.podspec-priorityclassname": "enabled",
    "kubernetes.podspec-securitycontext": "enabled",
}
KNATIVE_NAMESPACE = "knative-serving"
KNATIVE_FEATURES_CONFIG_MAP = "config-features"


def gpu_operator_values() -> dict[str, Any]:
    """EKS AL2023 NVIDIA nodes: the AMI ships the driver and the container toolkit (with
    containerd configured), so the operator installs neither; it runs the device plugin,
    GPU feature discovery, DCGM exporter and mig-manager. ``mixed`` strategy (one resource
    per MIG profile, ``nvidia.com/mig-<profile>``; nodes hold different layouts per GPU);
    mig-manager reboots when a MIG mode change needs it (``WITH_REBOOT``) and reads the
    planner's configs from ConfigMap ``tenantry-mig-parted-config`` (key ``config.yaml``);
    a node without an ``nvidia.com/mig.config`` label gets ``all-disabled``."""
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "operator": {"defaultRuntime": "containerd"},
        "devicePlugin": {"enabled": True},
        "mig": {"strategy": "mixed"},
        "migManager": {
            "enabled": True,
            "env": [{"name": "WITH_REBOOT", "value": "true"}],
            "config": {"create": False, "name": MIG_CONFIG_MAP, "default": MIG_DEFAULT_CONFIG},
        },
        "daemonsets": {
            "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
        },
    }


def cert_manager_values() -> dict[str, Any]:
    return {"crds": {"enabled": True}}


def kserve_values() -> dict[str, Any]:
    """Serverless (Knative) deployment mode, the ingress domain the tenants' gateway
    admission uses, and the chart's own Triton runtime on the same image as ours (the
    platform stack owns ``kserve-tritonserver``; see :mod:`.runtime`)."""
    return {
        "kserve": {
            "controller": {
                "deploymentMode": "Serverless",
                "gateway": {"domain": DEFAULT_INGRESS_DOMAIN},
            },
            "servingruntime": {"tritonserver": {"image": TRITON_IMAGE, "tag": TRITON_TAG}},
        }
    }


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig (JSON) for one EKS cluster whose token comes from ``aws eks get-token``
    at each use: no credential is stored in the state."""
    import json

    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )
