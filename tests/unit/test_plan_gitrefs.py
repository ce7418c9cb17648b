"""Selecting tenants touched by a change, and exporting a base tree, on a real git repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.plan.gitrefs import GitError, affected_tenants, changed_files, export_tree
from tests.conftest import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "tenants").mkdir()
    (tmp_path / "components").mkdir()
    for name in ("acme", "globex"):
        (tmp_path / "tenants" / f"{name}.yaml").write_text(f"name: {name}\n")
    (tmp_path / "components" / "x.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def test_only_the_changed_tenant(repo: Path) -> None:
    (repo / "tenants" / "acme.yaml").write_text("name: acme\nchanged: true\n")
    changed = changed_files(repo, "main")
    assert changed == ["tenants/acme.yaml"]
    assert affected_tenants(changed, ["acme", "globex"]) == ["acme"]


def test_new_and_deleted_tenants(repo: Path) -> None:
    (repo / "tenants" / "initech.yaml").write_text("name: initech\n")
    (repo / "tenants" / "globex.yaml").unlink()
    changed = changed_files(repo, "main")
    assert affected_tenants(changed, ["acme", "initech"]) == ["globex", "initech"]


def test_shared_code_selects_everyone(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature")
    (repo / "components" / "x.py").write_text("x = 2\n")
    git(repo, "commit", "-qam", "change shared code")
    assert affected_tenants(changed_files(repo, "main"), ["acme", "globex"]) == ["acme", "globex"]


def test_export_tree_at_ref(repo: Path, tmp_path: Path) -> None:
    (repo / "tenants" / "acme.yaml").write_text("name: acme\nchanged: true\n")
    git(repo, "commit", "-qam", "head")
    out = export_tree(repo, "HEAD~1", tmp_path / "base")
    assert (out / "tenants" / "acme.yaml").read_text() == "name: acme\n"


def test_unknown_ref(repo: Path) -> None:
    with pytest.raises(GitError, match="no-such-ref"):
        changed_files(repo, "no-such-ref")
