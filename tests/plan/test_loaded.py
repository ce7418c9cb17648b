"""tenantry.loaded: the platform config parsed once per content (never stale, failures never
remembered), and each tenant file checked once per command (the verdict is handed to the
stack programs the command runs)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tenantry import loaded
from tenantry.cli.main import main
from tenantry.policy.rules import _tenants_named
from tenantry.spec import load_platform
from tenantry.spec import registry as registry_module
from tenantry.spec.platform import PlatformError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    loaded.clear()
    shutil.copytree(ROOT / "tenants", tmp_path / "tenants")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return tmp_path


def test_same_content_is_parsed_once_and_equals_the_spec_loader(tree: Path) -> None:
    p = loaded.load_platform(tree / "stacks")
    assert loaded.load_platform(tree / "stacks") is p
    assert p == load_platform(tree / "stacks")


def test_a_changed_file_is_parsed_again(tree: Path) -> None:
    path = tree / "stacks" / "Pulumi.platform.yaml"
    before = loaded.load_platform(tree / "stacks")
    path.write_text(path.read_text() + "\n# changed\n")
    after = loaded.load_platform(tree / "stacks")
    assert after is not before and after == before


def test_failures_are_raised_every_time(tree: Path) -> None:
    path = tree / "stacks" / "Pulumi.platform.yaml"
    path.write_text(path.read_text().replace("environment: prod", "environment: 7", 1))
    for _ in range(2):
        with pytest.raises(PlatformError):
            loaded.load_platform(tree / "stacks")


@pytest.mark.parametrize(
    "argv",
    [["plan", "--all", "--format", "json"], ["render", "platform", "--out", "out"]],
    ids=["plan", "render-platform"],
)
def test_a_command_checks_each_tenant_file_once(
    tree: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    """``tenantry plan --all`` runs every tenant's real stack program, ``render platform``
    the platform's (which needs the fleet plan and the LLM grants); each program gets the
    command's verdict instead of checking the registry again."""
    checked: Counter[str] = Counter()
    rules = registry_module.check

    def counting_rules(spec, platform, file, stem):  # type: ignore[no-untyped-def]
        checked[Path(file).name] += 1
        return rules(spec, platform, file, stem)

    monkeypatch.setattr(registry_module, "check", counting_rules)
    monkeypatch.chdir(tree)
    assert main(argv) == 0
    capsys.readouterr()
    files = sorted(f.name for f in (tree / "tenants").glob("*.yaml"))
    assert len(files) >= 4
    assert checked == dict.fromkeys(files, 1)


def test_the_platform_program_checks_once_for_its_plan_and_grants(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``stacks/__main__.py`` does under ``pulumi up`` (no command around it): one
    verdict, handed to both the fleet plan and the LLM grants."""
    from tenantry.platform.program import platform_plan

    settings = loaded.load_platform(tree / "stacks")
    reg = loaded.program_registry(tree / "tenants", settings, tree / "stacks")
    monkeypatch.setattr(registry_module, "check", None)  # any further check would fail
    with loaded.checked_registry(tree / "tenants", settings, reg):
        program = platform_plan(tree / "tenants", settings, None, tree / "stacks")
    assert program.plan is reg.fleet and program.llm_grants
    other = load_platform(tree / "stacks")  # equal settings, another object: checked anew
    monkeypatch.undo()
    assert loaded.program_registry(tree / "tenants", other, tree / "stacks") is not reg


def test_tenant_names_in_arns_cost_does_not_grow_with_the_fleet() -> None:
    names = frozenset({"acme", "acme-corp"} | {f"t{i:05d}" for i in range(20000)})
    text = "tenantry-acme-corp-models/acme/t00042x/t00043"
    assert _tenants_named(text, names) == {"acme-corp", "acme", "t00043"}
