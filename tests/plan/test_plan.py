"""`tenantry plan`: deterministic JSON, guardrails on the examples, and --base diffs that show
exactly the change made to one tenant file (with its cost delta), on a real git repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from components.cli.main import main
from components.plan.snapshot import policy_resources
from components.policy import Context, evaluate
from tests.conftest import ROOT, git


def _plan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["plan", *argv])
    return code, capsys.readouterr().out


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.usefixtures("in_repo")
def test_plan_json_is_byte_identical_across_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code1, first = _plan(capsys, "--all", "--format", "json")
    code2, second = _plan(capsys, "--all", "--format", "json")
    assert code1 == code2 == 0
    assert first == second
    doc = json.loads(first)
    assert sorted(doc["tenants"]) == ["acme", "globex", "initech", "umbrella"]
    assert doc["schemaVersion"] == 1


@pytest.mark.usefixtures("in_repo")
def test_guardrails_silent_on_examples_and_fire_on_a_weakened_bucket(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out = _plan(capsys, "acme", "--format", "json")
    acme = json.loads(out)["tenants"]["acme"]
    assert acme["guardrails"] == {"passed": True, "violations": []}
    records: list[dict[str, Any]] = acme["records"]
    for r in records:
        if r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            r["inputs"]["blockPublicPolicy"] = False
        if r["type"] == "aws:s3/bucket:Bucket":
            del r["inputs"]["tags"]["cost-center"]
    rules = {v.rule for v in evaluate(policy_resources(records), Context(frozenset({"acme"})))}
    assert rules == {"no-public-buckets", "mandatory-tags"}


@pytest.mark.usefixtures("in_repo")
def test_markdown_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    _, md = _plan(capsys, "acme", "--format", "markdown")
    assert md.startswith("## Tenantry plan")
    assert "| acme | premium |" in md and "all 8 rules pass" in md
    _, table = _plan(capsys, "acme")
    assert table.splitlines()[0].split()[:3] == ["tenant", "tier", "resources"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of this project (code, tenants, stacks) as a fresh git repository."""
    dest = tmp_path / "repo"
    dest.mkdir()
    for part in ("components", "tenants", "stacks", "Pulumi.yaml", "pyproject.toml"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "base")
    monkeypatch.chdir(dest)
    return dest


def test_base_diff_shows_exactly_the_change_and_its_cost(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = repo / "tenants" / "acme.yaml"
    f.write_text(f.read_text().replace("      maxReplicas: 4\n", "      maxReplicas: 6\n", 1))
    code, out = _plan(capsys, "--changed-since", "main", "--base", "main", "--format", "json")
    assert code == 0
    diff = json.loads(out)["diff"]["tenants"]
    assert sorted(diff) == ["acme"]  # only the changed tenant is planned
    acme = diff["acme"]
    assert acme["status"] == "changed" and acme["added"] == [] and acme["removed"] == []
    changed = {
        c["resource"]: {f["path"]: (f["before"], f["after"]) for f in c["fields"]}
        for c in acme["changed"]
    }
    isvc = "kubernetes:serving.kserve.io/v1beta1:InferenceService acme-"
    # more pods at full scale-out: the pods quota grows and the tenant's concurrency cap
    # (64) is split over 16 instead of 10 pods, for every model of the tenant
    assert changed == {
        "kubernetes:core/v1:ResourceQuota acme-ns-quota": {"inputs.spec.hard.pods": ("20", "28")},
        f"{isvc}fraud-detector-isvc": {
            "inputs.spec.predictor.maxReplicas": (4, 6),
            "inputs.spec.predictor.containerConcurrency": (6, 4),
            "inputs.spec.predictor.scaleTarget": (4, 2),
        },
        f"{isvc}risk-embedder-isvc": {
            "inputs.spec.predictor.containerConcurrency": (6, 4),
            "inputs.spec.predictor.scaleTarget": (4, 2),
        },
    }
    # the larger burst changes the h100 pool's headroom: the GPUs to drain are named
    drains = json.loads(out)["diff"]["reconfiguredGpus"]
    assert drains and all(g["pool"] == "h100" and "acme" in g["tenants"] for g in drains)
    rate = 55.04 / 8 * 730  # one H100 GPU-month; 2 more replicas x 2 revisions x 1/7 GPU
    assert acme["costDelta"]["monthlyUsdMin"] == 0
    assert acme["costDelta"]["monthlyUsdMax"] == pytest.approx(4 / 7 * rate, abs=0.02)


def test_base_diff_new_tenant_and_markdown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = (repo / "tenants" / "globex.yaml").read_text()
    (repo / "tenants" / "hooli.yaml").write_text(src.replace("globex", "hooli"))
    assert main(["stacks", "--write"]) == 0
    capsys.readouterr()
    code, md = _plan(capsys, "hooli", "--base", "main", "--format", "markdown")
    assert code == 0
    assert "**hooli** (added)" in md
    assert "+ `aws:s3/bucket:Bucket hooli-storage-bucket`" in md


def test_unknown_base_ref_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "acme", "--base", "no-such-ref"]) == 2
    assert "no-such-ref" in capsys.readouterr().err
