"""``SharedGpuPool``: one shared GPU node group, sized by the planner
(``tenantry:platform:SharedGpuPool``), and ``TenantGpuNodes``: an isolated tenant's own
nodes carved from it by the planner (``tenantry:platform:TenantGpuNodes``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..aws.node_group import (
    DEFAULT_ROOT_VOLUME_GIB,
    GPU_TAINT_KEY,
    MIG_CONFIG_LABEL,
    gpu_launch_template,
    gpu_node_group,
)
from ..k8s.labels import POOL_LABEL, TENANT_LABEL
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
    """``tenantry.dev/pool`` and the planner's ``nvidia.com/mig.config``; a tenant's nodes
    (``planned.kind == "tenant-nodes"``) add ``tenantry.dev/tenant=<tenant>``. A node group
    has one label set for all its nodes: when the planned nodes differ, the group carries
    the first node's config, and ``tenantry fleet up --reconfigure-mig`` labels every node
    with its own (cordon, drain, relabel, wait for mig-manager, uncordon)."""
    first = planned.node_configs[0] if planned.node_configs else MIG_DEFAULT_CONFIG
    out = {POOL_LABEL: pool, MIG_CONFIG_LABEL: first}
    if planned.kind == "tenant-nodes" and planned.tenant:
        out[TENANT_LABEL] = planned.tenant
    return out


def pool_taints(tenant: str | None = None) -> list[dict[str, str]]:
    """``nvidia.com/gpu=true:NoSchedule``; a tenant's own nodes add
    ``tenantry.dev/tenant=<tenant>:NoSchedule``, which only that tenant's pods tolerate
    (the ``tenant-nodes-pinned`` guardrail holds every render to it)."""
    own = [{"key": TENANT_LABEL, "value": tenant, "effect": "NO_SCHEDULE"}] if tenant else []
    return [*own, {"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]


def carved_tags(
    platform: Mapping[str, str], tenant: str, own: Mapping[str, str] | None
) -> dict[str, str]:
    """The tags of a tenant's nodes carved from a shared pool: the tenant's own
    cost-allocation tags (``tenant``, ``cost-center``, ``tier``, ...,
    :func:`tenantry.tags.tenant_tags`), so AWS cost allocation bills the nodes, their
    volumes and network interfaces (the launch template's tag specifications) to the tenant
    that holds them alone; tags set on a resource take precedence over the provider's
    default tags, the platform's (Terraform AWS provider, "Default Tags in the Terraform AWS
    Provider", hashicorp.com/blog; Pulumi's AWS provider is bridged from it). Without them
    (``own`` None): the platform's tags with ``tenant=<tenant>``."""
    if own is not None:
        return dict(own)
    return {**platform, "tenant": tenant}


def tenant_nodes_size(planned: PoolPlan) -> tuple[int, int, int]:
    """(min, desired, max) of a tenant's own nodes: exactly the planner's node count (its
    guaranteed demand, its own overflow headroom and the spread of its replicas; the
    shared pool's ``maxNodes`` bounds them with the pool, :func:`tenantry.planner.plan`).
    EKS wants ``maxSize`` >= 1."""
    if planned.errors:
        raise PoolPlanError(f"{planned.name}: {'; '.join(planned.errors)}")
    return planned.nodes, planned.nodes, max(planned.nodes, 1)


def _gpu_node_group(
    name: str,
    parent: pulumi.ComponentResource,
    *,
    group_name: str,
    description: str,
    pool: SharedPool,
    size: tuple[int, int, int],
    labels: Mapping[str, str],
    taints: Sequence[Mapping[str, str]],
    args: SharedGpuPoolArgs,
) -> tuple[aws.ec2.LaunchTemplate, aws.eks.NodeGroup]:
    child = pulumi.ResourceOptions(parent=parent)
    template = gpu_launch_template(
        f"{name}-launch-template",
        template_name=group_name,
        description=description,
        root_volume_gib=args.root_volume_gib,
        ebs_kms_key_arn=None,
        tags=args.tags,
        opts=child,
    )
    group = gpu_node_group(
        f"{name}-node-group",
        cluster_name=args.cluster_name,
        group_name=group_name,
        node_role_arn=args.node_role_arn,
        subnet_ids=args.subnet_ids,
        instance_type=pool.instance_type,
        capacity_type=pool.capacity_type,
        size=size,
        launch_template=template,
        labels=labels,
        taints=taints,
        tags=args.tags,
        opts=child,
    )
    return template, group


@dataclass(frozen=True, kw_only=True)
class SharedGpuPoolArgs:
    """``pool``: one ``sharedPools`` entry. ``planned``: the planner's plan of that pool
    (node count, layouts), or of a tenant's nodes carved from it (:class:`TenantGpuNodes`).
    ``group_name``: the node group's name. From the platform:
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
        pool, planned, group_name = args.pool, args.planned, args.group_name
        if planned.name != pool.name or planned.instance_type != pool.instance_type:
            raise PoolPlanError(
                f"shared pool {pool.name!r} ({pool.instance_type}) was given the plan of "
                f"{planned.name!r} ({planned.instance_type})"
            )
        size = pool_size(pool, planned)
        super().__init__(self.TYPE, name, None, opts)
        self.desired_size = size[1]
        self.labels = pool_labels(pool.name, planned)
        self.launch_template, self.node_group = _gpu_node_group(
            name,
            self,
            group_name=group_name,
            description=f"tenantry: shared GPU pool {pool.name}",
            pool=pool,
            size=size,
            labels=self.labels,
            taints=pool_taints(),
            args=args,
        )
        self.node_group_name: pulumi.Output[str] = self.node_group.node_group_name
        self.register_outputs({"nodeGroupName": self.node_group_name, "desiredSize": size[1]})


@dataclass(frozen=True, kw_only=True)
class TenantGpuNodesArgs(SharedGpuPoolArgs):
    """As :class:`SharedGpuPoolArgs`, with ``planned`` the planner's ``tenant-nodes`` plan
    carved from ``pool`` (``<pool>@<tenant>``) and ``group_name`` the tenant nodes' node
    group name (:func:`tenantry.aws.names.tenant_nodes_group_name`)."""


class TenantGpuNodes(pulumi.ComponentResource):
    """An isolated tenant's own nodes of a shared pool: the planner packs the tenant's
    demand on that pool (its ``tenant-nodes`` plan, ``<pool>@<tenant>``) onto whole nodes,
    and this declares them as a node group of their own, so the scheduler keeps every other
    tenant off them (a MIG device plugin hands out any free device of a node it schedules
    to, so whole GPUs alone are no isolation between pods of different tenants).

    Creates ``<name>-launch-template`` and ``<name>-node-group`` (``aws.eks.NodeGroup``
    ``group_name``) as :class:`SharedGpuPool` does from the pool's settings (instance type,
    capacity type), with min = desired = the planner's node count (max at least 1); labels
    ``tenantry.dev/pool=<pool>``, ``tenantry.dev/tenant=<tenant>`` and
    ``nvidia.com/mig.config`` (:func:`pool_labels`); taints
    ``tenantry.dev/tenant=<tenant>:NoSchedule`` and ``nvidia.com/gpu=true:NoSchedule``
    (:func:`pool_taints`). ``args.tags``: the tenant's cost-allocation tags
    (:func:`carved_tags`; the platform passes them), on the node group, the launch template
    and what it launches."""

    TYPE = "tenantry:platform:TenantGpuNodes"

    def __init__(
        self, name: str, args: TenantGpuNodesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        pool, planned = args.pool, args.planned
        if planned.kind != "tenant-nodes" or not planned.tenant or planned.shared_pool != pool.name:
            raise PoolPlanError(
                f"tenant nodes of shared pool {pool.name!r} were given the plan of "
                f"{planned.kind} {planned.name!r}"
            )
        size = tenant_nodes_size(planned)
        super().__init__(self.TYPE, name, None, opts)
        self.tenant: str = planned.tenant
        self.shared_pool = pool.name
        self.desired_size = size[1]
        self.labels = pool_labels(pool.name, planned)
        self.launch_template, self.node_group = _gpu_node_group(
            name,
            self,
            group_name=args.group_name,
            description=f"tenantry: GPU nodes of tenant {planned.tenant} in pool {pool.name}",
            pool=pool,
            size=size,
            labels=self.labels,
            taints=pool_taints(planned.tenant),
            args=args,
        )
        self.node_group_name: pulumi.Output[str] = self.node_group.node_group_name
        self.register_outputs({"nodeGroupName": self.node_group_name, "desiredSize": size[1]})
