"""The LLM gateway's render and the fences of ``tenantry-llm`` (:mod:`tenantry.k8s.llm_gateway`,
declared by :class:`tenantry.platform.llm.SharedLlms`): the image setting and the salt key are
required before anything is declared, the Deployment runs what the gateway's CLI reads, the
Secret holds the configured key as a secret, and the NetworkPolicies, as rendered, admit only
the gateway to the runtimes and only granted tenants and monitoring to the gateway."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tenantry import Platform, PlatformArgs
from tenantry.engine import record, record_platform
from tenantry.k8s.llm_gateway import (
    GATEWAY_LABELS,
    GATEWAY_PORT,
    METRICS_PORT,
    VLLM_PORT,
    gateway_args,
    workload_service_url,
    workload_tls_secret,
)
from tenantry.k8s.llm_inference_service import LLM_NAMESPACE
from tenantry.platform import PlatformProgramError
from tenantry.policy.reachability.netpol import Endpoint, Network, network_policy
from tenantry.spec import PlatformSettings
from tests.components.helpers import ROOT, platform

from .helpers import (
    GATEWAY_IMAGE,
    REDIS_DIGEST,
    REDIS_PASSWORD,
    SALT_KEY,
    VLLM_DIGEST,
    example_plan,
    platform_records,
)

RUNTIME_LABELS = {
    "app.kubernetes.io/part-of": "llminferenceservice",
    "app.kubernetes.io/name": "tenantry-llm-llama-3-8b",
    "app.kubernetes.io/component": "llminferenceservice-workload",
}


def _settings(**changes: Any) -> PlatformSettings:
    data = platform().model_dump(by_alias=True)
    data.update(changes)
    return PlatformSettings.model_validate(data)


def _records(settings: PlatformSettings, **kw: Any) -> dict[str, Any]:
    def program() -> None:
        args = PlatformArgs.from_spec(
            settings,
            example_plan(),
            vector_db_password="pw",
            triton_admin_secret="triton-secret",
            unpinned_preview=True,
            **kw,
        )
        Platform("platform", args)

    return {r.name: r for r in record(program, stack="platform")}


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/tenantry/llm-gateway:1.0",  # a tag: not pinned
        "registry.example.com/tenantry/llm-gateway@sha256:abc",  # not a sha256 digest
        "sha256:" + "a" * 64,  # a digest without the image
    ],
)
def test_a_gateway_image_not_pinned_by_digest_is_refused(image: str) -> None:
    with pytest.raises(ValidationError, match="llmGatewayImage"):
        _settings(llmGatewayImage=image)
    assert _settings(llmGatewayImage=GATEWAY_IMAGE).llm_gateway_image == GATEWAY_IMAGE


def test_base_models_without_the_gateway_image_or_salt_key_declare_nothing() -> None:
    digest = "sha256:" + "1" * 64
    declared: list[str] = []

    def program(settings: PlatformSettings, **kw: Any) -> None:
        args = PlatformArgs.from_spec(
            settings,
            example_plan(),
            vector_db_password="pw",
            triton_admin_secret="triton-secret",
            **kw,
        )
        Platform("platform", args)

    pins = {
        "tritonImageDigest": digest,
        "vllmImageDigest": VLLM_DIGEST,
        "llmRedisImageDigest": REDIS_DIGEST,
    }
    secrets = {"llm_salt_key": SALT_KEY, "llm_redis_password": REDIS_PASSWORD}
    all_pins = {**pins, "llmGatewayImage": GATEWAY_IMAGE}
    no_redis_pin = {k: v for k, v in all_pins.items() if k != "llmRedisImageDigest"}
    for settings, kw, names in (
        (_settings(**pins), secrets, "llmGatewayImage"),
        (_settings(**all_pins), {"llm_redis_password": REDIS_PASSWORD}, "llmSaltKey"),
        (
            _settings(**{k: v for k, v in all_pins.items() if k != "vllmImageDigest"}),
            secrets,
            "vllmImageDigest is not set; llmBaseModels run vllm/vllm-openai:v0.11.0",
        ),
        (
            _settings(**no_redis_pin),
            secrets,
            "llmRedisImageDigest is not set; llmGatewayReplicas 2 share their token buckets "
            "in Redis",
        ),
        (_settings(**all_pins), {"llm_salt_key": SALT_KEY}, "tenantry:llmRedisPassword: not set"),
    ):
        with pytest.raises(PlatformProgramError, match=names) as exc:
            declared += [
                r.name for r in record(lambda s=settings, kw=kw: program(s, **kw), stack="platform")
            ]
        assert "\n" not in str(exc.value) and "nothing was declared" in str(exc.value)
    assert declared == []
    # an offline preview renders without either: the image by an unpinned tag (annotated) and
    # a placeholder key, masked like every secret
    recs = _records(_settings())
    assert recs["platform-llm-salt"].inputs["stringData"] == {"salt-key": "<secret>"}
    meta = recs["platform-llm-gateway"].inputs["metadata"]
    assert meta["annotations"] == {"tenantry.dev/unpinned-image": "llmGatewayImage is not set"}
    runtimes = [r for n, r in recs.items() if r.type.endswith(":LLMInferenceService")]
    assert runtimes
    for r in runtimes:
        main, sync = r.inputs["spec"]["template"]["containers"]
        assert main["image"] == "vllm/vllm-openai:v0.11.0"
        assert sync["image"] == "tenantry/llm-gateway:unpinned"
        assert r.inputs["metadata"]["annotations"]["tenantry.dev/unpinned-image"].startswith(
            "vllmImageDigest is not set"
        )
    # with both, it deploys, pulling the gateway by its digest
    recs = _records(
        _settings(
            llmGatewayImage=GATEWAY_IMAGE,
            tritonImageDigest="sha256:" + "1" * 64,
            vllmImageDigest=VLLM_DIGEST,
        ),
        llm_salt_key=SALT_KEY,
    )
    for r in recs.values():
        if r.type.endswith(":LLMInferenceService"):  # pulled by digest, not annotated
            main, sync = r.inputs["spec"]["template"]["containers"]
            assert main["image"] == f"vllm/vllm-openai:v0.11.0@{VLLM_DIGEST}"
            assert sync["image"] == GATEWAY_IMAGE  # the adapter sync: the same Tenantry image
            assert "tenantry.dev/unpinned-image" not in r.inputs["metadata"]["annotations"]
    spec = recs["platform-llm-gateway"].inputs["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == GATEWAY_IMAGE
    assert "annotations" not in recs["platform-llm-gateway"].inputs["metadata"]


def test_the_salt_secret_holds_the_configured_key_as_a_secret() -> None:
    """The key is the platform stack's secret config, passed through as it is (never derived
    from another secret); the recorder shows it masked."""
    recs = _records(_settings(), llm_salt_key=SALT_KEY)
    secret = recs["platform-llm-salt"]
    assert secret.inputs["metadata"] == {
        "name": "tenantry-llm-salt",
        "namespace": LLM_NAMESPACE,
        "labels": secret.inputs["metadata"]["labels"],
    }
    assert secret.inputs["stringData"] == {"salt-key": "<secret>"}
    # the stack program reads it from its secret config
    main = (ROOT / "stacks" / "__main__.py").read_text()
    assert 'llm_salt_key=cfg.get_secret("llmSaltKey")' in main


def test_the_deployment_runs_what_the_gateway_reads() -> None:
    settings = platform()
    (dep,) = [r for r in platform_records() if r.name == "platform-llm-gateway"]
    pod = dep.inputs["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"] == gateway_args(settings)
    args = dict(zip(c["args"][::2], c["args"][1::2], strict=True))
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert args["--routes"] == f"{mounts['routes']}/routes.json"
    assert volumes["routes"]["configMap"]["name"] == "tenantry-llm-routes"
    assert args["--salt-key-file"] == f"{mounts['salt']}/salt-key"
    assert volumes["salt"]["secret"]["secretName"] == "tenantry-llm-salt"
    # KServe's default (enableLLMInferenceServiceTLS off, llmRuntimeTls false): plain http
    # to the workload Service (inside the mesh's mTLS) and no certificate Secret waited for
    assert settings.llm_runtime_tls is False
    assert args["--upstream"] == (
        "llama-3-8b=http://tenantry-llm-llama-3-8b-kserve-workload-svc"
        f".{LLM_NAMESPACE}.svc.cluster.local:8000"
    )
    assert "--upstream-ca" not in c["args"]
    # two replicas (the default) share their limits in the platform's Redis
    assert (
        args["--redis"]
        == "redis://tenantry-llm-gateway-redis.tenantry-llm.svc.cluster.local:6379/0"
    )
    assert args["--redis-password-file"] == f"{mounts['redis']}/password"
    assert volumes["redis"]["secret"] == {
        "secretName": "tenantry-llm-gateway-redis",
        "items": [{"key": "password", "path": "password"}],
    }
    assert set(mounts) == set(volumes) == {"routes", "salt", "redis"}
    assert (args["--port"], args["--metrics-port"]) == (str(GATEWAY_PORT), str(METRICS_PORT))
    assert args["--trust-domain"] == settings.mesh.trust_domain
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory", "ephemeral-storage"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["serviceAccountName"] == "tenantry-llm-gateway"
    assert dep.inputs["spec"]["selector"]["matchLabels"] == GATEWAY_LABELS
    # in the mesh: the namespace carries the injection label
    (ns,) = [r for r in platform_records() if r.name == "platform-llm-namespace"]
    assert ns.inputs["metadata"]["labels"]["istio-injection"] == "enabled"


def test_with_runtime_tls_the_gateway_trusts_kserve_certificate_of_each_runtime() -> None:
    """llmRuntimeTls true (KServe's enableLLMInferenceServiceTLS set by the operator): https
    and each runtime's ca.crt mounted and trusted, nothing else."""
    settings = _settings(llmGatewayImage=GATEWAY_IMAGE, llmRuntimeTls=True)
    assert settings.llm_runtime_tls is True
    dep = _records(settings, llm_salt_key=SALT_KEY)["platform-llm-gateway"]
    pod = dep.inputs["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"] == gateway_args(settings)
    args = dict(zip(c["args"][::2], c["args"][1::2], strict=True))
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert args["--upstream"] == f"llama-3-8b={workload_service_url('llama-3-8b', True)}"
    assert args["--upstream"] == (
        "llama-3-8b=https://tenantry-llm-llama-3-8b-kserve-workload-svc"
        f".{LLM_NAMESPACE}.svc.cluster.local:8000"
    )
    assert args["--upstream-ca"] == f"{mounts['upstream-ca']}/llama-3-8b.crt"
    (source,) = volumes["upstream-ca"]["projected"]["sources"]
    assert source == {
        "secret": {
            "name": "tenantry-llm-llama-3-8b-kserve-self-signed-certs",
            "items": [{"key": "ca.crt", "path": "llama-3-8b.crt"}],
        }
    }
    assert workload_tls_secret("llama-3-8b") == source["secret"]["name"]


def test_runtime_tls_setting_is_a_bool() -> None:
    with pytest.raises(ValidationError, match="llmRuntimeTls"):
        _settings(llmRuntimeTls="sometimes")


def _network() -> Network:
    policies = [
        network_policy(r.inputs)
        for r in platform_records()
        if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
        and r.inputs["metadata"]["namespace"] == LLM_NAMESPACE
    ]
    assert {p.name for p in policies} == {
        "default-deny",
        "runtime-from-gateway",
        "gateway-callers",
        "redis-from-gateway",
    }
    return Network(policies, {})


def _pod(ns: str, labels: dict[str, str]) -> Endpoint:
    return Endpoint(ns, tuple(sorted(labels.items())), "10.0.0.1")


def test_only_the_gateway_reaches_the_runtime_and_only_granted_tenants_the_gateway() -> None:
    """The rendered NetworkPolicies under the Kubernetes NetworkPolicy model
    (tenantry.policy.reachability.netpol). acme holds the example's only adapter grant; its
    allowed namespace acme-apps calls as acme."""
    net = _network()
    runtime = _pod(LLM_NAMESPACE, RUNTIME_LABELS)
    gateway = _pod(LLM_NAMESPACE, GATEWAY_LABELS)
    prometheus = _pod("monitoring", {"app": "prometheus"})
    assert net.allows(gateway, runtime, VLLM_PORT).allowed
    for src in (
        prometheus,
        _pod("acme", {"app": "client"}),
        _pod(LLM_NAMESPACE, {"app": "other"}),
        _pod("istio-system", {"istio": "ingressgateway"}),
    ):
        assert not net.allows(src, runtime, VLLM_PORT).allowed, src
    assert not net.allows(gateway, runtime, 9090).allowed
    acme = _pod("acme", {"app": "client"})
    assert net.allows(acme, gateway, GATEWAY_PORT).allowed
    assert not net.allows(acme, gateway, METRICS_PORT).allowed
    assert net.allows(prometheus, gateway, METRICS_PORT).allowed
    assert not net.allows(prometheus, gateway, GATEWAY_PORT).allowed
    # acme's allowed namespace calls its adapters as acme does
    assert net.allows(_pod("acme-apps", {"app": "client"}), gateway, GATEWAY_PORT).allowed
    for ns in ("globex", "globex-support", "initech", "initech-ehr"):  # no adapter grants
        assert not net.allows(_pod(ns, {"app": "client"}), gateway, GATEWAY_PORT).allowed, ns


def test_render_platform_without_llm_base_models_has_no_gateway(tmp_path: Any) -> None:
    import shutil

    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    cfg = stacks / "Pulumi.platform.yaml"
    text = cfg.read_text()
    start = text.index("    llmBaseModels:")
    end = text.index("    costAllocationTags:")
    cfg.write_text(text[:start] + text[end:])
    tenants = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", tenants)
    acme = tenants / "acme.yaml"
    a = acme.read_text()
    acme.write_text(a[: a.index("  llmAdapters:")] + a[a.index("  access:") :])
    names = {r.name for r in record_platform(tenants, stacks)}
    assert not any(n.startswith("platform-llm") for n in names)


def test_long_runtime_names_are_cut_as_kserve_cuts_them() -> None:
    """KServe names the workload Service and the certificate Secret with Knative's
    kmeta.ChildName (kserve v0.20.0 workload.go, workload_tls_self_signed.go): past 63
    characters the name is cut and hashed, and the gateway must use the same names."""
    base = "b" * 40  # the longest base model name the spec accepts
    secret = workload_tls_secret(base)
    svc = workload_service_url(base, True).removeprefix("https://").split(".")[0]
    assert (
        workload_service_url(base, False) == f"http://{svc}.{LLM_NAMESPACE}.svc.cluster.local:8000"
    )
    parent = f"tenantry-llm-{base}"
    for name, suffix in ((secret, "-kserve-self-signed-certs"), (svc, "-kserve-workload-svc")):
        assert len(parent + suffix) > 63 and len(name) == 63
        assert name.endswith(suffix) and name.startswith(parent[: 31 - len(suffix)])
    assert workload_tls_secret("llama-3-8b") == "tenantry-llm-llama-3-8b-kserve-self-signed-certs"
