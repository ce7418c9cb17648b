"""Cost estimates from the catalog's dated prices."""

from __future__ import annotations

import pytest

from tenantry.cost import HOURS_PER_MONTH, UnpricedError, estimate, model_rates
from tenantry.spec import PlatformSettings, load_registry
from tests.conftest import TENANTS


@pytest.fixture(scope="module")
def tenants(platform: PlatformSettings):  # type: ignore[no-untyped-def]
    return load_registry([TENANTS], platform).tenants


def test_dedicated_node_groups_priced_from_the_plan_floor_to_max(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: umbrella's h200 group has minSize 0, but variant-caller (minReplicas 1, a
    whole GPU) runs on it, so the plan needs one node and the autoscaler keeps it: the floor
    is one p5en.48xlarge ($63.30/h), not $0."""
    cost = estimate(tenants["umbrella"], platform)
    lines = {line.item: line for line in cost.lines}
    h100 = lines["node-group h100"]
    assert h100.monthly_usd_min == round(2 * 55.04 * HOURS_PER_MONTH, 2)  # minSize 2 = needed
    assert h100.monthly_usd_max == round(3 * 55.04 * HOURS_PER_MONTH, 2)
    assert h100.detail == "2-3 x p5.48xlarge @ $55.04/h"
    h200 = lines["node-group h200"]
    assert (h200.monthly_usd_min, h200.monthly_usd_max) == (46209.0, 46209.0)
    assert h200.monthly_usd_min == round(1 * 63.30 * HOURS_PER_MONTH, 2)
    assert "floor 1 node(s), not minSize 0" in h200.detail and "spot" in h200.detail
    assert not any(item.startswith(("shared-pool", "tenant-nodes")) for item in lines)
    # without guaranteed demand on it the floor is minSize again
    from dataclasses import replace

    umbrella = tenants["umbrella"]
    caller = replace(umbrella.models[1], min_replicas=0)
    idle = replace(umbrella, models=(umbrella.models[0], caller))
    h200 = {x.item: x for x in estimate(idle, platform).lines}["node-group h200"]
    assert (h200.monthly_usd_min, h200.monthly_usd_max) == (0.0, 46209.0)


def test_shared_pool_share_by_mig_slices(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    cost = estimate(tenants["acme"], platform)
    [line] = cost.lines
    rate = 55.04 / 8
    # fraud-detector: 2 replicas x 2 revisions x 1/7; risk-embedder: 1 x 2/7
    assert line.monthly_usd_min == round((4 / 7 + 2 / 7) * rate * HOURS_PER_MONTH, 2)
    assert line.monthly_usd_max == round((8 / 7 + 4 / 7) * rate * HOURS_PER_MONTH, 2)


def test_isolated_tenants_pay_their_own_nodes_whole(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: the planner carves initech's demand on h100 into 2 p5.48xlarge nodes of its
    own (clinical-ner's two replicas go to two nodes); it paid 3 whole GPUs ($15,067.20)."""
    [line] = estimate(tenants["initech"], platform).lines
    assert line.item == "tenant-nodes h100"
    assert line.monthly_usd_min == line.monthly_usd_max == round(2 * 55.04 * HOURS_PER_MONTH, 2)
    assert line.monthly_usd_min == 80358.4
    assert line.detail.startswith("2 x p5.48xlarge @ $55.04/h, whole nodes of shared pool h100")
    assert "3 of 16 GPUs planned: clinical-llm, clinical-ner, summarizer" in line.detail


def test_own_nodes_are_priced_from_the_plan_given(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    """The fleet plan is the source of truth: a plan (e.g. a re-plan of what runs now) with
    3 nodes for initech prices 3, and the tenant's models are not priced again."""
    import dataclasses

    from tenantry.cost import own_plan

    fleet = own_plan(tenants["initech"], platform)
    assert estimate(tenants["initech"], platform, fleet=fleet) == estimate(
        tenants["initech"], platform
    )
    carved = fleet.pool("h100@initech")
    assert carved is not None and (carved.kind, carved.tenant, carved.nodes) == (
        "tenant-nodes",
        "initech",
        2,
    )
    bigger = dataclasses.replace(
        fleet,
        pools=tuple(
            dataclasses.replace(p, nodes=3) if p.name == "h100@initech" else p for p in fleet.pools
        ),
    )
    [line] = estimate(tenants["initech"], platform, fleet=bigger).lines
    assert line.monthly_usd_min == round(3 * 55.04 * HOURS_PER_MONTH, 2)
    # a shared-tier tenant's share does not depend on anyone's own nodes
    assert estimate(tenants["acme"], platform, fleet=bigger) == estimate(tenants["acme"], platform)


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
    # 2 p5.48xlarge at minSize + the p5en.48xlarge variant-caller's minReplicas needs
    assert by["umbrella"]["monthlyUsdMin"] == round((2 * 55.04 + 63.30) * HOURS_PER_MONTH, 2)
    # initech: its 2 p5.48xlarge nodes of the h100 pool, whole, at floor and ceiling
    assert by["initech"]["monthlyUsdMin"] == by["initech"]["monthlyUsdMax"] == 80358.4
    (own,) = [x for x in doc["lines"] if x["tenant"] == "initech"]
    assert (own["item"], own["monthly_usd_min"]) == ("tenant-nodes h100", 80358.4)
    assert main(["cost", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["item"], r["monthly_usd_max"]) for r in rows if r["tenant"] == "initech"] == [
        ("tenant-nodes h100", "80358.4")
    ]
    assert {r["tenant"] for r in rows} == {"acme", "globex", "initech", "umbrella", "platform"}
    # finance sees the CPU-only capacity, priced per vCPU of the general nodes
    (cpu,) = [r for r in rows if r["tenant"] == "globex" and r["item"].startswith("cpu-nodes")]
    assert (cpu["item"], cpu["monthly_usd_max"], cpu["priced"]) == (
        "cpu-nodes m7i.xlarge",
        str(round(2 * 0.2016 / 4 * HOURS_PER_MONTH, 2)),
        "True",
    )
    assert main(["cost"]) == 0
    text = capsys.readouterr().out.splitlines()
    # acme's adapter is the only one on llama-3-8b: all of its $4,304.91 is acme's
    assert [x.split()[-1] for x in text if x.startswith("TOTAL")] == ["$216,144.94-$260,952.11"]
    (initech,) = [x for x in text if x.startswith("initech")]
    assert initech.endswith("$80,358.40-$80,358.40")
    # the fleet view, then the footnote, then one line per shared base model
    note = next(i for i, line in enumerate(text) if line.startswith("(on-demand prices of "))
    assert text[note - 1].startswith("FLEET TOTAL")
    (base,) = text[note + 1 :]
    assert base.startswith("shared base model llama-3-8b: ")


def test_cost_prices_own_nodes_from_the_previous_plan(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """``--previous-plan``: the re-plan ``tenantry fleet up --previous-plan`` deploys; a
    file that is not a plan is a one-line usage error, and --events refuses the flag."""
    import json

    from tenantry.cli.main import main
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    assert main(["gpu", "plan", "--format", "json"]) == 0
    saved = tmp_path / "plan.json"
    saved.write_text(capsys.readouterr().out)
    assert main(["cost", "--format", "json", "--previous-plan", str(saved)]) == 0
    by = {t["tenant"]: t for t in json.loads(capsys.readouterr().out)["tenants"]}
    assert by["initech"]["monthlyUsdMin"] == 80358.4  # the same demand keeps its 2 nodes
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["cost", "--previous-plan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "not a plan written by `tenantry gpu plan --format json`" in err.splitlines()[-1]
    assert main(["cost", "--events", "--previous-plan", str(saved)]) == 2


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
    """An own LLM holds whole GPUs all the time. On a shared-tier tenant it is in the
    tenant's share of the pool; on an isolated tenant's own nodes it is in their price,
    never counted twice: it changes the price only when it changes the planned nodes."""
    from dataclasses import replace

    initech = tenants["initech"]
    (llm,) = initech.llms
    assert (llm.target_kind, llm.gpu, llm.replicas, llm.gpus) == ("shared-pool", "gpu", 1, 1)
    node_month = round(55.04 * HOURS_PER_MONTH, 2)
    # clinical-llm takes 1 of the 16 GPUs of initech's 2 nodes: the same 2 nodes without it
    assert estimate(initech, platform).monthly_usd_min == 2 * node_month
    assert estimate(replace(initech, llms=()), platform).monthly_usd_min == 2 * node_month
    # 2 replicas x 8 GPUs: each replica is one pod holding every GPU of a node (a pod's
    # GPUs all come from one node), so the models' 3 GPUs need nodes of their own, two of
    # them (clinical-ner's two replicas go to two nodes): 4 nodes, not the 3 that 19 GPUs
    # would fill by count
    bigger = replace(initech, llms=(replace(llm, replicas=2, gpus=8),))
    assert estimate(bigger, platform).monthly_usd_min == pytest.approx(4 * node_month)
    # the same LLM on a shared-tier tenant: its whole GPU in the tenant's share
    globex = tenants["globex"]
    own = replace(llm, target="h100", gpu_model="H100-80GB")
    with_llm = estimate(replace(globex, llms=(own,)), platform)
    gpu_month = round(55.04 / 8 * HOURS_PER_MONTH, 2)
    assert with_llm.monthly_usd_min == pytest.approx(
        estimate(globex, platform).monthly_usd_min + gpu_month, abs=0.02
    )


def test_the_fleet_view_prices_every_planned_node_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fleet's GPU nodes as the plan runs them, whole: the tenants' own nodes are
    exactly their estimate lines (never counted twice), and each shared pool's nodes less
    the tenants' shares at their floor is the platform's (a CSV row of tenant=platform,
    the tag the platform's AWS resources carry), so the CSV's floors add up to the fleet."""
    import csv
    import io
    import json

    from tenantry.cli.main import main
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    assert main(["cost", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    pools = {p["pool"]: p for p in doc["fleet"]["pools"]}
    node = 55.04 * HOURS_PER_MONTH  # a p5.48xlarge-month
    shape = {n: (p["kind"], p["tenant"], p["nodesMin"], p["nodesMax"]) for n, p in pools.items()}
    assert shape == {
        "a100": ("shared-pool", None, 2, 2),
        "h100": ("shared-pool", None, 2, 2),
        "h100@initech": ("tenant-nodes", "initech", 2, 2),
        "umbrella/h100": ("node-group", "umbrella", 2, 3),
        "umbrella/h200": ("node-group", "umbrella", 1, 1),
    }
    assert pools["h100"]["monthlyUsdMin"] == round(2 * node, 2)
    assert pools["a100"]["monthlyUsdMin"] == round(2 * 21.96 * HOURS_PER_MONTH, 2)
    by = {t["tenant"]: t for t in doc["tenants"]}
    # own nodes: the fleet's figure is the tenant's figure
    assert pools["h100@initech"]["monthlyUsdMin"] == by["initech"]["monthlyUsdMin"]
    assert (
        pools["umbrella/h100"]["monthlyUsdMin"] + pools["umbrella/h200"]["monthlyUsdMin"]
        == by["umbrella"]["monthlyUsdMin"]
    )
    # shared pools: acme's h100 share + the unallocated rest = the pool's nodes
    assert pools["h100"]["unallocatedUsd"] == round(2 * node - by["acme"]["monthlyUsdMin"], 2)
    fleet_floor = doc["fleet"]["monthlyUsdMin"]
    assert fleet_floor == round(sum(p["monthlyUsdMin"] for p in pools.values()), 2)
    assert main(["cost", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    gpu_rows = [r for r in rows if not r["item"].startswith("cpu-nodes")]
    assert sum(float(r["monthly_usd_min"]) for r in gpu_rows) == pytest.approx(fleet_floor)
    (h100,) = [r for r in rows if r["item"] == "unallocated shared-pool h100"]
    assert (h100["tenant"], h100["tier"]) == ("platform", "platform")
    assert main(["cost"]) == 0
    text = capsys.readouterr().out
    assert "tenant-nodes h100@initech         initech         2  $80,358.40-$80,358.40" in text
    (total,) = [x for x in text.splitlines() if x.startswith("FLEET TOTAL")]
    assert total.split()[-1].startswith(f"${fleet_floor:,.2f}-")


def test_actual_and_plan_price_own_nodes_from_the_fleet_plan(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    """``tenantry cost --actual`` shows the estimate next to what was measured, and
    ``tenantry plan`` shows each tenant's cost: both price a tenant's own nodes from the
    fleet plan they are given (a re-plan included), not per GPU."""
    import dataclasses

    from tenantry.cost import own_plan
    from tenantry.observability.showback import showback
    from tenantry.plan.snapshot import tenant_plan

    fleet = own_plan(tenants["initech"], platform)
    three = dataclasses.replace(
        fleet,
        pools=tuple(
            dataclasses.replace(p, nodes=3) if p.name == "h100@initech" else p for p in fleet.pools
        ),
    )
    report = showback(
        [], dict(tenants), platform, window="1h", window_seconds=3600.0, end=0.0, fleet=three
    )
    (row,) = [r for r in report.tenants if r.tenant == "initech"]
    assert row.estimate is not None
    assert row.estimate.monthly_usd_min == round(3 * 55.04 * HOURS_PER_MONTH, 2)
    planned = tenant_plan(tenants["initech"], platform, [], frozenset(tenants), fleet=three)
    assert planned["cost"]["monthlyUsdMin"] == round(3 * 55.04 * HOURS_PER_MONTH, 2)
