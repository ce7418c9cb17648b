"""Shared CLI plumbing: locating the registry and the platform config, printing problems."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from ..loaded import load_platform
from ..spec import PlatformSettings, Problem

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
