"""Rendered manifests of the example tenants, compared byte-for-byte with committed golden
files, and every rendered object validated against its schema.

Regenerate after an intended change: ``TENANTRY_UPDATE_GOLDEN=1 pytest tests/golden`` (then
review the diff).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tenantry.engine import record_tenant, render_files, write_atomic
from tests.components.helpers import (
    EXAMPLES,
    ROOT,
    is_istio,
    istio_validator,
    istio_webhook_errors,
    isvc_validator,
    llmisvc_validator,
    tenants,
)
from tests.schemas import prometheus_operator_validator

GOLDEN = Path(__file__).resolve().parent / "tenants"
UPDATE = os.environ.get("TENANTRY_UPDATE_GOLDEN") == "1"
K8S_VERSION = "1.33.0"
# Istio objects are validated against Istio's own CRDs (tests/data/istio), not here.
NO_SCHEMA: set[tuple[str, str]] = set()
KSERVE_KINDS = {"InferenceService", "LLMInferenceService"}  # validated against their CRDs


def rendered(name: str) -> dict[str, bytes]:
    return render_files(record_tenant(name, ROOT / "tenants", ROOT / "stacks"))


def golden_files(name: str) -> dict[str, bytes]:
    base = GOLDEN / name
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_render_matches_golden(name: str) -> None:
    files = rendered(name)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        if (GOLDEN / name).exists():
            shutil.rmtree(GOLDEN / name)
        write_atomic(files, GOLDEN / name)
    golden = golden_files(name)
    assert sorted(files) == sorted(golden), "rendered file set differs from the golden set"
    for path, data in files.items():
        assert data == golden[path], f"{name}/{path} differs from its golden file"


def test_render_is_byte_identical_across_runs() -> None:
    first = {n: rendered(n) for n in EXAMPLES}
    second = {n: rendered(n) for n in reversed(EXAMPLES)}
    assert first == second


def manifests(name: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (p, yaml.safe_load(d)) for p, d in rendered(name).items() if p.startswith("kubernetes/")
    ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_monitoring_objects_validate_against_the_operator_crds(name: str) -> None:
    """Every PodMonitor and PrometheusRule in the render, against the Prometheus Operator's
    CRDs (tests/data/prometheus-operator), unknown fields rejected; a tenant with own LLMs
    has a second PodMonitor (their vLLM metrics, merged by the sidecar)."""
    kinds = []
    for _path, obj in manifests(name):
        if obj["apiVersion"] == "monitoring.coreos.com/v1":
            prometheus_operator_validator(obj["kind"]).validate(obj)
            kinds.append(obj["kind"])
    own_llms = bool(tenants()[name].llms)
    assert sorted(kinds) == ["PodMonitor"] * (2 if own_llms else 1) + ["PrometheusRule"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_core_objects_validate_against_kubernetes_openapi(name: str) -> None:
    checked = 0
    for _path, obj in manifests(name):
        if (
            is_istio(obj)
            or obj["kind"] in KSERVE_KINDS
            or obj["apiVersion"] == "monitoring.coreos.com/v1"
        ):
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 12, "every tenant renders at least its 12 namespace objects"


@pytest.mark.parametrize("name", EXAMPLES)
def test_inference_services_validate_against_the_kserve_crd(name: str) -> None:
    isvcs = [obj for _, obj in manifests(name) if obj["kind"] == "InferenceService"]
    assert isvcs
    for obj in isvcs:
        isvc_validator().validate(obj)
        # the CRD leaves metadata open; validate it as the ObjectMeta it is
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
            K8S_VERSION,
            strict=True,
        )


def test_llm_inference_services_validate_against_the_kserve_crd() -> None:
    """A tenant's own LLM (initech) renders as its own LLMInferenceService, valid under the
    v1alpha2 CRD (strict), in the tenant's namespace, read with the tenant's service account."""
    seen = 0
    for name in EXAMPLES:
        for _, obj in manifests(name):
            if obj["kind"] != "LLMInferenceService":
                continue
            llmisvc_validator().validate(obj)
            kubernetes_validate.validate(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
                K8S_VERSION,
                strict=True,
            )
            assert obj["metadata"]["namespace"] == name
            assert obj["spec"]["template"]["serviceAccountName"] == f"{name}-inference"
            assert obj["spec"]["model"]["uri"].startswith(f"s3://tenantry-{name}-")
            assert "lora" not in obj["spec"]["model"]  # its own runtime: no shared adapters
            seen += 1
    assert seen == 1  # initech's clinical-llm


def test_strict_llmisvc_schema_rejects_unknown_fields() -> None:
    obj = next(o for _, o in manifests("initech") if o["kind"] == "LLMInferenceService")
    obj["spec"]["model"]["storageUri"] = "s3://typo"
    with pytest.raises(jsonschema.ValidationError, match="storageUri"):
        llmisvc_validator().validate(obj)


@pytest.mark.parametrize("name", EXAMPLES)
def test_istio_objects_validate_against_istios_crds(name: str) -> None:
    objs = [o for _, o in manifests(name) if is_istio(o)]
    assert {o["kind"] for o in objs} == {"AuthorizationPolicy", "PeerAuthentication", "EnvoyFilter"}
    for obj in objs:
        istio_validator(obj["apiVersion"], obj["kind"]).validate(obj)
        assert istio_webhook_errors(obj) == [], obj["metadata"]["name"]
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
            K8S_VERSION,
            strict=True,
        )


def test_strict_istio_schema_rejects_unknown_fields() -> None:
    obj = next(o for _, o in manifests("acme") if o["kind"] == "AuthorizationPolicy")
    obj["spec"]["rules"][0]["from"][0]["source"]["namespace"] = ["typo"]  # namespaces
    with pytest.raises(jsonschema.ValidationError, match="namespace"):
        istio_validator(obj["apiVersion"], obj["kind"]).validate(obj)
    pa = next(o for _, o in manifests("acme") if o["kind"] == "PeerAuthentication")
    pa["spec"]["mtls"]["mode"] = "MUTUAL"  # not an Istio mode
    with pytest.raises(jsonschema.ValidationError, match="MUTUAL"):
        istio_validator(pa["apiVersion"], pa["kind"]).validate(pa)


def test_the_webhook_checks_refuse_what_istio_refuses() -> None:
    deny = next(
        o for _, o in manifests("acme") if o["metadata"]["name"] == "tenantry-acme-admission"
    )
    assert istio_webhook_errors(deny) == []
    assert istio_webhook_errors({**deny, "spec": {"action": "DENY"}}) == [
        "DENY action without rules is meaningless"
    ]
    scoped = {**deny, "spec": {**deny["spec"], "targetRefs": [{"kind": "Gateway", "name": "g"}]}}
    assert istio_webhook_errors(scoped) == ["only one of targetRefs or selector can be set"]
    pa = {"kind": "PeerAuthentication", "spec": {"portLevelMtls": {"8002": {"mode": "STRICT"}}}}
    assert istio_webhook_errors(pa) == [
        "mesh/namespace peer authentication cannot have port level mTLS"
    ]


def test_every_kind_is_validated() -> None:
    kinds = {(o["apiVersion"], o["kind"]) for n in EXAMPLES for _, o in manifests(n)}
    for api, kind in kinds:
        if api.split("/")[0].endswith(".istio.io"):
            istio_validator(api, kind)  # a schema exists for it (KeyError otherwise)
    assert not NO_SCHEMA


def test_strict_isvc_schema_rejects_unknown_fields() -> None:
    obj = next(o for _, o in manifests("acme") if o["kind"] == "InferenceService")
    obj["spec"]["predictor"]["model"]["storageUrl"] = "s3://typo"
    with pytest.raises(jsonschema.ValidationError, match="storageUrl"):
        isvc_validator().validate(obj)
