"""``TenantAws``: everything one tenant owns in AWS (``tenantry:aws:TenantAws``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from ..identity import POD_IDENTITY, Identity
from ..spec import PlatformSettings, ResolvedTenant
from ..tags import tenant_tags
from ..triton.repository import deployed_prefixes
from .bucket import TenantBucket, TenantBucketArgs
from .identity import TenantIdentity, TenantIdentityArgs
from .kms_key import DEFAULT_DELETION_WINDOW_DAYS, TenantKey, TenantKeyArgs
from .llm_policies import adapter_readers
from .names import TenantNames
from .node_group import DEFAULT_ROOT_VOLUME_GIB, DedicatedNodeGroup, DedicatedNodeGroupArgs
from .provider import tenant_provider

if TYPE_CHECKING:
    from ..platform_ref import PlatformInputs


@dataclass(frozen=True, kw_only=True)
class TenantAwsArgs:
    """What :class:`TenantAws` builds from.

    ``tenant``: the resolved tenant. From the platform (its settings and stack outputs):
    ``account_id`` (names, key policy), ``cluster_name``, ``admins`` (the platform
    administrators: they manage the key and are named in the bucket policy),
    ``node_role_arn``/``subnet_ids`` (required only when the tenant has ``nodeGroups``),
    ``platform_key_arn`` (required only for ``storage.encryption: platform-key``),
    ``partition`` (default ``aws``), ``ebs_kms_key_arn`` (node root volumes; ``None``: the
    account's default EBS key), ``bucket_suffix`` (the platform's ``bucketSuffix``; default:
    the account id; the platform's LLM adapter URIs and the CLI name the bucket with the
    platform's, so a value set by hand must match it). Options: ``identity`` (default EKS
    Pod Identity), ``key_deletion_window_days`` (7-30, default 30), ``root_volume_gib``
    (default 200), ``provider`` (``None`` creates
    ``<name>-provider`` with :func:`provider.tenant_provider`; pass one to share it).
    """

    tenant: ResolvedTenant
    account_id: str
    cluster_name: str
    admins: Sequence[str] = ()
    node_role_arn: pulumi.Input[str] | None = None
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    platform_key_arn: pulumi.Input[str] | None = None
    partition: str = "aws"
    bucket_suffix: str | None = None
    identity: Identity = POD_IDENTITY
    key_deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS
    root_volume_gib: int = DEFAULT_ROOT_VOLUME_GIB
    ebs_kms_key_arn: pulumi.Input[str] | None = None
    provider: aws.Provider | None = None

    @classmethod
    def from_spec(
        cls,
        tenant: ResolvedTenant,
        platform: PlatformSettings,
        inputs: PlatformInputs,
        *,
        identity: Identity = POD_IDENTITY,
    ) -> TenantAwsArgs:
        """The args of a tenant resolved against ``platform``, on the platform stack's
        outputs ``inputs``."""
        return cls(
            tenant=tenant,
            account_id=platform.account_id,
            cluster_name=platform.cluster.name,
            admins=tuple(platform.admins),
            node_role_arn=inputs.node_role_arn,
            subnet_ids=inputs.subnet_ids,
            platform_key_arn=inputs.platform_key_arn,
            bucket_suffix=platform.bucket_suffix,
            identity=identity,
        )


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
        self, name: str, args: TenantAwsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        t = args.tenant
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
        super().__init__(self.TYPE, name, None, opts)
        self.names = names = TenantNames(
            t.name, args.account_id, t.region, args.partition, args.bucket_suffix
        )
        self.tags = tags = tenant_tags(t)
        cluster_name = args.cluster_name
        admins = list(args.admins)
        admin_role = bool(t.access.admins)
        readers = adapter_readers(t, names)

        self.provider = args.provider or tenant_provider(
            f"{name}-provider", t, pulumi.ResourceOptions(parent=self)
        )
        child = pulumi.ResourceOptions(parent=self, providers=[self.provider])

        self.key: TenantKey | None = None
        if t.storage.encryption == "tenant-key":
            self.key = TenantKey(
                f"{name}-key",
                TenantKeyArgs(
                    names=names,
                    admins=admins,
                    admin_role=admin_role,
                    tags=tags,
                    deletion_window_days=args.key_deletion_window_days,
                    adapter_readers=readers,
                ),
                opts=child,
            )
            key_arn: pulumi.Input[str] = self.key.arn
        else:
            assert args.platform_key_arn is not None
            key_arn = args.platform_key_arn
        self.storage = TenantBucket(
            f"{name}-storage",
            TenantBucketArgs(
                names=names,
                storage=t.storage,
                key_arn=key_arn,
                admins=admins,
                admin_role=admin_role,
                tags=tags,
                deployed_prefixes=deployed_prefixes(t.models),
                adapter_readers=readers,
            ),
            opts=child,
        )
        self.identity = TenantIdentity(
            f"{name}-identity",
            TenantIdentityArgs(
                names=names,
                bucket=self.storage,
                cluster_name=cluster_name,
                tenant_admins=t.access.admins,
                tags=tags,
                identity=args.identity,
            ),
            opts=child,
        )
        self.node_groups: list[DedicatedNodeGroup] = []
        if t.node_groups:
            assert args.node_role_arn is not None and args.subnet_ids is not None
            self.node_groups = [
                DedicatedNodeGroup(
                    f"{name}-ng-{ng.name}",
                    DedicatedNodeGroupArgs(
                        tenant=t.name,
                        tier=t.tier.name,
                        node_group=ng,
                        cluster_name=cluster_name,
                        node_role_arn=args.node_role_arn,
                        subnet_ids=args.subnet_ids,
                        root_volume_gib=args.root_volume_gib,
                        ebs_kms_key_arn=args.ebs_kms_key_arn,
                        tags=tags,
                    ),
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
                "bucketName": self.bucket_name,
                "inferenceRoleArn": self.inference_role_arn,
                "keyArn": self.key_arn,
                "adminRoleArn": self.identity.admin_role_arn,
                "nodeGroupNames": [g.node_group_name for g in self.node_groups],
            }
        )
