"""tenantry.loaded: parse once per content, never stale, failures never remembered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tenantry import loaded
from tenantry.policy.rules import _tenants_named
from tenantry.spec import SpecError, load_platform, load_tenant

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
    t = loaded.load_tenant(tree / "tenants" / "acme.yaml", p)
    assert loaded.load_tenant(tree / "tenants" / "acme.yaml", p) is t
    assert t == load_tenant(tree / "tenants" / "acme.yaml", p)


def test_a_changed_file_is_parsed_again(tree: Path) -> None:
    p = loaded.load_platform(tree / "stacks")
    path = tree / "tenants" / "acme.yaml"
    before = loaded.load_tenant(path, p)
    path.write_text(path.read_text().replace("costCenter: CC-1042", "costCenter: CC-7"))
    after = loaded.load_tenant(path, p)
    assert (before.cost_center, after.cost_center) == ("CC-1042", "CC-7")


def test_another_platform_object_is_another_key(tree: Path) -> None:
    p = loaded.load_platform(tree / "stacks")
    other = load_platform(tree / "stacks")  # equal content, not the remembered object
    path = tree / "tenants" / "acme.yaml"
    assert loaded.load_tenant(path, p) is not loaded.load_tenant(path, other)


def test_failures_are_raised_every_time(tree: Path) -> None:
    p = loaded.load_platform(tree / "stacks")
    path = tree / "tenants" / "acme.yaml"
    path.write_text(path.read_text().replace("tier: premium", "tier: platinum"))
    for _ in range(2):
        with pytest.raises(SpecError, match=r"spec\.tier"):
            loaded.load_tenant(path, p)


def test_registry_results_are_reused_by_load_tenant(tree: Path) -> None:
    p = loaded.load_platform(tree / "stacks")
    reg = loaded.load_registry([tree / "tenants"], p)
    assert loaded.load_tenant(tree / "tenants" / "umbrella.yaml", p) is reg.tenants["umbrella"]


def test_tenant_names_in_arns_cost_does_not_grow_with_the_fleet() -> None:
    names = frozenset({"acme", "acme-corp"} | {f"t{i:05d}" for i in range(20000)})
    text = "tenantry-acme-corp-models/acme/t00042x/t00043"
    assert _tenants_named(text, names) == {"acme-corp", "acme", "t00043"}
