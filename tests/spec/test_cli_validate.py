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


def test_runtime_tls_warns_that_the_operator_sets_kserve_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """llmRuntimeTls true: validate passes with a warning at that line that KServe's
    enableLLMInferenceServiceTLS must be set in the KServe install (its v0.20.0 chart cannot);
    the examples (false, KServe's default) get no such warning (test_examples_valid)."""
    import shutil

    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    cfg = stacks / "Pulumi.platform.yaml"
    text = cfg.read_text()
    assert "    llmRuntimeTls: false " in text
    cfg.write_text(text.replace("    llmRuntimeTls: false ", "    llmRuntimeTls: true  ", 1))
    line = next(
        i for i, t in enumerate(cfg.read_text().splitlines(), 1) if "llmRuntimeTls: true" in t
    )
    code = main(["validate", str(ROOT / "tenants"), "--stacks", str(stacks)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 tenant(s) valid, 0 error(s)," in out
    (warning,) = [w for w in out.splitlines() if "llmRuntimeTls" in w]
    assert warning.startswith(f"{cfg}:{line}: warning: tenantry:platform.llmRuntimeTls: is true")
    assert '"enableLLMInferenceServiceTLS": true' in warning
    code = main(["validate", str(ROOT / "tenants"), "--stacks", str(stacks), "--format", "json"])
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p["code"] for p in problems if p["path"].endswith("llmRuntimeTls")] == [
        "llm_runtime_tls_by_operator"
    ]
