"""`tenantry validate`: exit codes, output formats, and no traceback on bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tenantry.cli.main import main
from tests.conftest import ROOT, example_text


def test_examples_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "4 tenant(s) valid, 0 error(s), 1 warning(s)" in out
    # umbrella's TensorFlow model runs on the frozen Triton 25.02 runtime
    assert re.search(r"umbrella\.yaml:\d+: warning: spec\.models\[1\]\.format", out)


def test_invalid_file_exit_1_with_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = (
        example_text("acme")
        .replace("tier: premium", "tier: gold")
        .replace("  costCenter: CC-1042\n", "")
    )
    (tmp_path / "acme.yaml").write_text(bad)
    code = main(["validate", str(tmp_path), "--stacks", str(ROOT / "stacks")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{tmp_path / 'acme.yaml'}:10: error: spec.tier: is not an accepted value" in err
    assert "metadata.costCenter: is required" in err
    assert "0 tenant(s) valid, 2 error(s)" in err


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "acme.yaml").write_text(
        example_text("acme").replace('version: "13"', 'version: "12"')
    )
    code = main(["validate", str(tmp_path), "--stacks", str(ROOT / "stacks"), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False
    [problem] = out["problems"]
    assert problem["code"] == "canary_same_version"
    assert problem["path"] == "spec.models[0].canary.version"
    assert problem["line"] == 33 and problem["value"] == "12"


def test_resolved_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["validate", "--resolved", "--format", "json"]) == 0
    resolved = json.loads(capsys.readouterr().out)["resolved"]
    assert resolved["globex"]["quotas"]["cpu"] == 8
    assert resolved["globex"]["tier"]["priority_class"] == "tenantry-shared"


def test_missing_platform_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--stacks", str(tmp_path)]) == 2
    assert "Pulumi.platform.yaml" in capsys.readouterr().err


def test_console_script_on_junk_never_tracebacks(tmp_path: Path) -> None:
    f = tmp_path / "junk.yaml"
    f.write_bytes(bytes(range(256)) * 4)
    proc = subprocess.run(
        [sys.executable, "-m", "tenantry", "validate", str(f), "--stacks", str(ROOT / "stacks")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "not UTF-8 text" in proc.stderr


def test_cli_start_up_does_not_load_pulumi() -> None:
    """Every command pays the CLI's import cost; Pulumi (~0.1-0.2 s) loads only in the
    commands that run a program (render, plan, fleet)."""
    code = "import sys, tenantry.cli.main; print('pulumi' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert proc.stdout.strip() == "False"
