"""The Tenantry LLM gateway in front of the shared base-model runtimes, and the fences of
namespace ``tenantry-llm``, as plain manifests (pure; :class:`tenantry.platform.llm.SharedLlms`
declares them, :mod:`tenantry.plan.request_path` feeds the same objects to the isolation
proof).

vLLM knows no tenant (docs/llm.md "The gaps"): the gateway (``python -m tenantry.llmgateway``,
docs/llm.md) pins each caller to its own served names by the caller's mesh identity, overwrites
``priority`` and ``cache_salt``, and enforces the token and concurrency budgets. It only holds
when nothing else reaches the runtimes, so the namespace is fenced twice:

- **Istio** (the identity layer): STRICT mTLS for every pod of the namespace
  (``PeerAuthentication``; the gateway's metrics port PERMISSIVE for Prometheus); ALLOW at the
  gateway pods: its API port from the principals of the tenant namespaces that hold adapter
  grants (``<trust domain>/ns/<tenant>/sa/*``, Istio's prefix match), ``GET /metrics`` on its
  metrics port from anyone the network lets through; ALLOW at the runtime pods: vLLM's port
  from the gateway's service account only. Under STRICT mTLS the gateway's sidecar sets the
  caller's certificate in ``X-Forwarded-Client-Cert`` (Envoy ``forward_client_cert_details``,
  which Istio's inbound sidecar listeners set to ``APPEND_FORWARD`` with the URI: istio/istio
  ``pilot/pkg/networking/core/listener_builder.go``), the identity the gateway pins by; a
  plaintext caller could write that header itself, which is why mTLS is STRICT there.
- **NetworkPolicy** (where the network plugin enforces it): default deny of ingress; the
  runtime pods admit the gateway pods on vLLM's port only; the gateway admits the granted
  tenant namespaces on its API port and the monitoring namespace on its metrics port.
- With ``llmGatewayReplicas`` > 1, the Redis the replicas share their limits in admits the
  gateway's pods (NetworkPolicy) and its service account (Istio ALLOW, port only) on 6379, and
  nothing else.

Facts this relies on, with sources:

- KServe's ``LLMInferenceService`` controller runs the model in Deployment
  ``<name>-kserve`` whose pods carry ``app.kubernetes.io/part-of: llminferenceservice``,
  ``app.kubernetes.io/name: <name>``, ``app.kubernetes.io/component:
  llminferenceservice-workload`` (kserve ``pkg/controller/llmisvc/workload_single_node.go``),
  behind Service ``<name>-kserve-workload-svc`` on port 8000 (``workload.go``), where its
  default template runs ``vllm serve --port 8000`` over TLS only when KServe's
  ``inferenceservice-config`` ``ingress`` sets ``enableLLMInferenceServiceTLS: true``
  (kserve v0.20.0, commit 1fb781055dd1567164358233e1125142ca6ef1fe,
  ``config/llmisvcconfig/config-llm-template.yaml``: ``--ssl-certfile``/``--ssl-keyfile``
  from ``/var/run/kserve/tls``, the volume of Secret ``<name>-kserve-self-signed-certs``;
  ``workload.go`` ``reconcileWorkloadService``: the port is named ``https``, else ``http``,
  with that ``appProtocol``). It is off by default and the kserve-resources v0.20.0 chart
  has no value for it (``files/common/configmap-patch.yaml`` renders ``ingress`` without
  it), so the platform setting ``llmRuntimeTls`` (default false) states which mode the
  operator's KServe runs and the render follows it: false -> ``http`` and no certificate
  (the hop still runs inside Istio's STRICT mTLS between the two sidecars); true ->
  ``https`` and the Secret below. A mismatch fails every request (502);
- that Secret (``pkg/controller/v1alpha2/llmisvc/workload_tls_self_signed.go``,
  ``workload_tls_cert_default.go``) holds one self-signed RSA certificate (not a CA) for
  ``<name>-kserve-workload-svc.<ns>.svc.cluster.local`` and ``...svc``, in ``tls.crt`` and
  again in ``ca.crt``, in the LLMInferenceService's namespace: the gateway mounts each base
  model's ``ca.crt`` and trusts only those (``--upstream-ca``). KServe renews it (10 years,
  re-issued when its names change): the gateway reads the files at start, so a renewal
  needs a gateway restart;
- names longer than 63 characters are cut by Knative's ``kmeta.ChildName``
  (:func:`tenantry.spec.hosts.child_name`), which KServe uses for both names;
- vLLM serves ``/metrics`` on its API port (vLLM ``vllm/entrypoints/openai/api_server.py``):
  Prometheus does not scrape the shared runtimes (their port would give it the API too);
  usage of shared bases is metered from the gateway's own counters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..catalog import namespaces
from ..spec import PlatformSettings
from ..spec.hosts import child_name
from .inference_service import CONTAINER_SECURITY, POD_SECURITY
from .llm_inference_service import (
    ADAPTER_CONFIG_KEY,
    LLM_NAMESPACE,
    ROUTES_CONFIG_MAP,
    UNPINNED_GATEWAY_IMAGE,
    AdapterGrant,
    adapters_config_map,
    runtime_adapters,
    runtime_name,
    runtime_tls_secret,
    shared_llm_manifest,
    tenant_llm_routes,
)
from .mesh import injection_labels, principal

GATEWAY = "tenantry-llm-gateway"  # Deployment, ServiceAccount, Service, PodMonitor
GATEWAY_LABELS = {"app.kubernetes.io/name": GATEWAY, "app.kubernetes.io/component": "gateway"}
GATEWAY_PORT = 8080  # the OpenAI-compatible API (tenantry.llmgateway --port)
METRICS_PORT = 9090  # Prometheus metrics (tenantry.llmgateway --metrics-port)
SALT_SECRET = "tenantry-llm-salt"  # the cache-salt key (HMAC-SHA256 key of each tenant's salt)
SALT_KEY = "salt-key"
SALT_CONFIG = "tenantry:llmSaltKey"  # the platform stack's secret config that holds it
ROUTES_DIR = "/etc/tenantry/routes"  # two volumes, side by side (neither inside the other)
SALT_DIR = "/etc/tenantry/salt"
UPSTREAM_CA_DIR = "/etc/tenantry/upstream-ca"  # <base>.crt: ca.crt of each runtime's Secret
VLLM_PORT = 8000  # KServe's LLMInferenceService template: vllm serve --port 8000
RUNTIME_SELECTOR = {"app.kubernetes.io/part-of": "llminferenceservice"}
NS_NAME = "kubernetes.io/metadata.name"  # every namespace carries it (Kubernetes 1.22+)
SECURITY = "security.istio.io/v1"
# requests and limits of the gateway container (a small asyncio proxy)
GATEWAY_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
    "limits": {"cpu": "2", "memory": "1Gi", "ephemeral-storage": "1Gi"},
}
# The longest one forwarded request may run, streams included (--max-request-seconds): the
# drain on SIGTERM waits for it, so the pod's grace period and the sidecar's drain cover it
# plus the listeners' close (5 s, tenantry.llmgateway.cli) and slack.
MAX_REQUEST_SECONDS = 600
TERMINATION_GRACE_SECONDS = MAX_REQUEST_SECONDS + 30
PROXY_CONFIG = "proxy.istio.io/config"  # per-pod ProxyConfig (istio/api mesh/v1alpha1/proxy.proto)
# The Redis the replicas share (llmGatewayReplicas > 1): token buckets and leases, no persistence
REDIS = "tenantry-llm-gateway-redis"  # Deployment, ServiceAccount, Service, Secret
REDIS_LABELS = {"app.kubernetes.io/name": REDIS, "app.kubernetes.io/component": "gateway-state"}
REDIS_PORT = 6379
REDIS_PASSWORD_KEY = "password"  # of Secret REDIS: the gateway's --redis-password-file
REDIS_CONF_KEY = "redis.conf"  # of Secret REDIS: Redis' configuration (holds requirepass)
REDIS_PASSWORD_CONFIG = "tenantry:llmRedisPassword"  # the platform stack's secret config
REDIS_PASSWORD_DIR = "/etc/tenantry/redis"  # in the gateway
REDIS_CONF_DIR = "/etc/redis"  # in Redis
# Every key expires within an hour of its last use (tenantry.llmgateway.limits): a bucket and
# a lease set per tenant and served model are a few hundred bytes each.
REDIS_MAXMEMORY = "64mb"
REDIS_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
    "limits": {"cpu": "1", "memory": "256Mi", "ephemeral-storage": "256Mi"},
}


def caller_namespaces(grants: Sequence[AdapterGrant]) -> list[str]:
    """The namespaces whose workloads may call the gateway, sorted: every tenant holding an
    adapter grant and each such tenant's allowed namespaces (the gateway pins each to the
    tenants it calls for: :mod:`tenantry.llmgateway.routes`)."""
    return sorted({g.tenant for g in grants} | {c for g in grants for c in g.callers})


def workload_service_url(base: str, tls: bool) -> str:
    """Where the gateway sends requests for base model ``base``: KServe's workload Service of
    its LLMInferenceService on port 8000, ``https`` when ``tls`` (platform ``llmRuntimeTls``)
    else ``http`` (see the module docstring)."""
    svc = child_name(runtime_name(base), "-kserve-workload-svc")
    scheme = "https" if tls else "http"
    return f"{scheme}://{svc}.{LLM_NAMESPACE}.svc.cluster.local:{VLLM_PORT}"


def workload_tls_secret(base: str) -> str:
    """The Secret in which KServe publishes the certificate of base model ``base``'s runtime
    (``tls.crt``, ``tls.key``, ``ca.crt``; see the module docstring)."""
    return runtime_tls_secret(base)


def upstream_ca_volume(platform: PlatformSettings) -> dict[str, Any]:
    """A projected volume of each base model's ``ca.crt`` as ``<base>.crt`` (rendered only
    with ``llmRuntimeTls``: KServe creates those Secrets only in TLS mode). Not optional:
    until KServe has issued a runtime's Secret the gateway pod waits in ContainerCreating
    (it could only fail every request to that runtime)."""
    return {
        "name": "upstream-ca",
        "projected": {
            "sources": [
                {
                    "secret": {
                        "name": workload_tls_secret(b.name),
                        "items": [{"key": "ca.crt", "path": f"{b.name}.crt"}],
                    }
                }
                for b in platform.llm_base_models
            ]
        },
    }


def redis_url() -> str:
    """Where the gateway replicas find their shared state (the Redis Service, db 0)."""
    return f"redis://{REDIS}.{LLM_NAMESPACE}.svc.cluster.local:{REDIS_PORT}/0"


def redis_image(platform: PlatformSettings) -> str:
    """``llmRedisImage`` by ``llmRedisImageDigest`` when set, else by its tag (an offline
    render only: :func:`tenantry.platform.llm.llm_deploy_problems` refuses to deploy it)."""
    image, digest = platform.llm_redis_image, platform.llm_redis_image_digest
    if digest is None:
        return image
    name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{name}@{digest}"


def redis_conf(password: str) -> str:
    """Redis' configuration file (Secret ``tenantry-llm-gateway-redis``, key ``redis.conf``):
    the password required of every client (``requirepass``, quoted: Redis' config parser
    reads ``\\`` and ``\\"`` escapes inside double quotes), no persistence (``save ""``,
    ``appendonly no``: the state is a minute of token budget and the leases in flight; a
    restart refills every bucket and forgets the leases), a memory bound that refuses writes
    rather than evicting a bucket (``noeviction``: the gateway then answers 503 instead of
    handing out a full budget). Redis listens on every address: Istio's sidecar delivers
    inbound traffic to the pod's IP, not to localhost (Istio 1.10+, istio.io blog
    "Upcoming networking changes in Istio 1.10")."""
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return "\n".join(
        [
            "# tenantry: the LLM gateway replicas' shared token buckets (docs/llm.md)",
            f"port {REDIS_PORT}",
            "bind 0.0.0.0",
            f'requirepass "{quoted}"',
            'save ""',
            "appendonly no",
            "dir /data",
            f"maxmemory {REDIS_MAXMEMORY}",
            "maxmemory-policy noeviction",
            "",
        ]
    )


def gateway_args(platform: PlatformSettings) -> list[str]:
    """The gateway's command line (docs/llm.md; ``python -m tenantry.llmgateway``)."""
    args = ["--routes", f"{ROUTES_DIR}/routes.json"]
    tls = platform.llm_runtime_tls
    for base in platform.llm_base_models:
        args += ["--upstream", f"{base.name}={workload_service_url(base.name, tls)}"]
    if tls:
        for base in platform.llm_base_models:
            args += ["--upstream-ca", f"{UPSTREAM_CA_DIR}/{base.name}.crt"]
    args += ["--salt-key-file", f"{SALT_DIR}/{SALT_KEY}"]
    args += ["--trust-domain", platform.mesh.trust_domain]
    if platform.llm_gateway_shares_state:
        args += ["--redis", redis_url()]
        args += ["--redis-password-file", f"{REDIS_PASSWORD_DIR}/{REDIS_PASSWORD_KEY}"]
    args += ["--max-request-seconds", str(MAX_REQUEST_SECONDS)]
    args += ["--port", str(GATEWAY_PORT), "--metrics-port", str(METRICS_PORT)]
    return args


def proxy_config() -> str:
    """The gateway pods' Istio ProxyConfig (annotation ``proxy.istio.io/config``; fields of
    istio/api ``mesh/v1alpha1/proxy.proto``): ``holdApplicationUntilProxyStarts`` (the
    gateway reaches Redis at start, through the sidecar, and exits when it cannot);
    ``terminationDrainDuration`` = the grace period (the agent otherwise kills Envoy 5 s
    after SIGTERM, cutting every stream still in flight) with ``EXIT_ON_ZERO_ACTIVE_CONNECTIONS``
    (``proxyMetadata``; istio/istio ``pkg/model/proxy.go``): the sidecar leaves as soon as
    no connection is left instead of sleeping the whole duration."""
    return json.dumps(
        {
            "holdApplicationUntilProxyStarts": True,
            "terminationDrainDuration": f"{TERMINATION_GRACE_SECONDS}s",
            "proxyMetadata": {"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "true"},
        },
        sort_keys=True,
    )


def topology_spread() -> list[dict[str, Any]]:
    """At most one gateway pod more on any node than on another (``DoNotSchedule``), and
    spread over zones where the nodes allow (``ScheduleAnyway``). Kubernetes "Pod Topology
    Spread Constraints": ``nodeTaintsPolicy: Honor`` leaves out nodes whose taints the pod
    does not tolerate (the GPU nodes; by default they count, each with 0 gateway pods, and
    would make a second pod unschedulable); ``matchLabelKeys: [pod-template-hash]`` counts
    only the pods of the same ReplicaSet, so a rollout's new pods spread among themselves."""
    common = {
        "maxSkew": 1,
        "labelSelector": {"matchLabels": dict(GATEWAY_LABELS)},
        "matchLabelKeys": ["pod-template-hash"],
        "nodeTaintsPolicy": "Honor",
    }
    return [
        {**common, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"},
        {
            **common,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
        },
    ]


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": METRICS_PORT},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _meta(name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": LLM_NAMESPACE, "labels": dict(labels)}


def gateway_manifests(
    platform: PlatformSettings, image: str, labels: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Child suffix -> manifest: ``gateway-sa`` (ServiceAccount, no token mounted),
    ``gateway`` (Deployment: ``image``, the routes ConfigMap at ``/etc/tenantry/routes`` and
    the salt Secret at ``/etc/tenantry/salt``, with ``llmRuntimeTls`` each runtime's KServe
    certificate at ``/etc/tenantry/upstream-ca/<base>.crt``, read-only root filesystem,
    resources with ephemeral storage, sidecar injected by the namespace label),
    ``gateway-service`` (ports ``http`` 8080 and ``http-metrics`` 9090) and
    ``gateway-monitor`` (PodMonitor of the
    metrics port; ``honorLabels: false`` and no label copied from the pod, so the series keep
    their own ``tenant`` label), ``gateway-pdb`` (PodDisruptionBudget, one pod at a time). The
    Deployment runs ``llmGatewayReplicas`` pods, rolled one new before one old, spread over
    nodes (:func:`topology_spread`), probed on ``/healthz`` and ``/readyz`` of the metrics
    port, with a grace period and a sidecar drain (:func:`proxy_config`) that cover the
    longest request it lets run (:data:`MAX_REQUEST_SECONDS`). With more than one replica,
    also :func:`redis_manifests` (``redis-sa``, ``redis``, ``redis-service``) and the
    ``--redis``/``--redis-password-file`` arguments and mount that reach it."""
    pod_labels = {**labels, **GATEWAY_LABELS}
    mounts: list[dict[str, Any]] = [
        {"name": "routes", "mountPath": ROUTES_DIR, "readOnly": True},
        {"name": "salt", "mountPath": SALT_DIR, "readOnly": True},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "routes", "configMap": {"name": ROUTES_CONFIG_MAP}},
        {"name": "salt", "secret": {"secretName": SALT_SECRET}},
    ]
    if platform.llm_runtime_tls:
        mounts.append({"name": "upstream-ca", "mountPath": UPSTREAM_CA_DIR, "readOnly": True})
        volumes.append(upstream_ca_volume(platform))
    if platform.llm_gateway_shares_state:
        mounts.append({"name": "redis", "mountPath": REDIS_PASSWORD_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "redis",
                "secret": {
                    "secretName": REDIS,
                    "items": [{"key": REDIS_PASSWORD_KEY, "path": REDIS_PASSWORD_KEY}],
                },
            }
        )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(GATEWAY, pod_labels),
        "spec": {
            "replicas": platform.llm_gateway_replicas,
            "selector": {"matchLabels": dict(GATEWAY_LABELS)},
            # a rollout adds a pod before it removes one: the ready count never drops
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {PROXY_CONFIG: proxy_config()},
                },
                "spec": {
                    "serviceAccountName": GATEWAY,
                    "automountServiceAccountToken": False,
                    "securityContext": POD_SECURITY,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "topologySpreadConstraints": topology_spread(),
                    "containers": [
                        {
                            "name": "gateway",
                            "image": image,
                            "args": gateway_args(platform),
                            "ports": [
                                {"name": "http", "containerPort": GATEWAY_PORT},
                                {"name": "http-metrics", "containerPort": METRICS_PORT},
                            ],
                            # /readyz turns 503 on SIGTERM (the drain); /healthz stays 200
                            # while the process serves (tenantry.llmgateway.server)
                            "startupProbe": _probe("/healthz", 2, 30),
                            "readinessProbe": _probe("/readyz", 5, 2),
                            "livenessProbe": _probe("/healthz", 10, 3),
                            "resources": GATEWAY_RESOURCES,
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
    out: dict[str, dict[str, Any]] = {
        "gateway-sa": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(GATEWAY, labels),
            "automountServiceAccountToken": False,
        },
        "gateway": deployment,
        # voluntary disruptions (node drains, cluster upgrades) take one pod at a time; a pod
        # that is not ready may always be evicted, so a broken one never blocks a drain
        # (Kubernetes "Specifying a Disruption Budget", unhealthyPodEvictionPolicy)
        "gateway-pdb": {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(GATEWAY, labels),
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": dict(GATEWAY_LABELS)},
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
        },
        "gateway-service": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(GATEWAY, labels),
            "spec": {
                "selector": dict(GATEWAY_LABELS),
                "ports": [
                    {"name": "http", "port": 80, "targetPort": GATEWAY_PORT},
                    {"name": "http-metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT},
                ],
            },
        },
        "gateway-monitor": {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": _meta(GATEWAY, labels),
            "spec": {
                "selector": {"matchLabels": dict(GATEWAY_LABELS)},
                "podMetricsEndpoints": [
                    {
                        "port": "http-metrics",
                        "path": "/metrics",
                        "interval": "30s",
                        "honorLabels": False,
                        "scheme": "http",
                    }
                ],
            },
        },
    }
    if platform.llm_gateway_shares_state:
        out.update(redis_manifests(platform, labels))
    return out


def redis_manifests(
    platform: PlatformSettings, labels: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Child suffix -> manifest of the Redis the gateway replicas share (rendered while
    ``llmGatewayReplicas`` > 1): ``redis-sa`` (ServiceAccount, no token), ``redis``
    (Deployment, one replica, ``Recreate``: two Redis pods behind one Service would split the
    buckets; ``llmRedisImage`` by digest, its configuration :func:`redis_conf` from Secret
    ``tenantry-llm-gateway-redis`` key ``redis.conf``, read-only root filesystem, ``/data`` an
    emptyDir, probes that log in with the password, ``REDISCLI_AUTH``, and expect ``PONG``:
    ``redis-cli`` exits 0 on an error reply too), ``redis-service`` (port ``tcp-redis`` 6379:
    Istio treats it as opaque TCP, istio.io "Protocol Selection"). The Secret itself is
    declared by :class:`tenantry.platform.llm.SharedLlms` (its values are secret outputs)."""
    pod_labels = {**labels, **REDIS_LABELS}
    ping = f'test "$(redis-cli -h 127.0.0.1 -p {REDIS_PORT} ping)" = PONG'
    probe = {"exec": {"command": ["sh", "-c", ping]}, "periodSeconds": 10, "timeoutSeconds": 3}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(REDIS, pod_labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(REDIS_LABELS)},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": REDIS,
                    "automountServiceAccountToken": False,
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "redis",
                            "image": redis_image(platform),
                            "command": ["redis-server", f"{REDIS_CONF_DIR}/{REDIS_CONF_KEY}"],
                            "ports": [{"name": "tcp-redis", "containerPort": REDIS_PORT}],
                            "env": [
                                {
                                    "name": "REDISCLI_AUTH",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": REDIS, "key": REDIS_PASSWORD_KEY}
                                    },
                                }
                            ],
                            "readinessProbe": {**probe, "failureThreshold": 1},
                            "livenessProbe": {**probe, "failureThreshold": 3},
                            "resources": REDIS_RESOURCES,
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": [
                                {"name": "conf", "mountPath": REDIS_CONF_DIR, "readOnly": True},
                                {"name": "data", "mountPath": "/data"},
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "conf",
                            "secret": {
                                "secretName": REDIS,
                                "items": [{"key": REDIS_CONF_KEY, "path": REDIS_CONF_KEY}],
                            },
                        },
                        {"name": "data", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }
    return {
        "redis-sa": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(REDIS, labels),
            "automountServiceAccountToken": False,
        },
        "redis": deployment,
        "redis-service": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(REDIS, labels),
            "spec": {
                "selector": dict(REDIS_LABELS),
                "ports": [
                    {
                        "name": "tcp-redis",
                        "port": REDIS_PORT,
                        "targetPort": REDIS_PORT,
                        "appProtocol": "tcp",
                    }
                ],
            },
        },
    }


def namespace_labels(platform: PlatformSettings, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels of namespace ``tenantry-llm``: the platform's, and Istio's injection label
    (the gateway and the runtimes run sidecars: the identity layer above needs them)."""
    return dict(sorted({**labels, **injection_labels(platform)}.items()))


def network_policy_specs(
    platform: PlatformSettings, grants: Sequence[AdapterGrant]
) -> dict[str, dict[str, Any]]:
    """Policy name -> NetworkPolicy spec in ``tenantry-llm`` (see the module docstring).
    Kubernetes semantics (documentation, "Network Policies"): a pod selected by a policy of
    type Ingress accepts only what some rule of some policy selecting it allows; egress stays
    open (the runtimes read the base model and the adapters from S3)."""
    gateway_pods = {"podSelector": {"matchLabels": dict(GATEWAY_LABELS)}}
    out: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "runtime-from-gateway": {
            "podSelector": {"matchLabels": dict(RUNTIME_SELECTOR)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [gateway_pods], "ports": [{"protocol": "TCP", "port": VLLM_PORT}]}
            ],
        },
    }
    if platform.llm_gateway_shares_state:
        out["redis-from-gateway"] = {
            "podSelector": {"matchLabels": dict(REDIS_LABELS)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [gateway_pods], "ports": [{"protocol": "TCP", "port": REDIS_PORT}]}
            ],
        }
    ingress: list[dict[str, Any]] = []
    tenants = caller_namespaces(grants)
    if tenants:
        ingress.append(
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [
                                {"key": NS_NAME, "operator": "In", "values": tenants}
                            ]
                        }
                    }
                ],
                "ports": [{"protocol": "TCP", "port": GATEWAY_PORT}],
            }
        )
    ingress.append(
        {
            "from": [{"namespaceSelector": {"matchLabels": {NS_NAME: namespaces.MONITORING}}}],
            "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
        }
    )
    out["gateway-callers"] = {
        "podSelector": {"matchLabels": dict(GATEWAY_LABELS)},
        "policyTypes": ["Ingress"],
        "ingress": ingress,
    }
    return out


def istio_manifests(
    platform: PlatformSettings, grants: Sequence[AdapterGrant], labels: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Child suffix -> Istio object in ``tenantry-llm`` (see the module docstring):
    ``mtls`` (PeerAuthentication STRICT, namespace-wide), ``gateway-mtls`` (STRICT at the
    gateway pods, PERMISSIVE on the metrics port), ``gateway-authz`` and ``runtime-authz``
    (AuthorizationPolicy ALLOW)."""

    def obj(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": SECURITY, "kind": kind, "metadata": _meta(name, labels), "spec": spec}

    gateway_rules: list[dict[str, Any]] = []
    tenants = caller_namespaces(grants)
    if tenants:
        gateway_rules.append(
            {
                "from": [
                    {"source": {"principals": [principal(platform, t, "*") for t in tenants]}}
                ],
                "to": [{"operation": {"ports": [str(GATEWAY_PORT)]}}],
            }
        )
    gateway_rules.append(
        {
            "to": [
                {
                    "operation": {
                        "ports": [str(METRICS_PORT)],
                        "methods": ["GET"],
                        "paths": ["/metrics"],
                    }
                }
            ]
        }
    )
    out = {
        "mtls": obj("PeerAuthentication", "tenantry-llm-mtls", {"mtls": {"mode": "STRICT"}}),
        "gateway-mtls": obj(
            "PeerAuthentication",
            f"{GATEWAY}-mtls",
            {
                "selector": {"matchLabels": dict(GATEWAY_LABELS)},
                "mtls": {"mode": "STRICT"},
                "portLevelMtls": {str(METRICS_PORT): {"mode": "PERMISSIVE"}},
            },
        ),
        "gateway-authz": obj(
            "AuthorizationPolicy",
            f"{GATEWAY}-callers",
            {
                "selector": {"matchLabels": dict(GATEWAY_LABELS)},
                "action": "ALLOW",
                "rules": gateway_rules,
            },
        ),
        "runtime-authz": obj(
            "AuthorizationPolicy",
            "tenantry-llm-runtime-callers",
            {
                "selector": {"matchLabels": dict(RUNTIME_SELECTOR)},
                "action": "ALLOW",
                "rules": [
                    {
                        "from": [
                            {
                                "source": {
                                    "principals": [principal(platform, LLM_NAMESPACE, GATEWAY)]
                                }
                            }
                        ],
                        "to": [{"operation": {"ports": [str(VLLM_PORT)]}}],
                    }
                ],
            },
        ),
    }
    if platform.llm_gateway_shares_state:
        # Redis is TCP to the mesh: only the peer's principal and the port can match (an
        # HTTP field in a rule would make it match nothing: istio.io AuthorizationPolicy
        # reference, "Authorization Policy for TCP workloads")
        out["redis-authz"] = obj(
            "AuthorizationPolicy",
            f"{REDIS}-callers",
            {
                "selector": {"matchLabels": dict(REDIS_LABELS)},
                "action": "ALLOW",
                "rules": [
                    {
                        "from": [
                            {
                                "source": {
                                    "principals": [principal(platform, LLM_NAMESPACE, GATEWAY)]
                                }
                            }
                        ],
                        "to": [{"operation": {"ports": [str(REDIS_PORT)]}}],
                    }
                ],
            },
        )
    return out


def request_path_objects(
    platform: PlatformSettings, grants: Sequence[AdapterGrant], labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every object of ``tenantry-llm`` on the request path, as the platform declares it:
    the Namespace, the NetworkPolicies, the Istio objects, the routes ConfigMap, the
    gateway's Deployment and each base model's adapters ConfigMap and LLMInferenceService
    (empty without base models). The isolation proof reads these
    (:mod:`tenantry.plan.request_path`)."""
    if not platform.llm_base_models:
        return []
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": LLM_NAMESPACE, "labels": namespace_labels(platform, labels)},
        }
    ]
    out += [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(name, labels),
            "spec": spec,
        }
        for name, spec in network_policy_specs(platform, grants).items()
    ]
    out += list(istio_manifests(platform, grants, labels).values())
    out.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(ROUTES_CONFIG_MAP, labels),
            "data": {"routes.json": json.dumps(tenant_llm_routes(platform, grants), indent=2)},
        }
    )
    image = platform.llm_gateway_image or UNPINNED_GATEWAY_IMAGE
    out.append(gateway_manifests(platform, image, labels)["gateway"])
    for b in platform.llm_base_models:
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(adapters_config_map(b.name), labels),
                "data": {
                    ADAPTER_CONFIG_KEY: json.dumps(runtime_adapters(b.name, grants), indent=2)
                },
            }
        )
        out.append(shared_llm_manifest(platform, b, labels))
    return out
