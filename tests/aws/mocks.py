"""Record the AWS program under Pulumi mocks: every registered resource with its inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from tenantry.spec import PlatformSettings, ResolvedTenant, load_platform, load_registry
from tenantry.testing import TenantryMocks

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"  # the platform account of stacks/Pulumi.platform.yaml's admins
REGION = "us-east-1"
NODE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/platform-eks-node"
SUBNETS = ["subnet-0aaa", "subnet-0bbb"]
PLATFORM_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/platform-shared"


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    provider: str | None
    custom: bool


@dataclass
class Recording:
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str) -> Recorded:
        found = self.of_type(typ)
        assert len(found) == 1, f"{typ}: {len(found)} resources"
        return found[0]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"{name}: {len(found)} resources"
        return found[0]


class RecordingMocks(TenantryMocks):
    """tenantry.testing's mocks (the inputs as state plus what AWS would compute: ARNs,
    ids), noting every registration."""

    def __init__(self) -> None:
        super().__init__(account_id=ACCOUNT, region=REGION)
        self.recording = Recording()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.recording.resources.append(
            Recorded(args.typ, args.name, dict(args.inputs), args.provider, args.custom)
        )
        return super().new_resource(args)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        raise AssertionError(f"unexpected invoke {args.token}")


def platform() -> PlatformSettings:
    return load_platform(ROOT / "stacks")


def example_tenants() -> dict[str, ResolvedTenant]:
    reg = load_registry([ROOT / "tenants"], platform())
    assert reg.ok, reg.problems
    return reg.tenants


def default_args(**overrides: Any) -> dict[str, Any]:
    """``TenantAwsArgs`` fields but the tenant: the example platform's, then ``overrides``."""
    settings = platform()
    base: dict[str, Any] = dict(
        account_id=ACCOUNT,
        cluster_name=settings.cluster.name,
        admins=tuple(settings.admins),
        node_role_arn=NODE_ROLE_ARN,
        subnet_ids=SUBNETS,
        platform_key_arn=PLATFORM_KEY_ARN,
    )
    return base | overrides


def record(
    tenant: ResolvedTenant, args: dict[str, Any] | None = None, name: str | None = None
) -> Recording:
    """Run ``TenantAws`` for ``tenant`` under mocks; return every registration and the
    component's resolved outputs."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="tenantry", stack=tenant.name, preview=False)
    from tenantry import TenantAws, TenantAwsArgs

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        fields = default_args() if args is None else args
        c = TenantAws(name or tenant.name, TenantAwsArgs(tenant=tenant, **fields))
        outs = {
            "bucket_name": c.bucket_name,
            "inference_role_arn": c.inference_role_arn,
            "key_arn": c.key_arn,
            "admin_role_arn": c.identity.admin_role_arn,
        }

        def keep(values: dict[str, Any]) -> None:
            mocks.recording.outputs.update(values)

        return pulumi.Output.all(**outs).apply(keep)

    program()
    return mocks.recording
