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
from tenantry.policy import RULES, Context, evaluate
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


def pod_specs_of(recs: Records) -> list[dict[str, Any]]:
    """Every pod spec of the render's InferenceServices (predictor) and LLMInferenceServices
    (template)."""
    out = [r["inputs"]["spec"]["predictor"] for r in kind(recs, "InferenceService")]
    return out + [r["inputs"]["spec"]["template"] for r in kind(recs, "LLMInferenceService")]


def tier_of(recs: Records) -> str:
    (ns,) = kind(recs, "Namespace")
    tier: str = ns["inputs"]["metadata"]["labels"]["tier"]
    return tier


OWN_NODES = ("isolated", "dedicated")


def pin_removed(recs: Records) -> None:
    for pod in pod_specs_of(recs):
        pod["nodeSelector"].pop("tenantry.dev/tenant", None)


def tolerates_another_tenant(recs: Records) -> None:
    pod = pod_specs_of(recs)[-1]
    pod.setdefault("tolerations", []).append(
        {
            "key": "tenantry.dev/tenant",
            "operator": "Equal",
            "value": "zz-other",
            "effect": "NoSchedule",
        }
    )


def tolerates_every_tenant(recs: Records) -> None:
    pod = pod_specs_of(recs)[-1]
    pod.setdefault("tolerations", []).append(
        {"key": "tenantry.dev/tenant", "operator": "Exists", "effect": "NoSchedule"}
    )


def tolerates_every_taint(recs: Records) -> None:
    pod_specs_of(recs)[-1].setdefault("tolerations", []).append({"operator": "Exists"})


def own_toleration_removed(recs: Records) -> None:
    for pod in pod_specs_of(recs):
        pod["tolerations"] = [
            t for t in pod.get("tolerations") or [] if t.get("key") != "tenantry.dev/tenant"
        ]


def no_llm_limit(recs: Records) -> None:
    for r in kind(recs, "LLMInferenceService"):
        del r["inputs"]["spec"]["template"]["containers"][0]["resources"]["limits"][
            "ephemeral-storage"
        ]


WEAKENINGS: dict[str, tuple[Callable[[Records], None], str, str]] = {
    "container-limit": (no_container_limit, "ephemeral-storage-bounded", "no limits."),
    "container-request": (no_container_request, "ephemeral-storage-bounded", "no requests."),
    "quota": (no_quota, "ephemeral-storage-bounded", "no ResourceQuota on limits."),
    "limit-range": (no_limit_range_default, "ephemeral-storage-bounded", "no LimitRange"),
    "admin-http": (open_admin_http, "triton-admin-restricted", "--http-restricted-api"),
    "model-control": (explicit_model_control, "triton-admin-restricted", "model-control"),
    "k8s-default-provider": (default_k8s_provider, "explicit-k8s-provider", "default Kubernetes"),
    "k8s-aws-provider": (aws_provider_for_k8s, "explicit-k8s-provider", "not a Kubernetes"),
    "another-tenants-taint": (
        tolerates_another_tenant,
        "tenant-nodes-pinned",
        "tolerates the taint of tenant 'zz-other''s nodes",
    ),
    "every-tenants-taint": (
        tolerates_every_tenant,
        "tenant-nodes-pinned",
        "tolerates the taint of every tenant's nodes",
    ),
    "every-taint": (tolerates_every_taint, "tenant-nodes-pinned", "of every taint"),
}
# Weakenings of the pinning that only an isolated or dedicated tenant's render has.
OWN_NODES_WEAKENINGS: dict[str, tuple[Callable[[Records], None], str, str]] = {
    "pin-removed": (pin_removed, "tenant-nodes-pinned", "nodeSelector must pin"),
    "own-toleration-removed": (own_toleration_removed, "tenant-nodes-pinned", "its own"),
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


def test_the_examples_have_own_nodes_tenants() -> None:
    """The pinning weakenings below are exercised: initech is isolated, umbrella dedicated."""
    assert {n: tier_of(records(n)) for n in ("initech", "umbrella")} == {
        "initech": "isolated",
        "umbrella": "dedicated",
    }


@pytest.mark.parametrize("name", [n for n in EXAMPLES if tier_of(records(n)) in OWN_NODES])
def test_own_nodes_tenants_pods_are_pinned_to_their_nodes(name: str) -> None:
    """Every pod spec selects the tenant's own label and tolerates its own taint and no
    other tenant taint (the shared tiers' pods tolerate none at all)."""
    for pod in pod_specs_of(records(name)):
        assert pod["nodeSelector"]["tenantry.dev/tenant"] == name
        tenant_tolerations = [
            t for t in pod["tolerations"] if t.get("key") in ("tenantry.dev/tenant", None)
        ]
        assert tenant_tolerations == [
            {
                "key": "tenantry.dev/tenant",
                "operator": "Equal",
                "value": name,
                "effect": "NoSchedule",
            }
        ]


@pytest.mark.parametrize("name", [n for n in EXAMPLES if tier_of(records(n)) not in OWN_NODES])
def test_shared_tier_pods_tolerate_no_tenant_taint(name: str) -> None:
    for pod in pod_specs_of(records(name)):
        assert "tenantry.dev/tenant" not in (pod.get("nodeSelector") or {})
        assert all(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations") or [])


@pytest.mark.parametrize(
    ("name", "weakening"),
    [
        (n, w)
        for n in EXAMPLES
        if tier_of(records(n)) in OWN_NODES
        for w in sorted(OWN_NODES_WEAKENINGS)
    ],
)
def test_weakened_pinning_fails(name: str, weakening: str) -> None:
    assert_only_rule_fails(name, *OWN_NODES_WEAKENINGS[weakening])


def test_an_own_llm_without_ephemeral_storage_fails() -> None:
    """By kind: initech's own LLMInferenceService is held to the same bounds."""
    recs = copy.deepcopy(records("initech"))
    no_llm_limit(recs)
    assert rules_failing(recs) == {
        "ephemeral-storage-bounded": ["container main: no limits.ephemeral-storage"]
    }


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("weakening", sorted(WEAKENINGS))
def test_weakened_render_fails(name: str, weakening: str) -> None:
    assert_only_rule_fails(name, *WEAKENINGS[weakening])


def assert_only_rule_fails(
    name: str, weaken: Callable[[Records], None], rule: str, message: str
) -> None:
    """``name``'s render weakened by ``weaken`` fails ``rule`` alone, with ``message``."""
    recs = copy.deepcopy(records(name))
    weaken(recs)
    failing = rules_failing(recs)
    assert set(failing) == {rule}, failing
    assert any(message in m for m in failing[rule]), failing[rule]


PLATFORM = GOLDEN.parent / "platform" / "resources.json"


def platform_workload_violations(recs: Records) -> list[str]:
    """What the pinning and ephemeral-storage rules say of the platform render's pod-bearing
    objects and chart values (its namespaces are the platform's, not tenants': their quotas
    are another matter)."""
    rules = [r for r in RULES if r.name in ("tenant-nodes-pinned", "ephemeral-storage-bounded")]
    return [
        f"{v.rule}: {v.message}"
        for v in evaluate(policy_resources(recs), CTX, rules)
        if not v.resource.startswith("kubernetes:core/v1:Namespace")
    ]


def test_the_platform_render_bounds_and_pins_its_workloads() -> None:
    recs: Records = json.loads(PLATFORM.read_text())
    assert platform_workload_violations(recs) == []
    weakened = copy.deepcopy(recs)
    (otel,) = [
        r for r in kind(weakened, "Release") if r["inputs"]["chart"] == "opentelemetry-collector"
    ]
    del otel["inputs"]["values"]["resources"]["limits"]["ephemeral-storage"]
    (llm,) = kind(weakened, "LLMInferenceService")
    llm["inputs"]["spec"]["template"]["tolerations"].append(
        {"key": "tenantry.dev/tenant", "operator": "Exists", "effect": "NoSchedule"}
    )
    assert platform_workload_violations(weakened) == [
        "tenant-nodes-pinned: tolerates the taint of every tenant's nodes",
        "ephemeral-storage-bounded: chart opentelemetry-collector values: no "
        "limits.ephemeral-storage",
    ]
