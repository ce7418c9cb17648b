"""The shared base LLMs' LLMInferenceService, its adapters ConfigMap and the gateway's routes
(:mod:`tenantry.k8s.llm_inference_service`): valid under the strict v1alpha2 CRD in every
variant, adapters of the base only and loaded at runtime (an adapter change leaves the
LLMInferenceService identical), prefix caching by setting, priority by tier."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tenantry.k8s.llm_inference_service import (
    ADAPTER_DIR,
    BLOCKED_PATHS,
    SYNC_CONTAINER,
    AdapterGrant,
    adapters_config_map,
    runtime_adapters,
    runtime_model,
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
    return shared_llm_manifest(settings, settings.llm_base_models[0], LABELS)


ZEROS = "0" * 64


def test_adapters_of_the_base_only_sorted_with_their_tenant_buckets() -> None:
    settings = _settings()
    obj = _manifest(settings)
    llmisvc_validator().validate(obj)
    assert "lora" not in obj["spec"]["model"]  # KServe would roll the pods on any change
    assert runtime_adapters("llama-3-8b", GRANTS) == {
        "baseModel": "llama-3-8b",
        "adapters": {
            f"acme-support--{ZEROS}": {
                "servedName": "acme-support",
                "tenant": "acme",
                "uri": "s3://tenantry-acme-111122223333/adapters/support/",
                "digest": f"sha256:{ZEROS}",
            },
            f"globex-chat--{ZEROS}": {
                "servedName": "globex-chat",
                "tenant": "globex",
                "uri": "s3://tenantry-globex-111122223333/adapters/chat/",
                "digest": f"sha256:{ZEROS}",
            },
        },
    }
    main, sync = obj["spec"]["template"]["containers"]
    assert "--enable-lora" in main["args"] and "--max-lora-rank=16" in main["args"]
    assert {e["name"]: e["value"] for e in main["env"]} == {
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true",
        "VLLM_LORA_RESOLVER_CACHE_DIR": ADAPTER_DIR,
    }
    assert {"name": "adapters", "mountPath": ADAPTER_DIR, "readOnly": True} in main["volumeMounts"]
    assert sync["name"] == SYNC_CONTAINER
    assert sync["command"] == ["python", "-m", "tenantry.llmadapters"]
    # it unloads retired versions from vLLM over the pod's loopback
    assert sync["args"][sync["args"].index("--vllm-url") + 1] == "http://127.0.0.1:8000"
    assert "--vllm-ca" not in sync["args"]
    assert {"name": "adapters", "mountPath": ADAPTER_DIR} in sync["volumeMounts"]
    volumes = {v["name"]: v for v in obj["spec"]["template"]["volumes"]}
    assert volumes["adapters-config"]["configMap"] == {"name": adapters_config_map("llama-3-8b")}
    assert obj["metadata"]["annotations"]["tenantry.dev/artifact-digest"].startswith("sha256:")


def test_with_runtime_tls_the_sync_verifies_kserves_certificate() -> None:
    obj = _manifest(_settings(llmRuntimeTls=True))
    llmisvc_validator().validate(obj)
    _, sync = obj["spec"]["template"]["containers"]
    args = sync["args"]
    assert args[args.index("--vllm-url") + 1] == "https://localhost:8000"  # in its SANs
    ca = args[args.index("--vllm-ca") + 1]
    mount = next(m for m in sync["volumeMounts"] if m["name"] == "runtime-tls")
    assert ca == f"{mount['mountPath']}/ca.crt"
    volumes = {v["name"]: v for v in obj["spec"]["template"]["volumes"]}
    assert volumes["runtime-tls"]["secret"]["secretName"] == (
        "tenantry-llm-llama-3-8b-kserve-self-signed-certs"
    )


def _changed(grants: list[AdapterGrant], i: int, **changes: str) -> list[AdapterGrant]:
    g = grants[i]
    adapter = g.adapter.__class__(**{**g.adapter.__dict__, **changes})
    return [*grants[:i], AdapterGrant(g.tenant, g.tier, g.bucket, adapter), *grants[i + 1 :]]


@pytest.mark.parametrize(
    "after",
    [
        pytest.param(_changed(GRANTS, 1, digest="sha256:" + "1" * 64), id="changed"),
        pytest.param(GRANTS[:1] + GRANTS[2:], id="removed"),
        pytest.param(
            [*GRANTS, AdapterGrant("initech", "shared", "b", _adapter("initech", "new"))],
            id="added",
        ),
    ],
)
def test_an_adapter_change_changes_only_the_configmaps_never_the_runtime(
    after: list[AdapterGrant],
) -> None:
    """Issue 20: one tenant's adapter change must not roll the shared runtime. The whole
    request-path render of ``tenantry-llm`` before and after: every object identical except
    the adapters ConfigMap of the base and the gateway's routes (both mounted as ConfigMap
    volumes, updated in place by the kubelet) and, for a new tenant, its grants to reach
    the gateway."""
    from tenantry.k8s.llm_gateway import request_path_objects

    settings = _settings()

    def by_key(grants: list[AdapterGrant]) -> dict[tuple[str, str], dict[str, Any]]:
        objs = request_path_objects(settings, grants, LABELS)
        return {(o["kind"], o["metadata"]["name"]): o for o in objs}

    before, now = by_key(GRANTS), by_key(after)
    assert before.keys() == now.keys()
    differ = {k for k in before if before[k] != now[k]}
    allowed = {
        ("ConfigMap", adapters_config_map("llama-3-8b")),
        ("ConfigMap", "tenantry-llm-routes"),
        # a new tenant is admitted to the gateway (not a pod template: no restart)
        ("NetworkPolicy", "gateway-callers"),
        ("AuthorizationPolicy", "tenantry-llm-gateway-callers"),
    }
    assert ("ConfigMap", adapters_config_map("llama-3-8b")) in differ
    assert differ <= allowed, differ - allowed
    runtime = ("LLMInferenceService", "tenantry-llm-llama-3-8b")
    assert before[runtime] == now[runtime]
    llmisvc_validator().validate(now[runtime])
    assert (
        before[("Deployment", "tenantry-llm-gateway")]
        == now[("Deployment", "tenantry-llm-gateway")]
    )


def test_the_runtime_name_includes_the_digest_and_the_routes_name_it() -> None:
    routes = tenant_llm_routes(_settings(), GRANTS)
    entry = routes["tenants"]["acme"]["models"]["acme-support"]
    assert entry["runtimeModel"] == runtime_model("acme-support", f"sha256:{ZEROS}")
    assert entry["runtimeModel"] in runtime_adapters("llama-3-8b", GRANTS)["adapters"]
    assert runtime_model("a", "sha256:" + "1" * 64) != runtime_model("a", f"sha256:{ZEROS}")


@pytest.mark.parametrize(
    ("mode", "flag"),
    [("off", "--no-enable-prefix-caching"), ("per-tenant-salt", "--enable-prefix-caching")],
)
def test_prefix_caching_follows_the_setting(mode: str, flag: str) -> None:
    obj = _manifest(_settings(llmPrefixCaching=mode))
    args = obj["spec"]["template"]["containers"][0]["args"]
    assert flag in args and "--scheduling-policy=priority" in args
    assert obj["spec"]["template"]["containers"][0]["name"] == "main"
    assert tenant_llm_routes(_settings(llmPrefixCaching=mode), GRANTS)["cacheSalt"] is (
        mode == "per-tenant-salt"
    )


def test_whole_gpus_use_tensor_parallelism_and_validate() -> None:
    obj = _manifest(_settings(base={"gpu": "gpu", "gpus": 4}))
    llmisvc_validator().validate(obj)
    assert obj["spec"]["parallelism"] == {"tensor": 4}
    # ephemeral storage: the weights fit the 4 x 80 GiB they are served from, + /tmp 4 + logs 1;
    # CPU 2 x (2 + 4), memory 320 + /dev/shm 8 + 2 x (2 + 4) (tenantry.spec.llm_sizing)
    assert obj["spec"]["template"]["containers"][0]["resources"]["limits"] == {
        "nvidia.com/gpu": "4",
        "cpu": "12",
        "memory": "340Gi",
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
    obj["spec"]["model"]["maxLoraRank"] = 8
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
    adapters = runtime_adapters(base.name, grants)["adapters"]
    assert {a["uri"] for a in adapters.values()} == {
        f"s3://tenantry-{g.tenant}-stg/{g.adapter.path}"
        for g in grants
        if g.adapter.base_model == base.name
    }


@pytest.mark.parametrize("suffix", ["-a", "a-", "a--b", "A1", "a" * 14, "a"])
def test_a_bucket_suffix_that_would_break_a_bucket_name_is_refused(suffix: str) -> None:
    with pytest.raises(ValueError, match="bucketSuffix"):
        _settings(bucketSuffix=suffix)
