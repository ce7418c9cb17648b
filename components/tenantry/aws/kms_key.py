"""``TenantKey``: the tenant's own KMS key (``tenantry:aws:TenantKey``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .llm_policies import AdapterReader
from .names import TenantNames
from .tenant_policies import key_policy

DEFAULT_DELETION_WINDOW_DAYS = 30


def secure_key(
    name: str,
    *,
    description: str,
    policy: pulumi.Input[str],
    tags: Mapping[str, str],
    deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS,
    opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """A symmetric ``ENCRYPT_DECRYPT`` key with Tenantry's secure defaults, written once:
    single-region, yearly rotation, the policy lockout safety check kept on."""
    return aws.kms.Key(
        name,
        description=description,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        multi_region=False,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=deletion_window_days,
        bypass_policy_lockout_safety_check=False,
        policy=policy,
        tags=dict(tags),
        opts=opts,
    )


@dataclass(frozen=True, kw_only=True)
class TenantKeyArgs:
    """``names``: the tenant's AWS names. ``admins``: the platform administrators (manage
    the key, no cryptographic use). ``admin_role``: whether the tenant has an admin role (it
    may encrypt/decrypt through S3). ``tags``: the tag policy's tags.
    ``deletion_window_days``: 7 to 30 (default 30)."""

    names: TenantNames
    admins: Sequence[str]
    admin_role: bool
    tags: Mapping[str, str]
    deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS
    adapter_readers: Sequence[AdapterReader] = ()
    """Shared LLM runtime roles reading the tenant's adapters (decrypt via S3 only)."""


class TenantKey(pulumi.ComponentResource):
    """A symmetric KMS key and its alias for one tenant.

    Creates ``<name>-key`` (``aws.kms.Key``) and ``<name>-alias`` (``aws.kms.Alias``
    ``alias/tenantry/<tenant>``). Defaults: ``SYMMETRIC_DEFAULT`` / ``ENCRYPT_DECRYPT``,
    single-region, automatic rotation on (every 365 days), deletion window 30 days, policy
    lockout safety check kept. Key policy (:func:`tenant_policies.key_policy`): the platform
    administrators manage it (no cryptographic use); the tenant's inference role may decrypt
    and its admin role encrypt/decrypt, both only through S3 in the tenant's region and only
    for the tenant's bucket; the account root appears only narrowed to those roles and for
    recovery (see that module's docstring).
    """

    TYPE = "tenantry:aws:TenantKey"

    def __init__(
        self, name: str, args: TenantKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        names = args.names
        if not 7 <= args.deletion_window_days <= 30:
            raise ValueError(
                f"deletion_window_days {args.deletion_window_days}: accepted is 7 to 30 (days)"
            )
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key = secure_key(
            f"{name}-key",
            description=f"tenantry: model artifacts of tenant {names.tenant}",
            policy=key_policy(
                names,
                args.admins,
                admin_role=args.admin_role,
                adapter_readers=args.adapter_readers,
            ).to_json(),
            tags=args.tags,
            deletion_window_days=args.deletion_window_days,
            opts=child,
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=names.key_alias, target_key_id=self.key.key_id, opts=child
        )
        self.arn: pulumi.Output[str] = self.key.arn
        self.register_outputs({"arn": self.arn, "alias": self.alias.name})
