"""`tenantry validate` reports in one run every error it can establish: the structural errors
of a file and every rule (across its fields, against the platform, across files) whose inputs
parsed; a rule that would read a field that did not parse says nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tenantry.cli.main import main
from tenantry.pipeline import check
from tenantry.spec import PlatformSettings, parse_text
from tenantry.spec.errors import Unparsed
from tenantry.spec.model import TenantSpec
from tenantry.spec.partial import HoledList, partial_spec, refused
from tests.conftest import ROOT, example_text

from .helpers import codes, doc, problems_for, variant
from .test_fuzz import PLATFORM as FUZZ_PLATFORM
from .test_fuzz import mutated_docs

# the codes of structural problems (pydantic's and ours raised in the models)
_PYDANTIC_CODES = {
    "missing",
    "extra_forbidden",
    "literal_error",
    "string_pattern_mismatch",
    "string_type",
    "string_too_short",
    "string_too_long",
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "bool_parsing",
    "bool_type",
    "dict_type",
    "list_type",
    "model_type",
    "model_attributes_type",
    "too_short",
    "too_long",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "dimension_zero",
    "artifact_one_of",
    "cost_center_placeholder",
    "value_error",
    "union_tag_invalid",
    "string_sub_type",
}


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


def _leaves(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path below the document (mappings and lists included)."""
    out = [at] if at else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, (*at, i))
    return out


def _rule_faults(d: dict[str, Any], i: int, which: str) -> None:
    """One fault a rule (not the structure) finds, in model ``i`` where it names one."""
    s = d["spec"]
    models = s.get("models") or []
    m = models[i % len(models)] if models else {}
    if which == "replicas":
        m["minReplicas"] = int(m.get("maxReplicas", 1)) + 1
    elif which == "region":
        s["region"] = "eu-west-1"
    elif which == "gpu":
        m["gpu"] = "7g.80gb"
    elif which == "cpu_only":
        m.pop("gpu", None)
    elif which == "big_cpu":
        m["cpu"] = 300
    elif which == "same_name" and len(models) > 1:
        m["name"] = models[(i + 1) % len(models)]["name"]
    elif which == "quota":
        s.setdefault("quotas", {})["cpu"] = 1
    elif which == "caller":
        s.setdefault("access", {}).setdefault("allowedNamespaces", []).append("kube-system")
    elif which == "tensorrt":
        m["format"] = "tensorrt"
    elif which == "node_group" and s.get("nodeGroups"):
        s["nodeGroups"][0]["minSize"] = 99


@st.composite
def faulty_docs(draw: st.DrawFn) -> Any:
    """An example tenant with faults the rules find (or random mutations, test_fuzz's)."""
    if draw(st.booleans()):
        return draw(mutated_docs())
    d = copy.deepcopy(doc(draw(st.sampled_from(["acme", "globex", "initech", "umbrella"]))))
    kinds = ["replicas", "region", "gpu", "cpu_only", "big_cpu", "same_name", "quota"]
    kinds += ["caller", "tensorrt", "node_group"]
    for _ in range(draw(st.integers(1, 3))):
        _rule_faults(d, draw(st.integers(0, 3)), draw(st.sampled_from(kinds)))
    return d


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(faulty_docs(), st.data())
def test_what_is_reported_beside_a_structural_error_holds_once_it_is_fixed(
    valid: Any, data: st.DataObject
) -> None:
    """The claim itself: a document that parses (with whatever rule errors) gets one
    structural fault (a value of the wrong type or form, a required field gone, an unknown
    key). Every
    rule finding reported beside the fault must be one the document without the fault gets
    too: a rule may say less while a field is broken, never something that is not so."""
    text = yaml.safe_dump(valid, sort_keys=False, allow_unicode=True)
    assume(isinstance(valid, dict))
    _, before = parse_text(text, "t.yaml", FUZZ_PLATFORM, stem=None)
    structural = {"bool_for_number"} | _PYDANTIC_CODES
    assume(not any(p.code in structural for p in before))
    broken = copy.deepcopy(valid)
    path = data.draw(st.sampled_from(_leaves(broken)))
    parent = broken
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["mapping", "text", "delete", "unknown_key"]))
    if action == "mapping":
        parent[path[-1]] = {"not": ["what", "was", "meant"]}
    elif action == "text":
        parent[path[-1]] = "Not what was meant?"
    elif action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "unknown_key" and isinstance(parent, dict):
        parent["zzUnknown"] = 1
    else:
        assume(False)
    text = yaml.safe_dump(broken, sort_keys=False, allow_unicode=True)
    _, after = parse_text(text, "t.yaml", FUZZ_PLATFORM, stem=None)
    assume(any(p.code in structural for p in after))
    said = {(p.code, p.path, p.severity) for p in after if p.code not in structural}
    held = {(p.code, p.path, p.severity) for p in before}
    assert said <= held, (path, action, said - held)
