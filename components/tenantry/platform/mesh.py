"""``PlatformMesh``: what the platform stack sets on the request path
(``tenantry:platform:PlatformMesh``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import NamespacePatch

from ..k8s.mesh import platform_request_path_manifests
from ..spec import PlatformSettings
from ..spec.platform import Ingress, Mesh, TokenIssuer

PATCH_FORCE = "pulumi.com/patchForce"


@dataclass(frozen=True, kw_only=True)
class PlatformMeshArgs:
    """``labels``: the platform's tags as labels. From the platform settings:
    ``gateway_namespace`` (where the ingress gateway runs), ``mesh`` (its labels, the
    injection label), ``token_issuers`` (the OIDC issuers the gateway validates tokens of;
    default none) and ``ingress`` (unused here; the request path's settings travel together)."""

    labels: Mapping[str, str]
    gateway_namespace: str
    mesh: Mesh = field(default_factory=Mesh)
    token_issuers: tuple[TokenIssuer, ...] = ()
    ingress: Ingress = field(default_factory=Ingress)

    def issuer(self, name: str) -> TokenIssuer | None:
        return next((i for i in self.token_issuers if i.name == name), None)

    @classmethod
    def from_spec(cls, settings: PlatformSettings, labels: Mapping[str, str]) -> PlatformMeshArgs:
        return cls(
            labels=labels,
            gateway_namespace=settings.gateway_namespace,
            mesh=settings.mesh,
            token_issuers=tuple(settings.token_issuers),
            ingress=settings.ingress,
        )


class PlatformMesh(pulumi.ComponentResource):
    """Creates (:func:`tenantry.k8s.mesh.platform_request_path_manifests`):

    - ``<name>-knative-serving-mesh``: a patch of the ``knative-serving`` Namespace adding
      Istio's injection label (the activator gets a sidecar and a mesh identity);
    - ``<name>-token-issuers`` when there are token issuers: ``RequestAuthentication``
      ``tenantry-token-issuers`` at the ingress gateway pods, one JWT rule per issuer.
    """

    TYPE = "tenantry:platform:PlatformMesh"

    def __init__(
        self, name: str, args: PlatformMeshArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        objs = platform_request_path_manifests(args)
        ns = objs["knative-serving-mesh"]
        self.knative_serving = NamespacePatch(
            f"{name}-knative-serving-mesh",
            metadata={
                "name": ns["metadata"]["name"],
                "labels": ns["metadata"]["labels"],
                "annotations": {PATCH_FORCE: "true"},
            },
            opts=child,
        )
        self.token_issuers: CustomResource | None = None
        if "token-issuers" in objs:
            ra = objs["token-issuers"]
            self.token_issuers = CustomResource(
                f"{name}-token-issuers",
                api_version=ra["apiVersion"],
                kind=ra["kind"],
                metadata={**ra["metadata"], "labels": dict(args.labels)},
                spec=ra["spec"],
                opts=child,
            )
        self.register_outputs({"tokenIssuers": [i.issuer for i in args.token_issuers]})
