"""The Kubernetes provider of the platform's cluster, built from the cluster's name, endpoint
and CA, with a token from ``aws eks get-token`` at each use (no credential in the state).

The platform stack builds one for its own resources; every tenant stack builds one from the
platform stack's outputs (``clusterName``, ``clusterEndpoint``, ``clusterCaData``) and passes
it to every Kubernetes resource, so a tenant deploys to the platform's cluster whatever the
local kubeconfig points at (the guardrail ``explicit-k8s-provider`` refuses a Kubernetes
resource without it).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig (JSON) for one EKS cluster whose token comes from ``aws eks get-token``
    at each use (client.authentication.k8s.io/v1beta1 exec plugin; AWS CLI docs,
    ``aws eks get-token``): no credential is stored in the state."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def cluster_provider(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    ca_data: pulumi.Input[str],
    region: str,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.Provider:
    """``name`` (``kubernetes.Provider``) for the cluster, server-side apply on (the
    kubeconfig holds no credential: :func:`kubeconfig`)."""
    config: pulumi.Output[str] = pulumi.Output.all(cluster_name, endpoint, ca_data).apply(
        lambda a: kubeconfig(str(a[0]), str(a[1]), str(a[2]), region)
    )
    return k8s.Provider(
        name,
        kubeconfig=config,
        enable_server_side_apply=True,
        opts=opts,
    )
