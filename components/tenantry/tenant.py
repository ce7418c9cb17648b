"""``Tenant``: one tenant's whole stack from its resolved spec (``tenantry:tenant:Tenant``)."""

from __future__ import annotations

import pulumi

from .aws.identity import IdentityMode, Irsa, PodIdentity
from .aws.tenant_aws import TenantAws, TenantAwsArgs
from .data.store import TenantVectorStore
from .k8s.gateway import DEFAULT_INGRESS_DOMAIN
from .platform_ref import PlatformInputs
from .spec import PlatformSettings, ResolvedTenant
from .tenant_serving import TenantServing


class Tenant(pulumi.ComponentResource):
    """Composes, for one resolved tenant, with children all named from ``name``:

    - :class:`~tenantry.aws.tenant_aws.TenantAws` (provider with the tag policy as default
      tags, KMS key, model bucket, inference/admin roles with a permissions boundary, Pod
      Identity association, dedicated node groups);
    - :class:`~tenantry.tenant_serving.TenantServing` (namespace isolation, gateway
      admission, Triton configs in the bucket, one KServe InferenceService per model), wired
      to the bucket, the inference role and the key;
    - :class:`~tenantry.data.store.TenantVectorStore` when the tenant declares vector
      namespaces (schema + role on the shared database, one table per namespace, credentials
      as a Secret in the tenant's namespace).

    ``inputs`` are the platform stack's outputs (:mod:`tenantry.platform_ref`).
    Defaults: EKS Pod Identity (``identity="irsa"`` needs ``oidc_provider_arn`` and
    ``oidc_issuer``), Knative's default ingress domain, vector namespaces retained on delete.
    """

    TYPE = "tenantry:tenant:Tenant"

    def __init__(
        self,
        name: str,
        tenant: ResolvedTenant,
        platform: PlatformSettings,
        inputs: PlatformInputs,
        *,
        identity: IdentityMode | None = None,
        ingress_domain: str = DEFAULT_INGRESS_DOMAIN,
        replace_vector_namespaces: tuple[str, ...] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        mode = identity or PodIdentity()
        self.aws = TenantAws(
            name,
            tenant,
            platform,
            TenantAwsArgs(
                account_id=platform.account_id,
                cluster_name=platform.cluster.name,
                node_role_arn=inputs.node_role_arn,
                subnet_ids=inputs.subnet_ids,
                platform_key_arn=inputs.platform_key_arn,
                identity=mode,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.serving = TenantServing(
            name,
            tenant,
            platform,
            bucket_name=self.aws.bucket_name,
            role_arn=self.aws.inference_role_arn,
            kms_key_arn=self.aws.key_arn,
            identity="irsa" if isinstance(mode, Irsa) else "pod-identity",
            ingress_domain=ingress_domain,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vectors: TenantVectorStore | None = None
        if tenant.vector_namespaces:
            self.vectors = TenantVectorStore(
                name,
                tenant,
                inputs.vector_db,
                replace_namespaces=replace_vector_namespaces,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.serving.namespace]),
            )
        self.register_outputs(
            {
                "namespace": self.serving.namespace.namespace_name,
                "bucket": self.aws.bucket_name,
                "inferenceRoleArn": self.aws.inference_role_arn,
                "models": sorted(self.serving.inference_services),
            }
        )
