"""`tenantry validate` reports in one run every error it can establish: the structural errors
of a file and every rule (across its fields, against the platform, across files) whose inputs
parsed; a rule that would read a field that did not parse says nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tenantry.cli.main import main
from tenantry.pipeline import check
from tenantry.spec import PlatformSettings
from tenantry.spec.errors import Unparsed
from tenantry.spec.model import TenantSpec
from tenantry.spec.partial import HoledList, partial_spec, refused
from tests.conftest import ROOT, example_text

from .helpers import codes, doc, problems_for, variant


def _line(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` that contains ``needle``."""
    return text[: text.index(needle)].count("\n") + 1


def _faulty_acme() -> str:
    """acme with faults of every kind at once."""
    return (
        example_text("acme")
        # structural: a placeholder cost center, a word for a number, an unknown key
        .replace("  costCenter: CC-1042", "  costCenter: unassigned")
        .replace("      maxBatchSize: 32", "      maxBatchSize: lots")
        .replace("storage: {retentionDays: 365,", "storage: {retention: 30,")
        # against the platform: another region
        .replace("  region: us-east-1", "  region: eu-west-1")
        # across fields: risk-embedder's minReplicas above its maxReplicas
        .replace(
            "      minReplicas: 1\n      maxReplicas: 2\n",
            "      minReplicas: 3\n      maxReplicas: 2\n",
        )
    )


def test_every_kind_of_fault_in_one_run(tmp_path: Path, platform: PlatformSettings) -> None:
    text = _faulty_acme()
    (tmp_path / "acme.yaml").write_text(text)
    # across files: another file declares the tenant name acme
    other = example_text("globex").replace("name: globex", "name: acme", 1)
    (tmp_path / "globex.yaml").write_text(other)
    reg = check([tmp_path], platform)
    acme, globex = str(tmp_path / "acme.yaml"), str(tmp_path / "globex.yaml")
    found = {(p.file, p.line, p.path, p.code) for p in reg.problems if p.severity == "error"}
    assert {
        (acme, _line(text, "costCenter"), "metadata.costCenter", "cost_center_placeholder"),
        (acme, _line(text, "maxBatchSize: lots"), "spec.models[0].maxBatchSize", "int_parsing"),
        (acme, _line(text, "{retention: 30"), "spec.storage.retention", "extra_forbidden"),
        (acme, _line(text, "region: eu-west-1"), "spec.region", "region_unsupported"),
        (acme, _line(text, "minReplicas: 3"), "spec.models[1].minReplicas", "min_above_max"),
        (acme, _line(text, "name: acme"), "metadata.name", "name_duplicate"),
        (globex, _line(other, "name: acme"), "metadata.name", "name_duplicate"),
        (globex, _line(other, "name: acme"), "metadata.name", "name_mismatch"),
    } <= found, sorted(found)
    assert "acme" not in reg.tenants  # a file with an error is never planned or rendered


def test_the_cli_reports_them_in_one_run_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _faulty_acme()
    (tmp_path / "acme.yaml").write_text(text)
    code = main(["validate", str(tmp_path), "--stacks", str(ROOT / "stacks"), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False and set(out) == {"ok", "tenants", "problems"}
    got = {(p["line"], p["path"], p["code"]) for p in out["problems"] if p["severity"] == "error"}
    assert {
        (_line(text, "costCenter"), "metadata.costCenter", "cost_center_placeholder"),
        (_line(text, "maxBatchSize: lots"), "spec.models[0].maxBatchSize", "int_parsing"),
        (_line(text, "region: eu-west-1"), "spec.region", "region_unsupported"),
        (_line(text, "minReplicas: 3"), "spec.models[1].minReplicas", "min_above_max"),
    } <= got, sorted(got)
    for p in out["problems"]:
        assert p["file"] == str(tmp_path / "acme.yaml") and p["message"] and p["accepted"]


def test_a_rule_whose_input_did_not_parse_says_nothing(platform: PlatformSettings) -> None:
    """acme's fraud-detector asks for an unknown GPU form and a second model for an
    unknown field: no quota, placement or format rule judges what it cannot read (`gpus:`
    may be a misspelt `gpu:`, so the model is not taken as CPU-only), while the other model
    is still judged."""

    def change(d: dict) -> None:  # type: ignore[type-arg]
        models = d["spec"]["models"]
        models[0]["gpu"] = "big"
        models[1]["format"] = "tensorrt"
        models[1]["gpus"] = models[1].pop("gpu")
        models[1]["minReplicas"] = 3  # across fields, decided by parsed fields only

    problems = problems_for(variant("acme", change), platform)
    assert codes(problems) == {
        ("string_pattern_mismatch", "spec.models[0].gpu"),
        ("extra_forbidden", "spec.models[1].gpus"),
        ("min_above_max", "spec.models[1].minReplicas"),
    }


def test_an_entry_that_is_no_mapping_leaves_the_others_judged(
    platform: PlatformSettings,
) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["spec"]["models"].insert(0, "fraud-detector")
        d["spec"]["models"][2]["maxReplicas"] = 1  # risk-embedder, now at index 2
        d["spec"]["models"][2]["minReplicas"] = 2
        d["spec"]["region"] = "eu-west-1"

    assert codes(problems_for(variant("acme", change), platform)) == {
        ("model_type", "spec.models[0]"),
        ("min_above_max", "spec.models[2].minReplicas"),
        ("region_unsupported", "spec.region"),
    }


def test_a_boolean_for_a_number_is_a_hole_too(platform: PlatformSettings) -> None:
    """pydantic would read `minReplicas: true` as 1: the rules must not judge that 1."""

    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["spec"]["models"][1]["minReplicas"] = 2
        d["spec"]["models"][1]["maxReplicas"] = True  # read as 1 it would be below 2
        d["spec"]["region"] = "eu-west-1"

    assert codes(problems_for(variant("acme", change), platform)) == {
        ("bool_for_number", "spec.models[1].maxReplicas"),
        ("region_unsupported", "spec.region"),
    }


def test_the_partial_spec_reads_what_parsed_and_refuses_the_rest() -> None:
    d = doc("acme")
    d["spec"]["models"][0]["cpu"] = "two"
    d["spec"]["models"].append("junk")
    d["metadata"]["labels"] = {"Not A Key": "x"}
    with pytest.raises(ValidationError) as info:
        TenantSpec.model_validate(d)
    spec = partial_spec(d, refused(info.value))
    assert spec.metadata.name == "acme" and spec.spec.region == "us-east-1"
    assert spec.spec.models[0].version == "12" and spec.spec.models[0].min_replicas == 2
    assert isinstance(spec.spec.models, HoledList) and len(spec.spec.models) == 3
    assert spec.spec.models[1].name == "risk-embedder"
    for read in (
        lambda: spec.spec.models[0].cpu,
        lambda: spec.spec.models[2],
        lambda: list(spec.spec.models),
        lambda: spec.metadata.labels,
    ):
        with pytest.raises(Unparsed):
            read()


def test_a_cross_field_check_of_an_object_with_a_field_error_runs(
    platform: PlatformSettings,
) -> None:
    """An artifact naming both a digest and an image, with an unknown key beside them: the
    unknown key and the one-of check in one run (pydantic would run the check only once the
    key is gone)."""

    def change(d: dict) -> None:  # type: ignore[type-arg]
        image = "registry.example.com/acme/fraud@sha256:" + "c" * 64
        d["spec"]["models"][0]["artifact"].update(image=image, sha="x")

    assert codes(problems_for(variant("acme", change), platform)) == {
        ("extra_forbidden", "spec.models[0].artifact.sha"),
        ("artifact_one_of", "spec.models[0].artifact"),
    }
