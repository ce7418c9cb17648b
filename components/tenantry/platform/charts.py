"""Pinned Helm charts, images and their values for the platform stack (pure, no Pulumi).

Every chart and image is pinned here, in one place, with its source; a test pins each of
them and checks every value Tenantry sets against the pinned chart's own ``values.yaml``
(vendored under ``tests/data/charts/``), so an upgrade is a visible, reviewed change (see
docs/platform.md, "Pinned versions").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import namespaces
from ..catalog.runtimes import TRITON, TRITON_REPOSITORY, TritonImage
from ..k8s.inference_service import DEPLOYMENT_MODE
from ..k8s.labels import GPU_TAINT_KEY, TENANT_LABEL
from ..spec.platform import Ingress

TRITON_IMAGE = TRITON_REPOSITORY  # tags and backends: tenantry.catalog.runtimes
TRITON_TAG = TRITON.tag
# The digest of TRITON_TAG is a platform setting (``tritonImageDigest``): no public source
# available to this project states it, and an invented one would either fail every pull or,
# worse, name another image. ``pulumi up`` refuses the platform until it is set.
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
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
    "cert-manager",
    "cert-manager",
    "v1.18.2",
    "https://charts.jetstack.io",
    namespaces.CERT_MANAGER,
)
# KServe v0.20.0 (kserve/kserve tag v0.20.0, 2026-08-06, the newest release): the CRDs, and
# the controller in `kserve-resources` (the `kserve` chart's name up to v0.15). From v0.18
# the ClusterServingRuntimes are in their own chart, `kserve-runtime-configs`, which the
# platform does not install: `kserve-tritonserver` has one owner, the platform stack.
KSERVE_VERSION = "v0.20.0"
KSERVE_CRD = Chart(
    "kserve-crd",
    "oci://ghcr.io/kserve/charts/kserve-crd",
    KSERVE_VERSION,
    None,
    namespaces.KSERVE,
)
# The release keeps its name: `helm upgrade` moves an existing `kserve` release (chart
# `kserve` v0.15) onto `kserve-resources` in place.
KSERVE = Chart(
    "kserve",
    "oci://ghcr.io/kserve/charts/kserve-resources",
    KSERVE_VERSION,
    None,
    namespaces.KSERVE,
)
GPU_OPERATOR = Chart(
    "gpu-operator",
    "gpu-operator",
    "v25.10.0",
    "https://helm.ngc.nvidia.com/nvidia",
    namespaces.GPU_OPERATOR,
)
# Prometheus Operator CRDs at operator v0.93.0, the CRDs the monitoring objects are
# validated against (prometheus-community/helm-charts, charts/prometheus-operator-crds,
# version 31.0.0 = appVersion v0.93.0, commit a414b565).
PROMETHEUS_OPERATOR_CRDS = Chart(
    "prometheus-operator-crds",
    "prometheus-operator-crds",
    "31.0.0",
    "https://prometheus-community.github.io/helm-charts",
    "monitoring",
)
# OpenTelemetry collector (open-telemetry/opentelemetry-helm-charts,
# charts/opentelemetry-collector 0.170.0 = collector 0.158.0).
OTEL_COLLECTOR = Chart(
    "tenantry-otel-collector",
    "opentelemetry-collector",
    "0.170.0",
    "https://open-telemetry.github.io/opentelemetry-helm-charts",
    "monitoring",
)
CHARTS = (CERT_MANAGER, KSERVE_CRD, KSERVE, GPU_OPERATOR, PROMETHEUS_OPERATOR_CRDS, OTEL_COLLECTOR)

# Knative Serving features the tenants' InferenceServices use (Serverless mode): node
# selectors and tolerations (GPU placement), PriorityClass (tiers), pod security context
# (non-root uid/gid, fsGroup).
KNATIVE_FEATURES = {
    "kubernetes.podspec-nodeselector": "enabled",
    "kubernetes.podspec-tolerations": "enabled",
    "kubernetes.podspec-priorityclassname": "enabled",
    "kubernetes.podspec-securitycontext": "enabled",
}
KNATIVE_NAMESPACE = namespaces.KNATIVE_SERVING
KNATIVE_FEATURES_CONFIG_MAP = "config-features"
KNATIVE_DOMAIN_CONFIG_MAP = "config-domain"
KNATIVE_NETWORK_CONFIG_MAP = "config-network"


def knative_domain(ingress: Ingress) -> dict[str, str]:
    """Knative ``config-domain``: the ingress domain as the default for every route (an
    empty value is a selector that matches every route; knative/serving
    ``pkg/reconciler/route/config/domain.go``)."""
    return {ingress.domain: ""}


def knative_network(ingress: Ingress) -> dict[str, str]:
    """Knative ``config-network``: the domain and tag templates the hosts are made from
    (:mod:`tenantry.spec.hosts`)."""
    return {"domain-template": ingress.domain_template, "tag-template": ingress.tag_template}


def kserve_domain_template(ingress: Ingress) -> str:
    """KServe's ``ingress.domainTemplate``: Knative's template with KServe's name for the
    domain field (``.IngressDomain``). KServe reads it in RawDeployment mode only (in
    Serverless mode it derives hosts from Knative's routes); it is kept equal so that the
    hosts do not change if the deployment mode ever does."""
    return ingress.domain_template.replace(".Domain", ".IngressDomain")


KNATIVE_OBSERVABILITY_CONFIG_MAP = "config-observability"


# What the GPU operator's node agents tolerate: the GPU taint of every GPU node and the
# tenant taint of every tenant's own nodes (the only objects allowed to tolerate every
# tenant's taint are DaemonSets; guardrail tenant-nodes-pinned).
NODE_AGENT_TOLERATIONS: list[dict[str, str]] = [
    {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
    {"key": TENANT_LABEL, "operator": "Exists", "effect": "NoSchedule"},
]


def gpu_operator_values() -> dict[str, Any]:
    """EKS AL2023 NVIDIA nodes: the AMI ships the driver and the container toolkit (with
    containerd configured), so the operator installs neither; it runs the device plugin,
    GPU feature discovery, DCGM exporter and mig-manager. ``mixed`` strategy (one resource
    per MIG profile, ``nvidia.com/mig-<profile>``; nodes hold different layouts per GPU);
    mig-manager reboots when a MIG mode change needs it (``WITH_REBOOT``) and reads the
    planner's configs from ConfigMap ``tenantry-mig-parted-config`` (key ``config.yaml``);
    a node without an ``nvidia.com/mig.config`` label gets ``all-disabled``.

    Only keys the pinned chart reads (its ``values.yaml`` at v25.10.0): the container
    runtime is detected by the operator, ``operator.defaultRuntime`` is no longer a value.
    Its DaemonSets (``daemonsets.tolerations``) and the node-feature-discovery worker
    (subchart value ``node-feature-discovery.worker.tolerations``) tolerate
    :data:`NODE_AGENT_TOLERATIONS`, so the device plugin and mig-manager run on a tenant's
    own nodes too."""
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "devicePlugin": {"enabled": True},
        "mig": {"strategy": "mixed"},
        "migManager": {
            "enabled": True,
            "env": [{"name": "WITH_REBOOT", "value": "true"}],
            "config": {"create": False, "name": MIG_CONFIG_MAP, "default": MIG_DEFAULT_CONFIG},
        },
        # node agents on every GPU node, a tenant's own nodes (tainted
        # tenantry.dev/tenant=<tenant>:NoSchedule) included; NFD's worker labels the nodes
        # the operator deploys its operands to (feature.node.kubernetes.io/pci-10de.present)
        "daemonsets": {"tolerations": NODE_AGENT_TOLERATIONS},
        "node-feature-discovery": {"worker": {"tolerations": NODE_AGENT_TOLERATIONS}},
    }


def cert_manager_values() -> dict[str, Any]:
    return {"crds": {"enabled": True}}


def kserve_values(region: str, ingress: Ingress | None = None) -> dict[str, Any]:
    """``kserve-resources`` values: the ``Knative`` deployment mode (KServe >= 0.19's name
    for Serverless), the platform's ingress domain and domain template (settings
    ``ingress``; Knative's own config is patched by :class:`.KServe`), and the S3 region
    the storage initializer is given wherever KServe builds its S3 environment (a service
    account with an IRSA role or an S3 secret; chart value ``kserve.storage.s3.region`` ->
    ``AWS_DEFAULT_REGION``). Pod Identity service accounts get theirs from the platform's
    ClusterStorageContainer (:func:`.runtime.storage_container_manifest`). Modelcars
    are on, so a model version pinned to an OCI image (``storageUri: oci://...``) can be
    served: KServe's OCI storage is off by default and enabled by
    ``storageInitializer.enableModelcar`` in the ``inferenceservice-config`` ConfigMap,
    which the chart's ``kserve.storage.enableModelcar`` sets (KServe docs, "Serving Models
    with OCI Images")."""
    ingress = ingress or Ingress()
    return {
        "kserve": {
            "controller": {
                "deploymentMode": DEPLOYMENT_MODE,
                "gateway": {
                    "domain": ingress.domain,
                    "domainTemplate": kserve_domain_template(ingress),
                },
            },
            "storage": {"s3": {"region": region}, "enableModelcar": True},
        }
    }


def triton_image(digest: str | None, image: TritonImage = TRITON) -> str:
    """``nvcr.io/nvidia/tritonserver:<tag>@<digest>``: the digest decides what is pulled,
    the tag says which release it is. Without a digest (offline renders only), the tag.
    ``image``: the pinned Triton release (:data:`tenantry.catalog.runtimes.TRITON`, or
    ``TRITON_TENSORFLOW`` for the TensorFlow runtime)."""
    return image.image + (f"@{digest}" if digest else "")
