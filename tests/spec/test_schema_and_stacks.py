"""The committed JSON Schema and per-tenant stack configs are in sync with the code."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from components.cli.main import main
from components.spec import json_schema, json_schema_text
from components.spec.schema import SCHEMA_FILE
from tests.conftest import EXAMPLES, ROOT, TENANTS


def test_committed_schema_is_current() -> None:
    committed = (TENANTS / SCHEMA_FILE).read_text("utf-8")
    assert committed == json_schema_text(), "run: tenantry schema > tenants/tenant.schema.json"


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_validate_against_the_schema(name: str) -> None:
    doc = yaml.safe_load((TENANTS / f"{name}.yaml").read_text())
    jsonschema.Draft202012Validator(json_schema()).validate(doc)
    first = (TENANTS / f"{name}.yaml").read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./{SCHEMA_FILE}"


def test_schema_rejects_unknown_keys() -> None:
    doc = yaml.safe_load((TENANTS / "acme.yaml").read_text())
    doc["spec"]["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json_schema()).validate(doc)


def test_schema_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Tenantry tenant (v1alpha1)"


def test_stack_configs_match_tenant_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["stacks"]) == 0, capsys.readouterr().err
    cfg = yaml.safe_load((ROOT / "stacks" / "Pulumi.acme.yaml").read_text())["config"]
    assert cfg["tenantry:tenant"] == "acme"
    assert cfg["aws:defaultTags"]["tags"]["cost-center"] == "CC-1042"
