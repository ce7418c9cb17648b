"""The Pulumi program of every stack of the project (composition only).

Tenant stacks (``Pulumi.<tenant>.yaml``): read ``tenantry:tenant`` and ``tenantry:tenantFile``,
load the platform settings from this directory, resolve the tenant (a bad tenant file stops
here with every problem listed, before any resource is declared) and build its ``Tenant``.
The ``platform`` stack's program is issue 9.

Optional config: ``tenantry:stacksDir`` (where ``Pulumi.platform.yaml`` is; default: this
directory), ``tenantry:modelBucket`` (the model repository bucket; default
``tenantry-<environment>-<tenant>-models`` until the AWS components provide it),
``tenantry:identity`` (``pod-identity`` or ``irsa``), ``tenantry:roleArn`` (IRSA only).
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.spec import PLATFORM_STACK, load_platform, load_tenant
from components.tenant import Tenant

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> None:
    if pulumi.get_stack() == PLATFORM_STACK:
        raise pulumi.RunError(
            "the 'platform' stack's program (shared pools, PriorityClasses, gateway) is issue 9 "
            "and not implemented yet; select a tenant stack"
        )
    cfg = pulumi.Config("tenantry")
    name = cfg.require("tenant")
    tenant_file = ROOT / cfg.require("tenantFile")  # an absolute path stays absolute
    stacks_dir = ROOT / (cfg.get("stacksDir") or HERE.name)
    platform = load_platform(stacks_dir)
    tenant = load_tenant(tenant_file, platform)
    if tenant.name != name:
        raise pulumi.RunError(
            f"tenantry:tenant is {name!r} but {tenant_file} declares {tenant.name!r}"
        )
    identity = cfg.get("identity") or "pod-identity"
    if identity not in ("pod-identity", "irsa"):
        raise pulumi.RunError(
            f"tenantry:identity: {identity!r} is not accepted; accepted: pod-identity, irsa"
        )
    bucket = cfg.get("modelBucket") or f"tenantry-{tenant.environment}-{tenant.name}-models"
    t = Tenant(
        tenant.name,
        tenant,
        platform,
        bucket_name=bucket,
        role_arn=cfg.get("roleArn"),
        identity=identity,
    )  # type: ignore[arg-type]
    pulumi.export("namespace", t.namespace.namespace_name)
    pulumi.export("models", sorted(t.inference_services))


main()
