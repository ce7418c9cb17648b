"""The library's import name is ``tenantry``: ``components/`` is only its source root."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

OLD_IMPORT = re.compile(r"^\s*(from|import)\s+components(\.|\s|$)", re.M)
OLD_MODULE = re.compile(r"-m components\b")
# Tests that write a user's project with its own ``components`` package on purpose.
SCRATCH_PROJECTS = {"tests/unit/test_wheel.py"}
SKIP = {".git", ".venv", ".venv-policy", "node_modules", "__pycache__", "build", "dist"}


def _sources() -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [p for p in out if not SKIP & set(p.split("/"))]


def test_nothing_imports_the_old_package_name() -> None:
    offenders = []
    for rel in _sources():
        if rel.endswith((".py", ".md")) and rel not in SCRATCH_PROJECTS:
            text = (ROOT / rel).read_text("utf-8")
            offenders += [f"{rel}: {m.group(0).strip()}" for m in OLD_IMPORT.finditer(text)]
            if rel != "tests/unit/test_package_layout.py":
                offenders += [f"{rel}: -m components" for _ in OLD_MODULE.finditer(text)]
    assert offenders == []


def test_the_source_root_holds_only_the_tenantry_package() -> None:
    entries = {
        p.name
        for p in (ROOT / "components").iterdir()
        if p.name not in ("__pycache__", "venv")  # venv: made by `pulumi package add`
        and not p.name.endswith(".egg-info")  # build metadata
    }
    # besides the package: the multi-language component package's files (no Python package)
    plugin = {"PulumiPlugin.yaml", "__main__.py", "requirements.txt", "schema.json"}
    assert entries == {"tenantry"} | plugin
    assert (ROOT / "components" / "tenantry" / "py.typed").is_file()


def test_python_dash_m_tenantry_runs_from_the_repository_root() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tenantry", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: tenantry")
    old = subprocess.run(
        [sys.executable, "-c", "import components.tenant"], cwd=ROOT, capture_output=True, text=True
    )
    assert "No module named 'components.tenant'" in old.stderr
