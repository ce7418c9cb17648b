"""``DedicatedNodeGroup``: one EKS managed GPU node group of a tenant
(``tenantry:aws:DedicatedNodeGroup``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..spec import ResolvedNodeGroup
from .names import node_group_name

AMI_TYPE = "AL2023_x86_64_NVIDIA"
ROOT_DEVICE = "/dev/xvda"  # AL2023 EKS AMIs
DEFAULT_ROOT_VOLUME_GIB = 200
# Node labels and taints; the Kubernetes side tolerates/selects the same keys.
TENANT_LABEL = "tenantry.dev/tenant"
TIER_LABEL = "tenantry.dev/tier"
NODE_GROUP_LABEL = "tenantry.dev/node-group"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
GPU_TAINT_KEY = "nvidia.com/gpu"
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
TAGGED_AT_LAUNCH = ("instance", "volume", "network-interface")


@dataclass(frozen=True, kw_only=True)
class DedicatedNodeGroupArgs:
    """``tenant``/``tier``: the tenant's name and tier (labels, taint, names).
    ``node_group``: one resolved ``spec.nodeGroups`` entry. From the platform:
    ``cluster_name``, ``node_role_arn``, ``subnet_ids``; ``root_volume_gib`` (20-16384,
    default 200) and ``ebs_kms_key_arn`` (``None``: the account's default EBS key).
    ``tags``: the tag policy's tags."""

    tenant: str
    tier: str
    node_group: ResolvedNodeGroup
    cluster_name: str
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    tags: Mapping[str, str]
    root_volume_gib: int = DEFAULT_ROOT_VOLUME_GIB
    ebs_kms_key_arn: pulumi.Input[str] | None = None


def node_labels(tenant: str, tier: str, ng: ResolvedNodeGroup) -> dict[str, str]:
    return {
        TENANT_LABEL: tenant,
        TIER_LABEL: tier,
        NODE_GROUP_LABEL: ng.name,
        MIG_CONFIG_LABEL: ng.mig_config,
    }


def node_taints(tenant: str) -> list[dict[str, str]]:
    return [
        {"key": TENANT_LABEL, "value": tenant, "effect": "NO_SCHEDULE"},
        {"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"},
    ]


def gpu_launch_template(
    resource_name: str,
    *,
    template_name: str,
    description: str,
    root_volume_gib: int,
    ebs_kms_key_arn: pulumi.Input[str] | None,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.LaunchTemplate:
    """The launch template of every GPU node group (tenant or shared pool): IMDSv2 required
    with hop limit 1, instance metadata tags off; encrypted gp3 root volume on ``/dev/xvda``
    deleted with the instance; ``tags`` on the template and, at launch, on instances,
    volumes and network interfaces."""
    if not 20 <= root_volume_gib <= 16384:
        raise ValueError(f"root_volume_gib {root_volume_gib}: accepted is 20-16384")
    return aws.ec2.LaunchTemplate(
        resource_name,
        name=template_name,
        description=description,
        update_default_version=True,
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=1,
            instance_metadata_tags="disabled",
        ),
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=root_volume_gib,
                    volume_type="gp3",
                    encrypted="true",
                    delete_on_termination="true",
                    kms_key_id=ebs_kms_key_arn,
                ),
            )
        ],
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=rt, tags=dict(tags))
            for rt in TAGGED_AT_LAUNCH
        ],
        tags=dict(tags),
        opts=opts,
    )


def gpu_node_group(
    resource_name: str,
    *,
    cluster_name: pulumi.Input[str],
    group_name: str,
    node_role_arn: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    instance_type: str,
    capacity_type: str,
    size: tuple[int, int, int],
    launch_template: aws.ec2.LaunchTemplate,
    labels: Mapping[str, str],
    taints: Sequence[Mapping[str, str]],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.eks.NodeGroup:
    """The ``aws.eks.NodeGroup`` of every GPU node group (tenant, shared pool, a tenant's
    nodes of a shared pool): ``AL2023_x86_64_NVIDIA``, one instance type, ``capacity_type``
    of :data:`CAPACITY_TYPES` (``on-demand``/``spot``), scaling ``size`` = (min, desired,
    max), one node unavailable at a time, the launch template's latest version, ``labels``
    and ``taints`` (``effect`` in EKS's spelling, ``NO_SCHEDULE``) on every node it
    launches."""
    low, desired, high = size
    return aws.eks.NodeGroup(
        resource_name,
        cluster_name=cluster_name,
        node_group_name=group_name,
        node_role_arn=node_role_arn,
        subnet_ids=subnet_ids,
        ami_type=AMI_TYPE,
        instance_types=[instance_type],
        capacity_type=CAPACITY_TYPES[capacity_type],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=low, max_size=high, desired_size=desired
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
            id=launch_template.id, version=launch_template.latest_version.apply(str)
        ),
        labels=dict(labels),
        taints=[aws.eks.NodeGroupTaintArgs(**t) for t in taints],
        tags=dict(tags),
        opts=opts,
    )


class DedicatedNodeGroup(pulumi.ComponentResource):
    """A dedicated GPU node group from a ``spec.nodeGroups`` entry.

    Creates ``<name>-launch-template`` (``aws.ec2.LaunchTemplate``: IMDSv2 required, hop
    limit 1 so pods cannot reach the node's credentials, instance metadata tags off; gp3 root
    volume on ``/dev/xvda``, encrypted, deleted with the instance, 200 GiB by default; tag
    specifications for instances, volumes and network interfaces) and ``<name>-node-group``
    (``aws.eks.NodeGroup`` ``tenantry-<tenant>-<group>``: AMI ``AL2023_x86_64_NVIDIA``, the
    spec's instance type, ``ON_DEMAND``/``SPOT`` from ``capacityType``, scaling min/max from
    the spec with desired = min (later changes to desired size by an autoscaler are
    ignored), one node unavailable at a time during updates; labels ``tenantry.dev/tenant``,
    ``tenantry.dev/tier``, ``tenantry.dev/node-group``, ``nvidia.com/mig.config``; taints
    ``tenantry.dev/tenant=<tenant>:NO_SCHEDULE`` and ``nvidia.com/gpu=true:NO_SCHEDULE``).
    """

    TYPE = "tenantry:aws:DedicatedNodeGroup"

    def __init__(
        self, name: str, args: DedicatedNodeGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        ng, tenant, platform = args.node_group, args.tenant, args
        if ng.capacity_type not in CAPACITY_TYPES:
            raise ValueError(
                f"nodeGroups[{ng.name}].capacityType {ng.capacity_type!r}: "
                f"accepted is one of {sorted(CAPACITY_TYPES)}"
            )
        super().__init__(self.TYPE, name, None, opts)
        group_name = node_group_name(tenant, ng.name)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        self.launch_template = gpu_launch_template(
            f"{name}-launch-template",
            template_name=group_name,
            description=f"tenantry: dedicated GPU nodes {ng.name} of tenant {tenant}",
            root_volume_gib=platform.root_volume_gib,
            ebs_kms_key_arn=platform.ebs_kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.node_group = gpu_node_group(
            f"{name}-node-group",
            cluster_name=platform.cluster_name,
            group_name=group_name,
            node_role_arn=platform.node_role_arn,
            subnet_ids=platform.subnet_ids,
            instance_type=ng.instance_type,
            capacity_type=ng.capacity_type,
            size=(ng.min_size, ng.min_size, ng.max_size),
            launch_template=self.launch_template,
            labels=node_labels(tenant, args.tier, ng),
            taints=node_taints(tenant),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.node_group_name: pulumi.Output[str] = self.node_group.node_group_name
        self.register_outputs({"nodeGroupName": self.node_group_name})
