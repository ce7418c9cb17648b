"""Cost estimates from the catalog's dated prices."""

from __future__ import annotations

import pytest

from tenantry.cost import HOURS_PER_MONTH, UnpricedError, estimate, model_rates
from tenantry.spec import PlatformSettings, load_registry
from tests.conftest import TENANTS


@pytest.fixture(scope="module")
def tenants(platform: PlatformSettings):  # type: ignore[no-untyped-def]
    return load_registry([TENANTS], platform).tenants


def test_dedicated_node_groups_priced_at_min_and_max(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    cost = estimate(tenants["umbrella"], platform)
    lines = {line.item: line for line in cost.lines}
    h100 = lines["node-group h100"]
    assert h100.monthly_usd_min == round(2 * 55.04 * HOURS_PER_MONTH, 2)
    assert h100.monthly_usd_max == round(3 * 55.04 * HOURS_PER_MONTH, 2)
    h200 = lines["node-group h200"]
    assert (h200.monthly_usd_min, h200.monthly_usd_max) == (0, round(63.30 * HOURS_PER_MONTH, 2))
    assert "spot" in h200.detail
    assert not any(item.startswith("shared-pool") for item in lines)


def test_shared_pool_share_by_mig_slices(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    cost = estimate(tenants["acme"], platform)
    [line] = cost.lines
    rate = 55.04 / 8
    # fraud-detector: 2 replicas x 2 revisions x 1/7; risk-embedder: 1 x 2/7
    assert line.monthly_usd_min == round((4 / 7 + 2 / 7) * rate * HOURS_PER_MONTH, 2)
    assert line.monthly_usd_max == round((8 / 7 + 4 / 7) * rate * HOURS_PER_MONTH, 2)


def test_isolated_tenants_pay_whole_gpus(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    [line] = estimate(tenants["initech"], platform).lines
    rate = 55.04 / 8
    # 2 x 3g (6/7) + 1 x 4g (4/7) = 10/7 GPUs, + its own LLM's whole GPU -> 3 whole GPUs;
    # at max 6/7 + 8/7 + 1 = 3
    assert line.monthly_usd_min == round(3 * rate * HOURS_PER_MONTH, 2)
    assert line.monthly_usd_max == round(3 * rate * HOURS_PER_MONTH, 2)


def test_cpu_only_models_priced_per_vcpu_of_the_general_nodes(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    cost = estimate(tenants["globex"], platform)
    assert [line.item for line in cost.lines] == ["shared-pool a100", "cpu-nodes m7i.xlarge"]
    cpu = cost.lines[1]
    # language-id: 1 core x 1..2 replicas at m7i.xlarge's $0.2016/h over 4 vCPUs
    assert cpu.monthly_usd_min == round(1 * 0.2016 / 4 * HOURS_PER_MONTH, 2)
    assert cpu.monthly_usd_max == round(2 * 0.2016 / 4 * HOURS_PER_MONTH, 2)
    assert cost.price_date == "2025-06-05"


def test_unpriced_general_instance_is_said_not_guessed(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    other = platform.model_copy(
        update={"cluster": platform.cluster.model_copy(update={"system_instance_type": "x9.huge"})}
    )
    cpu = estimate(tenants["globex"], other).lines[1]
    assert (cpu.monthly_usd_min, cpu.monthly_usd_max, cpu.priced) == (0.0, 0.0, False)
    assert cpu.detail.startswith("CPU not priced: 1-2 vCPUs of x9.huge")
    assert estimate(tenants["globex"], other).not_priced == ("cpu-nodes x9.huge",)
    with pytest.raises(UnpricedError, match=r"'x9\.huge' has no price in the catalog"):
        model_rates(tenants["globex"], tenants["globex"].models[1], other)


def test_cpu_burst_stops_at_the_cpu_quota(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    globex = tenants["globex"]
    gpu_model = replace(globex.models[0], max_replicas=globex.models[0].min_replicas)
    lang = replace(globex.models[1], max_replicas=10)  # 1 core each
    gpu_cores = gpu_model.cpu * gpu_model.min_replicas * gpu_model.revisions
    quotas = replace(globex.quotas, cpu=gpu_cores + 3, memory_gib=10_000)
    capped = replace(globex, models=(gpu_model, lang), quotas=quotas)
    cpu = estimate(capped, platform).lines[1]
    rate = 0.2016 / 4 * HOURS_PER_MONTH
    # the quota admits 3 cores of language-id: 1 guaranteed + 2 of the burst, not 10
    assert cpu.monthly_usd_max == round(3 * rate, 2)
    assert cpu.unreachable_usd == round(7 * rate, 2)
    assert "capped by the CPU quota at 3" in cpu.detail


def test_model_rates_share_and_unit_prices(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    acme = tenants["acme"]
    fraud = model_rates(acme, acme.models[0], platform)  # 1g.10gb on the h100 pool
    assert fraud.gpu_share == pytest.approx(1 / 7) and fraud.vcpus == 0
    assert fraud.usd_per_gpu_hour == pytest.approx(55.04 / 8)
    assert fraud.usd_per_replica_second == pytest.approx(55.04 / 8 / 7 / 3600)
    umbrella = tenants["umbrella"]
    caller = model_rates(umbrella, umbrella.models[1], platform)  # whole GPU, h200 node group
    assert (caller.gpu_share, caller.instance_type) == (1.0, "p5en.48xlarge")
    globex = tenants["globex"]
    lang = model_rates(globex, globex.models[1], platform)  # CPU-only, 1 core
    assert (lang.gpu_share, lang.vcpus, lang.instance_type) == (0.0, 1.0, "m7i.xlarge")
    assert lang.usd_per_replica_second == pytest.approx(0.2016 / 4 / 3600)


def test_cost_command_formats(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import io
    import json

    from tenantry.cli.main import main
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    assert main(["cost", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by = {t["tenant"]: t for t in doc["tenants"]}
    assert by["umbrella"]["costCenter"] == "CC-9001"
    assert by["umbrella"]["monthlyUsdMin"] == round(2 * 55.04 * HOURS_PER_MONTH, 2)
    assert main(["cost", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["tenant"] for r in rows} == {"acme", "globex", "initech", "umbrella"}
    # finance sees the CPU-only capacity, priced per vCPU of the general nodes
    (cpu,) = [r for r in rows if r["tenant"] == "globex" and r["item"].startswith("cpu-nodes")]
    assert (cpu["item"], cpu["monthly_usd_max"], cpu["priced"]) == (
        "cpu-nodes m7i.xlarge",
        str(round(2 * 0.2016 / 4 * HOURS_PER_MONTH, 2)),
        "True",
    )
    assert main(["cost"]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = next(i for i, line in enumerate(lines) if line.startswith("TOTAL"))
    assert lines[total + 1].startswith("(on-demand prices of ")
    (base,) = lines[total + 2 :]  # then one line per shared base model
    assert base.startswith("shared base model llama-3-8b: ")


def test_every_tenant_has_a_row_even_without_priced_capacity(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: a CPU-only tenant showed $0-$0 and had no line in the CSV. Its CPU is priced
    now; where the catalog has no price the row says so instead of $0."""
    from dataclasses import replace

    from tenantry.cli.cost import money_range, rows

    globex = tenants["globex"]
    cpu_only = replace(globex, models=tuple(m for m in globex.models if m.gpu is None))
    cost = estimate(cpu_only, platform)
    assert money_range(cost) == "$36.79-$73.58"
    unpriced = platform.model_copy(
        update={"cluster": platform.cluster.model_copy(update={"system_instance_type": "x9.huge"})}
    )
    cost = estimate(cpu_only, unpriced)
    assert money_range(cost) == "CPU not priced"
    assert [(r["item"], r["monthly_usd_max"], r["priced"]) for r in rows(cost)] == [
        ("cpu-nodes x9.huge", 0.0, False)
    ]
    empty = estimate(replace(globex, models=()), platform)
    assert [(r["item"], r["monthly_usd_max"]) for r in rows(empty)] == [("none", 0.0)]


def test_the_maximum_stops_at_the_gpu_quota(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: maxReplicas past the GPU quota added cost the quota would never admit."""
    from dataclasses import replace

    from tenantry.cli.cost import money_range

    globex = tenants["globex"]
    gpu_model = globex.models[0]
    burst = replace(globex, models=(replace(gpu_model, max_replicas=10), *globex.models[1:]))
    capped = estimate(burst, platform)
    assert capped.monthly_usd_max == estimate(globex, platform).monthly_usd_max  # quota: 3
    rate = 21.96 / 8 * HOURS_PER_MONTH  # an A100-40GB GPU-month on p4d.24xlarge
    assert capped.unreachable_usd == pytest.approx(7 * 1 / 7 * rate, abs=0.02)  # 7 x 1g.5gb
    assert "max capped by quota" in money_range(capped)


def test_an_own_llm_on_a_shared_pool_is_priced_and_counts_against_the_quota(
    tenants, platform
) -> None:  # type: ignore[no-untyped-def]
    """initech's clinical-llm holds one whole H100 of the shared pool all the time: it is
    in the tenant's share (it was not), and its GPU is taken from the quota first."""
    from dataclasses import replace

    initech = tenants["initech"]
    (llm,) = initech.llms
    assert (llm.target_kind, llm.gpu, llm.replicas, llm.gpus) == ("shared-pool", "gpu", 1, 1)
    with_llm = estimate(initech, platform)
    without = estimate(replace(initech, llms=()), platform)
    gpu_month = round(55.04 / 8 * HOURS_PER_MONTH, 2)
    assert with_llm.monthly_usd_min == pytest.approx(without.monthly_usd_min + gpu_month, abs=0.02)
    assert with_llm.monthly_usd_max == pytest.approx(without.monthly_usd_max + gpu_month, abs=0.02)
    # two replicas of tensor-parallel 2 hold 4 GPUs
    bigger = replace(initech, llms=(replace(llm, replicas=2, gpus=2),))
    assert estimate(bigger, platform).monthly_usd_min == pytest.approx(
        without.monthly_usd_min + 4 * gpu_month, abs=0.05
    )
