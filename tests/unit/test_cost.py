"""Cost estimates from the catalog's dated prices."""

from __future__ import annotations

import pytest

from tenantry.cost import HOURS_PER_MONTH, estimate
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
    # 2 x 3g (6/7) + 1 x 4g (4/7) = 10/7 GPUs -> 2 whole GPUs; at max 6/7 + 8/7 = 2
    assert line.monthly_usd_min == round(2 * rate * HOURS_PER_MONTH, 2)
    assert line.monthly_usd_max == round(2 * rate * HOURS_PER_MONTH, 2)


def test_cpu_only_models_are_not_priced(tenants, platform) -> None:  # type: ignore[no-untyped-def]
    cost = estimate(tenants["globex"], platform)
    assert [line.item for line in cost.lines] == ["shared-pool a100"]
    assert cost.price_date == "2025-06-05"


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
    assert main(["cost"]) == 0
    assert capsys.readouterr().out.splitlines()[-2].startswith("TOTAL")
