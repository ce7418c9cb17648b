"""Shared CLI plumbing: locating the registry and the platform config, printing problems."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from ..loaded import load_platform, load_registry
from ..spec import PlatformSettings, Problem, Registry

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad invocation or missing configuration: exit 2 with a one-line message."""


def platform_from(stacks_dir: Path) -> PlatformSettings:
    try:
        return load_platform(stacks_dir)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def print_problems(problems: list[Problem], fmt: str, out: TextIO = sys.stdout) -> None:
    if fmt == "json":
        json.dump([p.to_dict() for p in problems], out, indent=2)
        out.write("\n")
        return
    for p in problems:
        out.write(p.render() + "\n")


class InvalidTenants(Exception):
    """The tenant files have errors (already printed): exit 1."""


def valid_registry(paths: list[Path], stacks_dir: Path) -> tuple[PlatformSettings, Registry]:
    """Platform settings and the registry of ``paths``; every error is printed to stderr and
    :class:`InvalidTenants` raised when any tenant file is invalid (nothing else runs)."""
    platform = platform_from(stacks_dir)
    reg = load_registry(paths, platform)
    errs = [p for p in reg.problems if p.severity == "error"]
    if errs:
        print_problems(errs, "text", sys.stderr)
        raise InvalidTenants
    return platform, reg
