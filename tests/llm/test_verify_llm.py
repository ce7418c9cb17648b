"""``tenantry verify``'s LLM checks (:func:`tenantry.verify.llm.verify_llm`) against the real
Tenantry LLM gateway in front of the real vLLM (tests/llm/conftest.py): a tenant's adapter
passes every check, the budget refusal included, and the checks fail where the deployment is
wrong (a budget other than the declared one, another tenant's adapter served)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tenantry.devserver.llm import GatewayServer, running_llm_gateway
from tenantry.spec.resolved import ResolvedLlm, ResolvedLlmAdapter
from tenantry.verify.llm import HttpLlmEndpoint, Reply, verify_llm, verify_own_llm
from tests.llm.conftest import call
from tests.llm.test_gateway import A_MODEL, B_MODEL, BASE, A, routes, xfcc

pytestmark = pytest.mark.server
TPM = 300  # small: the refusal comes after a few dozen completions on the tiny model


@dataclass
class Tenant:
    name: str
    llm_adapters: tuple[ResolvedLlmAdapter, ...]


def tenant_a(tpm: int = TPM) -> Tenant:
    a = ResolvedLlmAdapter(
        name="adapter",
        served_name=A_MODEL,
        base_model=BASE,
        path="adapters/adapter/",
        digest="sha256:" + "0" * 64,
        rank=8,
        tokens_per_minute=tpm,
        max_concurrent_requests=8,
    )
    return Tenant(A, (a,))


class AsTenant(HttpLlmEndpoint):
    """What the caller's and the gateway's sidecars do for a pod of ``tenant``: the gateway
    reads the identity from X-Forwarded-Client-Cert."""

    def __init__(self, url: str, tenant: str) -> None:
        super().__init__(url, xfcc(tenant), timeout=120)


@pytest.fixture(scope="module")
def gw(vllm: str) -> Iterator[GatewayServer]:
    with running_llm_gateway(
        routes(a={"tpm": TPM, "conc": 8}), {BASE: vllm}
    ) as server:  # fmt: skip
        yield server


def by_check(results: list[Any]) -> dict[str, Any]:
    return {r.check: r for r in results}


def test_a_tenants_adapter_passes_every_check_through_the_gateway(gw: GatewayServer) -> None:
    got = by_check(verify_llm(tenant_a(), AsTenant(gw.url, A), [B_MODEL], exhaust=True))
    assert {k: r.ok for k, r in got.items()} == {
        "completion": True,
        "budget accounting": True,
        "other tenants refused": True,
        "budget refusal": True,
    }, {k: r.detail for k, r in got.items()}
    assert not any(r.skipped for r in got.values())
    assert got["budget refusal"].detail.startswith("429 rate_limit_exceeded after ")


def test_the_checks_fail_where_the_deployment_differs_from_the_file(vllm: str) -> None:
    with running_llm_gateway(routes(), {BASE: vllm}) as roomy:  # 10M tokens/min each
        # the file declares another budget than the gateway enforces
        got = by_check(verify_llm(tenant_a(), AsTenant(roomy.url, A), [B_MODEL]))
        assert not got["completion"].ok
        assert got["completion"].detail == (
            "x-ratelimit-limit-tokens '10000000': the declared tokensPerMinute is 300"
        )
        assert got["budget accounting"].skipped
        gw_url = roomy.url
        # a gateway that serves another tenant's adapter to this one (as if pinning were off)

        class Unpinned(AsTenant):
            def post(self, path: str, body: Mapping[str, Any]) -> Reply:
                owner = "tenant-b" if body.get("model") == B_MODEL else A
                return HttpLlmEndpoint(self.base_url, xfcc(owner), 120).post(path, body)

        got = by_check(verify_llm(tenant_a(10_000_000), Unpinned(gw_url, A), [B_MODEL]))
        assert got["completion"].ok and got["budget accounting"].ok
        assert not got["other tenants refused"].ok
        assert got["other tenants refused"].detail.startswith(f"{B_MODEL}: HTTP 200")


@dataclass
class OwnTenant:
    name: str
    llms: tuple[ResolvedLlm, ...]


def own_tenant(max_model_len: int) -> OwnTenant:
    """A tenant ``tiny`` whose own LLM ``base`` is served as ``tiny-base``: the fixture's
    vLLM (``--served-model-name tiny-base``, ``--max-model-len 2048``)."""
    llm = ResolvedLlm(
        name="base",
        served_name=BASE,
        path="models/base/",
        digest="sha256:" + "0" * 64,
        gpu="gpu",
        gpu_resource="nvidia.com/gpu",
        gpus=1,
        gpu_model="h100",
        target_kind="shared-pool",
        target="h100",
        replicas=1,
        max_model_len=max_model_len,
        cpu=6,
        memory_gib=94,
    )
    return OwnTenant("tiny", (llm,))


def test_an_own_llm_on_the_real_vllm(vllm: str) -> None:
    """Straight to vLLM, as a tenant's allowed namespaces reach its own LLM: the completion
    and the refusal of a name nobody serves pass; the fixture also serves two adapters, which
    an own LLM Tenantry renders never does, so "declared model" fails naming them, and a
    declared maxModelLen other than the server's fails too."""
    assert BASE == "tiny-base"
    got = by_check(verify_own_llm(own_tenant(2048), {"base": HttpLlmEndpoint(vllm)}))
    assert got["completion"].ok, got["completion"].detail
    assert got["completion"].detail.startswith("200, usage ")
    assert got["unknown name refused"].ok, got["unknown name refused"].detail
    declared = got["declared model"]
    assert not declared.ok
    # what the session's vLLM serves: the fixture's two adapters, and the runtime names other
    # tests had it resolve (tests/llm/test_gateway.py routes by them)
    _, models = call(f"{vllm}/v1/models")
    served = sorted(m["id"] for m in models["data"])
    assert {BASE, A_MODEL, B_MODEL} <= set(served)
    assert declared.detail == f"serves {served}: declared only [{BASE!r}]"
    got = by_check(verify_own_llm(own_tenant(8192), {"base": HttpLlmEndpoint(vllm)}))
    assert "max_model_len 2048: declared maxModelLen 8192" in got["declared model"].detail
