"""``PlatformKey``: the platform's KMS key (``tenantry:platform:PlatformKey``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..aws.kms_key import secure_key
from .names import KEY_ALIAS


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


@dataclass(frozen=True, kw_only=True)
class PlatformKeyArgs:
    """``account_id``: the platform account. ``admins``: the platform administrators (manage
    the key). ``tags``: the platform's tags."""

    account_id: str
    admins: Sequence[str]
    tags: Mapping[str, str]


class PlatformKey(pulumi.ComponentResource):
    """A symmetric KMS key for the platform: the bucket key of tenants with
    ``storage.encryption: platform-key`` and the RDS vector database's storage key.

    Creates ``<name>-key`` (``aws.kms.Key``: ``SYMMETRIC_DEFAULT``/``ENCRYPT_DECRYPT``,
    single-region, rotation every 365 days, deletion window 30 days, policy
    :func:`platform_key_policy`) and ``<name>-alias`` (``alias/tenantry/platform``).
    """

    TYPE = "tenantry:platform:PlatformKey"

    def __init__(
        self, name: str, args: PlatformKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        account_id, admins, tags = args.account_id, args.admins, args.tags
        child = pulumi.ResourceOptions(parent=self)
        self.key = secure_key(
            f"{name}-key",
            description="tenantry: the platform key (shared buckets, vector database)",
            policy=platform_key_policy(account_id, admins),
            tags=tags,
            opts=child,
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=KEY_ALIAS, target_key_id=self.key.key_id, opts=child
        )
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn})
