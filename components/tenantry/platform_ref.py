"""What a tenant stack reads from the platform stack (``StackReference``), in one place.

The platform stack exports these outputs (issue 9); a tenant stack fails with a message that
names every missing one instead of a ``KeyError`` deep in a provider.

No ``from __future__ import annotations``: :class:`PlatformInputs` is part of
:class:`tenantry.tenant.TenantArgs`, whose annotations Pulumi's schema inference reads as
objects.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from .data.store import AdminArgs

# output name -> what it is
PLATFORM_OUTPUTS: dict[str, str] = {
    "clusterName": "the EKS cluster's name (the tenant's Kubernetes provider, aws eks get-token)",
    "clusterEndpoint": "the EKS cluster's API server endpoint (the tenant's Kubernetes provider)",
    "clusterCaData": "the EKS cluster's CA certificate, base64 (the tenant's Kubernetes provider)",
    "nodeRoleArn": "IAM role ARN for EKS worker nodes (dedicated node groups)",
    "subnetIds": "private subnet ids for node groups",
    "platformKeyArn": "the platform's KMS key (tenants with storage.encryption: platform-key)",
    "vectorDb": "admin connection to the shared vector database (host, port, dbname, user, "
    "password, sslmode), secret",
    "tritonAdminSecret": "the platform secret each tenant's Triton admin key is derived from "
    "(the platform stack's tenantry:tritonAdminSecret), secret",
}


def placeholder_outputs(marker: str) -> dict[str, Any]:
    """Outputs of the right shape whose every value is ``marker``: what the recording engine
    answers for the platform StackReference when no platform stack exists (offline plans)."""
    db = {k: marker for k in ("host", "port", "dbname", "user", "password", "sslmode")}
    return {
        "clusterName": marker,
        "clusterEndpoint": marker,
        "clusterCaData": marker,
        "nodeRoleArn": marker,
        "subnetIds": [marker],
        "platformKeyArn": marker,
        "vectorDb": db,
        "tritonAdminSecret": marker,
    }


class PlatformOutputsMissing(pulumi.RunError):
    pass


def _require(stack: str, outputs: Mapping[str, Any]) -> Mapping[str, Any]:
    missing = [k for k in PLATFORM_OUTPUTS if outputs.get(k) in (None, "", [])]
    if missing:
        raise PlatformOutputsMissing(
            f"the platform stack {stack!r} has no output(s) {', '.join(missing)} "
            f"({'; '.join(f'{k}: {PLATFORM_OUTPUTS[k]}' for k in missing)}); deploy it first "
            "with `tenantry fleet up --tenant platform` (or `pulumi up -s platform`)"
        )
    return outputs


@dataclass(frozen=True, kw_only=True)
class PlatformInputs:
    """The platform stack's outputs as inputs for one tenant's components
    (:data:`PLATFORM_OUTPUTS`; :func:`from_stack` reads them through a StackReference)."""

    node_role_arn: pulumi.Input[str]
    """IAM role ARN of EKS worker nodes (the tenant's dedicated node groups)."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnet ids for node groups."""
    platform_key_arn: pulumi.Input[str]
    """The platform's KMS key (tenants with ``storage.encryption: platform-key``)."""
    vector_db: AdminArgs
    """Admin connection to the shared vector database."""
    triton_admin_secret: pulumi.Input[str]
    """The platform secret the tenant's Triton admin key is derived from
    (:func:`tenantry.triton.admin_key`; a secret)."""
    cluster_name: pulumi.Input[str]
    """The EKS cluster's name (the tenant's Kubernetes provider)."""
    cluster_endpoint: pulumi.Input[str]
    """The EKS cluster's API server endpoint."""
    cluster_ca_data: pulumi.Input[str]
    """The EKS cluster's CA certificate (base64 PEM, as EKS returns it)."""


def from_stack(stack: str, opts: pulumi.ResourceOptions | None = None) -> PlatformInputs:
    ref = pulumi.StackReference(stack, opts=opts)
    checked = pulumi.Output.all(ref.outputs, stack).apply(lambda a: _require(a[1], a[0]))

    def out(key: str) -> pulumi.Output[Any]:
        return checked.apply(lambda o: o[key])

    db = out("vectorDb")
    return PlatformInputs(
        cluster_name=out("clusterName"),
        cluster_endpoint=out("clusterEndpoint"),
        cluster_ca_data=out("clusterCaData"),
        node_role_arn=out("nodeRoleArn"),
        subnet_ids=out("subnetIds"),
        platform_key_arn=out("platformKeyArn"),
        vector_db=AdminArgs(
            host=db.apply(lambda d: str(d["host"])),
            port=db.apply(lambda d: d["port"]),  # the provider normalises numbers
            dbname=db.apply(lambda d: str(d["dbname"])),
            user=db.apply(lambda d: str(d["user"])),
            password=pulumi.Output.secret(db.apply(lambda d: str(d["password"]))),
            sslmode=db.apply(lambda d: str(d.get("sslmode", "require"))),
        ),
        triton_admin_secret=pulumi.Output.secret(out("tritonAdminSecret").apply(str)),
    )
