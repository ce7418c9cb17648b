"""Shared fixtures: the repository's example tenants and platform settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from tenantry.spec import PlatformSettings, load_platform

ROOT = Path(__file__).resolve().parent.parent
TENANTS = ROOT / "tenants"
STACKS = ROOT / "stacks"
EXAMPLES = sorted(p.stem for p in TENANTS.glob("*.yaml"))


@pytest.fixture(scope="session")
def platform() -> PlatformSettings:
    return load_platform(STACKS)


def example_text(name: str) -> str:
    return (TENANTS / f"{name}.yaml").read_text("utf-8")


def git(repo: Path, *args: str) -> None:
    """Run git in ``repo`` with a throwaway identity (tests that build real repositories)."""
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def server_missing(reason: str) -> NoReturn:
    """A real server or tool a test runs against is not installed: skip here, fail under CI
    (``.ci/run`` sets ``CI=true`` and installs every one), where a skip would hide a path
    that was never tested."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
