"""The shared base LLMs' LLMInferenceService and the gateway's routes
(:mod:`tenantry.k8s.llm_inference_service`): valid under the strict v1alpha2 CRD in every
variant, adapters of the base only, prefix caching by setting, priority by tier."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tenantry.k8s.llm_inference_service import (
    BLOCKED_PATHS,
    AdapterGrant,
    shared_llm_manifest,
    tenant_llm_routes,
)
from tenantry.spec import PlatformSettings
from tenantry.spec.resolved import ResolvedLlmAdapter
from tests.components.helpers import llmisvc_validator, platform

LABELS = {"tenant": "platform"}


def _adapter(tenant: str, name: str, base: str = "llama-3-8b") -> ResolvedLlmAdapter:
    return ResolvedLlmAdapter(
        name=name,
        served_name=f"{tenant}-{name}",
        base_model=base,
        path=f"adapters/{name}/",
        digest="sha256:" + "0" * 64,
        rank=8,
        tokens_per_minute=1000,
        max_concurrent_requests=4,
    )


GRANTS = [
    AdapterGrant("globex", "shared", "tenantry-globex-111122223333", _adapter("globex", "chat")),
    AdapterGrant("acme", "premium", "tenantry-acme-111122223333", _adapter("acme", "support")),
    AdapterGrant("acme", "premium", "tenantry-acme-111122223333", _adapter("acme", "x", "other")),
]


def _settings(**changes: Any) -> PlatformSettings:
    doc = platform().model_dump(by_alias=True, mode="json", exclude_none=True)
    base = doc["llmBaseModels"][0]
    doc["llmBaseModels"] = [{**base, **changes.pop("base", {})}]
    doc.update(changes)
    return PlatformSettings.model_validate(doc)


def _manifest(settings: PlatformSettings) -> dict[str, Any]:
    return shared_llm_manifest(settings, settings.llm_base_models[0], GRANTS, LABELS)


def test_adapters_of_the_base_only_sorted_with_their_tenant_buckets() -> None:
    obj = _manifest(_settings())
    llmisvc_validator().validate(obj)
    assert obj["spec"]["model"]["lora"]["adapters"] == [
        {"name": "acme-support", "uri": "s3://tenantry-acme-111122223333/adapters/support/"},
        {"name": "globex-chat", "uri": "s3://tenantry-globex-111122223333/adapters/chat/"},
    ]
    assert obj["spec"]["model"]["lora"]["maxRank"] == 16
    assert obj["metadata"]["annotations"]["tenantry.dev/artifact-digest"].startswith("sha256:")


@pytest.mark.parametrize(
    ("mode", "flag"),
    [("off", "--no-enable-prefix-caching"), ("per-tenant-salt", "--enable-prefix-caching")],
)
def test_prefix_caching_follows_the_setting(mode: str, flag: str) -> None:
    obj = _manifest(_settings(llmPrefixCaching=mode))
    args = obj["spec"]["template"]["containers"][0]["args"]
    assert flag in args and "--scheduling-policy=priority" in args
    assert tenant_llm_routes(_settings(llmPrefixCaching=mode), GRANTS)["cacheSalt"] is (
        mode == "per-tenant-salt"
    )


def test_whole_gpus_use_tensor_parallelism_and_validate() -> None:
    obj = _manifest(_settings(base={"gpu": "gpu", "gpus": 4}))
    llmisvc_validator().validate(obj)
    assert obj["spec"]["parallelism"] == {"tensor": 4}
    # ephemeral storage: the weights fit the 4 x 80 GiB they are served from, + /tmp 4 + logs 1
    assert obj["spec"]["template"]["containers"][0]["resources"]["limits"] == {
        "nvidia.com/gpu": "4",
        "ephemeral-storage": "325Gi",
    }


def test_a_mig_slice_bounds_the_weights_by_its_own_memory() -> None:
    obj = _manifest(_settings(base={"gpu": "3g.40gb"}))
    resources = obj["spec"]["template"]["containers"][0]["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"]["ephemeral-storage"] == "45Gi"  # 40 + /tmp 4 + logs 1


def test_runtime_runs_at_the_highest_tier_it_serves() -> None:
    obj = _manifest(_settings(base={"tiers": ["shared"]}))
    assert obj["spec"]["template"]["priorityClassName"] == "tenantry-shared"
    obj = _manifest(_settings(base={"tiers": ["shared", "premium"]}))
    assert obj["spec"]["template"]["priorityClassName"] == "tenantry-premium"


def test_strict_schema_rejects_an_unknown_field() -> None:
    obj = _manifest(_settings())
    obj["spec"]["model"]["lora"]["maxLoraRank"] = 8
    with pytest.raises(jsonschema.ValidationError, match="maxLoraRank"):
        llmisvc_validator().validate(obj)


def test_routes_pin_each_tenant_to_its_own_adapters_and_tier_priority() -> None:
    routes = tenant_llm_routes(_settings(), GRANTS)
    assert routes["blockedPaths"] == list(BLOCKED_PATHS)
    acme, globex = routes["tenants"]["acme"], routes["tenants"]["globex"]
    assert set(acme["models"]) == {"acme-support", "acme-x"}
    assert set(globex["models"]) == {"globex-chat"}
    assert acme["priority"] == 1 and globex["priority"] == 2  # vLLM: lower is served first
    assert acme["models"]["acme-x"]["runtime"] == "tenantry-llm/tenantry-llm-other"


def test_platform_refuses_bad_base_models() -> None:
    with pytest.raises(Exception, match="is not a shared pool"):
        _settings(base={"pool": "nope"})
    with pytest.raises(Exception, match="needs"):
        _settings(base={"gpus": 2})  # two devices of a MIG slice


def test_a_bucket_suffix_names_one_bucket_on_every_side() -> None:
    """The platform's ``bucketSuffix`` names the tenant stack's bucket and the platform's
    adapter URIs alike (before, the URIs kept the account id: vLLM read a bucket that did
    not exist). The platform's adapter-read policy takes its bucket from the same grants."""
    from tenantry import Tenant, TenantArgs
    from tenantry.platform.program import platform_plan
    from tenantry.testing import platform_inputs, record
    from tests.components.helpers import ROOT, tenants

    settings = _settings(bucketSuffix="stg")
    grants = platform_plan(ROOT / "tenants", settings).llm_grants
    assert grants, "the example tenants declare LLM adapters"
    for g in grants:
        args = TenantArgs.from_spec(tenants()[g.tenant], settings, platform_inputs())
        rec = record(lambda n=g.tenant, args=args: Tenant(n, args))
        (bucket,) = [r.inputs["bucket"] for r in rec.records if r.type == "aws:s3/bucket:Bucket"]
        assert bucket == g.bucket == f"tenantry-{g.tenant}-stg"
    base = settings.llm_base_models[0]
    adapters = shared_llm_manifest(settings, base, grants, LABELS)["spec"]["model"]["lora"]
    assert {a["uri"] for a in adapters["adapters"]} == {
        f"s3://tenantry-{g.tenant}-stg/{g.adapter.path}"
        for g in grants
        if g.adapter.base_model == base.name
    }


@pytest.mark.parametrize("suffix", ["-a", "a-", "a--b", "A1", "a" * 14, "a"])
def test_a_bucket_suffix_that_would_break_a_bucket_name_is_refused(suffix: str) -> None:
    with pytest.raises(ValueError, match="bucketSuffix"):
        _settings(bucketSuffix=suffix)
