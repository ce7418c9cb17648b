"""A current platform: KServe at its newest release (v0.20.0, the line of the vendored CRDs),
one owner for the Triton runtime, the S3 region on the storage path, GPU operator values the
pinned chart reads, the Triton image by digest, and cost-allocation tags activated only from
the payer account."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pydantic import ValidationError

from tenantry.cli.main import main
from tenantry.engine import record_platform
from tenantry.engine.stack import (
    PASSWORD_KEY,
    TRITON_ADMIN_KEY,
    _config_values,
    _run,
    stack_program,
)
from tenantry.k8s.inference_service import (
    DEPLOYMENT_MODE,
    RUNTIME,
    STORAGE_CONTAINER,
    inference_service_spec,
)
from tenantry.platform import PlatformProgramError
from tenantry.platform.charts import (
    GPU_OPERATOR,
    KSERVE,
    KSERVE_CRD,
    KSERVE_VERSION,
    TRITON_IMAGE,
    TRITON_TAG,
    gpu_operator_values,
    kserve_values,
)
from tenantry.platform.kserve import UNPINNED
from tenantry.spec import PlatformSettings
from tenantry.tags import MANDATORY_KEYS
from tests.components.helpers import ROOT, platform, tenants

from .helpers import (
    GATEWAY_IMAGE,
    REDIS_DIGEST,
    STORAGE_CRD,
    VLLM_DIGEST,
    by_name,
    crd_validator,
    platform_records,
    platform_with,
)

CHARTS = ROOT / "tests" / "data" / "charts"
# A test value in the digest's shape; not the digest of any real image.
TEST_DIGEST = "sha256:" + "0123456789abcdef" * 4
P = "platform"


def chart_values(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHARTS / f"{name}.values.yaml").read_text())
    return loaded


def unread_keys(ours: dict[str, Any], chart: Any, path: str = "") -> list[str]:
    """Key paths set in ``ours`` that the chart's ``values.yaml`` does not have (Helm ignores
    them without a word). Below an empty mapping in the chart (a free-form map) anything
    goes."""
    out: list[str] = []
    for key, value in ours.items():
        where = f"{path}.{key}" if path else key
        if not isinstance(chart, dict) or key not in chart:
            out.append(where)
        elif isinstance(value, dict) and chart[key] != {}:
            out += unread_keys(value, chart[key], where)
    return out


def settings_with(**changes: Any) -> PlatformSettings:
    data = platform().model_dump(by_alias=True)
    data["llmGatewayImage"] = GATEWAY_IMAGE
    data["vllmImageDigest"] = VLLM_DIGEST
    data["llmRedisImageDigest"] = REDIS_DIGEST
    data.update(changes)
    return PlatformSettings.model_validate(data)


# -- pinned versions and the values the pinned charts read -------------------------------


def test_kserve_is_the_release_of_the_vendored_crds() -> None:
    assert KSERVE_VERSION == "v0.20.0"
    assert (KSERVE_CRD.version, KSERVE.version) == (KSERVE_VERSION, KSERVE_VERSION)
    assert KSERVE.chart == "oci://ghcr.io/kserve/charts/kserve-resources"
    assert "charts at v0.20.0" in (ROOT / "tests" / "data" / "kserve" / "README.md").read_text()
    assert chart_values(f"kserve-resources-{KSERVE_VERSION}")["kserve"]["version"] == (
        KSERVE_VERSION
    )


def test_every_value_set_is_one_the_pinned_chart_reads() -> None:
    gpu = chart_values(f"gpu-operator-{GPU_OPERATOR.version}")
    assert unread_keys(gpu_operator_values(), gpu) == []
    kserve = chart_values(f"kserve-resources-{KSERVE_VERSION}")
    assert unread_keys(kserve_values("us-east-1"), kserve) == []
    # What the checks catch: the value v25.10.0 no longer has, and v0.15's runtime values.
    stale = {**gpu_operator_values(), "operator": {"defaultRuntime": "containerd"}}
    assert unread_keys(stale, gpu) == ["operator.defaultRuntime"]
    old = kserve_values("us-east-1")
    old["kserve"]["servingruntime"] = {"tritonserver": {"image": TRITON_IMAGE}}
    assert unread_keys(old, kserve) == ["kserve.servingruntime.tritonserver"]


def test_deployment_mode_is_knative_on_the_controller_and_every_inference_service() -> None:
    assert DEPLOYMENT_MODE == "Knative"
    assert kserve_values("us-east-1")["kserve"]["controller"]["deploymentMode"] == "Knative"
    golden = ROOT / "tests" / "golden" / "tenants"
    isvcs = [
        yaml.safe_load(f.read_text())
        for f in sorted(golden.rglob("*.yaml"))
        if f.name.startswith("inferenceservice-")
    ]
    assert isvcs
    for obj in isvcs:
        assert obj["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"


# -- one owner for the Triton runtime -----------------------------------------------------


def test_the_triton_runtime_has_one_owner() -> None:
    recs = platform_records()
    named = [
        r.name
        for r in recs
        if r.type.startswith("kubernetes:") and r.inputs.get("metadata", {}).get("name") == RUNTIME
    ]
    assert named == [f"{P}-kserve-tritonserver"]
    charts = [str(r.inputs["chart"]) for r in recs if r.type == "kubernetes:helm.sh/v3:Release"]
    assert not any("runtime-configs" in c for c in charts)  # runtimes' chart: not installed
    kinds = (CHARTS / f"kserve-resources-{KSERVE_VERSION}.kinds.txt").read_text()
    shipped = {k for line in kinds.splitlines() if ":" in line for k in line.split(":")[1].split()}
    assert "Deployment" in shipped and not shipped & {"ServingRuntime", "ClusterServingRuntime"}
    runtime = by_name(recs)[f"{P}-kserve-tritonserver"].inputs
    assert "pulumi.com/patchForce" not in runtime["metadata"].get("annotations", {})


# -- the S3 region on the storage path ---------------------------------------------------


def test_the_storage_container_gives_the_initializer_the_region() -> None:
    rec = by_name(platform_records())[f"{P}-kserve-storage"]
    obj = {k: rec.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    crd_validator(STORAGE_CRD).validate(obj)
    assert obj["metadata"]["name"] == STORAGE_CONTAINER
    spec = obj["spec"]
    assert spec["supportedUriFormats"] == [{"prefix": "s3://"}]
    assert spec["workloadType"] == "initContainer"
    assert spec["container"]["name"] == "storage-initializer"  # merged over KServe's own
    region = platform().region
    assert spec["container"]["env"] == [
        {"name": "AWS_DEFAULT_REGION", "value": region},
        {"name": "AWS_REGION", "value": region},
    ]
    # KServe's own S3 environment (IRSA service accounts, S3 secrets) gets it too.
    release = by_name(platform_records())[f"{P}-kserve-release"].inputs
    assert release["values"]["kserve"]["storage"]["s3"]["region"] == region


def test_every_inference_service_downloads_through_the_platforms_storage_container() -> None:
    checked = 0
    for t in tenants().values():
        for m in t.models:
            spec = inference_service_spec(t, m, "bucket", f"{t.name}-inference")
            uri = spec["predictor"]["model"]["storageUri"]
            if uri.startswith("oci://"):  # an OCI image is KServe's modelcar, no download
                assert "storageContainerName" not in spec["predictor"]
                continue
            assert spec["predictor"]["storageContainerName"] == STORAGE_CONTAINER
            assert uri.startswith("s3://")
            checked += 1
    assert checked >= 4


# -- the Triton image by digest ---------------------------------------------------------


def test_an_offline_render_without_a_digest_says_so_on_the_runtime() -> None:
    runtime = by_name(platform_records())[f"{P}-kserve-tritonserver"].inputs
    (container,) = runtime["spec"]["containers"]
    assert container["image"] == f"{TRITON_IMAGE}:{TRITON_TAG}"
    assert runtime["metadata"]["annotations"] == {
        UNPINNED: "tritonImageDigest is not set; pulumi up refuses this platform"
    }


def test_with_the_digest_set_the_runtime_pulls_by_digest(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks, ignore=shutil.ignore_patterns("__main__.py"))
    doc = yaml.safe_load((stacks / "Pulumi.platform.yaml").read_text())
    doc["config"]["tenantry:platform"]["tritonImageDigest"] = TEST_DIGEST
    (stacks / "Pulumi.platform.yaml").write_text(yaml.safe_dump(doc))
    program = ROOT / "stacks" / "__main__.py"
    records = record_platform(ROOT / "tenants", stacks, program)
    runtime = by_name(records)[f"{P}-kserve-tritonserver"]
    (container,) = runtime.inputs["spec"]["containers"]
    assert container["image"] == f"{TRITON_IMAGE}:{TRITON_TAG}@{TEST_DIGEST}"
    assert "annotations" not in runtime.inputs["metadata"]


def test_without_a_digest_the_platform_program_refuses_before_declaring_anything() -> None:
    config = _config_values(ROOT / "stacks" / "Pulumi.platform.yaml")
    config.update(
        {
            PASSWORD_KEY: "pw",
            TRITON_ADMIN_KEY: "triton-secret",
            "tenantry:tenantsDir": str(ROOT / "tenants"),
            "tenantry:stacksDir": str(ROOT / "stacks"),
        }
    )  # what `pulumi up` gives the program: no tenantry:offlineRender
    with pytest.raises(pulumi.RunError) as exc:
        _run(stack_program(ROOT / "stacks"), "platform", config)
    message = str(exc.value)
    assert "tritonImageDigest is not set" in message and "nothing was declared" in message
    assert f"docker buildx imagetools inspect {TRITON_IMAGE}:{TRITON_TAG}" in message
    with pytest.raises(PlatformProgramError, match="tritonImageDigest is not set"):
        platform_with(platform())  # the library refuses the same way


def test_a_digest_must_be_a_sha256_digest() -> None:
    with pytest.raises(ValidationError, match="tritonImageDigest"):
        settings_with(tritonImageDigest="25.09-py3")
    assert settings_with(tritonImageDigest=TEST_DIGEST).triton_image_digest == TEST_DIGEST


# -- cost-allocation tags only from the payer account -------------------------------------

PAYER = "999988887777"
PAYER_ROLE = f"arn:aws:iam::{PAYER}:role/tenantry-cost-allocation"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            {"activate": True, "payerAccountId": PAYER},
            f"can only be activated in the organization's management \\(payer\\) account "
            f"{PAYER}, and the platform deploys into member account 111122223333",
        ),
        ({"activate": True}, "costAllocationTags.payerAccountId: required with activate: true"),
        (
            {
                "activate": True,
                "payerAccountId": PAYER,
                "payerRoleArn": "arn:aws:iam::111122223333:role/x",
            },
            f"is in account 111122223333, not in the payer account {PAYER}",
        ),
        (
            {"payerAccountId": PAYER, "payerRoleArn": PAYER_ROLE},
            "payerRoleArn: only used with activate: true",
        ),
    ],
)
def test_cost_allocation_settings_that_cannot_work_are_refused(
    tags: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        settings_with(costAllocationTags=tags)


def test_a_member_account_gets_the_message_from_the_stack_file(tmp_path: Path) -> None:
    from tenantry.spec import load_platform

    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.platform.yaml").read_text())
    doc["config"]["tenantry:platform"]["costAllocationTags"] = {
        "activate": True,
        "payerAccountId": PAYER,
    }
    (tmp_path / "Pulumi.platform.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match="member account 111122223333") as exc:
        load_platform(tmp_path)
    assert str(tmp_path / "Pulumi.platform.yaml") in str(exc.value)


def test_activation_from_the_payer_account_itself() -> None:
    s = settings_with(
        tritonImageDigest=TEST_DIGEST,
        costAllocationTags={"activate": True, "payerAccountId": "111122223333"},
    )
    recs = by_name(platform_with(s))
    tags = {k: recs[f"{P}-cost-tags-{k}"] for k in MANDATORY_KEYS}
    assert {k: r.inputs["status"] for k, r in tags.items()} == dict.fromkeys(
        MANDATORY_KEYS, "Active"
    )
    assert all(r.provider.startswith(recs[f"{P}-aws"].urn) for r in tags.values())


def test_activation_through_a_role_in_the_payer_account() -> None:
    s = settings_with(
        tritonImageDigest=TEST_DIGEST,
        costAllocationTags={"activate": True, "payerAccountId": PAYER, "payerRoleArn": PAYER_ROLE},
    )
    recs = by_name(platform_with(s))
    payer = recs[f"{P}-cost-tags-payer"]
    assert payer.type == "pulumi:providers:aws"
    assert payer.inputs["region"] == "us-east-1"
    assert "tenantry-cost-allocation" in str(payer.inputs["assumeRoles"])
    for key in MANDATORY_KEYS:
        assert recs[f"{P}-cost-tags-{key}"].provider.startswith(payer.urn), key


def test_render_platform_shows_the_current_kserve_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "render",
            "platform",
            "--tenants",
            str(ROOT / "tenants"),
            "--stacks",
            str(ROOT / "stacks"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"kserve (kserve-resources) {KSERVE_VERSION}" in out
    assert f"kserve-crd (kserve-crd) {KSERVE_VERSION}" in out
    assert "(no digest: set tritonImageDigest)" in out
    assert (
        "llm tenantry-llm-llama-3-8b: vllm/vllm-openai:v0.11.0 (no digest: set vllmImageDigest)"
        in out
    )
