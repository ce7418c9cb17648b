"""CPU and memory of every vLLM replica (own LLMs, shared base models): the defaults
(:mod:`tenantry.spec.llm_sizing`), Guaranteed QoS in the render under the strict CRD,
the tenant's quota and pods quota, the node-fit rules at the field's line, and the fleet
planner's demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenantry.catalog import instance_types, node_allocatable
from tenantry.k8s.llm_inference_service import own_llm_manifest, shared_llm_manifest
from tenantry.k8s.namespace import quota_hard
from tenantry.planner.demand import extract_demands
from tenantry.planner.fleet import plan_pool
from tenantry.spec import PlatformSettings, TenantSpec
from tenantry.spec.llm_sizing import default_cpu, default_memory_gib, replica_resources
from tenantry.spec.platform import PlatformError, load_platform
from tenantry.spec.resolve import resolve
from tests.components.helpers import llmisvc_validator, platform
from tests.spec.helpers import codes, problems_for, variant
from tests.spec.test_platform_settings import TEXT, settings_dir

P5 = instance_types()["p5.48xlarge"]  # shared pool h100: 8 x H100-80GB, 192 vCPU, 2048 GiB
P5_ALLOC = node_allocatable(P5.vcpu, P5.memory_gib, gpu_node=True)


def _resources(obj: dict[str, Any]) -> dict[str, Any]:
    (vllm,) = (c for c in obj["spec"]["template"]["containers"] if c["name"] == "main")
    return dict(vllm["resources"])


def _own(change: dict[str, Any] | None = None) -> tuple[Any, Any]:
    d = variant("initech", lambda d: d["spec"]["llms"][0].update(change or {}))
    t = resolve(TenantSpec.model_validate(d), platform())
    return t, t.llms[0]


@pytest.mark.parametrize(
    ("gpu_model", "gpu", "gpus", "cpu", "memory"),
    [
        ("H100-80GB", "gpu", 1, 6, 80 + 8 + 6),
        ("H100-80GB", "gpu", 4, 12, 320 + 8 + 12),
        ("H100-80GB", "3g.40gb", 1, 6, 40 + 8 + 6),
        ("H100-80GB", "1g.10gb", 1, 6, 10 + 8 + 6),
    ],
)
def test_the_defaults_follow_the_devices_and_their_memory(
    gpu_model: str, gpu: str, gpus: int, cpu: float, memory: float
) -> None:
    """2 x (2 + N) cores (vLLM's 2 + N physical cores, two hyperthreads each); the replica's
    GPU memory (bounds the weights) + 8 GiB /dev/shm + 2 GiB per vLLM process."""
    assert replica_resources(gpu_model, gpu, gpus, None, None) == (cpu, memory)
    assert replica_resources(gpu_model, gpu, gpus, 3.5, 70) == (3.5, 70)
    devices = gpus if gpu == "gpu" else 1
    assert (default_cpu(devices), default_memory_gib(gpu_model, gpu, devices)) == (cpu, memory)


@pytest.mark.parametrize(
    ("change", "cpu", "memory"),
    [({}, "6", "94Gi"), ({"cpu": 10, "memoryGiB": 120}, "10", "120Gi")],
)
def test_an_own_llm_is_guaranteed_its_cpu_and_memory(
    change: dict[str, Any], cpu: str, memory: str
) -> None:
    """initech's clinical-llm (one whole H100): never the namespace LimitRange's 1 CPU/1Gi."""
    t, llm = _own(change)
    obj = own_llm_manifest(t, llm, "bucket", "initech-inference", "vllm/vllm-openai:v0.11.0")
    llmisvc_validator().validate(obj)
    res = _resources(obj)
    assert res["requests"] == res["limits"]
    assert (res["limits"]["cpu"], res["limits"]["memory"]) == (cpu, memory)
    assert res["limits"]["nvidia.com/gpu"] == "1"


@pytest.mark.parametrize(
    ("change", "cpu", "memory"),
    [
        ({}, "6", "54Gi"),
        ({"gpu": "gpu", "gpus": 2}, "8", "176Gi"),
        ({"memoryGiB": 200}, "6", "200Gi"),
    ],
)
def test_a_base_model_runtime_is_guaranteed_its_cpu_and_memory(
    change: dict[str, Any], cpu: str, memory: str
) -> None:
    """llama-3-8b on a 3g.40gb slice of pool h100: no longer BestEffort."""
    doc = platform().model_dump(by_alias=True, mode="json", exclude_none=True)
    doc["llmBaseModels"][0].update(change)
    s = PlatformSettings.model_validate(doc)
    obj = shared_llm_manifest(s, s.llm_base_models[0], {"tenant": "platform"})
    llmisvc_validator().validate(obj)
    res = _resources(obj)
    assert res["requests"] == res["limits"]
    assert (res["limits"]["cpu"], res["limits"]["memory"]) == (cpu, memory)


def test_own_llms_count_against_the_quota_and_the_pods_quota() -> None:
    """initech: models' demand + clinical-llm's 94 GiB; below it validate refuses at the
    quota's line, and each LLM replica is a pod of the namespace's pods quota."""
    base = problems_for(variant("initech", lambda d: None), platform())
    assert codes(base) == set() and codes(base, "warning") == set()
    low = variant("initech", lambda d: d["spec"]["quotas"].update(memoryGiB=100))
    got = problems_for(low, platform())
    assert ("quota_exceeded", "spec.quotas.memoryGiB") in codes(got)
    found = next(p for p in got if p.code == "quota_exceeded")
    assert found.line is not None and "GiB" in found.message
    t, _ = _own({"replicas": 3})
    t1, _ = _own()
    assert int(quota_hard(t)["pods"]) - int(quota_hard(t1)["pods"]) == 2 * 2


@pytest.mark.parametrize(
    ("field", "value", "refused"),
    [
        ("cpu", P5_ALLOC.cpu_m / 1000, False),
        ("cpu", (P5_ALLOC.cpu_m + 1) / 1000, True),
        ("memoryGiB", P5_ALLOC.memory_mib / 1024, False),
        ("memoryGiB", P5.memory_gib, True),
    ],
)
def test_an_own_llm_replica_fits_one_node_of_its_target(
    field: str, value: float, refused: bool
) -> None:
    """clinical-llm runs on pool h100 (p5.48xlarge): a replica asking for more CPU or memory
    than an empty node offers its pods is refused at the field's line."""
    d = variant("initech", lambda d: d["spec"]["llms"][0].update({field: value}))
    got = problems_for(d, platform())
    path = f"spec.llms[0].{field}"
    assert (("replica_exceeds_node", path) in codes(got)) is refused
    if refused:
        found = next(p for p in got if (p.code, p.path) == ("replica_exceeds_node", path))
        assert found.line is not None and found.value == value
        assert "p5.48xlarge" in found.message and found.accepted.startswith("<= ")


def test_a_base_model_replica_fits_one_node_at_its_line(tmp_path: Path) -> None:
    old = "        maxLoras: 8\n"
    text = TEXT.replace(old, old + f"        memoryGiB: {P5.memory_gib}\n")
    assert text != TEXT
    with pytest.raises(PlatformError) as info:
        load_platform(settings_dir(tmp_path, text))
    (p,) = info.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "memoryGiB: 2048" in t)
    assert (p.line, p.path) == (line, "tenantry:platform.llmBaseModels[0].memoryGiB")
    assert "p5.48xlarge" in p.message and "never be scheduled" in p.message
    fits = text.replace("memoryGiB: 2048", f"memoryGiB: {P5_ALLOC.memory_mib // 1024}")
    load_platform(settings_dir(tmp_path, fits))


def test_the_planner_counts_llm_cpu_and_memory_per_device() -> None:
    """Pool h100 holds llama-3-8b (2 replicas, 6 cores / 54 GiB each) and initech's
    clinical-llm (one whole GPU, 6 / 94); a 2-GPU replica is one pod of 8 cores / 176 GiB."""
    s = platform()
    t, _ = _own()
    demands = {d.name: d for d in extract_demands([t], s)}
    reqs = {r.model: r for d in demands.values() for r in d.requests}
    assert (reqs["llm:llama-3-8b"].cpu_m, reqs["llm:llama-3-8b"].memory_mib) == (6000, 54 * 1024)
    own = reqs["llm:clinical-llm"]
    assert (own.count, own.cpu_m, own.memory_mib) == (1, 6000, 94 * 1024)
    t2, _ = _own({"gpus": 2})
    two = next(r for d in extract_demands([t2], s) for r in d.requests if r.model == own.model)
    assert (two.count, two.devices, two.cpu_m, two.memory_mib) == (1, 2, 8000, 176 * 1024)


def test_llm_memory_alone_can_set_a_pools_node_count() -> None:
    """Eight whole-GPU replicas asking for 800 GiB each fit one p5.48xlarge by GPUs, not by
    memory: the plan takes the nodes their memory needs."""
    t, _ = _own({"replicas": 8, "memoryGiB": 800})
    demands = [d for d in extract_demands([t], platform()) if d.requests]
    pool = next(d for d in demands if any(r.model == "llm:clinical-llm" for r in d.requests))
    plan = plan_pool(pool)
    need = -(-8 * 800 * 1024 // P5_ALLOC.memory_mib)
    assert plan.gpu_nodes < plan.nodes and plan.nodes >= need and plan.bound_by == "memory"
    assert not plan.errors
