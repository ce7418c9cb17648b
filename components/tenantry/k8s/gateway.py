"""``GatewayAdmission``: who may call a tenant's models, and how fast (Istio).

The policies sit where the caller's identity can be checked (docs/gateway.md has the whole
request path and why):

- at the tenant's own pods (their sidecars, STRICT mTLS): callers by mesh identity - the
  tenant's ``allowedNamespaces``, the ingress gateway, the activator for models that scale
  to zero, metric scrapes;
- at the ingress gateway (selected by its labels): requests for the tenant's hosts, every
  one of them (InferenceService, predictor and canary tag routes, external and cluster-local,
  from the platform's ingress settings), need a token of one of the tenant's clients (the
  gateway sees no mesh identity: callers reach it in plaintext);
- at the Knative activator (selected by its labels): requests for the tenant's revisions, by
  the routing headers or by the Host the activator falls back to, only from the gateway or
  the allowed namespaces.

Pure builders (``*_spec``, :func:`request_path_manifests`) make the objects; the component
declares exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource

from ..spec import PlatformSettings, ResolvedTenant
from ..spec.hosts import CLUSTER_LOCAL_DOMAIN, short_forms, tenant_hosts
from ..spec.platform import Ingress, Mesh, TokenIssuer
from ..tags import tenant_labels
from ..triton import serving_caps
from .labels import LLM_WORKLOAD_LABELS
from .llm_gateway import VLLM_PORT
from .manifests import custom_resource
from .mesh import (
    ACTIVATOR_LABELS,
    AUTOSCALER_METRICS_PORT,
    KNATIVE_NAMESPACE,
    MODEL_LABEL,
    SCRAPED_PORTS,
    SERVING_PORTS,
    RequestPathSettings,
    activator_principal,
    autoscaler_principal,
    gateway_principal,
)

RATE_LIMITED_HEADER = "x-tenantry-rate-limited"
NS_HEADER = "knative-serving-namespace"  # the activator's routing headers (lower-case)
SECURITY = "security.istio.io/v1"


def policy_hosts(t: ResolvedTenant, platform: RequestPathSettings) -> list[str]:
    """Every Host a request for one of the tenant's models can carry at the gateways: every
    host of :func:`tenantry.spec.hosts.tenant_hosts` (the canary tag routes' too, whether or
    not a canary runs now), cluster-local ones also in their ``.svc`` and short forms, each
    exactly and with any port (``<host>:*``; Istio matches the Host header with its port as
    sent). No other wildcard: none could be shown never to match another tenant's host."""
    out: list[str] = []
    for h in tenant_hosts(t.name, [m.name for m in t.models], platform.ingress):
        for name in (h.name, *short_forms(h)):
            out += [name, f"{name}:*"]
    return list(dict.fromkeys(out))


Term = tuple[frozenset[str], dict[str, frozenset[str]]]


def client_deny_terms(t: ResolvedTenant, platform: RequestPathSettings) -> list[Term]:
    """The ways a request can fail every client at once, as DENY conditions: (request
    principals it is none of, claim -> values it has none of). A client admits a token of its
    issuer whose subject is one of ``subjects`` (any subject when there are none) and whose
    every listed claim has one of the listed values; not admitted by any client means, for
    each client, failing one of its conditions - one term per choice, terms that another
    term implies dropped. No clients: one term with no condition (every request refused)."""
    per_client: list[list[Term]] = []
    for c in t.access.clients:
        issuer = platform.issuer(c.issuer)
        if issuer is None:  # refused by validation; never here from a valid tenant
            continue
        subjects = [f"{issuer.issuer}/{s}" for s in c.subjects] or [f"{issuer.issuer}/*"]
        options: list[Term] = [(frozenset(subjects), {})]
        options += [(frozenset(), {k: frozenset(v)}) for k, v in sorted(c.claims.items())]
        per_client.append(options)
    terms: list[Term] = []
    for choice in product(*per_client):
        principals: frozenset[str] = frozenset()
        claims: dict[str, frozenset[str]] = {}
        for p, cl in choice:
            principals |= p
            for k, v in cl.items():
                claims[k] = claims.get(k, frozenset()) | v
        terms.append((principals, claims))

    def implies(b: Term, a: Term) -> bool:  # b matching means a matches
        return a[0] <= b[0] and all(k in b[1] and v <= b[1][k] for k, v in a[1].items())

    kept: list[Term] = []
    for i, b in enumerate(terms):
        redundant = any(
            implies(b, a) and (not implies(a, b) or j < i) for j, a in enumerate(terms) if j != i
        )
        if not redundant:
            kept.append(b)
    return kept


def admission_policy_spec(t: ResolvedTenant, platform: RequestPathSettings) -> dict[str, Any]:
    """DENY at the ingress gateway pods (their ``selector``, never mesh-wide): a request for
    any of the tenant's hosts (:func:`policy_hosts`) unless it carries a valid token of one of
    the tenant's clients (:func:`client_deny_terms`) or its mTLS identity is in an allowed
    namespace (which a gateway's plaintext listeners never see, so in practice: a token)."""
    hosts = policy_hosts(t, platform)
    rules = []
    for principals, claims in client_deny_terms(t, platform):
        source: dict[str, Any] = {}
        if t.access.allowed_namespaces:
            source["notNamespaces"] = sorted(t.access.allowed_namespaces)
        if principals:
            source["notRequestPrincipals"] = sorted(principals)
        rule: dict[str, Any] = {}
        if source:
            rule["from"] = [{"source": source}]
        rule["to"] = [{"operation": {"hosts": hosts}}]
        if claims:
            rule["when"] = [
                {"key": f"request.auth.claims[{k}]", "notValues": sorted(v)}
                for k, v in sorted(claims.items())
            ]
        rules.append(rule)
    return {
        "selector": {"matchLabels": dict(platform.mesh.ingress_gateway_labels)},
        "action": "DENY",
        "rules": rules,
    }


def activator_policy_spec(t: ResolvedTenant, platform: RequestPathSettings) -> dict[str, Any]:
    """DENY at the activator pods: a request for one of the tenant's revisions unless it
    comes from the ingress gateway (which checked the host) or an allowed namespace. The
    activator takes the revision from the first value of ``Knative-Serving-Namespace`` (so
    ``<tenant>`` and ``<tenant>,*``: Envoy matches the joined value of repeated lines) or,
    when a routing header is empty, from a Host ``<revision>.<namespace>.svc.<domain>[:port]``
    (so every host of the namespace; with a port, which Istio's single wildcard cannot follow
    the namespace with, the revision names of the models that scale to zero: revisions are
    ``<model>-predictor-<generation, 5 digits>``, so ``<model>-predictor-<digit>*``. The
    other models' pods do not admit the activator at all: :func:`activator_allow_specs`)."""
    source: dict[str, Any] = {"notPrincipals": [gateway_principal(platform)]}
    if t.access.allowed_namespaces:
        source["notNamespaces"] = sorted(t.access.allowed_namespaces)
    frm = [{"source": source}]
    revision_hosts = [f"*.{t.name}.{CLUSTER_LOCAL_DOMAIN}"] + [
        f"{m}-predictor-{d}*" for m in scales_to_zero(t) for d in range(10)
    ]
    return {
        "selector": {"matchLabels": dict(ACTIVATOR_LABELS)},
        "action": "DENY",
        "rules": [
            {
                "from": frm,
                "when": [
                    {"key": f"request.headers[{NS_HEADER}]", "values": [t.name, f"{t.name},*"]}
                ],
            },
            {"from": frm, "to": [{"operation": {"hosts": revision_hosts}}]},
        ],
    }


def callers_policy_spec(t: ResolvedTenant, platform: RequestPathSettings) -> dict[str, Any]:
    """ALLOW at every pod of the tenant: requests on the queue-proxy's serving ports from the
    ingress gateway and from the allowed namespaces (by mTLS identity); GET ``/metrics`` on the
    scraped ports (Prometheus; plaintext there, see :func:`peer_authentication_specs`) and on
    the autoscaler's port from Knative's autoscaler. Nothing else (an ALLOW policy refuses
    what it does not match), the activator included: see :func:`activator_allow_specs`."""
    serving = [str(p) for p in SERVING_PORTS]
    metrics = {"methods": ["GET"], "paths": ["/metrics"]}
    rules: list[dict[str, Any]] = [
        {
            "from": [{"source": {"principals": [gateway_principal(platform)]}}],
            "to": [{"operation": {"ports": serving}}],
        }
    ]
    if t.access.allowed_namespaces:
        rules.append(
            {
                "from": [{"source": {"namespaces": sorted(t.access.allowed_namespaces)}}],
                "to": [{"operation": {"ports": serving}}],
            }
        )
    rules.append({"to": [{"operation": {"ports": [str(p) for p in SCRAPED_PORTS], **metrics}}]})
    rules.append(
        {
            "from": [{"source": {"principals": [autoscaler_principal(platform)]}}],
            "to": [{"operation": {"ports": [str(AUTOSCALER_METRICS_PORT)], **metrics}}],
        }
    )
    return {"action": "ALLOW", "rules": rules}


def llm_callers_policy_spec(t: ResolvedTenant) -> dict[str, Any] | None:
    """ALLOW at the tenant's own LLMs' pods only (KServe's workload labels,
    :data:`tenantry.k8s.labels.LLM_WORKLOAD_LABELS`; an Istio selector takes labels only, and
    in the tenant's namespace only its own LLMs carry them): vLLM's port 8000 from the allowed
    namespaces (KServe's LLMInferenceService pods serve there, possibly over TLS: a
    TCP-level rule, Istio matches ports and sources of TLS traffic). None without own LLMs
    or allowed namespaces. Being its own policy, the port is open on no other pod of the
    namespace (ALLOW policies add up per workload: istio.io "Authorization Policy")."""
    if not (t.llms and t.access.allowed_namespaces):
        return None
    return {
        "selector": {"matchLabels": dict(LLM_WORKLOAD_LABELS)},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"namespaces": sorted(t.access.allowed_namespaces)}}],
                "to": [{"operation": {"ports": [str(VLLM_PORT)]}}],
            }
        ],
    }


def scales_to_zero(t: ResolvedTenant) -> list[str]:
    """The tenant's models whose revisions can be at zero pods (``minReplicas: 0``): the
    only ones the activator must reach (every other model runs with target burst capacity 0,
    so the activator is never in its data path: :mod:`tenantry.k8s.inference_service`)."""
    return [m.name for m in t.models if m.min_replicas == 0]


def activator_allow_specs(t: ResolvedTenant, platform: RequestPathSettings) -> dict[str, Any]:
    """Per model that scales to zero: ALLOW the activator's identity on the serving ports of
    that model's pods only (selected by ``tenantry.dev/model``)."""
    return {
        name: {
            "selector": {"matchLabels": {MODEL_LABEL: name}},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": [activator_principal(platform)]}}],
                    "to": [{"operation": {"ports": [str(p) for p in SERVING_PORTS]}}],
                }
            ],
        }
        for name in scales_to_zero(t)
    }


def peer_authentication_specs(t: ResolvedTenant) -> dict[str, dict[str, Any]]:
    """STRICT mTLS for every pod of the tenant's namespace, except on the two ports
    Prometheus scrapes in plaintext (Triton's 8002 and the queue-proxy's 9091 serve only
    ``/metrics``): there PERMISSIVE, on the tenant's pods (``portLevelMtls`` needs a
    selector). Kubelet probes are unaffected (Istio rewrites HTTP probes to its agent's port
    15020, outside mTLS: istio.io "Health Checking of Istio Services")."""
    return {
        "mtls": {"mtls": {"mode": "STRICT"}},
        "scrape-mtls": {
            "selector": {"matchLabels": {"tenant": t.name}},
            "mtls": {"mode": "STRICT"},
            "portLevelMtls": {str(p): {"mode": "PERMISSIVE"} for p in SCRAPED_PORTS},
        },
    }


def rate_limit_spec(t: ResolvedTenant) -> dict[str, Any]:
    rps = serving_caps(t).requests_per_second
    percent = {"numerator": 100, "denominator": "HUNDRED"}
    return {
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": {
                    "context": "SIDECAR_INBOUND",
                    "listener": {
                        "filterChain": {
                            "filter": {"name": "envoy.filters.network.http_connection_manager"}
                        }
                    },
                },
                "patch": {
                    "operation": "INSERT_BEFORE",
                    "value": {
                        "name": "envoy.filters.http.local_ratelimit",
                        "typed_config": {
                            "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                            "type_url": "type.googleapis.com/"
                            "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                            "value": {
                                "stat_prefix": "tenantry_rate_limit",
                                "token_bucket": {
                                    "max_tokens": rps,
                                    "tokens_per_fill": rps,
                                    "fill_interval": "1s",
                                },
                                "filter_enabled": {
                                    "runtime_key": "tenantry_rate_limit_enabled",
                                    "default_value": percent,
                                },
                                "filter_enforced": {
                                    "runtime_key": "tenantry_rate_limit_enforced",
                                    "default_value": percent,
                                },
                                "response_headers_to_add": [
                                    {
                                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                        "header": {"key": RATE_LIMITED_HEADER, "value": t.name},
                                    }
                                ],
                            },
                        },
                    },
                },
            }
        ]
    }


def request_path_manifests(
    t: ResolvedTenant, platform: RequestPathSettings
) -> dict[str, dict[str, Any]]:
    """Child name suffix -> the Istio object :class:`GatewayAdmission` declares (apiVersion,
    kind, metadata, spec), in declaration order."""
    labels = tenant_labels(t)

    def obj(kind: str, api: str, name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": spec,
        }

    out = {
        "callers": obj(
            "AuthorizationPolicy",
            SECURITY,
            f"{t.name}-callers",
            t.name,
            callers_policy_spec(t, platform),
        ),
    }
    # A tenant without models has no host at the gateway: no admission policy. (One with an
    # empty host list would be an operation without a field, which Istio's webhook refuses,
    # and would otherwise match every host of the gateway: istio.io "Authorization Policy",
    # Operation: "If not set, any host is allowed".)
    if policy_hosts(t, platform):
        out["admission"] = obj(
            "AuthorizationPolicy",
            SECURITY,
            f"tenantry-{t.name}-admission",
            platform.gateway_namespace,
            admission_policy_spec(t, platform),
        )
    out |= {
        "activator-guard": obj(
            "AuthorizationPolicy",
            SECURITY,
            f"tenantry-{t.name}-activator",
            KNATIVE_NAMESPACE,
            activator_policy_spec(t, platform),
        ),
    }
    llm_callers = llm_callers_policy_spec(t)
    if llm_callers is not None:
        out["llm-callers"] = obj(
            "AuthorizationPolicy", SECURITY, f"{t.name}-llm-callers", t.name, llm_callers
        )
    for model, spec in activator_allow_specs(t, platform).items():
        out[f"{model}-activator"] = obj(
            "AuthorizationPolicy", SECURITY, f"{t.name}-{model}-activator", t.name, spec
        )
    for suffix, spec in peer_authentication_specs(t).items():
        out[suffix] = obj("PeerAuthentication", SECURITY, f"{t.name}-{suffix}", t.name, spec)
    out["rate-limit"] = obj(
        "EnvoyFilter",
        "networking.istio.io/v1alpha3",
        f"{t.name}-rate-limit",
        t.name,
        rate_limit_spec(t),
    )
    return out


@dataclass(frozen=True, kw_only=True)
class GatewayAdmissionArgs:
    """``tenant``: the resolved tenant. From the platform settings: ``gateway_namespace``
    (where the ingress gateway runs), ``ingress`` (how hosts are named: Knative's domain and
    templates), ``mesh`` (root namespace, trust domain, the gateway's labels and identity) and
    ``token_issuers`` (whose tokens the gateway validates; the tenant's ``access.clients``
    name them). Defaults: Istio's and Knative's own, no issuers."""

    tenant: ResolvedTenant
    gateway_namespace: str
    ingress: Ingress = field(default_factory=Ingress)
    mesh: Mesh = field(default_factory=Mesh)
    token_issuers: tuple[TokenIssuer, ...] = ()

    def issuer(self, name: str) -> TokenIssuer | None:
        return next((i for i in self.token_issuers if i.name == name), None)

    @classmethod
    def from_spec(cls, tenant: ResolvedTenant, platform: PlatformSettings) -> GatewayAdmissionArgs:
        return cls(
            tenant=tenant,
            gateway_namespace=platform.gateway_namespace,
            ingress=platform.ingress,
            mesh=platform.mesh,
            token_issuers=tuple(platform.token_issuers),
        )


class GatewayAdmission(pulumi.ComponentResource):
    """The request path's Istio objects for one tenant (the mesh KServe's Serverless mode
    uses). Creates, with children named ``<name>-<suffix>``:

    - ``callers``: ``AuthorizationPolicy`` ``<tenant>-callers`` (tenant namespace, ALLOW):
      the queue-proxy ports (8012/8013) for the ingress gateway's identity and the allowed
      namespaces, GET ``/metrics`` for scrapes; everything else refused
      (:func:`callers_policy_spec`);
    - ``<model>-activator``, per model with ``minReplicas: 0``: ``AuthorizationPolicy``
      ``<tenant>-<model>-activator`` (ALLOW the activator's identity on that model's pods);
    - ``admission``: ``AuthorizationPolicy`` ``tenantry-<tenant>-admission`` (gateway
      namespace, DENY, selecting the ingress gateway pods): the tenant's hosts need a token
      of one of its clients (:func:`admission_policy_spec`); none when the tenant has no
      models (no hosts);
    - ``activator-guard``: ``AuthorizationPolicy`` ``tenantry-<tenant>-activator``
      (``knative-serving``, DENY, selecting the activator): requests for the tenant's
      revisions only from the gateway and the allowed namespaces (:func:`activator_policy_spec`);
    - ``mtls`` and ``scrape-mtls``: ``PeerAuthentication`` ``<tenant>-mtls`` (STRICT) and
      ``<tenant>-scrape-mtls`` (STRICT, PERMISSIVE on the two scraped metrics ports);
    - ``rate-limit``: ``EnvoyFilter`` ``<tenant>-rate-limit`` (tenant namespace): an Envoy
      local rate limit on the inbound sidecar of every tenant pod, ``requestsPerSecond``
      tokens per second (429 with ``x-tenantry-rate-limited: <tenant>`` beyond it). It is
      per pod; see docs/gateway.md for why and what it bounds.

    Hosts come from ``ingress`` (the settings the platform stack gives Knative). Arguments:
    :class:`GatewayAdmissionArgs` (:meth:`GatewayAdmissionArgs.from_spec` from the platform
    settings).
    """

    TYPE = "tenantry:k8s:GatewayAdmission"

    def __init__(
        self, name: str, args: GatewayAdmissionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.objects: dict[str, CustomResource] = {}
        for suffix, obj in request_path_manifests(args.tenant, args).items():
            self.objects[suffix] = custom_resource(f"{name}-{suffix}", obj, child)
        self.callers = self.objects["callers"]
        self.admission = self.objects.get("admission")  # None without models (no hosts)
        self.rate_limit = self.objects["rate-limit"]
        self.register_outputs({"requestsPerSecond": serving_caps(args.tenant).requests_per_second})
