"""The Triton ``ClusterServingRuntime``s, the S3 ``ClusterStorageContainer`` and the tier
PriorityClasses as manifests (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog.runtimes import DEFAULT_RUNTIME, FORMATS, ServingRuntime
from ..k8s.inference_service import CONTAINER_SECURITY, METRICS_PORT, STORAGE_CONTAINER
from ..spec.tiers import TIERS


def serving_runtime_spec(image: str, rt: ServingRuntime = DEFAULT_RUNTIME) -> dict[str, Any]:
    """Runtime ``rt`` of :data:`tenantry.catalog.runtimes.RUNTIMES` on ``image``
    (:func:`.charts.triton_image`): the formats it serves (explicitly selected by the
    InferenceServices, so ``autoSelect`` stays off), protocol v2 over HTTP and gRPC,
    Triton's metrics port, the restricted container security context the
    InferenceServices use, and small default resources (every InferenceService sets its
    own)."""
    formats = sorted((FORMATS[f].kserve_format, FORMATS[f].kserve_version) for f in rt.formats)
    return {
        "annotations": {
            "prometheus.kserve.io/port": METRICS_PORT,
            "prometheus.kserve.io/path": "/metrics",
        },
        "supportedModelFormats": [
            {"name": f, "version": version, "autoSelect": False} for f, version in formats
        ],
        "protocolVersions": ["v2", "grpc-v2"],
        "multiModel": False,
        "disabled": False,
        "containers": [
            {
                "name": "kserve-container",
                "image": image,
                "args": [
                    "tritonserver",
                    "--model-store=/mnt/models",
                    "--grpc-port=9000",
                    "--http-port=8080",
                    "--allow-grpc=true",
                    "--allow-http=true",
                ],
                "securityContext": dict(CONTAINER_SECURITY),
                "resources": {
                    "requests": {"cpu": "1", "memory": "2Gi"},
                    "limits": {"cpu": "1", "memory": "2Gi"},
                },
            }
        ],
    }


def serving_runtime_manifest(
    labels: Mapping[str, str], image: str, rt: ServingRuntime = DEFAULT_RUNTIME
) -> dict[str, Any]:
    """The ``ClusterServingRuntime`` of runtime ``rt`` on ``image``."""
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": rt.name, "labels": dict(labels)},
        "spec": serving_runtime_spec(image, rt),
    }


def storage_container_manifest(labels: Mapping[str, str], region: str) -> dict[str, Any]:
    """``tenantry-s3``: the storage initializer for ``s3://`` URIs, with the platform's region
    in ``AWS_DEFAULT_REGION`` (what KServe's storage initializer reads, kserve/kserve
    ``python/storage/kserve_storage/kserve_storage.py``) and ``AWS_REGION`` (the AWS SDKs'
    name). Every tenant InferenceService selects it by name (``storageContainerName``,
    KServe >= 0.20), because KServe itself sets the region only for a service account with
    an IRSA role annotation or an S3 secret (``pkg/credentials``), not for EKS Pod Identity.
    KServe merges this container over its default storage initializer (image and resources
    stay the chart's). Tenant buckets are in the platform's region (validation refuses any
    other), so one region serves every tenant."""
    env = [{"name": n, "value": region} for n in ("AWS_DEFAULT_REGION", "AWS_REGION")]
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterStorageContainer",
        "metadata": {"name": STORAGE_CONTAINER, "labels": dict(labels)},
        "spec": {
            "container": {"name": "storage-initializer", "env": env},
            "supportedUriFormats": [{"prefix": "s3://"}],
            "workloadType": "initContainer",
        },
    }


def priority_class_manifests(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """One ``scheduling.k8s.io/v1`` PriorityClass per tier (name and value from TIERS);
    never the global default; a higher tier may preempt a lower one."""
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {
                "name": t.priority_class,
                "labels": {**labels, "tenantry.dev/tier": t.name},
            },
            "value": t.priority_value,
            "globalDefault": False,
            "preemptionPolicy": "PreemptLowerPriority",
            "description": f"tenantry tier {t.name}: {t.description}",
        }
        for t in sorted(TIERS.values(), key=lambda t: t.priority_value)
    ]
