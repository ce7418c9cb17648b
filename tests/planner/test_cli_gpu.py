"""`tenantry gpu plan`: fleet and ad-hoc forms, JSON shape, bad input -> exit 1, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantry.cli.main import main
from tenantry.planner.layouts import layout_problems_of
from tests.conftest import STACKS, TENANTS


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_adhoc_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        [
            "gpu",
            "plan",
            "--gpu",
            "H100-80GB",
            "--demand",
            "1g.10gb=13",
            "--demand",
            "3g.40gb=5",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0, err
    pool = json.loads(out)["pools"][0]
    assert (pool["gpu_model"], pool["gpus"], pool["nodes"], pool["lower_bound"]) == (
        "H100-80GB",
        5,
        1,
        5,
    )
    assert len(pool["layouts"]) == 5
    counts: dict[str, int] = {}
    for gpu in pool["layouts"]:
        layout = tuple((x["profile"], x["start"]) for x in gpu)
        assert layout_problems_of("H100-80GB", layout) == []
        for x in gpu:
            counts[x["profile"]] = counts.get(x["profile"], 0) + 1
    assert counts == {"1g.10gb": 13, "3g.40gb": 5}


def test_fleet_json_and_mig_parted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["gpu", "plan", "--tenants", str(TENANTS), "--stacks", str(STACKS), "--format", "json"],
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert [p["name"] for p in data["pools"]] == [
        "a100",
        "h100",
        "h100@initech",
        "umbrella/h100",
        "umbrella/h200",
    ]
    carved = data["pools"][2]
    assert (carved["kind"], carved["shared_pool"], carved["tenant"]) == (
        "tenant-nodes",
        "h100",
        "initech",
    )
    # isolated initech's GPUs are on nodes of their own, not in the shared pool's
    tenants_of = {
        p["name"]: {s["tenant"] for g in p["gpu_slots"] for s in g["slots"] if s["tenant"]}
        for p in data["pools"]
    }
    assert tenants_of["h100@initech"] == {"initech"}
    assert "initech" not in tenants_of["h100"]
    assert data["mig_parted"]["version"] == "v1"
    configs = data["mig_parted"]["mig-configs"]
    for p in data["pools"]:
        for label in p["node_labels"]:
            assert label["nvidia.com/mig.config"] in configs
    for entries in configs.values():
        for e in entries:
            assert set(e) <= {"devices", "mig-enabled", "mig-devices"}
            assert e["devices"] == "all" or all(isinstance(i, int) for i in e["devices"])
    code, out, _ = run(
        [
            "gpu",
            "plan",
            "--tenants",
            str(TENANTS),
            "--stacks",
            str(STACKS),
            "--format",
            "mig-parted",
        ],
        capsys,
    )
    assert code == 0 and out.startswith("version: v1\nmig-configs:\n")


def test_previous_plan_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gpu", "plan", "--tenants", str(TENANTS), "--stacks", str(STACKS), "--format", "json"]
    _, out, _ = run(args, capsys)
    prev = tmp_path / "plan.json"
    prev.write_text(out)
    code, again, _ = run([*args, "--previous", str(prev)], capsys)
    assert code == 0
    assert all(p["reconfigured"] == [] for p in json.loads(again)["pools"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--gpu", "H100-80GB", "--demand", "1g.5gb=3"],
            "profile '1g.5gb' is not offered by H100-80GB; accepted: 1g.10gb",
        ),
        (["--gpu", "H100-80GB", "--demand", "1g.10gb=0"], "must be a positive integer, got 0"),
        (["--gpu", "H100-80GB", "--demand", "1g.10gb=-2"], "must be a positive integer"),
        (["--gpu", "H100-80GB", "--demand", "1g.10gb=x"], "is not an integer"),
        (["--gpu", "H100-80GB", "--demand", "1g.10gb"], "expected PROFILE=COUNT"),
        (["--gpu", "B300", "--demand", "1g.10gb=1"], "unknown GPU model 'B300'; accepted: A100"),
        (["--demand", "1g.10gb=1"], "--demand needs --gpu"),
        (["--gpu", "H100-80GB"], "no demand given"),
    ],
)
def test_bad_input_exits_1_with_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["gpu", "plan", *argv, "--format", "json"], capsys)
    assert code == 1 and err == ""
    error = json.loads(out)
    assert error["ok"] is False and error["exitCode"] == 1 and message in error["error"]
    code, out, err = run(["gpu", "plan", *argv], capsys)
    assert code == 1 and out == ""
    assert err == f"tenantry: error: {error['error']}\n"


def test_bad_previous_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{}")
    code, _, err = run(
        ["gpu", "plan", "--gpu", "H100-80GB", "--demand", "7g.80gb=1", "--previous", str(bad)],
        capsys,
    )
    assert code == 1 and "not a plan written by" in err


def test_invalid_tenant_files_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (TENANTS / "acme.yaml").read_text().replace("gpu: 2g.20gb", "gpu: 9g.1gb")
    (tmp_path / "acme.yaml").write_text(text)
    code, _, err = run(["gpu", "plan", "--tenants", str(tmp_path), "--stacks", str(STACKS)], capsys)
    assert code == 1 and "9g.1gb" in err


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["gpu", "plan", "--gpu", "A100-40GB", "--demand", "3g.20gb=3"], capsys)
    assert code == 0
    assert "2 GPU(s) configured, lower bound 2" in out
    assert "nvidia.com/mig.config=" in out


def test_replan_names_the_tenants_each_drain_disturbs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["gpu", "plan", "--gpu", "H100-80GB", "--format", "json"]
    _, out, _ = run([*base, "--demand", "3g.40gb=2", "--demand", "4g.40gb=1"], capsys)
    prev = tmp_path / "plan.json"
    prev.write_text(out)
    change = ["gpu", "plan", "--gpu", "H100-80GB", "--demand", "3g.40gb=1"]
    code, text, _ = run(
        [*change, "--demand", "4g.40gb=1", "--previous", str(prev), "--extra-gpus", "0"], capsys
    )
    assert code == 0
    assert "drain, then reconfigure: node" in text and "(drains adhoc)" in text
    code, relaxed, _ = run(
        [*change, "--demand", "4g.40gb=1", "--previous", str(prev), "--format", "json"], capsys
    )
    assert code == 0 and json.loads(relaxed)["pools"][0]["disturbed"] == []
    code, _, err = run([*change, "--previous", str(prev), "--extra-gpus", "-1"], capsys)
    assert code == 1 and "--extra-gpus must be 0 or more, got -1" in err


def test_cpu_bound_pool_is_planned_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """acme's fraud-detector at 28 replicas x 2 revisions of 1g.10gb and cpu: 10 fits two
    p5.48xlarge by GPU slices; by CPU (191.32 allocatable cores, 19 such replicas a node)
    the h100 pool needs more nodes, and both outputs say CPU set the count."""
    for f in TENANTS.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_text(f.read_text())
    text = (tmp_path / "acme.yaml").read_text()
    text = text.replace(
        '    cpu: 32\n    memoryGiB: 128\n    gpus: {"1g.10gb": 8,',
        '    cpu: 600\n    memoryGiB: 600\n    gpus: {"1g.10gb": 56,',
    ).replace(
        "      cpu: 2\n      memoryGiB: 8\n      minReplicas: 2\n      maxReplicas: 4",
        "      cpu: 10\n      memoryGiB: 8\n      minReplicas: 28\n      maxReplicas: 28",
    )
    (tmp_path / "acme.yaml").write_text(text)
    argv = ["gpu", "plan", "--tenants", str(tmp_path), "--stacks", str(STACKS)]
    code, out, err = run([*argv, "--format", "json"], capsys)
    assert code == 0, err
    h100 = next(p for p in json.loads(out)["pools"] if p["name"] == "h100")
    assert h100["bound_by"] == "cpu" and h100["nodes"] > h100["gpu_nodes"] == 2
    cap = h100["node_allocatable"]["cpu_millicores"]
    assert cap == 191_320
    assert all(n["cpu_millicores"] <= cap for n in h100["node_requests"])
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "nodes bound by CPU (2 node(s) would hold the GPU slices)" in out
    assert "nodes bound by GPU slices" in out  # the other pools
