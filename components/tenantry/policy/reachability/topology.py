"""The cluster the rendered objects describe: namespaces, the platform's request-path
workloads (ingress gateway, Knative activator), every model's pods and routes (pure).

Facts about the platform that no rendered object states, each with its source (Knative
Serving ``knative/serving`` and ``knative-extensions/net-istio`` at their main branches of
August 2026; KServe ``kserve/kserve`` of the same month):

- the ingress gateway pods (``mesh.ingressGatewayLabels`` in ``gatewayNamespace``) serve
  Knative's external gateway ``knative-ingress-gateway`` (port 80, container port 8080) and
  its cluster-local gateway ``knative-local-gateway`` (container port 8081, the Service
  ``knative-local-gateway`` port 80), both plain HTTP servers (net-istio
  ``config/202-gateway.yaml``, ``config/203-local-gateway.yaml``); gateway pods carry no
  ``security.istio.io/tlsMode`` label (Istio ``gateway-injection-template.yaml``), so
  callers reach them in plaintext and no caller identity is known there;
- the activator: Deployment ``activator`` in ``knative-serving``, labels ``app: activator``,
  ``role: activator``, service account ``activator``, ports 8012 (HTTP/1) and 8013 (h2c)
  (serving ``config/core/deployments/activator.yaml``). It takes the target revision from
  the first ``Knative-Serving-Namespace`` and ``Knative-Serving-Revision`` header values,
  and when either is empty from a Host of the form ``<revision>.<namespace>.svc.<cluster
  domain>[:port]`` (``pkg/activator/handler/context_handler.go``); it proxies to the
  revision's pods on 8012 with its own identity;
- a revision's pods: the queue-proxy listens on 8012 (HTTP/1), 8013 (h2c), 9090 (autoscaler
  metrics), 9091 (user metrics), 8022 (admin) (serving ``pkg/networking/constants.go``); the
  Triton container of the ``kserve-tritonserver`` runtime on 8080 (HTTP), 9000 (gRPC) and 8002
  (metrics). Revisions are named ``kmeta.ChildName(<configuration>, "-%05d" % generation)``
  (``pkg/reconciler/configuration/resources/revision.go``; knative/pkg ``kmeta/names.go``,
  which hashes a name longer than 63 characters: :func:`revision_name`); the predictor's
  configuration is
  ``<isvc>-predictor``. Pods carry the InferenceService's and the predictor's labels (KServe
  ``components/predictor.go``) and Knative's revision labels;
- routing: net-istio's VirtualServices route a route's hosts (cluster-local ones also in
  their ``.svc`` and short forms: ``ingress.ExpandedHosts``) at the gateways, and its
  cluster-local hosts in every sidecar (the ``mesh`` VirtualService), to the revision's
  Service, **setting** ``Knative-Serving-Namespace``/``-Revision`` (``pkg/reconciler/
  ingress/resources/virtual_service.go``); KServe's VirtualService routes the
  InferenceService's own hosts to the cluster-local gateway with the Host set to the
  predictor's (``reconcilers/ingress/ingress_reconciler.go``). Canary tags (``prev`` on the
  stable revision, ``latest`` on the new one) get hosts of their own
  (:mod:`tenantry.spec.hosts`). A route labelled ``networking.knative.dev/visibility:
  cluster-local`` has no external host;
- an ``LLMInferenceService`` (KServe ``pkg/controller/llmisvc/workload_single_node.go``):
  Deployment ``<name>-kserve`` whose pods carry ``app.kubernetes.io/part-of:
  llminferenceservice``, ``app.kubernetes.io/name: <name>``, ``app.kubernetes.io/component:
  llminferenceservice-workload``, ``kserve.io/component: workload``, run as the template's
  service account, plus the LLMInferenceService's ``spec.labels``, and serve vLLM's OpenAI
  API (``/metrics`` too) on 8000, over TLS where KServe's ``enableLLMInferenceServiceTLS``
  is set (kserve v0.20.0 ``config/llmisvcconfig/config-llm-template.yaml``; the platform's
  ``llmRuntimeTls`` states it), else plain HTTP that the sidecars carry in mTLS: the model
  treats that hop as HTTP with the gateway's mTLS identity, which holds either way because
  the runtime's AuthorizationPolicy names only the principal and the port. Their sidecar:
  neither the llmisvc controller nor its templates set ``sidecar.istio.io/inject`` (kserve
  v0.20.0, commit 1fb781055dd1567164358233e1125142ca6ef1fe), so the namespace label and the
  render's own ``spec.labels`` injection label decide (:func:`_pod_in_mesh`); without
  ``spec.router`` KServe creates no ``spec.router`` KServe creates no
  route, gateway or scheduler for it, so callers reach it at its pods only. vLLM serves every
  adapter it loaded to any caller that names it (tests/llm);
- the Tenantry LLM gateway (Deployment ``tenantry-llm-gateway`` in ``tenantry-llm``, its
  routes in ConfigMap ``tenantry-llm-routes``: :mod:`tenantry.k8s.llm_gateway`, contract in
  docs/llm.md) serves its API on 8080, takes the caller's tenant from the namespace of the
  identity its sidecar writes in ``X-Forwarded-Client-Cert``, answers 404 to any served name
  not in that tenant's routes, and forwards the rest to the runtime its routes name with its
  own identity. Envoy only vouches for that header on an mTLS connection (it forwards a
  plaintext caller's own header: ``APPEND_FORWARD``, Envoy HTTP connection manager
  ``forward_client_cert_details``), so without mTLS at the gateway the model takes the
  caller for any tenant it claims;
- the activator is in a revision's data path when the revision is scaled to zero, and, with a
  target burst capacity other than 0 (Knative's default is 200), whenever spare capacity is
  short (Knative docs, "Configuring target burst capacity"); with ``target-burst-capacity:
  "0"`` and ``minReplicas >= 1`` never.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...spec.hosts import CLUSTER_LOCAL_DOMAIN, child_name, model_hosts, short_forms
from ...spec.platform import PlatformSettings
from .istio import (
    AuthorizationPolicy,
    ModelError,
    PeerAuthentication,
    PolicySet,
    RequestAuthentication,
    Workload,
    authorization_policy,
    peer_authentication,
    principal,
    request_authentication,
)
from .netpol import Network, NetworkPolicy, network_policy

KNATIVE_NAMESPACE = "knative-serving"
ACTIVATOR_LABELS = {"app": "activator", "role": "activator"}
ACTIVATOR_SERVICE_ACCOUNT = "activator"
QUEUE_HTTP1, QUEUE_H2C = 8012, 8013
USER_PORTS = (8080, 9000)  # Triton HTTP and gRPC (kserve-tritonserver runtime)
DIRECT_PORTS = (QUEUE_HTTP1, QUEUE_H2C, *USER_PORTS)  # where an inference request is served
GATEWAY_EXTERNAL_PORT, GATEWAY_LOCAL_PORT = 8080, 8081
LLM_PORT = 8000  # vLLM in KServe's LLMInferenceService pods
LLM_GATEWAY_PORT = 8080  # the Tenantry LLM gateway's API
LLM_NAMESPACE = "tenantry-llm"  # the platform's shared base models and their gateway
LLM_GATEWAY = "tenantry-llm-gateway"  # its Deployment (tenantry.k8s.llm_gateway.GATEWAY)
LLM_ROUTES = "tenantry-llm-routes"  # its routes ConfigMap, key routes.json
# ConfigMap ``<llmisvc>-adapters`` (key adapters.json) in LLM_NAMESPACE: the adapters a shared
# runtime loads at runtime (tenantry.k8s.llm_inference_service.runtime_adapters): vLLM serves
# each under its runtime model name, which the gateway's routes name as ``runtimeModel``
LLM_ADAPTERS_SUFFIX = "-adapters"
# every port a path connects to (the caller reuse in the matrix reads only rules on these)
PROBED_PORTS = frozenset(
    (*DIRECT_PORTS, GATEWAY_EXTERNAL_PORT, GATEWAY_LOCAL_PORT, LLM_PORT, LLM_GATEWAY_PORT)
)
# KServe kinds that are templates or configuration, not workloads a caller reaches
KSERVE_TEMPLATE_KINDS = frozenset(
    {
        "ServingRuntime",
        "ClusterServingRuntime",
        "ClusterStorageContainer",
        "LLMInferenceServiceConfig",
        "LocalModelCache",
        "LocalModelNamespaceCache",
        "LocalModelNode",
        "LocalModelNodeGroup",
        "TrainedModel",
    }
)
SERVING_KINDS = frozenset({"InferenceService", "LLMInferenceService"})  # modelled here
TBC_ANNOTATION = "autoscaling.knative.dev/target-burst-capacity"
TBC_DEFAULT = "200"  # Knative config-autoscaler default
VISIBILITY_LABEL = "networking.knative.dev/visibility"
INJECT = "sidecar.istio.io/inject"
UNMODELLED_KINDS = {
    "DestinationRule",
    "VirtualService",
    "Sidecar",
    "Gateway",
    "ServiceEntry",
    "WorkloadEntry",
    "ProxyConfig",
    "WasmPlugin",
    "TrafficExtension",
}
Mode = Literal["serve", "proxy"]


def _is_unmodelled_serving_kind(obj: Mapping[str, Any]) -> bool:
    """A KServe kind that serves requests (not a template) other than :data:`SERVING_KINDS`:
    e.g. an ``InferenceGraph`` routes requests to models along paths this model does not
    follow."""
    group = str(obj.get("apiVersion", "")).split("/")[0]
    kind = str(obj.get("kind", ""))
    return (
        group == "serving.kserve.io"
        and kind not in SERVING_KINDS
        and kind not in KSERVE_TEMPLATE_KINDS
    )


def revision_name(configuration: str, generation: int) -> str:
    """The name Knative gives a configuration's revision of ``generation`` when the
    template names none (KServe names none): ``ChildName(configuration, "-%05d")``."""
    return child_name(configuration, f"-{generation:05d}")


@dataclass(frozen=True)
class ModelRef:
    """A row of the matrix. ``kind`` "": an InferenceService; ``llm``: a tenant's own
    LLMInferenceService; ``adapter``: a served name of a shared base model (a tenant's
    adapter); ``base``: a shared base model's own served name (no tenant's)."""

    tenant: str  # the namespace (the tenant's; tenantry-llm for a base model)
    name: str
    kind: Literal["", "llm", "adapter", "base"] = ""

    def __str__(self) -> str:
        kind = f"{self.kind}:" if self.kind else ""
        return f"{self.tenant}/{kind}{self.name}"


@dataclass(frozen=True)
class Revision:
    name: str
    model: ModelRef
    role: Literal["stable", "canary"]
    modes: tuple[Mode, ...]
    pod: Workload


@dataclass(frozen=True)
class Route:
    """One host-bearing route of a model: the InferenceService's own (KServe), the
    predictor's, or a tag's (Knative)."""

    kind: Literal["inference-service", "predictor", "tag"]
    name: str
    external: tuple[str, ...]  # hosts served at the ingress gateway
    local_gateway: tuple[str, ...]  # hosts served at the cluster-local gateway
    mesh: tuple[str, ...]  # hosts a caller's sidecar routes itself
    revisions: tuple[str, ...]  # revision names it sends traffic to (Knative routes)
    predictor_host: str = ""  # KServe's route: the Host it sets


@dataclass
class Model:
    ref: ModelRef
    labels: dict[str, str]
    service_account: str
    min_replicas: int
    target_burst_capacity: str
    canary: bool
    external: bool
    revisions: list[Revision] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def revision(self, name: str) -> Revision | None:
        return next((r for r in self.revisions if r.name == name), None)


@dataclass(frozen=True)
class LlmRuntime:
    """One LLMInferenceService: its pods and the names vLLM serves there."""

    ref: ModelRef  # namespace/name of the object
    pod: Workload
    base: str  # spec.model.name
    # (served name, name vLLM serves it under): spec.model.lora.adapters[].name (both the
    # same), and the runtime-loaded adapters of its ConfigMap <name>-adapters
    adapters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LlmModel:
    """A served name of an LLM runtime, as a row of the matrix."""

    ref: ModelRef
    runtime: LlmRuntime
    served_name: str
    runtime_model: str = ""  # the name vLLM serves it under ("": served_name)


@dataclass(frozen=True)
class Finding:
    """Something about the objects themselves, independent of any caller."""

    severity: Literal["error", "note"]
    object: str
    message: str


def _ns_in_mesh(labels: Mapping[str, str], revision: str | None) -> bool:
    """Istio's injection webhook selects namespaces labelled ``istio-injection=enabled`` or,
    for a revision, ``istio.io/rev=<rev>`` (istio.io "Installing the sidecar",
    "Controlling the injection policy")."""
    if labels.get("istio-injection") == "disabled":
        return False
    if labels.get("istio-injection") == "enabled":
        return revision is None
    rev = labels.get("istio.io/rev")
    return rev is not None and rev == (revision or "default")


def _pod_in_mesh(
    ns_labels: Mapping[str, str], pod: Mapping[str, str], revision: str | None
) -> bool:
    if pod.get(INJECT) == "false":
        return False
    if pod.get(INJECT) == "true" and ns_labels.get("istio-injection") != "disabled":
        return True
    return _ns_in_mesh(ns_labels, revision)


class World:
    """Every rendered object of the request path, read, plus the platform's facts."""

    def __init__(self, manifests: Iterable[Mapping[str, Any]], platform: PlatformSettings) -> None:
        self.platform = platform
        mesh = platform.mesh
        self.root = mesh.root_namespace
        self.trust_domain = mesh.trust_domain
        self.findings: list[Finding] = []
        self.namespace_labels: dict[str, dict[str, str]] = {}
        self.rendered_namespaces: set[str] = set()
        authz: list[AuthorizationPolicy] = []
        peer: list[PeerAuthentication] = []
        jwt: list[RequestAuthentication] = []
        netpols: list[NetworkPolicy] = []
        isvcs: list[Mapping[str, Any]] = []
        llmisvcs: list[Mapping[str, Any]] = []
        gateway_deployment: Mapping[str, Any] | None = None
        routes: Mapping[str, Any] | None = None
        runtime_adapters: dict[str, Mapping[str, Any]] = {}  # llmisvc name -> adapters.json
        for obj in manifests:
            kind = str(obj.get("kind", ""))
            meta = obj.get("metadata") or {}
            ref = f"{kind} {meta.get('namespace', '')}/{meta.get('name', '')}".replace(" /", " ")
            try:
                if kind == "Namespace":
                    name = str(meta["name"])
                    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
                    self.namespace_labels.setdefault(name, {}).update(labels)
                    self.rendered_namespaces.add(name)
                elif kind == "AuthorizationPolicy":
                    authz.append(authorization_policy(obj))
                elif kind == "PeerAuthentication":
                    peer.append(peer_authentication(obj))
                elif kind == "RequestAuthentication":
                    jwt.append(request_authentication(obj))
                elif kind == "NetworkPolicy":
                    netpols.append(network_policy(obj))
                elif kind == "InferenceService":
                    isvcs.append(obj)
                elif kind == "LLMInferenceService":
                    llmisvcs.append(obj)
                elif kind == "Deployment" and (meta.get("namespace"), meta.get("name")) == (
                    LLM_NAMESPACE,
                    LLM_GATEWAY,
                ):
                    gateway_deployment = obj
                elif kind == "ConfigMap" and (meta.get("namespace"), meta.get("name")) == (
                    LLM_NAMESPACE,
                    LLM_ROUTES,
                ):
                    routes = json.loads(str((obj.get("data") or {})["routes.json"]))
                elif (
                    kind == "ConfigMap"
                    and meta.get("namespace") == LLM_NAMESPACE
                    and str(meta.get("name", "")).endswith(LLM_ADAPTERS_SUFFIX)
                    and "adapters.json" in (obj.get("data") or {})
                ):
                    name = str(meta["name"])[: -len(LLM_ADAPTERS_SUFFIX)]
                    runtime_adapters[name] = json.loads(str(obj["data"]["adapters.json"]))
                elif _is_unmodelled_serving_kind(obj):
                    self.findings.append(
                        Finding(
                            "error",
                            ref,
                            f"{kind} serves requests in ways the model does not evaluate; "
                            "the isolation proof cannot hold with it",
                        )
                    )
                elif kind in UNMODELLED_KINDS:
                    self.findings.append(
                        Finding(
                            "error",
                            ref,
                            f"{kind} changes the request path in ways the model does not "
                            "evaluate; the isolation proof cannot hold with it",
                        )
                    )
            except ModelError as exc:
                raise ModelError(f"{ref}: {exc}") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelError(f"{ref}: cannot be read ({exc})") from exc
        self.authz, self.peer, self.jwt = authz, peer, jwt
        self.authz_by_ref = {p.ref: p for p in authz}
        self.network = Network(netpols, self.namespace_labels)
        self._policy_sets: dict[str, PolicySet] = {}
        for p in authz:
            if p.namespace == self.root and p.selector is None and not p.target_refs:
                self.findings.append(
                    Finding(
                        "note",
                        f"AuthorizationPolicy {p.ref}",
                        f"{p.action} policy in Istio's root namespace without a selector: it "
                        "applies to every workload of the mesh",
                    )
                )
        gw_labels = dict(mesh.ingress_gateway_labels)
        self.gateway = Workload(
            "ingress gateway",
            platform.gateway_namespace,
            gw_labels,
            mesh.ingress_gateway_service_account,
            proxy=True,
            ip="10.0.0.10",
        )
        self.gateway_principal = principal(
            self.trust_domain, platform.gateway_namespace, mesh.ingress_gateway_service_account
        )
        kn_labels = self.namespace_labels.get(KNATIVE_NAMESPACE, {})
        self.activator = Workload(
            "activator",
            KNATIVE_NAMESPACE,
            dict(ACTIVATOR_LABELS),
            ACTIVATOR_SERVICE_ACCOUNT,
            proxy=_pod_in_mesh(kn_labels, ACTIVATOR_LABELS, mesh.revision),
            ip="10.0.0.20",
        )
        self.activator_principal = principal(
            self.trust_domain, KNATIVE_NAMESPACE, ACTIVATOR_SERVICE_ACCOUNT
        )
        self.models: dict[ModelRef, Model] = {}
        for i, obj in enumerate(isvcs):
            m = self._model(obj, i)
            self.models[m.ref] = m
        self.llm_gateway = self._llm_gateway(gateway_deployment)
        self.llm_gateway_principal = (
            principal(self.trust_domain, LLM_NAMESPACE, self.llm_gateway.service_account)
            if self.llm_gateway is not None and self.llm_gateway.proxy
            else None
        )
        # tenant -> served name -> (runtime "<namespace>/<name>", the name the gateway sends
        # it as: runtimeModel, else the served name), as the gateway pins them
        self.llm_routes: dict[str, dict[str, tuple[str, str]]] = {
            str(t): {
                str(n): (str(v.get("runtime", "")), str(v.get("runtimeModel") or n))
                for n, v in (e.get("models") or {}).items()
            }
            for t, e in ((routes or {}).get("tenants") or {}).items()
        }
        # the namespaces whose callers the gateway serves as each tenant: its own and the
        # routes' ``callers`` (tenantry.llmgateway.routes.TenantRoute.serves)
        self.llm_callers: dict[str, frozenset[str]] = {
            str(t): frozenset({str(t), *(str(n) for n in (e.get("callers") or []))})
            for t, e in ((routes or {}).get("tenants") or {}).items()
        }
        self.llms: dict[ModelRef, LlmModel] = {}
        for i, obj in enumerate(llmisvcs):
            self._llm_rows(obj, i, runtime_adapters)

    # --- models -----------------------------------------------------------------------------

    def _model(self, obj: Mapping[str, Any], i: int) -> Model:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        name, ns = str(meta["name"]), str(meta["namespace"])
        ref = ModelRef(ns, name)
        pred = spec.get("predictor") or {}
        annotations = {**(meta.get("annotations") or {}), **(pred.get("annotations") or {})}
        isvc_labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        labels = {
            **{k: v for k, v in isvc_labels.items() if k != VISIBILITY_LABEL},
            **{str(k): str(v) for k, v in (pred.get("labels") or {}).items()},
            "serving.kserve.io/inferenceservice": name,
            "component": "predictor",
            "serving.knative.dev/configuration": f"{name}-predictor",
            "serving.knative.dev/service": f"{name}-predictor",
        }
        min_replicas = int(pred.get("minReplicas", 1))
        tbc = str(annotations.get(TBC_ANNOTATION, TBC_DEFAULT))
        canary = pred.get("canaryTrafficPercent") is not None
        external = isvc_labels.get(VISIBILITY_LABEL) != "cluster-local"
        m = Model(
            ref,
            labels,
            str(pred.get("serviceAccountName") or "default"),
            min_replicas,
            tbc,
            canary,
            external,
        )
        modes: tuple[Mode, ...] = ("serve",)
        if min_replicas == 0 or tbc.strip() not in ("0", "0.0"):
            modes = ("serve", "proxy")
        ns_labels = self.namespace_labels.get(ns, {})
        roles: list[Literal["stable", "canary"]] = ["stable", "canary"] if canary else ["stable"]
        for gen, role in enumerate(roles, start=1):
            rev = revision_name(f"{name}-predictor", gen)
            pod_labels = {**labels, "serving.knative.dev/revision": rev, "app": rev}
            pod = Workload(
                rev,
                ns,
                pod_labels,
                m.service_account,
                proxy=_pod_in_mesh(ns_labels, pod_labels, self.platform.mesh.revision),
                ip=f"10.1.{i % 250}.{gen}",
            )
            m.revisions.append(Revision(rev, ref, role, modes, pod))
        m.routes = self._routes(m)
        return m

    def _routes(self, m: Model) -> list[Route]:
        revs = [r.name for r in m.revisions]
        by_route: dict[str, dict[str, list[str]]] = {}
        meta: dict[str, tuple[str, str | None]] = {}
        for h in model_hosts(m.ref.name, m.ref.tenant, self.platform.ingress):
            if h.route == "tag" and not m.canary:
                continue  # KServe tags routes only while a canary runs
            if h.visibility == "external" and not m.external:
                continue
            by_route.setdefault(h.route_name, {}).setdefault(h.visibility, []).append(h.name)
            if h.visibility == "cluster-local":
                by_route[h.route_name].setdefault("short", []).extend(short_forms(h))
            meta[h.route_name] = (h.route, h.tag)
        out = []
        for route_name, hosts in by_route.items():
            kind, tag = meta[route_name]
            local = hosts.get("cluster-local", [])
            short = hosts.get("short", [])
            if kind == "inference-service":
                out.append(
                    Route(
                        "inference-service",
                        route_name,
                        tuple(hosts.get("external", [])),
                        tuple(local),
                        tuple(local + short),
                        (),
                        f"{m.ref.name}-predictor.{m.ref.tenant}.{CLUSTER_LOCAL_DOMAIN}",
                    )
                )
                continue
            targets: tuple[str, ...]
            if kind == "tag":
                targets = (revs[0],) if tag == "prev" else (revs[-1],)
            else:
                targets = tuple(revs)
            out.append(
                Route(
                    kind,  # type: ignore[arg-type]
                    route_name,
                    tuple(hosts.get("external", [])),
                    tuple(local + short),
                    tuple(local + short),
                    targets,
                )
            )
        return out

    # --- LLMs -------------------------------------------------------------------------------

    def _llm_gateway(self, obj: Mapping[str, Any] | None) -> Workload | None:
        if obj is None:
            return None
        template = (obj.get("spec") or {}).get("template") or {}
        pod_meta = template.get("metadata") or {}
        labels = {str(k): str(v) for k, v in (pod_meta.get("labels") or {}).items()}
        pod = template.get("spec") or {}
        return Workload(
            "LLM gateway",
            LLM_NAMESPACE,
            labels,
            str(pod.get("serviceAccountName") or "default"),
            proxy=_pod_in_mesh(
                self.namespace_labels.get(LLM_NAMESPACE, {}), labels, self.platform.mesh.revision
            ),
            ip="10.0.0.30",
        )

    def _llm_rows(
        self, obj: Mapping[str, Any], i: int, runtime_adapters: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """The rows of one LLMInferenceService: in a tenant's namespace its one served name
        (the tenant's own LLM); in :data:`LLM_NAMESPACE` its base model and every adapter
        (listed in ``spec.model.lora.adapters``, or loaded at runtime from its ConfigMap
        ``<name>-adapters`` in ``runtime_adapters``), each adapter a row of the tenant whose
        routes name it on this runtime under the same runtime name (an adapter no tenant's
        routes name is a finding: nobody may call it, yet it is served)."""
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        name, ns = str(meta["name"]), str(meta["namespace"])
        model = spec.get("model") or {}
        template = spec.get("template") or {}
        labels = {
            "app.kubernetes.io/component": "llminferenceservice-workload",
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": "llminferenceservice",
            "kserve.io/component": "workload",
            # spec.labels go onto the pod template after KServe's own (kserve v0.20.0
            # pkg/controller/v1alpha2/llmisvc/workload_single_node.go, PropagateMap): the
            # render's sidecar.istio.io/inject among them (tenantry.k8s.llm_inference_service)
            **{str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
        }
        pod = Workload(
            child_name(name, "-kserve"),
            ns,
            labels,
            str(template.get("serviceAccountName") or "default"),
            proxy=_pod_in_mesh(
                self.namespace_labels.get(ns, {}), labels, self.platform.mesh.revision
            ),
            ip=f"10.3.{i % 250}.1",
        )
        static = ((model.get("lora") or {}).get("adapters")) or ()
        loaded = (runtime_adapters.get(name) or {}).get("adapters") or {}
        adapters = (
            *((str(a["name"]), str(a["name"])) for a in static),
            *((str(v.get("servedName") or rm), str(rm)) for rm, v in sorted(loaded.items())),
        )
        base = str(model.get("name") or name)
        rt = LlmRuntime(ModelRef(ns, name, "llm"), pod, base, adapters)
        if ns != LLM_NAMESPACE:
            ref = ModelRef(ns, name, "llm")
            self.llms[ref] = LlmModel(ref, rt, base)
            for a, _ in adapters:
                self.findings.append(
                    Finding(
                        "error",
                        f"LLMInferenceService {ns}/{name}",
                        f"adapter {a} on a tenant's own LLM: the model pins no adapter there",
                    )
                )
            return
        ref = ModelRef(ns, base, "base")
        self.llms[ref] = LlmModel(ref, rt, base)
        # the gateway sends a served name as its runtimeModel: that must be the same tenant's
        # same adapter, or the tenant's name reaches another tenant's weights
        for tenant, models in sorted(self.llm_routes.items()):
            for served, (runtime, runtime_model) in sorted(models.items()):
                entry = loaded.get(runtime_model)
                if runtime != f"{ns}/{name}" or not isinstance(entry, Mapping):
                    continue
                owner = (str(entry.get("tenant", "")), str(entry.get("servedName", "")))
                if owner != (tenant, served):
                    self.findings.append(
                        Finding(
                            "error",
                            f"LLMInferenceService {ns}/{name}",
                            f"the gateway sends {tenant}'s {served} as {runtime_model}, which "
                            f"is {owner[0]}'s {owner[1]}",
                        )
                    )
        for a, runtime_model in adapters:
            owners = sorted(
                t
                for t, models in self.llm_routes.items()
                if models.get(a) == (f"{ns}/{name}", runtime_model)
            )
            if not owners:
                self.findings.append(
                    Finding(
                        "error",
                        f"LLMInferenceService {ns}/{name}",
                        f"serves adapter {a}, which no tenant's gateway routes name: "
                        "vLLM serves it to whoever reaches the runtime",
                    )
                )
                continue
            for t in owners:
                ref = ModelRef(t, a, "adapter")
                self.llms[ref] = LlmModel(ref, rt, a, runtime_model)

    def llm_pins(self, namespace: str | None, m: LlmModel) -> bool:
        """Whether the gateway serves ``m`` to a caller of ``namespace`` (None: a caller
        whose identity the gateway cannot trust, who may claim any tenant)."""
        want = (f"{m.runtime.ref.tenant}/{m.runtime.ref.name}", m.runtime_model or m.served_name)
        if namespace is None:
            return any(models.get(m.served_name) == want for models in self.llm_routes.values())
        return any(
            namespace in self.llm_callers.get(t, frozenset()) and models.get(m.served_name) == want
            for t, models in self.llm_routes.items()
        )

    def rows(self) -> list[ModelRef]:
        """Every row of the matrix: the InferenceServices and the LLM served names."""
        return [*self.models, *self.llms]

    # --- policies ---------------------------------------------------------------------------

    def policies(self, w: Workload) -> PolicySet:
        key = f"{w.namespace}/{w.name}"
        s = self._policy_sets.get(key)
        if s is None:
            s = PolicySet.build(w, self.root, self.authz, self.peer, self.jwt)
            self._policy_sets[key] = s
        return s

    def in_mesh(self, namespace: str) -> bool:
        return _ns_in_mesh(self.namespace_labels.get(namespace, {}), self.platform.mesh.revision)

    def tenant_namespaces(self) -> Sequence[str]:
        llm = {r.tenant for r in self.llms if r.kind != "base"}
        return sorted({m.ref.tenant for m in self.models.values()} | llm)
