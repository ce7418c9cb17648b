"""The CLI contract: --format on every command that prints data (no --json left), the verify
token's sources, and `tenantry init`'s files validating as written."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

import pytest

from tenantry.cli import verify
from tenantry.cli.common import UsageError
from tenantry.cli.main import main, parser
from tenantry.pipeline import check
from tenantry.spec import TIERS, load_platform
from tests.conftest import ROOT, TENANTS

DATA_COMMANDS = {
    "validate": "text",
    "plan": "text",
    "render": "text",
    "cost": "text",
    "stacks": "text",
    "gpu plan": "text",
    "gpus": "text",
    "verify": "text",
    "fleet": "text",
    "init": "text",
    "digest": "text",
    "schema": "json",
}


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out = {}
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return out


def test_every_command_that_prints_data_has_format_and_json() -> None:
    subs = _subparsers(parser())
    leaves = {n for n in subs if n != "gpu"}
    assert leaves == set(DATA_COMMANDS)
    for name, default in DATA_COMMANDS.items():
        options = {o for a in subs[name]._actions for o in a.option_strings}
        assert "--format" in options, name
        fmt = next(a for a in subs[name]._actions if "--format" in a.option_strings)
        assert fmt.default == default and "json" in (fmt.choices or []), name
        assert not options & {"--json", "--mig-parted", "--table"}, name


def test_human_formats_are_called_text_everywhere() -> None:
    for name, sub in _subparsers(parser()).items():
        for a in sub._actions:
            if "--format" in a.option_strings:
                assert "table" not in (a.choices or []), name


def _token_args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"token_file": None, "token": None, **kw})


def test_verify_token_from_a_file_then_the_environment_then_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(verify.TOKEN_ENV, raising=False)
    f = tmp_path / "token"
    f.write_text("from-file\n")
    monkeypatch.setenv(verify.TOKEN_ENV, "from-env")
    assert verify.token(_token_args(token_file=f)) == "from-file"
    assert verify.token(_token_args()) == "from-env"
    assert verify.token(_token_args(token="from-argv")) == "from-env"
    assert capsys.readouterr().err == ""
    monkeypatch.delenv(verify.TOKEN_ENV)
    assert verify.token(_token_args(token="from-argv")) == "from-argv"
    assert "shell history" in capsys.readouterr().err
    assert verify.token(_token_args()) is None
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin\n"))
    assert verify.token(_token_args(token_file=Path("-"))) == "from-stdin"


def test_verify_token_mistakes_are_usage_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(UsageError, match="not both"):
        verify.token(_token_args(token_file=empty, token="x"))
    with pytest.raises(UsageError, match="the file is empty"):
        verify.token(_token_args(token_file=empty))
    with pytest.raises(UsageError, match="cannot read it"):
        verify.token(_token_args(token_file=tmp_path / "missing"))


@pytest.fixture
def tenants(tmp_path: Path) -> Path:
    out = tmp_path / "tenants"
    shutil.copytree(TENANTS, out)
    return out


def _gpus() -> list[str | None]:
    return [None, "gpu", "1g.10gb", "3g.20gb"]  # CPU, whole GPU, an H100 and an A100 slice


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("gpu", _gpus())
def test_init_writes_a_file_that_validates_as_written(
    tenants: Path, tier: str, gpu: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tenants.parent / "model" / "1"
    model.mkdir(parents=True)
    (model / "model.onnx").write_bytes(b"weights")
    argv = ["init", "newco", "--tier", tier, "--cost-center", "CC-4242", "--tenants", str(tenants)]
    argv += ["--stacks", str(ROOT / "stacks"), *(["--gpu", gpu] if gpu else [])]
    if tier != "shared":  # onboarding.requireArtifactDigest: every tier above shared
        argv += ["--artifact", str(model)]
    assert main(argv) == 0, capsys.readouterr().err
    text = (tenants / "newco.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./tenant.schema.json\n")
    reg = check([tenants], load_platform(ROOT / "stacks"))
    mine = [p for p in reg.problems if p.file == str(tenants / "newco.yaml")]
    assert mine == [] and "newco" in reg.tenants
    t = reg.tenants["newco"]
    assert t.tier.name == tier and t.models[0].gpu == gpu
    assert "wrote" in capsys.readouterr().out


def test_init_refuses_what_would_not_validate_and_writes_nothing(
    tenants: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = ["--tenants", str(tenants), "--stacks", str(ROOT / "stacks"), "--cost-center", "CC-4"]
    assert main(["init", "istio-system", "--tier", "shared", *dirs]) == 1
    err = capsys.readouterr().err
    assert "istio-system.yaml:" in err and "name_reserved" not in err and "is reserved" in err
    assert not (tenants / "istio-system.yaml").exists()
    # a name another tenant trusts as its callers' namespace (acme allows acme-apps)
    assert main(["init", "acme-apps", "--tier", "shared", *dirs]) == 1
    assert "trusted caller" in capsys.readouterr().err
    assert main(["init", "acme", "--tier", "shared", *dirs]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["init", "newco", "--tier", "shared", "--gpu", "9g.1gb", *dirs]) == 2
    assert "accepted: 1g.10gb" in capsys.readouterr().err
    # above the shared tier the model version's digest is required: no made-up one
    assert main(["init", "newco", "--tier", "premium", *dirs]) == 2
    assert "pass --artifact DIR" in capsys.readouterr().err
    assert not (tenants / "newco.yaml").exists()
    assert main(["init", "newco", "--tier", "shared", "--format", "json", *dirs]) == 0
    assert json.loads(capsys.readouterr().out)["file"] == str(tenants / "newco.yaml")


def test_init_requires_a_real_cost_center(
    tenants: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No placeholder cost center reaches a tenant file: the flag is required, and a
    placeholder given as its value is refused like validate refuses it."""
    dirs = ["--tenants", str(tenants), "--stacks", str(ROOT / "stacks")]
    assert main(["init", "newco", "--tier", "shared", *dirs]) == 2
    assert "--cost-center" in capsys.readouterr().err
    assert main(["init", "newco", "--tier", "shared", "--cost-center", "unassigned", *dirs]) == 1
    err = capsys.readouterr().err
    assert "metadata.costCenter" in err and "placeholder" in err and "Traceback" not in err
    assert not (tenants / "newco.yaml").exists()
