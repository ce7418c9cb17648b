"""The platform stack's render, compared byte-for-byte with committed golden files, its
Kubernetes objects validated, and ``tenantry render platform`` deterministic.

Regenerate after an intended change: ``TENANTRY_UPDATE_GOLDEN=1 pytest tests/golden`` (then
review the diff).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tenantry.cli.main import main
from tenantry.engine import record_platform, render_files, write_atomic
from tests.components.helpers import (
    ROOT,
    is_istio,
    istio_validator,
    istio_webhook_errors,
    llmisvc_validator,
)
from tests.schemas import prometheus_operator_validator

GOLDEN = Path(__file__).resolve().parent / "platform"
UPDATE = os.environ.get("TENANTRY_UPDATE_GOLDEN") == "1"
K8S_VERSION = "1.33.0"
# KServe CRDs: validated in tests/platform (runtime, storage) and below (LLMInferenceService)
CRD_KINDS = {"ClusterServingRuntime", "ClusterStorageContainer", "LLMInferenceService"}
# Prometheus Operator CRDs: validated below against the vendored CRDs
MONITORING_KINDS = {"PodMonitor", "PrometheusRule"}


def rendered() -> dict[str, bytes]:
    return render_files(record_platform(ROOT / "tenants", ROOT / "stacks"))


def golden_files() -> dict[str, bytes]:
    return {
        p.relative_to(GOLDEN).as_posix(): p.read_bytes()
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file()
    }


def test_platform_render_matches_golden() -> None:
    files = rendered()
    if UPDATE:
        if GOLDEN.exists():
            shutil.rmtree(GOLDEN)
        write_atomic(files, GOLDEN)
    golden = golden_files()
    assert sorted(files) == sorted(golden), "rendered file set differs from the golden set"
    for path, data in files.items():
        assert data == golden[path], f"platform/{path} differs from its golden file"


def test_platform_core_objects_validate_against_kubernetes_openapi() -> None:
    checked = 0
    for path, data in rendered().items():
        if not path.startswith("kubernetes/"):
            continue
        obj = yaml.safe_load(data)
        if obj["kind"] in CRD_KINDS:
            continue
        if obj["kind"] in MONITORING_KINDS:
            prometheus_operator_validator(obj["kind"]).validate(obj)
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}
        if is_istio(obj):
            istio_validator(obj["apiVersion"], obj["kind"]).validate(obj)
            assert istio_webhook_errors(obj) == [], path
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        checked += 1
    # 4 namespaces (tenantry-llm included), the mig-parted, LLM routes and the base model's
    # adapters ConfigMaps, 4 PriorityClasses, the shared LLM runtime's ServiceAccount, the
    # token issuers' RequestAuthentication, the fleet dashboard ConfigMap; the LLM gateway's
    # Deployment, ServiceAccount, Service, PodMonitor and salt Secret, tenantry-llm's 3
    # NetworkPolicies,
    # 2 PeerAuthentications and 2 AuthorizationPolicies; the LLM metering PrometheusRule
    # (against the Prometheus Operator's CRD, strict); for the gateway's 2 replicas, its
    # PodDisruptionBudget and their Redis: Deployment, ServiceAccount, Service, Secret,
    # NetworkPolicy and AuthorizationPolicy
    assert checked == 14 + 5 + 3 + 2 + 2 + 1 + 7


def test_shared_llms_validate_against_the_kserve_crd() -> None:
    llms = [
        yaml.safe_load(d)
        for p, d in rendered().items()
        if p.startswith("kubernetes/") and yaml.safe_load(d)["kind"] == "LLMInferenceService"
    ]
    assert [o["metadata"]["name"] for o in llms] == ["tenantry-llm-llama-3-8b"]
    for obj in llms:
        llmisvc_validator().validate(obj)
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
            K8S_VERSION,
            strict=True,
        )


def test_render_platform_cli_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        args = ["render", "platform", "--out", str(out)]
        args += ["--tenants", str(ROOT / "tenants"), "--stacks", str(ROOT / "stacks")]
        assert main(args) == 0
    out = capsys.readouterr().out
    assert "38 Kubernetes object(s)" in out
    assert (
        "deployment tenantry-llm-gateway-redis: docker.io/library/redis:7.2.5-alpine "
        "(llmRedisImageDigest is not set)" in out
    )

    def tree(d: Path) -> dict[str, bytes]:
        return {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}

    assert tree(outs[0]) == tree(outs[1]) and tree(outs[0])
    assert (outs[0] / "kubernetes/gpu-operator/configmap-tenantry-mig-parted-config.yaml").exists()
    assert (
        outs[0] / "resources/kubernetes_helm.sh_v3_Release--platform-kserve-release.json"
    ).exists()


def test_render_platform_with_a_broken_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.platform.yaml").write_text("config: {}\n")
    out = tmp_path / "out"
    assert main(["render", "platform", "--out", str(out), "--stacks", str(stacks)]) == 2
    assert "tenantry:platform" in capsys.readouterr().err
    assert not out.exists()


def test_every_namespace_the_platform_uses_is_reserved_for_tenants() -> None:
    """A tenant is its namespace: one named like a namespace the platform deploys into or
    patches would put its default-deny policies and quota there (issue 16: istio-system).
    Every such namespace of the render is on the reserved list validation refuses."""
    import json

    from tenantry.catalog import namespaces
    from tenantry.spec import load_platform

    def found(value: object) -> set[str]:
        if isinstance(value, dict):
            own = {value["namespace"]} if isinstance(value.get("namespace"), str) else set()
            return own.union(*(found(v) for v in value.values()))
        if isinstance(value, list):
            return set().union(*(found(v) for v in value))
        return set()

    used: set[str] = set()
    for path, data in golden_files().items():
        parts = path.split("/")
        if parts[0] == "kubernetes" and parts[1] != "_cluster":
            used.add(parts[1])
        if path.startswith("kubernetes/_cluster/namespace-"):
            used.add(yaml.safe_load(data)["metadata"]["name"])
        if path.startswith("resources/") and path.endswith(".json"):
            used |= found(json.loads(data))
    settings = load_platform(ROOT / "stacks")
    assert used >= {"kserve", "knative-serving", "monitoring", "tenantry-llm", "istio-system"}
    unreserved = {n for n in used if namespaces.reserved_reason(n, settings.namespaces()) is None}
    assert unreserved == set()
