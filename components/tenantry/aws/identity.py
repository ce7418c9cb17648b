"""``TenantIdentity``: the tenant's IAM roles and permissions boundary
(``tenantry:aws:TenantIdentity``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..identity import POD_IDENTITY, Identity
from .bucket import TenantBucket
from .names import IAM_PATH, MODELS_PREFIX, TenantNames
from .tenant_policies import admin_trust, boundary_policy, irsa_trust, pod_identity_trust

MAX_SESSION_SECONDS = 3600


@dataclass(frozen=True, kw_only=True)
class TenantIdentityArgs:
    """``names``: the tenant's AWS names. ``bucket``: the tenant's bucket (its grants and
    key). ``cluster_name``: the EKS cluster (Pod Identity trust and association).
    ``tenant_admins``: the tenant file's ``access.admins`` (an admin role when not empty).
    ``tags``: the tag policy's tags. ``identity``: :class:`tenantry.identity.Identity`
    (default EKS Pod Identity)."""

    names: TenantNames
    bucket: TenantBucket
    cluster_name: str
    tenant_admins: Sequence[str]
    tags: Mapping[str, str]
    identity: Identity = POD_IDENTITY


class TenantIdentity(pulumi.ComponentResource):
    """The roles of one tenant, each capped by the same permissions boundary.

    Creates ``<name>-boundary`` (``aws.iam.Policy`` ``tenantry-<tenant>-boundary``: at most
    the tenant's bucket and key through S3; explicit denies on ``iam:*``, role assumption,
    key and bucket-policy changes, any other bucket or key), ``<name>-inference-role``
    (``tenantry-<tenant>-inference``, path ``/tenantry/``) with inline policy
    ``<name>-inference-read`` (read ``models/``, decrypt through S3), and by default
    ``<name>-pod-identity`` (``aws.eks.PodIdentityAssociation`` for service account
    ``<tenant>-inference`` in namespace ``<tenant>``, session tags on because the trust
    policy checks them). With IRSA (:class:`tenantry.identity.Identity`) the trust goes to
    the OIDC provider instead and no association is created. When ``access.admins`` is not
    empty: ``<name>-admin-role`` (``tenantry-<tenant>-admin``, assumable by those ARNs) with
    ``<name>-admin-read-write``
    (upload/read/delete ``models/``, data keys through S3). Sessions last at most one hour.
    """

    TYPE = "tenantry:aws:TenantIdentity"

    def __init__(
        self, name: str, args: TenantIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        names, bucket, tags, identity = args.names, args.bucket, args.tags, args.identity
        cluster_name, tenant_admins = args.cluster_name, args.tenant_admins
        child = pulumi.ResourceOptions(parent=self)
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=names.boundary_name,
            path=IAM_PATH,
            description=f"tenantry: the most any role of tenant {names.tenant} may do",
            policy=bucket.key_arn.apply(lambda k: boundary_policy(names, k).to_json()),
            tags=dict(tags),
            opts=child,
        )
        trust = (
            irsa_trust(names, identity.oidc_provider_arn or "", identity.oidc_issuer or "")
            if identity.is_irsa
            else pod_identity_trust(names, cluster_name)
        )

        def role(purpose: str, description: str, trust_json: str) -> aws.iam.Role:
            """Every tenant role: under the boundary, /tenantry/ path, 1 h sessions."""
            return aws.iam.Role(
                f"{name}-{purpose}-role",
                name=names.role_name(purpose),
                path=IAM_PATH,
                description=description,
                assume_role_policy=trust_json,
                permissions_boundary=self.boundary.arn,
                max_session_duration=MAX_SESSION_SECONDS,
                force_detach_policies=True,
                tags=dict(tags),
                opts=child,
            )

        self.inference_role = role(
            "inference", f"tenantry: inference pods of tenant {names.tenant}", trust.to_json()
        )
        self.inference_policy = aws.iam.RolePolicy(
            f"{name}-inference-read",
            name="models-read",
            role=self.inference_role.name,
            policy=bucket.grant_read(MODELS_PREFIX).apply(lambda d: d.to_json()),
            opts=child,
        )
        self.pod_identity: aws.eks.PodIdentityAssociation | None = None
        if not identity.is_irsa:
            self.pod_identity = aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=cluster_name,
                namespace=names.namespace,
                service_account=names.service_account,
                role_arn=self.inference_role.arn,
                disable_session_tags=False,
                tags=dict(tags),
                opts=child,
            )
        self.admin_role: aws.iam.Role | None = None
        if tenant_admins:
            self.admin_role = role(
                "admin",
                f"tenantry: model uploads by the admins of tenant {names.tenant}",
                admin_trust(tenant_admins).to_json(),
            )
            self.admin_policy = aws.iam.RolePolicy(
                f"{name}-admin-read-write",
                name="models-read-write",
                role=self.admin_role.name,
                policy=bucket.grant_write(MODELS_PREFIX).apply(lambda d: d.to_json()),
                opts=child,
            )
        self.inference_role_arn: pulumi.Output[str] = self.inference_role.arn
        self.admin_role_arn: pulumi.Output[str | None] = (
            self.admin_role.arn if self.admin_role else pulumi.Output.from_input(None)
        )
        self.register_outputs(
            {"inferenceRoleArn": self.inference_role_arn, "adminRoleArn": self.admin_role_arn}
        )
