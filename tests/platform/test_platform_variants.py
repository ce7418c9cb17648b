"""The other explicit choices (create a cluster, connect to an existing database), the
outputs tenant stacks read, and the errors a bad plan or config gets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi_kubernetes.core.v1 import ConfigMap

from tenantry import Platform, PlatformArgs, PoolPlanError
from tenantry.engine import SECRET, UNKNOWN, Record, record, record_platform
from tenantry.platform.gpu_pool import pool_size
from tenantry.platform_ref import PLATFORM_OUTPUTS, PlatformOutputsMissing, _require
from tenantry.spec import PlatformSettings, Registry, SpecError
from tests.components.helpers import ROOT, platform

from .helpers import (
    GATEWAY_IMAGE,
    REDIS_DIGEST,
    REDIS_PASSWORD,
    SALT_KEY,
    VLLM_DIGEST,
    by_name,
    example_plan,
)

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]


def settings_with(**changes: Any) -> PlatformSettings:
    data = platform().model_dump(by_alias=True)
    data["llmGatewayImage"] = GATEWAY_IMAGE
    data["vllmImageDigest"] = VLLM_DIGEST
    data["llmRedisImageDigest"] = REDIS_DIGEST
    data.update(changes)
    return PlatformSettings.model_validate(data)


def build(settings: PlatformSettings) -> tuple[list[Record], dict[str, Any]]:
    """Records of a Platform, plus a ConfigMap per output carrying its value (so the
    recorder shows which outputs are secret and what they hold)."""
    seen: dict[str, Any] = {}

    def program() -> None:
        p = Platform(
            "platform",
            PlatformArgs.from_spec(
                settings,
                example_plan(),
                vector_db_password="pw-123",
                triton_admin_secret="triton-secret",
                llm_salt_key=SALT_KEY,
                llm_redis_password=REDIS_PASSWORD,
                unpinned_preview=settings.triton_image_digest is None,  # the example has none
            ),
        )
        seen.update(p.outputs)
        for key, value in p.outputs.items():
            ConfigMap(
                f"out-{key}",
                metadata={"name": key.lower()},
                data={"value": pulumi.Output.from_input(value).apply(json.dumps)},
            )

    recs = record(program, stack="platform")
    outs = {
        r.name.removeprefix("out-"): r.inputs["data"] for r in recs if r.name.startswith("out-")
    }
    return [r for r in recs if not r.name.startswith("out-")], outs


def test_outputs_hold_what_tenant_stacks_read_and_the_db_is_secret() -> None:
    _, outs = build(platform())
    assert set(PLATFORM_OUTPUTS) | {"clusterName"} <= set(outs)
    assert outs["vectorDb"] == SECRET or outs["vectorDb"]["value"] == SECRET
    for key in ("nodeRoleArn", "subnetIds", "platformKeyArn", "clusterName"):
        assert outs[key] != SECRET, key
    assert json.loads(outs["migConfigs"]["value"])[0] == "all-disabled"


def test_create_cluster() -> None:
    s = settings_with(
        cluster={"name": "ml-serving", "create": True, "subnetIds": SUBNETS, "version": "1.33"}
    )
    recs, outs = build(s)
    names = by_name(recs)
    cluster = names["platform-cluster-cluster"].inputs
    assert cluster["name"] == "ml-serving" and cluster["version"] == "1.33"
    assert cluster["vpcConfig"]["subnetIds"] == SUBNETS
    assert cluster["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster["vpcConfig"]["endpointPublicAccess"] is False  # no CIDRs given
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert names["platform-cluster-system"].inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert names["platform-cluster-pod-identity-agent"].inputs["addonName"] == (
        "eks-pod-identity-agent"
    )
    role = json.loads(names["platform-cluster-cluster-role"].inputs["assumeRolePolicy"])
    assert role["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}
    for pool in ("h100", "a100"):
        assert names[f"platform-pool-{pool}-node-group"].inputs["subnetIds"] == SUBNETS
    assert json.loads(outs["subnetIds"]["value"]) == SUBNETS


def test_adopting_with_named_subnets_uses_them() -> None:
    s = settings_with(cluster={"name": "ml-serving", "create": False, "subnetIds": SUBNETS})
    recs, _ = build(s)
    names = by_name(recs)
    assert not any(r.type == "aws:eks/cluster:Cluster" for r in recs)
    assert names["platform-pool-h100-node-group"].inputs["subnetIds"] == SUBNETS


def test_existing_vector_db_creates_nothing_and_connects() -> None:
    s = settings_with(vectorDb={"kind": "existing", "host": "pg.internal", "port": 6432})
    recs, outs = build(s)
    assert not any(r.type.startswith("aws:rds/") for r in recs)
    assert not any(r.name.startswith("platform-vector-db-") for r in recs)
    assert outs["vectorDb"] == SECRET or outs["vectorDb"]["value"] == SECRET


def test_existing_vector_db_connection_values() -> None:
    s = settings_with(vectorDb={"kind": "existing", "host": "pg.internal", "port": 6432})
    got: dict[str, Any] = {}

    def program() -> None:
        p = Platform(
            "platform",
            PlatformArgs.from_spec(
                s,
                example_plan(),
                vector_db_password="pw-123",
                triton_admin_secret="triton-secret",
                llm_salt_key=SALT_KEY,
                llm_redis_password=REDIS_PASSWORD,
                unpinned_preview=True,
            ),
        )
        p.vector_db.apply(got.update)

    record(program, stack="platform")
    assert got == {
        "host": "pg.internal",
        "port": 6432,
        "dbname": "vectors",
        "user": "tenantry_admin",
        "password": "pw-123",
        "sslmode": "require",
    }


def test_create_without_subnets_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"cluster\.subnetIds"):
        settings_with(cluster={"name": "ml-serving", "create": True})


def test_rds_needs_postgres_15_or_later() -> None:
    with pytest.raises(ValueError, match=r"engineVersion|engine_version"):
        settings_with(vectorDb={"kind": "rds", "engineVersion": "14.9"})
    assert settings_with(vectorDb={"kind": "rds", "engineVersion": "16.4"})


def test_pool_size_refuses_more_nodes_than_max() -> None:
    sp = platform().pool("h100")
    planned = example_plan().pool("h100")
    assert sp is not None and planned is not None
    assert pool_size(sp, planned) == (1, planned.nodes, 8)
    small = sp.model_copy(update={"max_nodes": planned.nodes - 1})
    with pytest.raises(PoolPlanError, match=r"raise sharedPools\[h100\]\.maxNodes"):
        pool_size(small, planned)


def test_program_reports_an_unplannable_pool_before_declaring_anything(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    path = stacks / "Pulumi.platform.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["tenantry:platform"]["sharedPools"][0]["maxNodes"] = 1
    path.write_text(yaml.safe_dump(doc))
    # the one verdict refuses first, naming the setting and its line
    with pytest.raises(SpecError) as info:
        record_platform(ROOT / "tenants", stacks)
    (p,) = info.value.problems
    assert (p.code, p.path) == (
        "shared_pool_too_small",
        "tenantry:platform.sharedPools[0].maxNodes",
    )
    assert p.line is not None
    # and the program itself, run without that check (as `pulumi up` would), refuses too
    with pytest.raises(pulumi.RunError, match="maxNodes"):
        record_platform(ROOT / "tenants", stacks, verdict=Registry())


def test_program_reports_bad_tenant_files(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", tenants)
    (tenants / "broken.yaml").write_text("apiVersion: tenantry.dev/v1\nkind: Tenant\n")
    with pytest.raises(SpecError, match=r"broken\.yaml:1: error: apiVersion"):
        record_platform(tenants, ROOT / "stacks")
    with pytest.raises(pulumi.RunError, match="problem"):
        record_platform(tenants, ROOT / "stacks", verdict=Registry())


def test_secure_password_in_the_stack_config_renders_masked(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    path = stacks / "Pulumi.platform.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["tenantry:vectorDbPassword"] = {"secure": "v1:abc"}
    path.write_text(yaml.safe_dump(doc))
    db = by_name(record_platform(ROOT / "tenants", stacks))["platform-vector-db-instance"]
    assert db.inputs["password"] == SECRET


def test_missing_platform_outputs_are_named() -> None:
    stack = "organization/tenantry/platform"
    with pytest.raises(PlatformOutputsMissing) as exc:
        _require(stack, {})
    msg = str(exc.value)
    for key, what in PLATFORM_OUTPUTS.items():
        assert key in msg and what in msg
    assert stack in msg and "tenantry fleet up --tenant platform" in msg
    with pytest.raises(PlatformOutputsMissing) as partial:
        _require(stack, {"nodeRoleArn": "arn", "subnetIds": [], "platformKeyArn": ""})
    text = str(partial.value)
    assert "subnetIds" in text and "platformKeyArn" in text and "vectorDb" in text
    assert "nodeRoleArn," not in text and "output(s) nodeRoleArn" not in text
    full = {
        "clusterName": "c",
        "clusterEndpoint": "https://e",
        "clusterCaData": "Y2E=",
        "nodeRoleArn": "a",
        "subnetIds": ["s"],
        "platformKeyArn": "k",
        "vectorDb": {"h": 1},
        "tritonAdminSecret": "t",
    }
    assert _require(stack, full) == full
    # a platform stack deployed before the Triton admin secret had its own config
    before = {k: v for k, v in full.items() if k != "tritonAdminSecret"}
    with pytest.raises(PlatformOutputsMissing, match=r"no output\(s\) tritonAdminSecret \("):
        _require(stack, before)


def test_tenant_stack_fails_clearly_without_platform_outputs() -> None:
    """A tenant program whose StackReference has no outputs stops with the named list."""
    from tenantry.platform_ref import from_stack

    class EmptyRef(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            if args.typ == "pulumi:pulumi:StackReference":
                return "ref", {**args.inputs, "outputs": {}}
            return args.name, dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
            return {}, []

    pulumi.runtime.set_mocks(EmptyRef(), project="tenantry", stack="acme", preview=False)

    @pulumi.runtime.test
    def check() -> pulumi.Output[Any]:
        inputs = from_stack("organization/tenantry/platform")
        return pulumi.Output.from_input(inputs.node_role_arn)

    with pytest.raises(PlatformOutputsMissing, match="nodeRoleArn, subnetIds, platformKeyArn"):
        check()


def test_unknown_lookup_values_stay_unknown_in_the_render() -> None:
    recs = by_name(record_platform(ROOT / "tenants", ROOT / "stacks"))
    assert recs["platform-pool-h100-node-group"].inputs["clusterName"] == UNKNOWN
