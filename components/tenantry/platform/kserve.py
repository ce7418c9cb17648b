"""``KServe``: cert-manager, KServe and the Triton runtime (``tenantry:platform:KServe``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_kubernetes.core.v1 import ConfigMapPatch, Namespace

from ..catalog.runtimes import DEFAULT_RUNTIME, runtime_for
from ..k8s.labels import UNPINNED_IMAGE
from ..k8s.manifests import custom_resource
from ..spec.platform import Ingress
from .charts import (
    CERT_MANAGER,
    KNATIVE_DOMAIN_CONFIG_MAP,
    KNATIVE_FEATURES,
    KNATIVE_FEATURES_CONFIG_MAP,
    KNATIVE_NAMESPACE,
    KNATIVE_NETWORK_CONFIG_MAP,
    KSERVE,
    KSERVE_CRD,
    cert_manager_values,
    knative_domain,
    knative_network,
    kserve_values,
)
from .helm import helm_release
from .runtime import serving_runtime_manifest, storage_container_manifest

# Knative owns ``config-features``; the platform patches its keys (server-side apply, forced).
PATCH_FORCE = "pulumi.com/patchForce"
# On a runtime whose image names no digest (offline renders only: ``pulumi up`` refuses it).
UNPINNED = UNPINNED_IMAGE


@dataclass(frozen=True, kw_only=True)
class KServeArgs:
    """``labels``: the platform's tags as labels. ``region``: the platform's region (the
    storage initializer's S3 region). ``triton_image``: the Triton server image the runtime
    runs (pinned by digest: :func:`.charts.triton_image`). ``ingress``: the platform's
    ingress settings (Knative's domain and templates, from which every host is derived)."""

    labels: Mapping[str, str]
    region: str
    triton_image: str
    ingress: Ingress = field(default_factory=Ingress)
    tensorflow_image: str | None = None
    """The image of the TensorFlow runtime (:data:`tenantry.catalog.runtimes.
    TRITON_TENSORFLOW`), when some tenant serves a TensorFlow model; None: not declared."""


class KServe(pulumi.ComponentResource):
    """KServe (:data:`.charts.KSERVE_VERSION`) in its ``Knative`` deployment mode on the
    cluster's Knative Serving and Istio (prerequisites, see docs/platform.md), with the
    runtimes and the storage container the tenant InferenceServices name.

    Creates ``<name>-cert-manager-namespace`` and ``<name>-cert-manager`` (pinned
    ``cert-manager`` chart, its CRDs included: KServe's webhook certificates),
    ``<name>-namespace`` (``kserve``), ``<name>-crd`` (pinned ``kserve-crd`` chart) and
    ``<name>-release`` (release ``kserve`` of the pinned ``kserve-resources`` chart,
    :func:`.charts.kserve_values`; it installs no runtime), ``<name>-tritonserver``
    (ClusterServingRuntime ``kserve-tritonserver`` on ``triton_image``,
    :func:`.runtime.serving_runtime_spec`; protocol v2; its only owner is this stack;
    every format but TensorFlow), ``<name>-tritonserver-tensorflow`` (runtime
    ``kserve-tritonserver-tensorflow`` on ``tensorflow_image``, Triton 25.02, the last image
    with the TensorFlow backend; only when given),
    ``<name>-storage`` (ClusterStorageContainer ``tenantry-s3``: the storage initializer
    with ``region``, :func:`.runtime.storage_container_manifest`),
    ``<name>-knative-features`` (a patch of Knative's ``config-features``: the pod-spec
    features the tenants' InferenceServices use), ``<name>-knative-domain`` and
    ``<name>-knative-network`` (patches of Knative's ``config-domain`` and
    ``config-network``: the ingress domain and the domain and tag templates of ``ingress``,
    from which :mod:`tenantry.spec.hosts` derives every model's hosts). Every Helm release
    is atomic (rolled back when it fails).
    """

    TYPE = "tenantry:platform:KServe"

    def __init__(
        self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        labels, region, triton_image = args.labels, args.region, args.triton_image
        child = pulumi.ResourceOptions(parent=self)
        cm_ns = Namespace(
            f"{name}-cert-manager-namespace",
            metadata={"name": CERT_MANAGER.namespace, "labels": dict(labels)},
            opts=child,
        )
        self.cert_manager = helm_release(
            f"{name}-cert-manager",
            CERT_MANAGER,
            cert_manager_values(),
            parent=self,
            depends_on=[cm_ns],
        )
        ns = Namespace(
            f"{name}-namespace",
            metadata={"name": KSERVE.namespace, "labels": dict(labels)},
            opts=child,
        )
        self.crd = helm_release(f"{name}-crd", KSERVE_CRD, {}, parent=self, depends_on=[ns])
        self.release = helm_release(
            f"{name}-release",
            KSERVE,
            kserve_values(region, args.ingress),
            parent=self,
            depends_on=[ns, self.crd, self.cert_manager],
        )
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        runtimes = [(DEFAULT_RUNTIME, triton_image)]
        if args.tensorflow_image is not None:
            runtimes.append((runtime_for("tensorflow"), args.tensorflow_image))
        self.runtimes = []
        for rt, image in runtimes:
            runtime = serving_runtime_manifest(labels, image, rt)
            if "@sha256:" not in image:
                runtime["metadata"]["annotations"] = {
                    UNPINNED: f"{rt.digest_setting} is not set; pulumi up refuses this platform"
                }
            resource = f"{name}-{rt.name.removeprefix('kserve-')}"
            self.runtimes.append(custom_resource(resource, runtime, after_release))
        self.runtime = self.runtimes[0]
        storage = storage_container_manifest(labels, region)
        self.storage = custom_resource(f"{name}-storage", storage, after_release)
        self.knative_features = ConfigMapPatch(
            f"{name}-knative-features",
            metadata={
                "name": KNATIVE_FEATURES_CONFIG_MAP,
                "namespace": KNATIVE_NAMESPACE,
                "annotations": {PATCH_FORCE: "true"},
            },
            data=dict(KNATIVE_FEATURES),
            opts=child,
        )
        for suffix, config_map, data in (
            ("domain", KNATIVE_DOMAIN_CONFIG_MAP, knative_domain(args.ingress)),
            ("network", KNATIVE_NETWORK_CONFIG_MAP, knative_network(args.ingress)),
        ):
            ConfigMapPatch(
                f"{name}-knative-{suffix}",
                metadata={
                    "name": config_map,
                    "namespace": KNATIVE_NAMESPACE,
                    "annotations": {PATCH_FORCE: "true"},
                },
                data=data,
                opts=child,
            )
        self.register_outputs(
            {
                "runtime": DEFAULT_RUNTIME.name,
                "storageContainer": storage["metadata"]["name"],
                "kserveVersion": KSERVE.version,
                "tritonImage": triton_image,
            }
        )
