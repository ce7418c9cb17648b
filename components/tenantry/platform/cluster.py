"""``PlatformCluster``: the EKS cluster, adopted by name or created
(``tenantry:platform:Cluster``), and the Kubernetes provider for it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..k8s.provider import kubeconfig
from ..spec.platform import Cluster
from .names import cluster_role_name, system_node_group_name

SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def cluster_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True, kw_only=True)
class PlatformClusterArgs:
    """``settings``: the platform settings' ``cluster`` (adopt or create, version, subnets,
    public access, system nodes). ``region``: the platform's region (kubeconfig).
    ``node_role_arn``: the node role (a created cluster's system node group). ``tags``: the
    platform's tags. ``partition``: default ``aws``."""

    settings: Cluster
    region: str
    node_role_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    partition: str = "aws"


class PlatformCluster(pulumi.ComponentResource):
    """The cluster the platform and every tenant stand on; one explicit choice,
    ``cluster.create``:

    - ``false`` (default, adopt): ``aws.eks.get_cluster`` by name; nothing is created.
      Node subnets: ``cluster.subnetIds`` when given, else the cluster's own subnets.
    - ``true`` (create): ``<name>-cluster-role`` (``aws.iam.Role`` trusted by EKS, with
      ``AmazonEKSClusterPolicy``), ``<name>-cluster`` (``aws.eks.Cluster``: the given
      version and private subnets, private endpoint on, public endpoint only for
      ``publicAccessCidrs``, authentication mode API, control-plane logs on),
      ``<name>-system`` (``aws.eks.NodeGroup`` of ``systemInstanceType``, AL2023, for the
      controllers) and ``<name>-pod-identity-agent`` (``aws.eks.Addon``; tenant roles use
      EKS Pod Identity).

    Both ways: ``<name>-k8s`` (``kubernetes.Provider``) from the cluster's endpoint and CA
    with a token from ``aws eks get-token`` at each use, server-side apply on.
    """

    TYPE = "tenantry:platform:Cluster"

    def __init__(
        self, name: str, args: PlatformClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        settings, region, tags = args.settings, args.region, args.tags
        node_role_arn, partition = args.node_role_arn, args.partition
        child = pulumi.ResourceOptions(parent=self)
        self.created: aws.eks.Cluster | None = None
        endpoint: pulumi.Output[str]
        ca_data: pulumi.Output[str]
        subnet_ids: pulumi.Output[list[str]]
        if settings.create:
            role = aws.iam.Role(
                f"{name}-cluster-role",
                name=cluster_role_name(settings),
                assume_role_policy=cluster_trust_policy(),
                tags=dict(tags),
                opts=child,
            )
            attach = aws.iam.RolePolicyAttachment(
                f"{name}-cluster-policy",
                role=role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/AmazonEKSClusterPolicy",
                opts=child,
            )
            cluster = aws.eks.Cluster(
                f"{name}-cluster",
                name=settings.name,
                version=settings.version,
                role_arn=role.arn,
                vpc_config=aws.eks.ClusterVpcConfigArgs(
                    subnet_ids=list(settings.subnet_ids),
                    endpoint_private_access=True,
                    endpoint_public_access=bool(settings.public_access_cidrs),
                    public_access_cidrs=list(settings.public_access_cidrs) or None,
                ),
                access_config=aws.eks.ClusterAccessConfigArgs(
                    authentication_mode="API",
                    bootstrap_cluster_creator_admin_permissions=True,
                ),
                enabled_cluster_log_types=LOG_TYPES,
                tags=dict(tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[attach]),
            )
            self.created = cluster
            self.cluster_name: pulumi.Output[str] = cluster.name
            endpoint = cluster.endpoint
            ca_data = cluster.certificate_authority.apply(lambda c: _get(c, "data") or "")
            subnet_ids = pulumi.Output.from_input(list(settings.subnet_ids))
            self.security_group_id: pulumi.Output[str] = cluster.vpc_config.apply(
                lambda v: _get(v, "cluster_security_group_id")
            )
            self.vpc_id: pulumi.Output[str] = cluster.vpc_config.apply(lambda v: _get(v, "vpc_id"))
            aws.eks.NodeGroup(
                f"{name}-system",
                cluster_name=cluster.name,
                node_group_name=system_node_group_name(settings),
                node_role_arn=node_role_arn,
                subnet_ids=list(settings.subnet_ids),
                ami_type=SYSTEM_AMI_TYPE,
                instance_types=[settings.system_instance_type],
                capacity_type="ON_DEMAND",
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=settings.system_min_nodes,
                    max_size=settings.system_max_nodes,
                    desired_size=settings.system_min_nodes,
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                tags=dict(tags),
                opts=pulumi.ResourceOptions(
                    parent=self, ignore_changes=["scalingConfig.desiredSize"]
                ),
            )
            aws.eks.Addon(
                f"{name}-pod-identity-agent",
                cluster_name=cluster.name,
                addon_name="eks-pod-identity-agent",
                resolve_conflicts_on_create="OVERWRITE",
                tags=dict(tags),
                opts=child,
            )
        else:
            found = aws.eks.get_cluster_output(
                name=settings.name, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            self.cluster_name = found.name
            endpoint = found.endpoint
            ca_data = found.certificate_authorities.apply(lambda cs: _get(cs[0], "data"))
            self.security_group_id = found.vpc_config.apply(
                lambda v: _get(v, "cluster_security_group_id")
            )
            self.vpc_id = found.vpc_config.apply(lambda v: _get(v, "vpc_id"))
            subnet_ids = (
                pulumi.Output.from_input(list(settings.subnet_ids))
                if settings.subnet_ids
                else found.vpc_config.apply(lambda v: sorted(_get(v, "subnet_ids") or []))
            )
        self.subnet_ids: pulumi.Output[list[str]] = subnet_ids
        self.endpoint = endpoint
        self.ca_data: pulumi.Output[str] = ca_data
        config = pulumi.Output.all(self.cluster_name, endpoint, ca_data).apply(
            lambda a: kubeconfig(str(a[0]), str(a[1]), str(a[2]), region)
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=config,
            enable_server_side_apply=True,
            opts=child,
        )
        self.register_outputs(
            {"clusterName": self.cluster_name, "endpoint": endpoint, "subnetIds": subnet_ids}
        )


def _get(obj: Any, key: str) -> Any:
    """A field of an SDK result object or of the plain dict an Output carries."""
    if isinstance(obj, Mapping):
        camel = key.split("_")[0] + "".join(p.title() for p in key.split("_")[1:])
        return obj.get(key, obj.get(camel))
    return getattr(obj, key, None)
