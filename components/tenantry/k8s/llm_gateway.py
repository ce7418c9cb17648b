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
    LLM_NAMESPACE,
    ROUTES_CONFIG_MAP,
    AdapterGrant,
    runtime_name,
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
# requests and limits of the gateway container (a small asyncio proxy; one replica, its token
# buckets in process: several replicas need a shared Redis, which this render does not run)
GATEWAY_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
    "limits": {"cpu": "2", "memory": "1Gi", "ephemeral-storage": "1Gi"},
}
GATEWAY_REPLICAS = 1
# What an offline render names when llmGatewayImage is not set (the platform stack refuses
# to deploy without the setting: tenantry.platform.llm.SharedLlms).
UNPINNED_GATEWAY_IMAGE = "tenantry/llm-gateway:unpinned"


def granted_tenants(grants: Sequence[AdapterGrant]) -> list[str]:
    """The tenants (= namespaces) that hold at least one adapter grant, sorted."""
    return sorted({g.tenant for g in grants})


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
    return child_name(runtime_name(base), "-kserve-self-signed-certs")


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
    args += ["--port", str(GATEWAY_PORT), "--metrics-port", str(METRICS_PORT)]
    return args


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
    their own ``tenant`` label)."""
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
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(GATEWAY, pod_labels),
        "spec": {
            "replicas": GATEWAY_REPLICAS,
            "selector": {"matchLabels": dict(GATEWAY_LABELS)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": GATEWAY,
                    "automountServiceAccountToken": False,
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "gateway",
                            "image": image,
                            "args": gateway_args(platform),
                            "ports": [
                                {"name": "http", "containerPort": GATEWAY_PORT},
                                {"name": "http-metrics", "containerPort": METRICS_PORT},
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": METRICS_PORT}
                            },
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
    return {
        "gateway-sa": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(GATEWAY, labels),
            "automountServiceAccountToken": False,
        },
        "gateway": deployment,
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
    ingress: list[dict[str, Any]] = []
    tenants = granted_tenants(grants)
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
    tenants = granted_tenants(grants)
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
    return {
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


def request_path_objects(
    platform: PlatformSettings, grants: Sequence[AdapterGrant], labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every object of ``tenantry-llm`` on the request path, as the platform declares it:
    the Namespace, the NetworkPolicies, the Istio objects, the routes ConfigMap, the
    gateway's Deployment and each base model's LLMInferenceService (empty without base
    models). The isolation proof reads these (:mod:`tenantry.plan.request_path`)."""
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
    out += [shared_llm_manifest(platform, b, grants, labels) for b in platform.llm_base_models]
    return out
