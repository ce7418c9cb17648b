"""``TenantBucket``: the tenant's isolated model bucket (``tenantry:aws:TenantBucket``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..spec.model import Storage
from .llm_policies import AdapterReader
from .names import MODELS_PREFIX, TenantNames
from .policy import PolicyDocument, check_prefix
from .tenant_policies import bucket_policy, read_grant, read_write_grant

ABORT_INCOMPLETE_UPLOADS_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class TenantBucketArgs:
    """``names``: the tenant's AWS names. ``storage``: the tenant file's ``spec.storage``
    (versioning, retention, force destroy). ``key_arn``: the KMS key of the default
    encryption. ``admins``: the platform administrators (named in the bucket policy).
    ``admin_role``: whether the tenant has an admin role. ``tags``: the tag policy's tags.
    ``deployed_prefixes``: the prefixes of the versions the tenant file deploys
    (:func:`tenantry.triton.deployed_prefixes`), kept write-once for the tenant's roles."""

    names: TenantNames
    storage: Storage
    key_arn: pulumi.Input[str]
    admins: Sequence[str]
    admin_role: bool
    tags: Mapping[str, str]
    deployed_prefixes: Sequence[str] = ()  # models/<model>/v<version>/: write-once for tenants
    adapter_readers: Sequence[AdapterReader] = ()
    """Shared LLM runtime roles that may read (only) their adapter prefixes."""


class TenantBucket(pulumi.ComponentResource):
    """One S3 bucket per tenant for its model repository and artifacts.

    Creates (all named ``<name>-...``): ``bucket`` (``aws.s3.Bucket`` named
    ``tenantry-<tenant>-<account or suffix>``), ``public-access-block`` (all four blocks on),
    ``ownership`` (``BucketOwnerEnforced``: ACLs off), ``encryption`` (default SSE-KMS with the
    tenant's key, bucket key on), ``versioning`` (``Enabled`` when ``storage.versioning``,
    else ``Suspended``), ``lifecycle`` (noncurrent versions expire after
    ``storage.retentionDays``, expired delete markers removed, incomplete multipart uploads
    aborted after 7 days) and ``policy`` (:func:`tenant_policies.bucket_policy`: TLS only,
    uploads only with this key, no principal but the tenant's roles and the platform admins,
    ``deployed_prefixes`` (``models/<model>/v<version>/``) write-once for the tenant's roles).

    Deletion: ``force_destroy`` is ``storage.forceDestroy`` (default false), so deleting a
    bucket that still holds objects or versions fails and nothing is lost; an empty bucket
    is deleted with its stack. ``protect``/``retain_on_delete`` are not set: they would block
    or orphan even an empty bucket, and the key's 30-day deletion window already guards the
    data's readability.
    """

    TYPE = "tenantry:aws:TenantBucket"

    def __init__(
        self, name: str, args: TenantBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.names = names = args.names
        storage, tags, admin_role = args.storage, args.tags, args.admin_role
        self.key_arn: pulumi.Output[str] = pulumi.Output.from_input(args.key_arn)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=names.bucket_name,
            force_destroy=storage.force_destroy,
            tags=dict(tags),
            opts=child,
        )
        bucket_id = self.bucket.id
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key_arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if storage.versioning else "Suspended"
            ),
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=storage.retention_days
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        expired_object_delete_marker=True
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_INCOMPLETE_UPLOADS_DAYS
                    ),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        admins, deployed = list(args.admins), tuple(args.deployed_prefixes)
        readers = tuple(args.adapter_readers)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=self.key_arn.apply(
                lambda k: bucket_policy(
                    names,
                    k,
                    admins,
                    admin_role=admin_role,
                    deployed=deployed,
                    adapter_readers=readers,
                ).to_json()
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.bucket_name: pulumi.Output[str] = self.bucket.bucket
        self.arn: pulumi.Output[str] = self.bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "arn": self.arn})

    def grant_read(self, prefix: str = MODELS_PREFIX) -> pulumi.Output[PolicyDocument]:
        """Identity-policy statements: read and list ``prefix``, decrypt with this bucket's
        key only through S3 and only for this bucket."""
        n, prefix = self.names, check_prefix(prefix)
        return self.key_arn.apply(lambda k: read_grant(n.bucket_arn, k, n.region, prefix))

    def grant_write(self, prefix: str = MODELS_PREFIX) -> pulumi.Output[PolicyDocument]:
        """Identity-policy statements: read, list, upload and delete under ``prefix``; data
        keys from this bucket's key only through S3 and only for this bucket."""
        n, prefix = self.names, check_prefix(prefix)
        return self.key_arn.apply(lambda k: read_write_grant(n.bucket_arn, k, n.region, prefix))
