"""Facts about the mesh and Knative that tenant objects name (pure, no Pulumi).

One place for the ports, labels and identities of the request path; the components render
from them and the reachability proof (:mod:`tenantry.policy.reachability`) reads them.
Sources: knative/serving ``pkg/networking/constants.go`` (queue-proxy ports),
``config/core/deployments/activator.yaml`` and ``autoscaler.yaml`` (labels, service
accounts: ``activator``, ``controller``); the ``kserve-tritonserver`` runtime
(:mod:`tenantry.platform.runtime`: Triton on 8080/9000/8002); Istio's injection labels
(istio.io "Installing the sidecar": ``istio-injection=enabled``, or ``istio.io/rev`` for a
revision); SPIFFE identities ``<trust domain>/ns/<namespace>/sa/<service account>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..spec.platform import Ingress, Mesh, TokenIssuer
from ..tags import INJECTION_LABEL, REVISION_LABEL

KNATIVE_NAMESPACE = "knative-serving"
ACTIVATOR_LABELS = {"app": "activator", "role": "activator"}
ACTIVATOR_SERVICE_ACCOUNT = "activator"
AUTOSCALER_LABELS = {"app": "autoscaler"}
AUTOSCALER_SERVICE_ACCOUNT = "controller"
QUEUE_HTTP1 = 8012  # queue-proxy: HTTP/1 requests (the activator's and the gateways' target)
QUEUE_H2C = 8013  # queue-proxy: HTTP/2 cleartext (gRPC)
SERVING_PORTS = (QUEUE_HTTP1, QUEUE_H2C)  # the only ports a caller may send a request to
USER_PORTS = (8080, 9000)  # Triton HTTP and gRPC behind the queue-proxy
AUTOSCALER_METRICS_PORT = 9090  # queue-proxy stats the Knative autoscaler scrapes
TRITON_METRICS_PORT = 8002
USER_METRICS_PORT = 9091  # queue-proxy request metrics
SCRAPED_PORTS = (TRITON_METRICS_PORT, USER_METRICS_PORT)  # Prometheus, plaintext
# The sidecar's own Prometheus endpoint (container port http-envoy-prom): served by Envoy on
# a port the inbound capture excludes, so neither mTLS nor authorization policies apply to it
# (istio.io "Prometheus": "Option 2: Customized scraping configurations", envoy-stats).
ENVOY_STATS_PORT = 15090
# The istio-agent's status port: with Prometheus metrics merging (meshConfig
# enablePrometheusMerge, Istio's default) it serves ``/stats/prometheus`` = the agent's, Envoy's
# and the application's metrics, the latter fetched by the agent from
# ``http://localhost:<prometheus.io/port><prometheus.io/path>`` (istio/istio
# ``pilot/cmd/pilot-agent/status/server.go``, ``handleStats``). Like 15090 the inbound capture
# excludes it (istio.io "Prometheus", "Option 1: Metrics merging": plaintext on 15020), so a
# scrape there needs no mTLS exception and reaches no other port of the pod.
ISTIO_AGENT_STATUS_PORT = 15020
TBC_ANNOTATION = "autoscaling.knative.dev/target-burst-capacity"
MODEL_LABEL = "tenantry.dev/model"


class MeshSettings(Protocol):
    """What of the platform settings the mesh objects name (``PlatformSettings`` and the
    components' Args have it)."""

    @property
    def gateway_namespace(self) -> str: ...

    @property
    def mesh(self) -> Mesh: ...


class RequestPathSettings(MeshSettings, Protocol):
    """... and what the gateway's and the platform's request-path objects need besides."""

    @property
    def ingress(self) -> Ingress: ...

    @property
    def token_issuers(self) -> Sequence[TokenIssuer]: ...

    def issuer(self, name: str) -> TokenIssuer | None: ...


def principal(platform: MeshSettings, namespace: str, service_account: str) -> str:
    """The SPIFFE identity Istio gives a workload (without ``spiffe://``)."""
    return f"{platform.mesh.trust_domain}/ns/{namespace}/sa/{service_account}"


def gateway_principal(platform: MeshSettings) -> str:
    return principal(
        platform, platform.gateway_namespace, platform.mesh.ingress_gateway_service_account
    )


def activator_principal(platform: MeshSettings) -> str:
    return principal(platform, KNATIVE_NAMESPACE, ACTIVATOR_SERVICE_ACCOUNT)


def autoscaler_principal(platform: MeshSettings) -> str:
    return principal(platform, KNATIVE_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT)


def injection_labels(platform: MeshSettings) -> dict[str, str]:
    """The namespace label that makes Istio inject its sidecar into the namespace's pods."""
    rev = platform.mesh.revision
    return {REVISION_LABEL: rev} if rev else {INJECTION_LABEL: "enabled"}


def platform_request_path_manifests(platform: RequestPathSettings) -> dict[str, dict[str, Any]]:
    """What the platform stack sets on the request path (child suffix -> object):

    - ``knative-serving-mesh``: the injection label on Knative's namespace (a patch of the
      existing Namespace), so the activator runs a sidecar: it must hold a mesh identity for
      the tenants' pods to tell it apart, and must enforce the tenants' activator policies
      (Knative docs, "Enabling requests to Knative services when additional authorization
      policies are enabled": the activator must have sidecars injected; net-istio ships
      PERMISSIVE PeerAuthentications for Knative's webhooks for that case). Running pods get
      the sidecar when they restart;
    - ``token-issuers`` (when ``tokenIssuers`` is set): one ``RequestAuthentication`` at the
      ingress gateway pods with a rule per issuer (issuer, JWKS URI, audiences), keeping the
      token for the next hop (``forwardOriginalToken``: KServe's route sends a request through
      the cluster-local gateway a second time, where the tenant's policy checks it again).
    """
    out: dict[str, dict[str, Any]] = {
        "knative-serving-mesh": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": KNATIVE_NAMESPACE, "labels": injection_labels(platform)},
        }
    }
    if platform.token_issuers:
        out["token-issuers"] = {
            "apiVersion": "security.istio.io/v1",
            "kind": "RequestAuthentication",
            "metadata": {"name": "tenantry-token-issuers", "namespace": platform.gateway_namespace},
            "spec": {
                "selector": {"matchLabels": dict(platform.mesh.ingress_gateway_labels)},
                "jwtRules": [
                    {
                        "issuer": i.issuer,
                        "jwksUri": i.jwks_uri,
                        "audiences": list(i.audiences),
                        "forwardOriginalToken": True,
                    }
                    for i in platform.token_issuers
                ],
            },
        }
    return out
