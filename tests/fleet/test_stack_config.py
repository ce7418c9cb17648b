"""What the fleet's Automation API path writes into a stack's config file, and what
``load_platform`` reads back.

No Pulumi CLI runs here, so the CLI's side is modelled from its documentation and source:
``pulumi config set-all --plaintext key=value`` stores ``value`` as a string
(``config.NewValue``); ``set-all --json`` with an ``objectValue`` stores an object
(``config.NewObjectValue``), and without one a string (pulumi/pulumi#19427, "Add --json input
support to pulumi config set-all"; CLI docs, "pulumi config set-all").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantry.fleet import runner as runner_module
from tenantry.fleet.runner import AutomationRunner, config_json
from tenantry.spec import load_platform
from tests.conftest import ROOT


class CliStack:
    """A stack whose config methods write the stack file as the CLI would."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls: list[str] = []

    def _write(self, values: dict[str, Any]) -> None:
        doc = yaml.safe_load(self.path.read_text()) if self.path.exists() else {}
        doc = doc or {}
        doc.setdefault("config", {}).update(values)
        self.path.write_text(yaml.safe_dump(doc, sort_keys=True))

    def set_all_config(self, config: dict[str, Any], path: bool = False) -> None:
        self.calls.append("set_all_config")
        assert not path
        self._write({k: v.value for k, v in config.items()})  # --plaintext k=v: a string

    def set_all_config_json(self, text: str) -> None:
        self.calls.append("set_all_config_json")
        self._write(
            {
                k: entry["objectValue"] if "objectValue" in entry else entry["value"]
                for k, entry in json.loads(text).items()
            }
        )

    def preview(self, color: str) -> Any:
        class Preview:
            change_summary = {"same": 1}

        return Preview()


def platform_config() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.platform.yaml").read_text())
    config: dict[str, Any] = doc["config"]
    return config


def run_preview(monkeypatch: pytest.MonkeyPatch, stacks: Path, config: dict[str, Any]) -> CliStack:
    stack = CliStack(stacks / "Pulumi.platform.yaml")
    monkeypatch.setattr(runner_module, "pulumi_cli", lambda: "/usr/bin/pulumi")
    import pulumi.automation as auto

    monkeypatch.setattr(auto, "create_or_select_stack", lambda **kw: stack)
    result = AutomationRunner(stacks).run("preview", "platform", config)
    assert result.ok, result.summary
    return stack


def test_the_old_writer_stored_objects_as_json_text_that_load_platform_refused(
    tmp_path: Path,
) -> None:
    # What the Automation API path used to send: every object as JSON text, plaintext.
    stack = CliStack(tmp_path / "Pulumi.platform.yaml")
    from pulumi.automation import ConfigValue

    stack.set_all_config(
        {
            k: ConfigValue(value=v if isinstance(v, str) else json.dumps(v))
            for k, v in platform_config().items()
        }
    )
    stored = yaml.safe_load(stack.path.read_text())["config"]["tenantry:platform"]
    assert isinstance(stored, str) and stored.startswith("{")
    # Read as Pulumi's own Config.get_object would (JSON text), it is the same settings.
    assert load_platform(tmp_path) == load_platform(ROOT / "stacks")


def test_the_runner_writes_typed_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = platform_config()
    stack = run_preview(monkeypatch, tmp_path, config)
    assert stack.calls == ["set_all_config_json"]
    stored = yaml.safe_load(stack.path.read_text())["config"]
    assert stored["tenantry:platform"] == config["tenantry:platform"]  # a mapping again
    assert stored["aws:region"] == "us-east-1"
    assert load_platform(tmp_path) == load_platform(ROOT / "stacks")


def test_config_json_keeps_types_and_leaves_encrypted_values_alone() -> None:
    doc = json.loads(
        config_json(
            {
                "aws:region": "eu-west-1",
                "aws:defaultTags": {"tags": {"tenant": "acme"}},
                "tenantry:list": ["a", "b"],
                "tenantry:flag": True,
                "tenantry:count": 3,
                "tenantry:vectorDbPassword": {"secure": "v1:abc"},
            }
        )
    )
    assert doc == {
        "aws:defaultTags": {
            "value": '{"tags": {"tenant": "acme"}}',
            "objectValue": {"tags": {"tenant": "acme"}},
            "secret": False,
        },
        "aws:region": {"value": "eu-west-1", "secret": False},
        "tenantry:count": {"value": "3", "secret": False},
        "tenantry:flag": {"value": "true", "secret": False},
        "tenantry:list": {"value": '["a", "b"]', "objectValue": ["a", "b"], "secret": False},
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "tenantry:platform: is a string that is not JSON"),
        ('["a"]', "tenantry:platform: is list; accepted: a mapping, or its JSON text"),
        (3, "tenantry:platform: is int; accepted: a mapping, or its JSON text"),
    ],
)
def test_a_platform_value_that_is_no_mapping_is_a_clear_error(
    tmp_path: Path, value: object, message: str
) -> None:
    (tmp_path / "Pulumi.platform.yaml").write_text(
        yaml.safe_dump({"config": {"tenantry:platform": value}})
    )
    with pytest.raises(ValueError, match=message) as exc:
        load_platform(tmp_path)
    assert str(tmp_path / "Pulumi.platform.yaml") in str(exc.value)
