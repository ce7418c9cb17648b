"""Names and ARNs of one tenant's AWS resources (pure, no Pulumi).

Names are deterministic so that every policy can name the tenant's resources before they
exist (a KMS key ARN is the one exception: AWS picks the key id, so it is an output).

- Bucket: ``tenantry-<tenant>-<suffix>``, suffix = the platform settings' ``bucketSuffix``,
  by default the platform account id (S3 names are global; the account id makes them unique
  and predictable). Set it when one account holds several environments. At most 63
  characters. Every side that names a tenant's bucket (the tenant stack, the platform's
  LLM adapter URIs, the CLI) takes it from :func:`tenant_names`.
- Roles: ``tenantry-<tenant>-inference`` and ``tenantry-<tenant>-admin`` under IAM path
  ``/tenantry/``; the permissions boundary policy ``tenantry-<tenant>-boundary``, same path.
- Key alias: ``alias/tenantry/<tenant>``.
- Dedicated node groups and their launch templates: ``tenantry-<tenant>-<group>``.
- Kubernetes service account of the inference pods: ``<tenant>-inference`` in namespace
  ``<tenant>`` (agreed with the Kubernetes side).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..spec.model import ADAPTERS_PREFIX, MODELS_PREFIX

if TYPE_CHECKING:
    from ..spec import PlatformSettings

IAM_PATH = "/tenantry/"
__all__ = ["ADAPTERS_PREFIX", "IAM_PATH", "MODELS_PREFIX", "TenantNames", "tenant_names"]
ACCOUNT_RE = re.compile(r"^\d{12}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def node_group_name(tenant: str, group: str) -> str:
    """EKS managed node group (and launch template) name of a tenant's node group."""
    return f"tenantry-{tenant}-{group}"


def tenant_nodes_group_name(tenant: str, pool: str) -> str:
    """EKS managed node group (and launch template) name of an isolated tenant's own nodes
    carved from shared pool ``pool`` (declared by the platform stack,
    :class:`tenantry.platform.gpu_pool.TenantGpuNodes`): ``tenantry-<tenant>-pool-<pool>``,
    named as the tenant's resources are, apart from its node groups'."""
    return f"tenantry-{tenant}-pool-{pool}"


def tenant_names(tenant: str, region: str, platform: PlatformSettings) -> TenantNames:
    """The names of tenant ``tenant`` (its resources in ``region``) on ``platform``: the
    account id and the bucket suffix come from the platform settings, the one source every
    side that names a tenant's resources reads."""
    return TenantNames(tenant, platform.account_id, region, bucket_suffix=platform.bucket_suffix)


@dataclass(frozen=True)
class TenantNames:
    tenant: str
    account_id: str
    region: str
    partition: str = "aws"
    bucket_suffix: str | None = None

    def __post_init__(self) -> None:
        if not ACCOUNT_RE.match(self.account_id):
            raise ValueError(
                f"account_id {self.account_id!r}: accepted is a 12-digit AWS account id"
            )
        if self.partition not in PARTITIONS:
            raise ValueError(f"partition {self.partition!r}: accepted is one of {PARTITIONS}")
        name = self.bucket_name
        if not BUCKET_RE.match(name) or "--" in name:
            raise ValueError(
                f"bucket_suffix {self.bucket_suffix!r}: the bucket name {name!r} must be 3-63 "
                "lower-case letters, digits and single hyphens; accepted is a shorter suffix "
                "of [a-z0-9-]"
            )

    @property
    def bucket_name(self) -> str:
        return f"tenantry-{self.tenant}-{self.bucket_suffix or self.account_id}"

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket_name}"

    @property
    def key_alias(self) -> str:
        return f"alias/tenantry/{self.tenant}"

    @property
    def account_root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def role_name(self, purpose: str) -> str:
        return f"tenantry-{self.tenant}-{purpose}"

    def role_arn(self, purpose: str) -> str:
        return (
            f"arn:{self.partition}:iam::{self.account_id}:role{IAM_PATH}{self.role_name(purpose)}"
        )

    @property
    def inference_role_arn(self) -> str:
        return self.role_arn("inference")

    @property
    def admin_role_arn(self) -> str:
        return self.role_arn("admin")

    @property
    def boundary_name(self) -> str:
        return f"tenantry-{self.tenant}-boundary"

    @property
    def boundary_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:policy{IAM_PATH}{self.boundary_name}"

    @property
    def namespace(self) -> str:
        return self.tenant

    @property
    def service_account(self) -> str:
        return f"{self.tenant}-inference"
