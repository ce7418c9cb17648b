"""``SharedGpuPool``: one shared GPU node group, sized by the planner
(``tenantry:platform:SharedGpuPool``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..aws.node_group import (
    AMI_TYPE,
    CAPACITY_TYPES,
    DEFAULT_ROOT_VOLUME_GIB,
    GPU_TAINT_KEY,
    MIG_CONFIG_LABEL,
    gpu_launch_template,
)
from ..k8s.labels import POOL_LABEL
from ..planner import PoolPlan
from ..spec.platform import SharedPool
from .charts import MIG_DEFAULT_CONFIG


class PoolPlanError(ValueError):
    """The planner's result for a pool cannot be deployed (names the pool and why)."""


def pool_size(pool: SharedPool, planned: PoolPlan) -> tuple[int, int, int]:
    """(min, desired, max): min/max from the settings, desired = the planner's nodes."""
    if planned.errors:
        raise PoolPlanError(f"shared pool {pool.name!r}: {'; '.join(planned.errors)}")
    if planned.nodes > pool.max_nodes:
        raise PoolPlanError(
            f"shared pool {pool.name!r}: the plan needs {planned.nodes} node(s) but maxNodes "
            f"is {pool.max_nodes}; raise sharedPools[{pool.name}].maxNodes"
        )
    if pool.min_nodes > pool.max_nodes:
        raise PoolPlanError(f"shared pool {pool.name!r}: minNodes exceeds maxNodes")
    return pool.min_nodes, max(planned.nodes, pool.min_nodes), pool.max_nodes


def pool_labels(pool: str, planned: PoolPlan) -> dict[str, str]:
    """``tenantry.dev/pool`` and the planner's ``nvidia.com/mig.config``. A node group has
    one label set for all its nodes: when the planned nodes differ, the group carries the
    first node's config, and ``tenantry fleet up --reconfigure-mig`` labels every node
    with its own (cordon, drain, relabel, wait for mig-manager, uncordon)."""
    first = planned.node_configs[0] if planned.node_configs else MIG_DEFAULT_CONFIG
    return {POOL_LABEL: pool, MIG_CONFIG_LABEL: first}


def pool_taints() -> list[dict[str, str]]:
    return [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]


@dataclass(frozen=True, kw_only=True)
class SharedGpuPoolArgs:
    """``pool``: one ``sharedPools`` entry. ``planned``: the planner's plan of that pool
    (node count, layouts). ``group_name``: the node group's name. From the platform:
    ``cluster_name``, ``node_role_arn``, ``subnet_ids``. ``tags``: the platform's tags.
    ``root_volume_gib``: default 200."""

    pool: SharedPool
    planned: PoolPlan
    group_name: str
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    tags: Mapping[str, str]
    root_volume_gib: int = DEFAULT_ROOT_VOLUME_GIB


class SharedGpuPool(pulumi.ComponentResource):
    """One shared pool from ``sharedPools``, sized by the planner.

    Creates ``<name>-launch-template`` (:func:`tenantry.aws.node_group.gpu_launch_template`:
    IMDSv2 required with hop limit 1, encrypted gp3 root volume, tags at launch) and
    ``<name>-node-group`` (``aws.eks.NodeGroup`` ``group_name``: ``AL2023_x86_64_NVIDIA``,
    the pool's instance type and capacity type, scaling min/max from the settings and
    desired = the planner's node count (the platform stack owns it: run no cluster
    autoscaler on shared pools), one node unavailable at a time; labels
    ``tenantry.dev/pool=<pool>`` and ``nvidia.com/mig.config`` (:func:`pool_labels`); taint
    ``nvidia.com/gpu=true:NoSchedule``).
    """

    TYPE = "tenantry:platform:SharedGpuPool"

    def __init__(
        self, name: str, args: SharedGpuPoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        pool, planned, tags, group_name = args.pool, args.planned, args.tags, args.group_name
        if planned.name != pool.name or planned.instance_type != pool.instance_type:
            raise PoolPlanError(
                f"shared pool {pool.name!r} ({pool.instance_type}) was given the plan of "
                f"{planned.name!r} ({planned.instance_type})"
            )
        low, desired, high = pool_size(pool, planned)
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.launch_template = gpu_launch_template(
            f"{name}-launch-template",
            template_name=group_name,
            description=f"tenantry: shared GPU pool {pool.name}",
            root_volume_gib=args.root_volume_gib,
            ebs_kms_key_arn=None,
            tags=tags,
            opts=child,
        )
        self.desired_size = desired
        self.labels = pool_labels(pool.name, planned)
        self.node_group = aws.eks.NodeGroup(
            f"{name}-node-group",
            cluster_name=args.cluster_name,
            node_group_name=group_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            ami_type=AMI_TYPE,
            instance_types=[pool.instance_type],
            capacity_type=CAPACITY_TYPES[pool.capacity_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=low, max_size=high, desired_size=desired
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            labels=self.labels,
            taints=[aws.eks.NodeGroupTaintArgs(**t) for t in pool_taints()],
            tags=dict(tags),
            opts=child,
        )
        self.node_group_name: pulumi.Output[str] = self.node_group.node_group_name
        self.register_outputs({"nodeGroupName": self.node_group_name, "desiredSize": desired})
