"""``pyproject.toml`` points only at files and modules that exist."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

from tests.conftest import ROOT

META = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def test_every_path_in_pyproject_exists() -> None:
    project, tool = META["project"], META["tool"]
    assert (ROOT / project["readme"]).is_file()
    where = tool["setuptools"]["packages"]["find"]["where"]
    assert all((ROOT / w).is_dir() for w in where)
    for package, globs in tool["setuptools"]["package-data"].items():
        base = ROOT / where[0] / package.replace(".", "/")
        for pattern in globs:
            assert list(base.glob(pattern)), f"package-data {package}: {pattern} matches nothing"
    assert all((ROOT / f).exists() for f in tool["mypy"]["files"])
    assert (ROOT / tool["mypy"]["mypy_path"]).is_dir()


def test_every_named_module_of_the_library_exists() -> None:
    for target in META["project"]["scripts"].values():
        module, _, func = target.partition(":")
        spec = importlib.util.find_spec(module)
        assert spec is not None, target
        assert spec.origin is not None
        assert f"def {func}(" in Path(spec.origin).read_text("utf-8"), target
    for override in META["tool"]["mypy"]["overrides"]:
        for module in override["module"]:
            if module.startswith("tenantry"):
                assert importlib.util.find_spec(module.rstrip(".*")) is not None, module
