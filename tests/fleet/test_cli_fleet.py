"""`tenantry fleet`: selection, exit codes and the summary, with an injected runner; the
real Automation API run needs the Pulumi CLI and is skipped without it."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from tenantry.cli import fleet
from tenantry.cli.common import InvalidInput, UsageError
from tenantry.cli.main import main
from tenantry.fleet import AutomationRunner, CliMissing, pulumi_cli
from tests.conftest import ROOT
from tests.fleet.test_orchestrate import FakeRunner


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    fleet.add(p.add_subparsers())
    return p.parse_args(["fleet", *argv])


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_up_selected_tenants(capsys: pytest.CaptureFixture[str]) -> None:
    runner = FakeRunner()
    assert fleet.run(_args("up", "--tenant", "acme", "--tenant", "umbrella"), runner) == 0
    assert runner.calls == [("up", "acme"), ("up", "umbrella")]
    out = capsys.readouterr().out
    assert "[acme] up..." in out and "acme      ok      1 create" in out


def test_failure_exit_code_names_tenants(capsys: pytest.CaptureFixture[str]) -> None:
    runner = FakeRunner(fail=frozenset({"globex"}))
    assert fleet.run(_args("preview"), runner) == 1
    assert runner.calls[0] == ("preview", "platform")
    assert "failed: globex" in capsys.readouterr().err


def test_destroy_never_includes_platform_unless_named() -> None:
    runner = FakeRunner()
    assert fleet.run(_args("destroy"), runner) == 0
    assert ("destroy", "platform") not in runner.calls
    runner = FakeRunner()
    fleet.run(_args("destroy", "--tenant", "acme", "--tenant", "platform"), runner)
    assert runner.calls == [("destroy", "acme"), ("destroy", "platform")]


def test_unknown_tenant_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown tenant\\(s\\): nope; accepted: platform, acme"):
        fleet.run(_args("up", "--tenant", "nope"), FakeRunner())


def test_without_the_pulumi_cli_the_command_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    if pulumi_cli() is not None:
        pytest.skip("the Pulumi CLI is installed here")
    assert main(["fleet", "preview", "--tenant", "acme"]) == 2
    assert "the Pulumi CLI is not on PATH" in capsys.readouterr().err
    with pytest.raises(CliMissing):
        AutomationRunner(ROOT)


@pytest.mark.engine
def test_real_preview_of_a_tenant_stack() -> None:
    if pulumi_cli() is None:
        pytest.skip("needs the Pulumi CLI (not installable here: see docs/operations.md)")
    result = AutomationRunner(ROOT).run("preview", "acme", {"tenantry:tenant": "acme"})
    assert result.ok, result.summary


def test_reconfigure_mig_runs_between_platform_and_tenants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.fleet.test_drain import FakeNodes
    from tests.fleet.test_migrollout import SHARED_H100, FakeCluster

    runner = FakeRunner()
    nodes = FakeNodes(settle_polls=0)
    cluster = FakeCluster({SHARED_H100: {"gpu-node-1": "all-disabled"}})
    code = fleet.run(
        _args("up", "--tenant", "platform", "--tenant", "acme", "--reconfigure-mig"),
        runner,
        (cluster, nodes),
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.index("[platform] 1 create") < out.index("[mig-reconfiguration] gpu-node-1")
    assert out.index("[mig-reconfiguration] gpu-node-1") < out.index("[acme] up...")
    assert nodes.events[:2] == [("cordon", "gpu-node-1"), ("drain", "gpu-node-1")]
    assert nodes.events[-1] == ("uncordon", "gpu-node-1")


def test_previous_plan_reaches_the_platform_stack_and_the_rollout(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from pathlib import Path

    from tenantry.cli.main import main as cli
    from tests.fleet.test_drain import FakeNodes
    from tests.fleet.test_migrollout import SHARED_H100, FakeCluster, FakePods

    seen: dict[str, dict[str, object]] = {}

    class Recording(FakeRunner):
        def run(self, action: str, stack: str, config: dict[str, object]):  # type: ignore[no-untyped-def]
            seen[stack] = dict(config)
            return super().run(action, stack, config)

    assert cli(["gpu", "plan", "--format", "json"]) == 0
    saved = Path(str(tmp_path)) / "applied.json"
    saved.write_text(capsys.readouterr().out)
    [h100] = [p for p in json.loads(saved.read_text())["pools"] if p["name"] == "h100"]
    labels = {f"n{i}": cfg["nvidia.com/mig.config"] for i, cfg in enumerate(h100["node_labels"])}
    nodes = FakeNodes(settle_polls=0)
    pods = FakePods({})
    code = fleet.run(
        _args("up", "--tenant", "platform", "--reconfigure-mig", "--previous-plan", str(saved)),
        Recording(),
        (FakeCluster({SHARED_H100: labels}), nodes),
        pods,
    )
    assert code == 0
    assert seen["platform"]["tenantry:previousPlan"] == str(saved.resolve())
    assert nodes.events == []  # same tenants, same plan: nothing to reconfigure
    assert "every node already carries its planned config" in capsys.readouterr().out
    saved.write_text("{}")
    with pytest.raises(UsageError, match="not a plan written by"):
        fleet.run(_args("up", "--previous-plan", str(saved)), FakeRunner())


def test_a_missing_stack_config_is_refused_with_the_command_that_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16: `fleet preview --tenant newco` before `tenantry stacks --write` crashed with
    FileNotFoundError."""
    shutil.copytree(ROOT / "tenants", tmp_path / "tenants")
    shutil.copytree(
        ROOT / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stacks" / "Pulumi.globex.yaml").unlink()
    runner = FakeRunner()
    with pytest.raises(InvalidInput) as info:
        fleet.run(_args("preview", "--tenant", "globex"), runner)
    assert runner.calls == []
    assert "run `tenantry stacks --write`" in info.value.message
    (p,) = info.value.problems
    assert (p.code, p.severity) == ("stack_config_missing", "error")
    assert "stacks/Pulumi.globex.yaml is missing" in p.message
    assert main(["fleet", "preview", "--tenant", "globex"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    # the other tenants' configs are there: selecting them alone is fine
    assert fleet.run(_args("preview", "--tenant", "acme"), FakeRunner()) == 0
