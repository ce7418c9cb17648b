"""``NodeRole``: the IAM role of every EKS worker node (``tenantry:platform:NodeRole``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


def node_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True, kw_only=True)
class NodeRoleArgs:
    """``role_name``: the IAM role's name. ``tags``: the platform's tags. ``partition``:
    default ``aws``."""

    role_name: str
    tags: Mapping[str, str]
    partition: str = "aws"


class NodeRole(pulumi.ComponentResource):
    """Creates ``<name>-role`` (``aws.iam.Role`` ``role_name``, trusted by EC2 only) and one
    ``<name>-<policy>`` attachment for each of the AWS managed node policies
    (``AmazonEKSWorkerNodePolicy``, ``AmazonEKS_CNI_Policy``,
    ``AmazonEC2ContainerRegistryReadOnly``). Nothing else: workloads get AWS access through
    their own Pod Identity roles, never through the node. EKS managed node groups register
    the role with the cluster themselves (access entry or aws-auth)."""

    TYPE = "tenantry:platform:NodeRole"

    def __init__(
        self, name: str, args: NodeRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        role_name, tags, partition = args.role_name, args.tags, args.partition
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description="tenantry: EKS worker nodes (shared and dedicated GPU node groups)",
            assume_role_policy=node_trust_policy(),
            max_session_duration=3600,
            tags=dict(tags),
            opts=child,
        )
        self.attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}",
                role=self.role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{policy}",
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        self.arn: pulumi.Output[str] = self.role.arn
        self.register_outputs({"arn": self.arn})
