"""``TenantServing``: everything one tenant declares on the Kubernetes side, plus its Triton
model configurations in its model bucket. :class:`tenantry.tenant.Tenant` composes it with
the AWS and data sides."""

from __future__ import annotations

import pulumi

from .k8s.gateway import DEFAULT_INGRESS_DOMAIN, GatewayAdmission
from .k8s.inference_service import inference_service
from .k8s.namespace import Identity, TenantNamespace
from .model_repository import triton_model_config
from .spec import PlatformSettings, ResolvedTenant
from .triton import versions


class TenantServing(pulumi.ComponentResource):
    """Composes, for one resolved tenant (children named ``<name>-...``):

    - ``TenantNamespace`` ``<name>-ns`` (namespace, quotas, limits, network policies, service
      account, admin RBAC);
    - ``GatewayAdmission`` ``<name>-gateway`` (Istio authorization + per-tenant rate limit);
    - per model and revision, the ``config.pbtxt`` object
      ``<name>-<model>-v<version>-config-object`` in the model bucket (stable version, and
      the canary version while a canary runs;
      :func:`~tenantry.model_repository.triton_model_config`);
    - per model, the KServe InferenceService ``<name>-<model>-isvc`` (after its namespace,
      service account and configs; :func:`~tenantry.k8s.inference_service.inference_service`).

    AWS-side inputs (from the AWS components, wired in the stack program): ``bucket_name``
    (the tenant's model repository bucket), ``role_arn`` (the tenant's runtime role; used here
    only for IRSA, Pod Identity associations are AWS-side), ``kms_key_arn`` (optional, named
    on the config objects). Defaults: EKS Pod Identity, Knative's default ingress domain.
    """

    TYPE = "tenantry:tenant:TenantServing"

    def __init__(
        self,
        name: str,
        tenant: ResolvedTenant,
        platform: PlatformSettings,
        *,
        bucket_name: pulumi.Input[str],
        role_arn: pulumi.Input[str] | None = None,
        kms_key_arn: pulumi.Input[str] | None = None,
        identity: Identity = "pod-identity",
        ingress_domain: str = DEFAULT_INGRESS_DOMAIN,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        t = tenant
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = TenantNamespace(
            f"{name}-ns", t, platform, identity=identity, role_arn=role_arn, opts=child
        )
        self.gateway = GatewayAdmission(
            f"{name}-gateway",
            t,
            platform,
            ingress_domain=ingress_domain,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.model_configs: dict[tuple[str, str], pulumi.CustomResource] = {}
        self.inference_services: dict[str, pulumi.CustomResource] = {}
        for m in t.models:
            configs = []
            for version in versions(m):
                cfg = triton_model_config(
                    f"{name}-{m.name}-v{version}-config",
                    t,
                    m,
                    version,
                    bucket_name=bucket_name,
                    kms_key_arn=kms_key_arn,
                    opts=child,
                )
                self.model_configs[(m.name, version)] = cfg
                configs.append(cfg)
            self.inference_services[m.name] = inference_service(
                f"{name}-{m.name}",
                t,
                m,
                bucket_name=bucket_name,
                service_account=self.namespace.service_account_name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *configs]),
            )
        self.register_outputs(
            {
                "namespace": self.namespace.namespace_name,
                "models": sorted(self.inference_services),
            }
        )
