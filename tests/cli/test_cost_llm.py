"""``tenantry cost``: a shared base model's monthly price split across the tenants holding
adapters on it by their declared tokensPerMinute, in every format; figures computed here
from the catalog's prices and the platform file, independently of tenantry.cost."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tenantry.catalog import instance_types
from tenantry.cli.main import main
from tests.conftest import STACKS
from tests.observability.llm_fleet import two_tenant_fleet


def _base_monthly() -> float:
    # llama-3-8b: 2 replicas x 3g.40gb (3 of H100's 7 compute slices) on p5.48xlarge
    p5 = instance_types()["p5.48xlarge"]
    return 2 * 3 / 7 * p5.on_demand_hourly_usd / p5.gpus * 730


def _run(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    fleet = two_tenant_fleet(tmp_path / "tenants")
    assert main(["cost", "--format", fmt, "--tenants", str(fleet), "--stacks", str(STACKS)]) == 0
    return capsys.readouterr().out


def test_json_splits_by_declared_tokens_per_minute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(_run(tmp_path, "json", capsys))
    (split,) = doc["llmBaseModels"]
    assert split["basis"] == "declared tokensPerMinute"
    assert split["usd"] == round(_base_monthly(), 2)
    shares = {a["tenant"]: (a["weight"], a["share"], a["usd"]) for a in split["adapters"]}
    assert shares["acme"][:2] == (60000, 0.75)
    assert shares["globex"][:2] == (20000, 0.25)
    assert shares["acme"][2] == pytest.approx(0.75 * split["usd"], abs=1e-6)
    lines = {(x["tenant"], x["item"]): x for x in doc["lines"]}
    acme = lines[("acme", "llm-base llama-3-8b")]
    assert acme["monthly_usd_min"] == acme["monthly_usd_max"] == round(0.75 * split["usd"], 2)
    assert "split by declared tokensPerMinute" in acme["detail"]
    assert ("initech", "llm-base llama-3-8b") not in lines  # no adapter, no share


def test_csv_and_text_carry_the_same_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.DictReader(io.StringIO(_run(tmp_path, "csv", capsys))))
    llm = {r["tenant"]: float(r["monthly_usd_min"]) for r in rows if r["item"].startswith("llm")}
    assert llm == {
        "acme": round(0.75 * round(_base_monthly(), 2), 2),
        "globex": round(0.25 * round(_base_monthly(), 2), 2),
    }
    text = _run(tmp_path / "t", "text", capsys)
    (footer,) = [x for x in text.splitlines() if x.startswith("shared base model llama-3-8b")]
    assert "split by declared tokensPerMinute" in footer
    assert f"acme 60,000 (75.0%) ${llm['acme']:,.2f}" in footer
    assert f"globex 20,000 (25.0%) ${llm['globex']:,.2f}" in footer


def test_csv_rows_add_up_to_the_fleet_with_a_shared_base_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base model's GPUs are on the h100 pool's planned nodes: the tenants' ``llm-base``
    rows carry them, so the platform's ``unallocated shared-pool h100`` row leaves them out
    and the CSV's GPU rows add up to the fleet's nodes at the floor (counted once)."""
    doc = json.loads(_run(tmp_path, "json", capsys))
    fleet_floor = doc["fleet"]["monthlyUsdMin"]
    (h100,) = [p for p in doc["fleet"]["pools"] if p["pool"] == "h100"]
    on_h100 = [
        x["monthly_usd_min"]
        for x in doc["lines"]
        if x["item"] in ("shared-pool h100", "llm-base llama-3-8b")
    ]
    base_rows = [x for x in doc["lines"] if x["item"] == "llm-base llama-3-8b"]
    assert sum(x["monthly_usd_min"] for x in base_rows) == pytest.approx(
        round(_base_monthly(), 2), abs=0.011
    )
    assert h100["unallocatedUsd"] == round(h100["monthlyUsdMin"] - sum(on_h100), 2)
    rows = list(csv.DictReader(io.StringIO(_run(tmp_path / "c", "csv", capsys))))
    (platform_h100,) = [r for r in rows if r["item"] == "unallocated shared-pool h100"]
    assert float(platform_h100["monthly_usd_min"]) == h100["unallocatedUsd"]
    gpu_rows = [r for r in rows if not r["item"].startswith("cpu-nodes")]
    assert sum(float(r["monthly_usd_min"]) for r in gpu_rows) == pytest.approx(
        fleet_floor, abs=0.01
    )
    text = _run(tmp_path / "t", "text", capsys)
    (total,) = [x for x in text.splitlines() if x.startswith("FLEET TOTAL")]
    assert total.split()[-1].startswith(f"${fleet_floor:,.2f}-")
