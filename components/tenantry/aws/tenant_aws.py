"""``TenantAws``: everything one tenant owns in AWS (``tenantry:aws:TenantAws``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..spec import PlatformSettings, ResolvedTenant
from ..tags import tenant_tags
from .bucket import TenantBucket
from .identity import IdentityMode, PodIdentity, TenantIdentity
from .kms_key import DEFAULT_DELETION_WINDOW_DAYS, TenantKey
from .names import TenantNames
from .node_group import DEFAULT_ROOT_VOLUME_GIB, DedicatedNodeGroup, NodeGroupPlatform
from .provider import tenant_provider


@dataclass(frozen=True)
class TenantAwsArgs:
    """Inputs that come from the platform (its stack outputs or config), not the tenant file.

    ``account_id``: the platform account (names, key policy). ``cluster_name``: default the
    platform settings' cluster. ``node_role_arn``/``subnet_ids``: required only when the tenant
    has ``nodeGroups``. ``platform_key_arn``: required only for ``storage.encryption:
    platform-key``. ``provider``: ``None`` creates ``<name>-provider`` with
    :func:`provider.tenant_provider`; pass one to share it.
    """

    account_id: str
    cluster_name: str | None = None
    node_role_arn: pulumi.Input[str] | None = None
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    platform_key_arn: pulumi.Input[str] | None = None
    partition: str = "aws"
    bucket_suffix: str | None = None
    identity: IdentityMode = field(default_factory=PodIdentity)
    key_deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS
    root_volume_gib: int = DEFAULT_ROOT_VOLUME_GIB
    ebs_kms_key_arn: pulumi.Input[str] | None = None
    provider: aws.Provider | None = None


class TenantAws(pulumi.ComponentResource):
    """Key, bucket, identity and dedicated node groups of one tenant.

    Creates ``<name>-provider`` (unless ``args.provider`` is given: region of the tenant,
    ``default_tags`` = the tag policy), ``<name>-key`` (:class:`TenantKey`, skipped when
    ``storage.encryption`` is ``platform-key``: then ``args.platform_key_arn`` is used),
    ``<name>-storage`` (:class:`TenantBucket`), ``<name>-identity`` (:class:`TenantIdentity`)
    and ``<name>-ng-<group>`` (:class:`DedicatedNodeGroup`) per ``spec.nodeGroups`` entry.
    Every taggable resource carries :func:`tenantry.tags.tenant_tags` explicitly.

    Outputs for the Kubernetes side: ``bucket_name``, ``inference_role_arn``, ``key_arn``
    (and ``service_account`` / ``namespace``, plain strings, for the Pod Identity binding).
    """

    TYPE = "tenantry:aws:TenantAws"

    def __init__(
        self,
        name: str,
        tenant: ResolvedTenant,
        platform: PlatformSettings,
        args: TenantAwsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        t = tenant
        self.names = names = TenantNames(
            t.name, args.account_id, t.region, args.partition, args.bucket_suffix
        )
        self.tags = tags = tenant_tags(t)
        if t.storage.encryption == "platform-key" and not args.platform_key_arn:
            raise ValueError(
                f"tenant {t.name}: storage.encryption is 'platform-key', so "
                "TenantAwsArgs.platform_key_arn is required (the platform key ARN)"
            )
        if t.node_groups and (args.node_role_arn is None or args.subnet_ids is None):
            raise ValueError(
                f"tenant {t.name}: spec.nodeGroups is not empty, so "
                "TenantAwsArgs.node_role_arn and subnet_ids are required"
            )
        cluster_name = args.cluster_name or platform.cluster.name
        admins = list(platform.admins)
        admin_role = bool(t.access.admins)

        self.provider = args.provider or tenant_provider(
            f"{name}-provider", t, pulumi.ResourceOptions(parent=self)
        )
        child = pulumi.ResourceOptions(parent=self, providers=[self.provider])

        self.key: TenantKey | None = None
        if t.storage.encryption == "tenant-key":
            self.key = TenantKey(
                f"{name}-key",
                names,
                admins=admins,
                admin_role=admin_role,
                tags=tags,
                deletion_window_days=args.key_deletion_window_days,
                opts=child,
            )
            key_arn: pulumi.Input[str] = self.key.arn
        else:
            assert args.platform_key_arn is not None
            key_arn = args.platform_key_arn
        self.storage = TenantBucket(
            f"{name}-storage",
            names,
            storage=t.storage,
            key_arn=key_arn,
            admins=admins,
            admin_role=admin_role,
            tags=tags,
            opts=child,
        )
        self.identity = TenantIdentity(
            f"{name}-identity",
            names,
            bucket=self.storage,
            cluster_name=cluster_name,
            tenant_admins=t.access.admins,
            tags=tags,
            mode=args.identity,
            opts=child,
        )
        self.node_groups: list[DedicatedNodeGroup] = []
        if t.node_groups:
            assert args.node_role_arn is not None and args.subnet_ids is not None
            ng_platform = NodeGroupPlatform(
                cluster_name=cluster_name,
                node_role_arn=args.node_role_arn,
                subnet_ids=args.subnet_ids,
                root_volume_gib=args.root_volume_gib,
                ebs_kms_key_arn=args.ebs_kms_key_arn,
            )
            self.node_groups = [
                DedicatedNodeGroup(
                    f"{name}-ng-{ng.name}",
                    tenant=t.name,
                    tier=t.tier.name,
                    node_group=ng,
                    platform=ng_platform,
                    tags=tags,
                    opts=child,
                )
                for ng in t.node_groups
            ]

        self.bucket_name: pulumi.Output[str] = self.storage.bucket_name
        self.inference_role_arn: pulumi.Output[str] = self.identity.inference_role_arn
        self.key_arn: pulumi.Output[str] = self.storage.key_arn
        self.service_account = names.service_account
        self.namespace = names.namespace
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "inference_role_arn": self.inference_role_arn,
                "key_arn": self.key_arn,
                "admin_role_arn": self.identity.admin_role_arn,
                "node_group_names": [g.node_group_name for g in self.node_groups],
            }
        )
