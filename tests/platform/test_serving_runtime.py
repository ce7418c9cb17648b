"""The Triton ClusterServingRuntime against the KServe CRD schema (strict), and against what
the tenants' InferenceServices ask of it."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from tenantry.catalog.runtimes import FORMATS, RUNTIMES, format_problem, runtime_for
from tenantry.k8s.inference_service import CONTAINER_SECURITY, MODEL_FORMAT, RUNTIME
from tenantry.platform.kserve import UNPINNED

from .helpers import by_name, platform_records, runtime_validator


def runtime(resource: str = "platform-kserve-tritonserver") -> dict[str, Any]:
    rec = by_name(platform_records())[resource]
    return {k: rec.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}


def runtimes() -> list[dict[str, Any]]:
    return [runtime(f"platform-kserve-{rt.name.removeprefix('kserve-')}") for rt in RUNTIMES]


def test_runtimes_validate_against_the_crd() -> None:
    for obj in runtimes():
        assert obj["apiVersion"] == "serving.kserve.io/v1alpha1"
        assert obj["kind"] == "ClusterServingRuntime"
        runtime_validator().validate(obj)


def test_every_format_is_served_by_exactly_one_runtime_whose_image_ships_its_backend() -> None:
    served = [f for rt in RUNTIMES for f in rt.formats]
    assert sorted(served) == sorted(FORMATS)
    for name in FORMATS:
        assert format_problem(name) is None, name
    by_runtime = {obj["metadata"]["name"]: obj for obj in runtimes()}
    for name, fmt in FORMATS.items():
        obj = by_runtime[runtime_for(name).name]
        assert fmt.kserve_format in {f["name"] for f in obj["spec"]["supportedModelFormats"]}
        assert obj["spec"]["containers"][0]["image"] == runtime_for(name).image.image


def test_tensorflow_is_not_served_by_the_current_triton_image() -> None:
    """The case of issue 16: 25.09 ships no TensorFlow backend, so a TensorFlow model on the
    default runtime would never load; it is served by the 25.02 runtime instead."""
    main = runtime_for("onnx")
    assert "tensorflow" not in main.image.backends
    assert main.image.tag == "25.09-py3"
    tf = runtime_for("tensorflow")
    assert tf is not main and "tensorflow" in tf.image.backends and tf.frozen


def test_strict_schema_rejects_a_typo() -> None:
    obj = copy.deepcopy(runtime())
    obj["spec"]["protocolVersion"] = ["v2"]
    with pytest.raises(jsonschema.ValidationError, match="protocolVersion"):
        runtime_validator().validate(obj)


def test_default_runtime_serves_its_formats_over_v2() -> None:
    obj = runtime()
    spec = obj["spec"]
    assert obj["metadata"]["name"] == RUNTIME
    assert set(obj["metadata"].get("annotations", {})) <= {UNPINNED}  # no field takeover
    assert {f["name"] for f in spec["supportedModelFormats"]} == {
        MODEL_FORMAT[f] for f in runtime_for("onnx").formats
    }
    assert "v2" in spec["protocolVersions"]
    (container,) = spec["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"].startswith("nvcr.io/nvidia/tritonserver:")
    assert container["args"][0] == "tritonserver"
    assert container["securityContext"] == CONTAINER_SECURITY


# -- the TensorFlow runtime: declared while a tenant serves TensorFlow, pinned like the other


TF_DIGEST = "sha256:" + "fedcba9876543210" * 4
MAIN_DIGEST = "sha256:" + "0123456789abcdef" * 4


def _platform(settings: Any, formats: frozenset[str], **kw: Any) -> dict[str, Any]:
    from tenantry import Platform, PlatformArgs
    from tenantry.engine import record

    from .helpers import example_plan

    def program() -> None:
        args = PlatformArgs.from_spec(
            settings,
            example_plan(),
            vector_db_password="pw",
            triton_admin_secret="triton-secret",
            llm_salt_key="salt",
            llm_redis_password="redis-pw",
            formats=formats,
            **kw,
        )
        Platform("platform", args)

    return by_name(record(program, stack="platform"))


def _settings(**digests: str) -> Any:
    from tenantry.spec import PlatformSettings
    from tests.components.helpers import platform
    from tests.platform.helpers import GATEWAY_IMAGE, REDIS_DIGEST, VLLM_DIGEST

    data = platform().model_dump(by_alias=True)
    data["llmGatewayImage"] = GATEWAY_IMAGE
    data["vllmImageDigest"] = VLLM_DIGEST
    data["llmRedisImageDigest"] = REDIS_DIGEST
    data.update(digests)
    return PlatformSettings.model_validate(data)


def test_the_example_fleet_serves_tensorflow_so_the_platform_declares_its_runtime() -> None:
    obj = runtime("platform-kserve-tritonserver-tensorflow")  # umbrella's variant-caller
    (container,) = obj["spec"]["containers"]
    assert container["image"] == "nvcr.io/nvidia/tritonserver:25.02-py3"
    assert obj["metadata"]["annotations"] == {
        UNPINNED: "tritonTensorflowImageDigest is not set; pulumi up refuses this platform"
    }


def test_without_tensorflow_tenants_there_is_no_tensorflow_runtime_to_pin() -> None:
    records = _platform(_settings(tritonImageDigest=MAIN_DIGEST), frozenset({"onnx"}))
    assert "platform-kserve-tritonserver" in records
    assert "platform-kserve-tritonserver-tensorflow" not in records


def test_a_tensorflow_tenant_needs_its_digest_to_deploy_and_then_pulls_by_it() -> None:
    from tenantry.platform import PlatformProgramError

    tf = frozenset({"onnx", "tensorflow"})
    with pytest.raises(PlatformProgramError, match="tritonTensorflowImageDigest is not set"):
        _platform(_settings(tritonImageDigest=MAIN_DIGEST), tf)
    records = _platform(
        _settings(tritonImageDigest=MAIN_DIGEST, tritonTensorflowImageDigest=TF_DIGEST), tf
    )
    rec = records["platform-kserve-tritonserver-tensorflow"]
    (container,) = rec.inputs["spec"]["containers"]
    assert container["image"] == f"nvcr.io/nvidia/tritonserver:25.02-py3@{TF_DIGEST}"
    assert "annotations" not in rec.inputs["metadata"]
