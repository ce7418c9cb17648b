"""``TenantNamespace``: the hardened Kubernetes boundary of one tenant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.core.v1 import (
    LimitRange,
    Namespace,
    ResourceQuota,
    Secret,
    ServiceAccount,
)
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.rbac.v1 import Role, RoleBinding

from ..identity import POD_IDENTITY, Identity
from ..spec import ResolvedTenant
from ..spec.platform import Mesh
from ..tags import tenant_labels
from ..triton import serving_caps
from ..triton_admin import ADMIN_SECRET, ADMIN_SECRET_KEY
from .inference_service import ephemeral_storage_gib
from .labels import (
    MONITORING_NAMESPACE,
    SERVING_SYSTEM_NAMESPACE,
    admin_group,
    cpu_quantity,
    memory_quantity,
    own_llm_pod_selector,
)
from .llm_gateway import GATEWAY_LABELS, GATEWAY_PORT, RUNTIME_SELECTOR, VLLM_PORT
from .llm_inference_service import LLM_NAMESPACE, llm_ephemeral_storage_gib
from .mesh import (
    ACTIVATOR_LABELS,
    AUTOSCALER_LABELS,
    AUTOSCALER_METRICS_PORT,
    ENVOY_STATS_PORT,
    ISTIO_AGENT_STATUS_PORT,
    MODEL_LABEL,
    SCRAPED_PORTS,
    SERVING_PORTS,
    MeshSettings,
    injection_labels,
)

POD_SECURITY = "restricted"
POD_IDENTITY_AGENT = "169.254.170.23/32"  # EKS Pod Identity agent (link-local, port 80)
NON_PUBLIC = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
NS_NAME = "kubernetes.io/metadata.name"
# Containers Tenantry does not write itself: KServe's storage-initializer (init container),
# Knative's queue-proxy and Istio's istio-proxy. The LimitRange gives each this much ephemeral
# storage; the LimitRanger admission plugin also defaults containers that a mutating webhook
# injects (it is re-invoked after webhooks since Kubernetes 1.15, see linkerd/linkerd2#3750).
SIDECARS_PER_POD = 2  # queue-proxy and istio-proxy (the init container runs before them)
SIDECAR_EPHEMERAL_LIMIT_GIB = 1
SIDECAR_EPHEMERAL_REQUEST = "256Mi"
ADMIN_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["serving.kserve.io"],
        "resources": ["inferenceservices", "inferenceservices/status"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["serving.knative.dev"],
        "resources": ["services", "revisions", "routes", "configurations"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": [""],
        "resources": ["pods", "pods/log", "services", "endpoints", "events", "configmaps"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "replicasets"],
        "verbs": ["get", "list", "watch"],
    },
]


def _untyped(value: Any) -> Any:
    """Plain Kubernetes-shaped dicts for the SDK's TypedDict arguments (same wire format)."""
    return value


def _ports(ports: Sequence[int], protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def _from_namespaces(names: Sequence[str]) -> dict[str, Any]:
    return {
        "namespaceSelector": {
            "matchExpressions": [{"key": NS_NAME, "operator": "In", "values": sorted(set(names))}]
        }
    }


@dataclass(frozen=True, kw_only=True)
class TenantNamespaceArgs:
    """``tenant``: the resolved tenant. ``gateway_namespace``: the platform's Istio gateway
    namespace (callers and egress). ``mesh``: the platform's Istio installation (the
    injection label, the gateway pods' labels; default Istio's). ``identity``:
    :class:`tenantry.identity.Identity` (default EKS Pod Identity). ``role_arn``: the
    tenant's inference role, required for IRSA (the service account's
    ``eks.amazonaws.com/role-arn`` annotation), unused otherwise."""

    tenant: ResolvedTenant
    gateway_namespace: str
    mesh: Mesh = field(default_factory=Mesh)
    identity: Identity = POD_IDENTITY
    role_arn: pulumi.Input[str] | None = None
    triton_admin_key: pulumi.Input[str]
    """The header value that opens the tenant's Triton admin APIs
    (:func:`tenantry.triton.admin_key`; pass a secret)."""


class TenantNamespace(pulumi.ComponentResource):
    """The tenant's namespace and everything that makes it a boundary.

    Creates (names derive from ``name``; the namespace itself is named after the tenant):

    - ``Namespace`` labelled with the tag policy's keys (tenant, cost-center, tier, environment,
      managed-by, the tenant's labels), ``pod-security.kubernetes.io/{enforce,audit,warn}:
      restricted`` and Istio's injection label (``istio-injection: enabled``, or
      ``istio.io/rev`` for a revision): every pod gets a sidecar, which passes ``restricted``
      because the platform runs Istio with its CNI plugin (docs/gateway.md);
    - ``ResourceQuota`` ``<name>-quota``: cpu and memory (requests and limits), pods
      (2 x the most pods the models and own LLMs can run at once, :func:`pods_at_most`,
      room for a rolling revision),
      ``requests.ephemeral-storage`` and ``limits.ephemeral-storage`` (the same 2 x, each pod
      at its Triton container's size plus the sidecars' LimitRange default: see
      :func:`ephemeral_storage_hard`),
      ``requests.nvidia.com/gpu`` (0 unless whole GPUs are in the quota) and one
      ``requests.nvidia.com/mig-<profile>`` per quota profile, ``services.loadbalancers: 0`` and
      ``services.nodeports: 0`` (models are reached only through the gateway);
    - ``ResourceQuota`` ``<name>-priority-guard``: no pod may use any PriorityClass but the
      tier's (PriorityClasses themselves belong to the platform);
    - ``LimitRange`` ``<name>-limits``: containers without requests/limits get 250m/256Mi/256Mi
      (cpu/memory/ephemeral-storage) requested and 1 CPU/1Gi/1Gi limit: KServe's storage
      initializer and the injected queue-proxy and istio-proxy sidecars, whose resources
      Tenantry does not write (the quota on ephemeral storage makes every container need one);
    - ``Secret`` ``tenantry-triton-admin`` (key ``key``): the Triton admin header value the
      model containers read (:mod:`tenantry.triton_admin`); tenant admins cannot read it;
    - ``NetworkPolicy``s: ``default-deny`` (ingress and egress), ``allow-dns`` (kube-dns in
      kube-system, 53/UDP+TCP), ``allow-callers`` (the queue-proxy's serving ports 8012/8013,
      only from the ingress gateway pods and ``access.allowedNamespaces``),
      ``allow-serving-system`` (Knative's autoscaler on its metrics port 9090, Prometheus in
      ``monitoring`` on 8002/9091 and on the sidecar's stats port 15090, which the tenant's
      monitor scrapes), ``allow-activator`` (only when a model scales to zero: the
      activator pods on 8012/8013 of those models' pods), ``allow-model-egress`` (the EKS Pod
      Identity agent on 80, istiod on 15012, and S3 over 443: ``standard`` network isolation
      allows 443 to public addresses only (no cluster, VPC or link-local/IMDS address);
      ``strict`` allows 443 only to the Istio egress gateway in the gateway namespace, which the
      platform limits to its region's S3 endpoints - no direct internet egress at all);
    - ``ServiceAccount`` ``<tenant>-inference`` with ``automountServiceAccountToken: false``
      (the Pod Identity / IRSA webhooks mount their own projected token); annotated with
      ``eks.amazonaws.com/role-arn`` only with IRSA. Default: EKS Pod Identity,
      whose association is created on the AWS side;
    - ``Role``/``RoleBinding`` ``<name>-admin``: the group ``tenantry:<tenant>:admins`` may read
      the tenant's serving objects, pods and logs and delete (restart) pods, in this namespace
      only; no secrets, RBAC, quotas or network policies (those come from the tenant file).
    """

    TYPE = "tenantry:k8s:TenantNamespace"

    def __init__(
        self, name: str, args: TenantNamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.identity.is_irsa and args.role_arn is None:
            raise ValueError("role_arn: required when identity.mode is 'irsa'")
        super().__init__(self.TYPE, name, None, opts)
        t = args.tenant
        self.namespace_name = t.name
        self.service_account_name = f"{t.name}-inference"
        labels = tenant_labels(t)
        child = pulumi.ResourceOptions(parent=self)

        self.namespace = Namespace(
            f"{name}-namespace",
            metadata=_untyped(namespace_metadata(t, args)),
            opts=child,
        )
        inner = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        def meta(obj: str) -> Any:  # ObjectMetaArgsDict
            return {"name": obj, "namespace": t.name, "labels": labels}

        self.quota = ResourceQuota(
            f"{name}-quota",
            metadata=meta(f"{t.name}-quota"),
            spec=_untyped({"hard": quota_hard(t)}),
            opts=inner,
        )
        self.priority_guard = ResourceQuota(
            f"{name}-priority-guard",
            metadata=meta(f"{t.name}-priority-guard"),
            spec=_untyped(
                {
                    "hard": {"pods": "0"},
                    "scopeSelector": {
                        "matchExpressions": [
                            {
                                "scopeName": "PriorityClass",
                                "operator": "NotIn",
                                "values": [t.tier.priority_class],
                            }
                        ]
                    },
                }
            ),
            opts=inner,
        )
        self.limit_range = LimitRange(
            f"{name}-limits",
            metadata=meta(f"{t.name}-limits"),
            spec=_untyped(
                {
                    "limits": [
                        {
                            "type": "Container",
                            "default": {
                                "cpu": "1",
                                "memory": "1Gi",
                                "ephemeral-storage": f"{SIDECAR_EPHEMERAL_LIMIT_GIB}Gi",
                            },
                            "defaultRequest": {
                                "cpu": "250m",
                                "memory": "256Mi",
                                "ephemeral-storage": SIDECAR_EPHEMERAL_REQUEST,
                            },
                        }
                    ]
                }
            ),
            opts=inner,
        )

        self.triton_admin = Secret(
            f"{name}-triton-admin",
            metadata=meta(ADMIN_SECRET),
            type="Opaque",
            string_data={ADMIN_SECRET_KEY: pulumi.Output.secret(args.triton_admin_key)},
            opts=inner,
        )

        self.network_policies = [
            NetworkPolicy(f"{name}-{pol}", metadata=meta(pol), spec=_untyped(spec), opts=inner)
            for pol, spec in network_policy_specs(t, args).items()
        ]

        sa_meta = meta(self.service_account_name)
        if args.identity.is_irsa:
            sa_meta["annotations"] = {"eks.amazonaws.com/role-arn": args.role_arn}
        self.service_account = ServiceAccount(
            f"{name}-inference-sa",
            metadata=sa_meta,
            automount_service_account_token=False,
            opts=inner,
        )

        self.admin_role = Role(
            f"{name}-admin",
            metadata=meta(f"{t.name}-admin"),
            rules=_untyped(ADMIN_RULES),
            opts=inner,
        )
        self.admin_binding = RoleBinding(
            f"{name}-admin-binding",
            metadata=meta(f"{t.name}-admin"),
            role_ref=_untyped(
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{t.name}-admin"}
            ),
            subjects=_untyped(
                [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Group",
                        "name": admin_group(t.name),
                    }
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.admin_role]),
        )

        self.register_outputs({"namespace": t.name, "serviceAccount": self.service_account_name})


OWNER_ANNOTATION = "tenantry.dev/owner"  # metadata.owner (an e-mail: not a valid label value)


def namespace_metadata(t: ResolvedTenant, platform: MeshSettings) -> dict[str, Any]:
    """The tenant namespace's ``metadata``: its name, :func:`namespace_labels`, and the
    tenant's ``metadata.owner`` as annotation ``tenantry.dev/owner`` when given (who to ask
    about the namespace, read by ``kubectl describe namespace``)."""
    out: dict[str, Any] = {"name": t.name, "labels": namespace_labels(t, platform)}
    if t.owner:
        out["annotations"] = {OWNER_ANNOTATION: t.owner}
    return out


def namespace_labels(t: ResolvedTenant, platform: MeshSettings) -> dict[str, str]:
    """The tenant namespace's labels: the tag policy's, Pod Security ``restricted`` (enforce,
    audit, warn) and Istio's sidecar injection."""
    ns_labels = dict(tenant_labels(t))
    for mode in ("enforce", "audit", "warn"):
        ns_labels[f"pod-security.kubernetes.io/{mode}"] = POD_SECURITY
        ns_labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    ns_labels.update(injection_labels(platform))
    return dict(sorted(ns_labels.items()))


def quota_hard(t: ResolvedTenant) -> dict[str, str]:
    q = t.quotas
    cpu, mem = cpu_quantity(q.cpu), memory_quantity(q.memory_gib)
    hard = {
        "requests.cpu": cpu,
        "limits.cpu": cpu,
        "requests.memory": mem,
        "limits.memory": mem,
        "pods": str(2 * pods_at_most(t)),
        "requests.ephemeral-storage": ephemeral_storage_hard(t),
        "limits.ephemeral-storage": ephemeral_storage_hard(t),
        "requests.nvidia.com/gpu": str(q.gpus.get("gpu", 0)),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    for profile, count in sorted(q.gpus.items()):
        if profile != "gpu":
            hard[f"requests.nvidia.com/mig-{profile}"] = str(count)
    return dict(sorted(hard.items()))


def pods_at_most(t: ResolvedTenant) -> int:
    """The most serving pods the tenant runs at once: every model's ``maxReplicas`` x
    revisions (:func:`tenantry.triton.serving_caps`) plus every own LLM's ``replicas`` (one
    pod per replica: kserve v0.20.0 ``workload_single_node.go``)."""
    return serving_caps(t).max_pods + sum(llm.replicas for llm in t.llms)


def ephemeral_storage_hard(t: ResolvedTenant) -> str:
    """The namespace's ephemeral-storage quota: 2 x (every model's ``maxReplicas`` x
    revisions) pods, each at its Triton container's ephemeral storage
    (:func:`~tenantry.k8s.inference_service.ephemeral_storage_gib`) plus
    :data:`SIDECARS_PER_POD` sidecars at the LimitRange's default limit, and every own LLM's
    ``replicas`` pods at its vLLM container's
    (:func:`~tenantry.k8s.llm_inference_service.llm_ephemeral_storage_gib`) plus the same
    sidecars; the same 2 x as the pods quota (room for a rolling revision). At least one
    sidecar pod's worth when the tenant has no models."""
    per_pod = SIDECARS_PER_POD * SIDECAR_EPHEMERAL_LIMIT_GIB
    total = sum(
        m.max_replicas * m.revisions * (ephemeral_storage_gib(m) + per_pod) for m in t.models
    ) + sum(
        llm.replicas * (llm_ephemeral_storage_gib(llm.gpu_model, llm.gpu, llm.gpus) + per_pod)
        for llm in t.llms
    )
    return memory_quantity(2 * max(total, per_pod))


def network_policy_specs(t: ResolvedTenant, platform: MeshSettings) -> dict[str, Any]:
    """Policy name -> NetworkPolicy spec (see :class:`TenantNamespace`)."""
    gw = platform.gateway_namespace
    all_pods: dict[str, Any] = {}
    scale_to_zero = sorted(m.name for m in t.models if m.min_replicas == 0)
    if t.tier.network_isolation == "strict":
        s3: dict[str, Any] = {
            "to": [
                {
                    **_from_namespaces([gw]),
                    "podSelector": {"matchLabels": {"istio": "egressgateway"}},
                }
            ],
            "ports": _ports([443, 8443]),
        }
    else:
        s3 = {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC)}}],
            "ports": _ports([443]),
        }
    return {
        "default-deny": {"podSelector": all_pods, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": all_pods,
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            **_from_namespaces(["kube-system"]),
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": _ports([53], "UDP") + _ports([53], "TCP"),
                }
            ],
        },
        "allow-callers": {
            "podSelector": all_pods,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            **_from_namespaces([gw]),
                            "podSelector": {
                                "matchLabels": dict(platform.mesh.ingress_gateway_labels)
                            },
                        },
                        *(
                            [_from_namespaces(t.access.allowed_namespaces)]
                            if t.access.allowed_namespaces
                            else []
                        ),
                    ],
                    "ports": _ports(SERVING_PORTS),
                }
            ],
        },
        "allow-serving-system": {
            "podSelector": all_pods,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            **_from_namespaces([SERVING_SYSTEM_NAMESPACE]),
                            "podSelector": {"matchLabels": dict(AUTOSCALER_LABELS)},
                        }
                    ],
                    "ports": _ports([AUTOSCALER_METRICS_PORT]),
                },
                {
                    "from": [_from_namespaces([MONITORING_NAMESPACE])],
                    "ports": _ports([*SCRAPED_PORTS, ENVOY_STATS_PORT]),
                },
            ],
        },
        **(
            {
                "allow-activator": {
                    "podSelector": {
                        "matchExpressions": [
                            {"key": MODEL_LABEL, "operator": "In", "values": scale_to_zero}
                        ]
                    },
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    **_from_namespaces([SERVING_SYSTEM_NAMESPACE]),
                                    "podSelector": {"matchLabels": dict(ACTIVATOR_LABELS)},
                                }
                            ],
                            "ports": _ports(SERVING_PORTS),
                        }
                    ],
                }
            }
            if scale_to_zero
            else {}
        ),
        **_llm_policies(t),
        "allow-model-egress": {
            "podSelector": all_pods,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": _ports([80])},
                {
                    "to": [
                        {
                            **_from_namespaces([gw]),
                            "podSelector": {"matchLabels": {"app": "istiod"}},
                        }
                    ],
                    "ports": _ports([15012]),
                },
                s3,
            ],
        },
    }


def _llm_policies(t: ResolvedTenant) -> dict[str, Any]:
    """The tenant's LLM paths: ``allow-llm-gateway`` (egress of its pods to the LLM gateway's
    API port, with adapters on a shared base model: the gateway admits the tenant's own
    namespace) and ``allow-llm-callers`` (ingress to its own LLMs' vLLM port from the allowed
    namespaces, with own LLMs: KServe's LLMInferenceService pods serve on 8000,
    :mod:`tenantry.k8s.llm_gateway`)."""
    out: dict[str, Any] = {}
    if t.llm_adapters:
        out["allow-llm-gateway"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            **_from_namespaces([LLM_NAMESPACE]),
                            "podSelector": {"matchLabels": dict(GATEWAY_LABELS)},
                        }
                    ],
                    "ports": _ports([GATEWAY_PORT]),
                }
            ],
        }
    if t.llms:
        # vLLM's metrics merged by the istio-agent on its status port
        # (:func:`tenantry.observability.monitor.llm_pod_monitor`): admitted on the own LLMs'
        # pods only, by the PodMonitor's own selector (15020 also serves the agent's health
        # and debug handlers on every injected pod)
        out["allow-llm-metrics"] = {
            "podSelector": own_llm_pod_selector(t),
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [_from_namespaces([MONITORING_NAMESPACE])],
                    "ports": _ports([ISTIO_AGENT_STATUS_PORT]),
                }
            ],
        }
    if t.llms and t.access.allowed_namespaces:
        out["allow-llm-callers"] = {
            "podSelector": {"matchLabels": dict(RUNTIME_SELECTOR)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [_from_namespaces(t.access.allowed_namespaces)],
                    "ports": _ports([VLLM_PORT]),
                }
            ],
        }
    return out
