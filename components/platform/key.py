"""``PlatformKey``: the platform's KMS key (``tenantry:platform:PlatformKey``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from .names import KEY_ALIAS

DEFAULT_DELETION_WINDOW_DAYS = 30


def platform_key_policy(account_id: str, admins: Sequence[str], partition: str = "aws") -> str:
    """The account may grant use of the key through IAM (tenant roles of tenants with
    ``storage.encryption: platform-key``, RDS on the platform's behalf); the platform
    administrators manage it (no cryptographic use through this statement)."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "AccountIamGrants",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if admins:
        statements.append(
            {
                "Sid": "PlatformAdmins",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(admins)},
                "Action": [
                    "kms:Create*",
                    "kms:Describe*",
                    "kms:Enable*",
                    "kms:List*",
                    "kms:Put*",
                    "kms:Update*",
                    "kms:Revoke*",
                    "kms:Disable*",
                    "kms:Get*",
                    "kms:Delete*",
                    "kms:TagResource",
                    "kms:UntagResource",
                    "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion",
                    "kms:RotateKeyOnDemand",
                ],
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class PlatformKey(pulumi.ComponentResource):
    """A symmetric KMS key for the platform: the bucket key of tenants with
    ``storage.encryption: platform-key`` and the RDS vector database's storage key.

    Creates ``<name>-key`` (``aws.kms.Key``: ``SYMMETRIC_DEFAULT``/``ENCRYPT_DECRYPT``,
    single-region, rotation every 365 days, deletion window 30 days, policy
    :func:`platform_key_policy`) and ``<name>-alias`` (``alias/tenantry/platform``).
    """

    TYPE = "tenantry:platform:PlatformKey"

    def __init__(
        self,
        name: str,
        *,
        account_id: str,
        admins: Sequence[str],
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key = aws.kms.Key(
            f"{name}-key",
            description="tenantry: the platform key (shared buckets, vector database)",
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            multi_region=False,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=DEFAULT_DELETION_WINDOW_DAYS,
            bypass_policy_lockout_safety_check=False,
            policy=platform_key_policy(account_id, admins),
            tags=dict(tags),
            opts=child,
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=KEY_ALIAS, target_key_id=self.key.key_id, opts=child
        )
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn})
