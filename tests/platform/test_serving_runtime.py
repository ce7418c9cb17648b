"""The Triton ClusterServingRuntime against the KServe CRD schema (strict), and against what
the tenants' InferenceServices ask of it."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from tenantry.k8s.inference_service import CONTAINER_SECURITY, MODEL_FORMAT, RUNTIME
from tenantry.platform.kserve import UNPINNED

from .helpers import by_name, platform_records, runtime_validator


def runtime() -> dict[str, Any]:
    rec = by_name(platform_records())["platform-kserve-tritonserver"]
    return {k: rec.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}


def test_runtime_validates_against_the_crd() -> None:
    obj = runtime()
    assert obj["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert obj["kind"] == "ClusterServingRuntime"
    runtime_validator().validate(obj)


def test_strict_schema_rejects_a_typo() -> None:
    obj = copy.deepcopy(runtime())
    obj["spec"]["protocolVersion"] = ["v2"]
    with pytest.raises(jsonschema.ValidationError, match="protocolVersion"):
        runtime_validator().validate(obj)


def test_runtime_serves_every_inference_service_format_over_v2() -> None:
    obj = runtime()
    spec = obj["spec"]
    assert obj["metadata"]["name"] == RUNTIME
    assert set(obj["metadata"].get("annotations", {})) <= {UNPINNED}  # no field takeover
    assert {f["name"] for f in spec["supportedModelFormats"]} == set(MODEL_FORMAT.values())
    assert "v2" in spec["protocolVersions"]
    (container,) = spec["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"].startswith("nvcr.io/nvidia/tritonserver:")
    assert container["args"][0] == "tritonserver"
    assert container["securityContext"] == CONTAINER_SECURITY
