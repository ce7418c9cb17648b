"""The README stays true: its two commands are what CI runs, its example tenant is valid and
its plan excerpt is exactly what `tenantry plan` prints."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from tenantry.cli.main import main
from tenantry.spec import parse_text
from tests.conftest import ROOT

README = ROOT / "README.md"
MARKER = re.compile(r"<!-- plan:(\w+) -->\n(.*?)<!-- /plan -->", re.S)


def test_opens_with_the_two_commands_ci_runs() -> None:
    text = README.read_text()
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first is not None and text.index("```bash") < 40
    setup, tests = first.group(1).strip().splitlines()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci
    assert "pip install -q -e '.[dev]'" in setup and "pip install -q -e '.[dev]'" in ci
    assert setup.endswith("tenantry plan --all") and "tenantry plan --all" in ci


def test_example_tenant_is_valid(platform) -> None:  # type: ignore[no-untyped-def]
    block = re.search(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    tenant, problems = parse_text(block.group(1), "README.md", platform, stem="acme")
    assert tenant is not None, [p.render() for p in problems]
    assert yaml.safe_load(block.group(1))["metadata"]["name"] == "acme"


def test_plan_excerpt_is_current(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    text = README.read_text()
    match = MARKER.search(text)
    assert match is not None
    assert main(["plan", match.group(1), "--format", "markdown"]) == 0
    current = capsys.readouterr().out
    if os.environ.get("TENANTRY_UPDATE_GOLDEN"):
        README.write_text(text[: match.start(2)] + current + text[match.end(2) :])
    else:
        assert match.group(2) == current, "TENANTRY_UPDATE_GOLDEN=1 pytest tests/test_readme.py"
