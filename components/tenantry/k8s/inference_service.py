"""One tenant model served by KServe on the Triton runtime: its InferenceService."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource

from ..catalog.runtimes import DEFAULT_RUNTIME, FORMATS, runtime_for
from ..observability.signals import ISTIO_BUCKETS_ANNOTATION, latency_buckets
from ..spec import ResolvedModel, ResolvedTenant
from ..tags import tenant_labels
from ..triton import served_version, serving_caps, storage_uri_of
from ..triton_admin import ADMIN_ENV, ADMIN_SECRET, ADMIN_SECRET_KEY, admin_args
from .labels import (
    GPU_TAINT_KEY,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    NODE_GROUP_LABEL,
    POOL_LABEL,
    TENANT_LABEL,
    cpu_quantity,
    memory_quantity,
)
from .mesh import TBC_ANNOTATION

RUNTIME = DEFAULT_RUNTIME.name
STORAGE_CONTAINER = "tenantry-s3"  # the platform's ClusterStorageContainer (S3 region set)
# KServe >= 0.19's name for the Serverless mode ("Serverless" is read as a deprecated alias,
# kserve/kserve pkg/constants/constants.go at v0.20.0).
DEPLOYMENT_MODE = "Knative"
API_VERSION = "serving.kserve.io/v1beta1"
# tenant file format -> the KServe modelFormat its runtime declares
MODEL_FORMAT = {name: f.kserve_format for name, f in FORMATS.items()}
METRICS_PORT = "8002"  # Triton's Prometheus endpoint
RUN_AS = 1000  # the Triton image's non-root user
CONTAINER_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "runAsGroup": RUN_AS,
    "fsGroup": RUN_AS,
    "seccompProfile": {"type": "RuntimeDefault"},
}
TMP_GIB = 1  # the /tmp emptyDir's sizeLimit
LOG_GIB = 1  # container logs and writable layer (kubelet counts both as ephemeral storage)
SCRATCH_VOLUMES = [  # writable paths under a read-only root filesystem
    {"name": "tmp", "emptyDir": {"sizeLimit": f"{TMP_GIB}Gi"}},
    {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
]
SCRATCH_MOUNTS = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "shm", "mountPath": "/dev/shm"}]


GPU_TOLERATION: dict[str, str] = {
    "key": GPU_TAINT_KEY,
    "operator": "Exists",
    "effect": "NoSchedule",
}


def tenant_toleration(tenant: str) -> dict[str, str]:
    """The toleration of the tenant's own nodes' taint ``tenantry.dev/tenant=<tenant>`` and of
    nobody else's (``operator: Equal``, the tenant's name as the value)."""
    return {"key": TENANT_LABEL, "operator": "Equal", "value": tenant, "effect": "NoSchedule"}


def node_placement(t: ResolvedTenant, target_kind: str, target: str) -> dict[str, Any]:
    """nodeSelector and tolerations of a pod of ``t`` placed on ``target`` (see
    :mod:`.labels`), for every pod-bearing object Tenantry declares for a tenant:

    - a tenant's node group: its ``tenantry.dev/tenant`` and ``tenantry.dev/node-group``
      labels, its tenant taint and the GPU taint tolerated;
    - a shared pool, for a tier with GPUs or nodes of its own (isolated, dedicated): the
      tenant's nodes carved from the pool (``tenantry.dev/pool`` and
      ``tenantry.dev/tenant``; :class:`tenantry.platform.gpu_pool.TenantGpuNodes`), its
      tenant taint and the GPU taint tolerated;
    - a shared pool, for the shared tiers: ``tenantry.dev/pool``, the GPU taint only;
    - the general nodes (CPU-only models of the shared tiers): nothing, no taint tolerated.

    A toleration of the tenant taint is always ``Equal`` to the tenant's own name: an
    ``Exists`` one (or one without a key) would let the pod onto every tenant's nodes."""
    own = [tenant_toleration(t.name), GPU_TOLERATION]
    if target_kind == "node-group":
        return {
            "nodeSelector": {TENANT_LABEL: t.name, NODE_GROUP_LABEL: target},
            "tolerations": own,
        }
    if target_kind == "shared-pool" and t.tier.gpu_sharing != "shared-gpus":
        return {"nodeSelector": {POOL_LABEL: target, TENANT_LABEL: t.name}, "tolerations": own}
    if target_kind == "shared-pool":
        return {"nodeSelector": {POOL_LABEL: target}, "tolerations": [GPU_TOLERATION]}
    return {}  # CPU-only model on the general nodes: no GPU taint tolerated


def placement(t: ResolvedTenant, m: ResolvedModel) -> dict[str, Any]:
    """:func:`node_placement` of model ``m``."""
    return node_placement(t, m.target_kind, m.target)


def artifact_gib(m: ResolvedModel) -> float:
    """The most disk the model's files may take (GiB): its ``memoryGiB``. KServe's storage
    initializer copies the whole ``storageUri`` into the pod's ``kserve-provision-location``
    emptyDir (mounted at ``/mnt/models``; KServe docs, "Storage Containers") and Triton reads
    every file of the version into the server's memory to load it, so a model whose files
    exceed the memory the tenant file grants it could not be served anyway."""
    return m.memory_gib


def ephemeral_storage_gib(m: ResolvedModel) -> float:
    """The Triton container's ephemeral-storage request and limit (GiB): the model's files
    (:func:`artifact_gib`, in KServe's emptyDir, which the kubelet charges to the pod) plus
    the ``/tmp`` emptyDir (:data:`TMP_GIB`) plus logs and writable layer (:data:`LOG_GIB`).
    The kubelet evicts a pod whose emptyDirs, logs and writable layers exceed the sum of its
    containers' limits (Kubernetes docs, "Local ephemeral storage"); the storage initializer
    and the injected sidecars get the namespace LimitRange's default
    (:func:`tenantry.k8s.namespace.sidecar_ephemeral_storage`)."""
    return artifact_gib(m) + TMP_GIB + LOG_GIB


def resources(m: ResolvedModel) -> dict[str, Any]:
    """Requests equal limits (Guaranteed QoS), the GPU or MIG resource and ephemeral storage
    (:func:`ephemeral_storage_gib`) included."""
    amounts = {
        "cpu": cpu_quantity(m.cpu),
        "memory": memory_quantity(m.memory_gib),
        "ephemeral-storage": memory_quantity(ephemeral_storage_gib(m)),
    }
    if m.gpu_resource:
        amounts[m.gpu_resource] = "1"
    return {"requests": dict(amounts), "limits": dict(amounts)}


def inference_service_spec(
    t: ResolvedTenant, m: ResolvedModel, bucket: str, service_account: str
) -> dict[str, Any]:
    caps = serving_caps(t)
    uri = storage_uri_of(m, bucket, served_version(m))
    # the declared config.pbtxt is the whole truth; admin APIs only with the platform's key
    args = ["--disable-auto-complete-config", *admin_args()]
    if m.gpu:
        args.append("--rate-limit=execution_count")
    predictor: dict[str, Any] = {
        "minReplicas": m.min_replicas,
        "maxReplicas": m.max_replicas,
        "scaleMetric": "concurrency",
        "scaleTarget": caps.scale_target,
        "containerConcurrency": caps.container_concurrency,
        "serviceAccountName": service_account,
        # an oci:// model is mounted by KServe's modelcar, not downloaded by a container
        **({} if uri.startswith("oci://") else {"storageContainerName": STORAGE_CONTAINER}),
        "automountServiceAccountToken": False,
        "priorityClassName": t.tier.priority_class,
        "securityContext": POD_SECURITY,
        **placement(t, m),
        "volumes": SCRATCH_VOLUMES,
        "model": {
            "modelFormat": {"name": MODEL_FORMAT[m.format]},
            "runtime": runtime_for(m.format).name,
            "protocolVersion": "v2",
            "storageUri": uri,
            "args": args,
            "env": [
                {
                    "name": ADMIN_ENV,
                    "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": ADMIN_SECRET_KEY}},
                }
            ],
            "resources": resources(m),
            "securityContext": CONTAINER_SECURITY,
            "volumeMounts": SCRATCH_MOUNTS,
        },
    }
    if m.canary:
        predictor["canaryTrafficPercent"] = m.canary.traffic_percent
    return {"predictor": predictor}


def model_annotations(m: ResolvedModel) -> dict[str, str]:
    """Serverless mode, Prometheus scraping of Triton's metrics port and, for a model that
    never scales to zero (``minReplicas >= 1``), Knative's target burst capacity 0: the
    activator is then never in the model's data path (Knative docs, "Configuring target
    burst capacity": 0 puts the activator in the path only while a revision is at zero pods),
    so the model's pods need not trust it (:mod:`tenantry.k8s.gateway`). KServe passes the
    InferenceService's annotations on to the predictor's revisions."""
    annotations = {
        "serving.kserve.io/deploymentMode": DEPLOYMENT_MODE,
        "serving.kserve.io/enable-prometheus-scraping": "true",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": METRICS_PORT,
        "prometheus.io/path": "/metrics",
    }
    if m.min_replicas >= 1:
        annotations[TBC_ANNOTATION] = "0"
    return dict(sorted(annotations.items()))


def model_labels(t: ResolvedTenant, m: ResolvedModel) -> dict[str, str]:
    labels = tenant_labels(t)
    labels.update({MODEL_LABEL: m.name, MODEL_VERSION_LABEL: served_version(m)})
    return dict(sorted(labels.items()))


def inference_service(
    name: str,
    tenant: ResolvedTenant,
    model: ResolvedModel,
    *,
    bucket_name: pulumi.Input[str],
    service_account: str,
    opts: pulumi.ResourceOptions | None = None,
) -> CustomResource:
    """Declares one ``serving.kserve.io/v1beta1`` InferenceService ``<name>-isvc`` for one
    model of one tenant (the object is named after the model, in the tenant's namespace),
    with ``opts`` (its parent: the caller's component):
    the Triton runtime of the model's format (:func:`tenantry.catalog.runtimes.runtime_for`)
    with protocol v2, KServe's ``Knative`` deployment mode;
    ``storageUri`` = ``s3://<bucket_name>/models/<model>/v<version>`` (the canary's version
    while a canary runs, with ``canaryTrafficPercent``; see :mod:`tenantry.triton.repository`),
    downloaded by the platform's ``tenantry-s3`` storage container (which sets the S3 region;
    :func:`tenantry.platform.runtime.storage_container_manifest`), or ``oci://<image>`` for a
    version whose artifact is an OCI image (KServe modelcars, enabled by the platform's
    KServe values); requests = limits,
    the MIG or GPU resource included; ``minReplicas``/``maxReplicas`` with concurrency
    autoscaling and ``containerConcurrency`` from the tenant's caps
    (:func:`tenantry.triton.serving_caps`); placement by tier (shared pool selector + GPU
    toleration, or the tenant's node group labels + its taint); the tier's PriorityClass;
    ephemeral storage requested and limited (:func:`ephemeral_storage_gib`); Triton's
    model-control mode pinned to ``none`` and its admin APIs restricted to the platform's key
    (:mod:`tenantry.triton_admin`, read from the ``tenantry-triton-admin`` Secret);
    restricted security context (non-root uid 1000, read-only root filesystem with emptyDir
    ``/tmp`` and ``/dev/shm``, no privilege escalation, all capabilities dropped, seccomp
    RuntimeDefault); no service-account token; cost labels (tag policy + model + version) on
    the object and its pods; Prometheus scraping annotations for Triton's metrics port; for a
    model with ``minReplicas >= 1``, target burst capacity 0 (:func:`model_annotations`); on
    the pods, ``sidecar.istio.io/statsHistogramBuckets`` with the model's ``p99LatencyMs``
    among Envoy's default buckets, so the latency SLO counts requests at the objective
    exactly (:func:`istio_buckets`).

    A function, not a component: one object needs no grouping of its own, and every
    component costs the engine a registration and an outputs registration per plan.
    """
    t, m = tenant, model
    spec = pulumi.Output.from_input(bucket_name).apply(
        lambda bucket: inference_service_manifest(t, m, bucket, service_account)["spec"]
    )
    meta = inference_service_manifest(t, m, "", service_account)["metadata"]
    return CustomResource(
        f"{name}-isvc",
        api_version=API_VERSION,
        kind="InferenceService",
        metadata=meta,
        spec=spec,
        opts=opts,
    )


def inference_service_manifest(
    t: ResolvedTenant, m: ResolvedModel, bucket: str, service_account: str
) -> dict[str, Any]:
    """The InferenceService :func:`inference_service` declares, as a plain object."""
    labels = model_labels(t, m)
    annotations = model_annotations(m)
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": m.name,
            "namespace": t.name,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": _with_pod_metadata(
            inference_service_spec(t, m, bucket, service_account), labels, annotations, m
        ),
    }


def istio_buckets(m: ResolvedModel) -> str:
    """The value of ``sidecar.istio.io/statsHistogramBuckets`` for the model's pods: Istio's
    own metrics (prefix ``istiocustom``) get Envoy's default buckets plus the objective
    (:func:`tenantry.observability.signals.latency_buckets`; Istio 1.18 release notes)."""
    bounds = [int(b) if float(b).is_integer() else b for b in latency_buckets(m.p99_latency_ms)]
    return json.dumps({"istiocustom": bounds}, separators=(",", ":"))


def _with_pod_metadata(
    spec: dict[str, Any], labels: dict[str, str], annotations: dict[str, str], m: ResolvedModel
) -> dict[str, Any]:
    """Pods carry the cost labels, the scraping annotations and the sidecar's histogram
    buckets (the predictor's ``labels``/``annotations`` are copied to its pods)."""
    spec["predictor"]["labels"] = labels
    pod = {k: v for k, v in annotations.items() if k.startswith("prometheus.io/")}
    pod[ISTIO_BUCKETS_ANNOTATION] = istio_buckets(m)
    spec["predictor"]["annotations"] = dict(sorted(pod.items()))
    return spec
