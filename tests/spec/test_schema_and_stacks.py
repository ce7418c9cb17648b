"""The committed JSON Schema and per-tenant stack configs are in sync with the code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from tenantry.cli.main import main
from tenantry.engine.stack import stack_config
from tenantry.loaded import load_platform
from tenantry.spec import json_schema, json_schema_text, load_tenant
from tenantry.spec.schema import SCHEMA_FILE
from tenantry.stackconfig import stack_config_text
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


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_tenant_without_a_stack_file_runs_with_the_config_stacks_would_write(
    name: str, tmp_path: Path
) -> None:
    """Without ``Pulumi.<tenant>.yaml`` the program gets the config that ``tenantry stacks
    --write`` would write (built directly, not dumped and parsed again)."""
    tenant = load_tenant(TENANTS / f"{name}.yaml", load_platform(ROOT / "stacks"))
    shutil.copy(ROOT / "stacks" / "Pulumi.platform.yaml", tmp_path)
    written = yaml.safe_load(stack_config_text(tenant))["config"]
    expected = {
        k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in written.items()
    }
    assert stack_config(tmp_path, tenant) == expected
    assert stack_config(ROOT / "stacks", tenant) == expected  # the committed file agrees
