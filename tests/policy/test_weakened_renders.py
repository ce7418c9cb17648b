"""The guardrails on the example tenants' recorded renders (tests/golden), and on copies of
them weakened by hand the way an edit of a rendered manifest would weaken them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenantry.plan.snapshot import policy_resources
from tenantry.policy import Context, evaluate
from tests.components.helpers import EXAMPLES

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tenants"
CTX = Context(tenants=frozenset(EXAMPLES))
Records = list[dict[str, Any]]


def records(name: str) -> Records:
    data: Records = json.loads((GOLDEN / name / "resources.json").read_text())
    return data


def kind(recs: Records, k: str) -> list[dict[str, Any]]:
    return [r for r in recs if r["type"].endswith(f":{k}")]


def rules_failing(recs: Records) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in evaluate(policy_resources(recs), CTX):
        out.setdefault(v.rule, []).append(v.message)
    return out


def model_container(recs: Records) -> dict[str, Any]:
    container: dict[str, Any] = kind(recs, "InferenceService")[0]["inputs"]["spec"]["predictor"][
        "model"
    ]
    return container


def no_container_limit(recs: Records) -> None:
    del model_container(recs)["resources"]["limits"]["ephemeral-storage"]


def no_container_request(recs: Records) -> None:
    del model_container(recs)["resources"]["requests"]["ephemeral-storage"]


def no_quota(recs: Records) -> None:
    for q in kind(recs, "ResourceQuota"):
        q["inputs"]["spec"]["hard"].pop("limits.ephemeral-storage", None)


def no_limit_range_default(recs: Records) -> None:
    for lr in kind(recs, "LimitRange"):
        for item in lr["inputs"]["spec"]["limits"]:
            item["default"].pop("ephemeral-storage", None)


def open_admin_http(recs: Records) -> None:
    args = model_container(recs)["args"]
    args[:] = [a for a in args if not a.startswith("--http-restricted-api")]


def explicit_model_control(recs: Records) -> None:
    model_container(recs)["args"].append("--model-control-mode=explicit")


def default_k8s_provider(recs: Records) -> None:
    kind(recs, "Secret")[0]["provider"] = "default"  # a resource declared without opts


def aws_provider_for_k8s(recs: Records) -> None:
    aws = next(r["urn"] for r in recs if r["type"] == "pulumi:providers:aws")
    kind(recs, "Namespace")[0]["provider"] = aws


WEAKENINGS: dict[str, tuple[Callable[[Records], None], str, str]] = {
    "container-limit": (no_container_limit, "ephemeral-storage-bounded", "no limits."),
    "container-request": (no_container_request, "ephemeral-storage-bounded", "no requests."),
    "quota": (no_quota, "ephemeral-storage-bounded", "no ResourceQuota on limits."),
    "limit-range": (no_limit_range_default, "ephemeral-storage-bounded", "no LimitRange"),
    "admin-http": (open_admin_http, "triton-admin-restricted", "--http-restricted-api"),
    "model-control": (explicit_model_control, "triton-admin-restricted", "model-control"),
    "k8s-default-provider": (default_k8s_provider, "explicit-k8s-provider", "default Kubernetes"),
    "k8s-aws-provider": (aws_provider_for_k8s, "explicit-k8s-provider", "not a Kubernetes"),
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_renders_pass(name: str) -> None:
    assert rules_failing(records(name)) == {}


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_kubernetes_resource_uses_the_tenants_cluster_provider(name: str) -> None:
    recs = records(name)
    (provider,) = [r for r in recs if r["type"] == "pulumi:providers:kubernetes"]
    assert provider["name"] == f"{name}-k8s"
    assert "get-token" in provider["inputs"]["kubeconfig"]
    k8s = [r for r in recs if r["type"].startswith("kubernetes:")]
    assert k8s and {r["provider"] for r in k8s} == {provider["urn"]}


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("weakening", sorted(WEAKENINGS))
def test_weakened_render_fails(name: str, weakening: str) -> None:
    weaken, rule, message = WEAKENINGS[weakening]
    recs = copy.deepcopy(records(name))
    weaken(recs)
    failing = rules_failing(recs)
    assert set(failing) == {rule}, failing
    assert any(message in m for m in failing[rule]), failing[rule]
