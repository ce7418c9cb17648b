"""The exact child contract of ``Tenant`` for every example tenant (one per tier)."""

from __future__ import annotations

import pytest

from tenantry import TenantServing, TenantServingArgs
from tenantry.triton import config_key, versions

from .helpers import (
    ADMIN_KEY,
    BUCKET,
    EXAMPLES,
    TIER_OF_EXAMPLE,
    build,
    parent_name,
    platform,
    tenants,
)

NS_CHILDREN = [
    ("kubernetes:core/v1:Namespace", "namespace"),
    ("kubernetes:core/v1:ResourceQuota", "quota"),
    ("kubernetes:core/v1:ResourceQuota", "priority-guard"),
    ("kubernetes:core/v1:LimitRange", "limits"),
    ("kubernetes:core/v1:Secret", "triton-admin"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-dns"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-callers"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-serving-system"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-model-egress"),
    ("kubernetes:core/v1:ServiceAccount", "inference-sa"),
    ("kubernetes:rbac.authorization.k8s.io/v1:Role", "admin"),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "admin-binding"),
]
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
LLMISVC = "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
GW_CHILDREN = [
    ("kubernetes:security.istio.io/v1:AuthorizationPolicy", "callers"),
    ("kubernetes:security.istio.io/v1:AuthorizationPolicy", "admission"),
    ("kubernetes:security.istio.io/v1:AuthorizationPolicy", "activator-guard"),
    ("kubernetes:security.istio.io/v1:PeerAuthentication", "mtls"),
    ("kubernetes:security.istio.io/v1:PeerAuthentication", "scrape-mtls"),
    ("kubernetes:networking.istio.io/v1alpha3:EnvoyFilter", "rate-limit"),
]
MONITORING_CHILDREN = [
    ("kubernetes:monitoring.coreos.com/v1:PodMonitor", "pod-monitor"),
    ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "rules"),
    ("kubernetes:core/v1:ConfigMap", "dashboard"),
]


def expected_contract(name: str) -> set[tuple[str, str, str | None]]:
    t = tenants()[name]
    out = {
        ("tenantry:tenant:TenantServing", name, None),
        ("tenantry:k8s:TenantNamespace", f"{name}-ns", name),
        ("tenantry:k8s:GatewayAdmission", f"{name}-gateway", name),
        ("tenantry:k8s:TenantMonitoring", f"{name}-monitoring", name),
    }
    out |= {
        (typ, f"{name}-monitoring-{suffix}", f"{name}-monitoring")
        for typ, suffix in MONITORING_CHILDREN
    }
    out |= {(typ, f"{name}-ns-{suffix}", f"{name}-ns") for typ, suffix in NS_CHILDREN}
    out |= {
        (typ, f"{name}-gateway-{suffix}", f"{name}-gateway")
        for typ, suffix in GW_CHILDREN
        if suffix != "admission" or t.models  # no models, no hosts: nothing to admit
    }
    for llm in t.llms:  # the tenant's own LLMs
        out.add((LLMISVC, f"{name}-{llm.name}-llmisvc", name))
    if t.llms:  # their vLLM metrics, merged by the sidecar (llmRuntimeTls off, the default)
        monitor = ("kubernetes:monitoring.coreos.com/v1:PodMonitor", "llm-pod-monitor")
        out.add((monitor[0], f"{name}-monitoring-{monitor[1]}", f"{name}-monitoring"))
    netpol = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    if t.llm_adapters:  # its pods may reach the LLM gateway
        out.add((netpol, f"{name}-ns-allow-llm-gateway", f"{name}-ns"))
    if t.llms:  # monitoring reaches the merged-metrics port of its own LLMs' pods
        out.add((netpol, f"{name}-ns-allow-llm-metrics", f"{name}-ns"))
    if t.llms and t.access.allowed_namespaces:  # its callers reach its own LLMs' port
        authz = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
        out.add((authz, f"{name}-gateway-llm-callers", f"{name}-gateway"))
        out.add((netpol, f"{name}-ns-allow-llm-callers", f"{name}-ns"))
    for m in t.models:
        out.add((ISVC, f"{name}-{m.name}-isvc", name))
        if m.min_replicas == 0:  # none of the examples: see tests/policy
            out.add(
                (
                    "kubernetes:security.istio.io/v1:AuthorizationPolicy",
                    f"{name}-gateway-{m.name}-activator",
                    f"{name}-gateway",
                )
            )
        for v in versions(m):
            out.add((OBJECT, f"{name}-{m.name}-v{v}-config-object", name))
    return out


def build_tenant(name: str, **kw: object) -> list:
    t = tenants()[name]
    args = TenantServingArgs.from_spec(
        t, platform(), bucket_name=BUCKET, triton_admin_key=ADMIN_KEY, **kw
    )  # type: ignore[arg-type]
    return build(name, lambda: TenantServing(name, args))


@pytest.mark.parametrize("name", EXAMPLES)
def test_exact_children(name: str) -> None:
    recs = build_tenant(name)
    got = {(r.type, r.name, parent_name(r)) for r in recs}
    assert got == expected_contract(name)
    assert tenants()[name].tier.name == TIER_OF_EXAMPLE[name]


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_object_carries_the_tag_policy(name: str) -> None:
    t = tenants()[name]
    mandatory = {
        "tenant": name,
        "cost-center": t.cost_center,
        "tier": t.tier.name,
        "environment": t.environment,
        "managed-by": "tenantry",
    }
    for r in build_tenant(name):
        if not r.custom:
            continue
        found = r.inputs["tags"] if r.type.startswith("aws:") else r.inputs["metadata"]["labels"]
        assert mandatory.items() <= found.items(), r.urn
        assert t.labels.items() <= found.items(), r.urn


@pytest.mark.parametrize("name", EXAMPLES)
def test_model_configs_land_at_their_keys_in_the_tenant_bucket(name: str) -> None:
    t = tenants()[name]
    objects = {
        r.inputs["key"]: r.inputs
        for r in build_tenant(name)
        if r.type == "aws:s3/bucketObjectv2:BucketObjectv2"
    }
    want = {config_key(m.name, v) for m in t.models for v in versions(m)}
    assert set(objects) == want
    assert {o["bucket"] for o in objects.values()} == {BUCKET}
    assert all(o["content"].startswith("# Generated by tenantry") for o in objects.values())


def test_bucket_input_flows_into_storage_uri() -> None:
    recs = {r.name: r for r in build_tenant("acme")}
    uri = recs["acme-fraud-detector-isvc"].inputs["spec"]["predictor"]["model"]["storageUri"]
    assert uri == f"s3://{BUCKET}/models/fraud-detector/v13"
