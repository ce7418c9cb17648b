"""``GatewayAdmission``: who may call a tenant's models, and how fast (Istio)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource

from ..spec import ResolvedTenant
from ..tags import tenant_labels
from ..triton import serving_caps
from .labels import SERVING_SYSTEM_NAMESPACE

DEFAULT_INGRESS_DOMAIN = "example.com"  # Knative's and KServe's default domain
CLUSTER_DOMAIN = "cluster.local"
METRICS_PORTS = ("8002", "9091")
RATE_LIMITED_HEADER = "x-tenantry-rate-limited"


def model_hosts(t: ResolvedTenant, domain: str) -> list[str]:
    """Every Host a request to one of the tenant's models can carry at the gateways:
    the external ``<isvc>-<ns>.<domain>`` forms and the cluster-local service names (with and
    without a port)."""
    hosts: list[str] = []
    for m in t.models:
        for svc in (m.name, f"{m.name}-predictor"):
            names = [
                f"{svc}-{t.name}.{domain}",
                f"{svc}.{t.name}",
                f"{svc}.{t.name}.svc",
                f"{svc}.{t.name}.svc.{CLUSTER_DOMAIN}",
            ]
            hosts += [h for n in names for h in (n, f"{n}:*")]
    return hosts


def callers_policy_spec(t: ResolvedTenant, gateway_namespace: str) -> dict[str, Any]:
    """ALLOW in the tenant's namespace: mesh identities from the allowed namespaces, the serving
    path (gateways, Knative activator) and metric scrapes; everything else is denied."""
    rules: list[dict[str, Any]] = []
    if t.access.allowed_namespaces:
        rules.append({"from": [{"source": {"namespaces": sorted(t.access.allowed_namespaces)}}]})
    rules.append(
        {
            "from": [
                {"source": {"namespaces": sorted({gateway_namespace, SERVING_SYSTEM_NAMESPACE})}}
            ]
        }
    )
    rules.append(
        {
            "to": [
                {
                    "operation": {
                        "ports": list(METRICS_PORTS),
                        "methods": ["GET"],
                        "paths": ["/metrics"],
                    }
                }
            ]
        }
    )
    return {"action": "ALLOW", "rules": rules}


def admission_policy_spec(t: ResolvedTenant, domain: str) -> dict[str, Any]:
    """DENY at the gateways: requests for the tenant's hosts whose caller is not a workload in
    ``access.allowedNamespaces`` (callers without a mesh identity included)."""
    rule: dict[str, Any] = {"to": [{"operation": {"hosts": model_hosts(t, domain)}}]}
    if t.access.allowed_namespaces:
        rule = {
            "from": [{"source": {"notNamespaces": sorted(t.access.allowed_namespaces)}}],
            **rule,
        }
    return {"action": "DENY", "rules": [rule]}


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


@dataclass(frozen=True, kw_only=True)
class GatewayAdmissionArgs:
    """``tenant``: the resolved tenant. ``gateway_namespace``: the platform's Istio gateway
    namespace. ``ingress_domain``: the domain of external model hosts (default
    ``example.com``, Knative's; the platform settings' ``ingress.domain``)."""

    tenant: ResolvedTenant
    gateway_namespace: str
    ingress_domain: str = DEFAULT_INGRESS_DOMAIN


class GatewayAdmission(pulumi.ComponentResource):
    """Gateway admission for one tenant, with Istio (the mesh KServe's Serverless mode uses).

    Creates:

    - ``AuthorizationPolicy`` ``<tenant>-callers`` (tenant namespace, ALLOW): mTLS identities
      from ``access.allowedNamespaces``, the serving path (gateway namespace, Knative's
      activator) and GET ``/metrics`` on the metrics ports; any other caller is denied
      (an ALLOW policy denies what it does not match);
    - ``AuthorizationPolicy`` ``tenantry-<tenant>-admission`` (gateway namespace, DENY): at the
      ingress and cluster-local gateways, requests for the tenant's model hosts from anything
      but a workload in ``allowedNamespaces`` (so external callers without a mesh identity are
      refused; with no allowed namespaces every request for those hosts is refused);
    - ``EnvoyFilter`` ``<tenant>-rate-limit`` (tenant namespace): an Envoy local rate limit on
      the inbound sidecar of every tenant pod, ``requestsPerSecond`` tokens per second (429 with
      ``x-tenantry-rate-limited: <tenant>`` beyond it). It sheds a burst before it reaches
      Triton's queue. It is per pod; see docs/gateway.md for why and what it bounds.

    Default ``ingress_domain``: ``example.com`` (Knative's default); set the platform's domain.
    """

    TYPE = "tenantry:k8s:GatewayAdmission"

    def __init__(
        self, name: str, args: GatewayAdmissionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        t = args.tenant
        labels = tenant_labels(t)
        child = pulumi.ResourceOptions(parent=self)
        self.callers = CustomResource(
            f"{name}-callers",
            api_version="security.istio.io/v1",
            kind="AuthorizationPolicy",
            metadata={"name": f"{t.name}-callers", "namespace": t.name, "labels": labels},
            spec=callers_policy_spec(t, args.gateway_namespace),
            opts=child,
        )
        self.admission = CustomResource(
            f"{name}-admission",
            api_version="security.istio.io/v1",
            kind="AuthorizationPolicy",
            metadata={
                "name": f"tenantry-{t.name}-admission",
                "namespace": args.gateway_namespace,
                "labels": labels,
            },
            spec=admission_policy_spec(t, args.ingress_domain),
            opts=child,
        )
        self.rate_limit = CustomResource(
            f"{name}-rate-limit",
            api_version="networking.istio.io/v1alpha3",
            kind="EnvoyFilter",
            metadata={"name": f"{t.name}-rate-limit", "namespace": t.name, "labels": labels},
            spec=rate_limit_spec(t),
            opts=child,
        )
        self.register_outputs({"requestsPerSecond": serving_caps(t).requests_per_second})
