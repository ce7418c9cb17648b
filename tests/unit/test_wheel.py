"""Issue 15's 'done when': a wheel built from the repository, installed into a clean virtual
environment, provides the top-level package ``tenantry`` (with ``py.typed``) and no top-level
``components``; a scratch project with its own ``components/`` package imports it and
``tenantry`` side by side and unit-tests a ``Tenant`` with ``tenantry.testing``.

Nothing is downloaded: the wheel is built with the setuptools of this environment (no build
isolation) and installed without dependencies; the new environment reaches this one's
third-party packages (Pulumi, pydantic, pytest) through a path entry, which does not run
this environment's ``.pth`` files, so the editable install of the checkout stays invisible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.test_package_layout import _sources

pytestmark = pytest.mark.package

SCRATCH_TEST = """
from pathlib import Path

import tenantry
from tenantry import Tenant, TenantArgs, load_platform, load_tenant
from tenantry.testing import platform_inputs, record

HERE = Path(__file__).resolve().parents[1]


def test_own_components_and_tenantry_side_by_side() -> None:
    import components
    from components.naming import stack_name

    assert Path(components.__file__).parent == HERE / "components"
    assert "site-packages" in tenantry.__file__
    platform = load_platform(HERE / "stacks")
    acme = load_tenant(HERE / "tenants" / "acme.yaml", platform)
    name = stack_name("acme")
    args = TenantArgs.from_spec(acme, platform, platform_inputs())
    recording = record(lambda: Tenant(name, args))
    assert recording.one("tenantry:tenant:Tenant").name == "team-acme"
    bucket = recording.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "tenantry-acme-111122223333"
    assert len(recording.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")) == 2
"""


def _copy_sources(dest: Path) -> None:
    """The files a build reads, as git tracks them (no build outputs of the checkout)."""
    for rel in _sources():
        wanted = rel in ("pyproject.toml", "README.md") or rel.startswith("components/")
        if wanted and (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_the_wheel_installs_tenantry_alone_and_a_scratch_project_uses_it(tmp_path: Path) -> None:
    src, dist, venv, proj = (tmp_path / d for d in ("src", "dist", "venv", "proj"))
    _copy_sources(src)
    name = _run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta as b; print(b.build_wheel({str(dist)!r}))",
        ],
        cwd=src,
    ).split()[-1]
    wheel = dist / name
    with zipfile.ZipFile(wheel) as zf:
        files = zf.namelist()
    assert {f.split("/")[0] for f in files} == {"tenantry", name.split("-py3")[0] + ".dist-info"}
    for required in (
        "tenantry/py.typed",
        "tenantry/catalog/data/gpus.yaml",
        "tenantry/policy/pack/PulumiPolicy.yaml",
        "tenantry/testing.py",
    ):
        assert required in files

    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path)
    (Path(site.strip()) / "_outer_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        cwd=tmp_path,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    probe = (
        "import importlib.util, pathlib, tenantry; "
        "print(tenantry.__file__); "
        "print(pathlib.Path(tenantry.__file__).with_name('py.typed').is_file()); "
        "print(importlib.util.find_spec('components'))"
    )
    out = _run([str(py), "-c", probe], cwd=tmp_path, env=env).split()
    assert out[0] == str(Path(site.strip()) / "tenantry" / "__init__.py")
    assert out[1:] == ["True", "None"]
    assert _run([str(venv / "bin" / "tenantry"), "--help"], tmp_path, env).startswith(
        "usage: tenantry"
    )

    (proj / "components").mkdir(parents=True)
    (proj / "components" / "__init__.py").write_text('"""The project\'s own components."""\n')
    (proj / "components" / "naming.py").write_text(
        textwrap.dedent(
            """
            def stack_name(tenant: str) -> str:
                return f"team-{tenant}"
            """
        )
    )
    (proj / "tenants").mkdir()
    shutil.copy(ROOT / "tenants" / "acme.yaml", proj / "tenants")
    (proj / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.platform.yaml", proj / "stacks")
    (proj / "tests").mkdir()
    (proj / "tests" / "test_tenant.py").write_text(SCRATCH_TEST)
    report = _run(
        [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=proj, env=env
    )
    assert "1 passed" in report
