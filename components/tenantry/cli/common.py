"""Shared CLI plumbing: exit codes, the one error prefix, output formats, the verdict.

Exit codes (the same for every command; ``tenantry --help`` lists them):

- 0: done; every check passed (warnings allowed);
- 1: the input is invalid or a check failed: a tenant file or the registry has errors, a
  guardrail is violated, the GPU plan cannot be placed, a stack config is missing where a
  deployment needs it, a verify or deployment failed, a service the command reads or writes
  (Prometheus, an OpenTelemetry collector) cannot be reached or refused;
- 2: the command cannot run as asked: a bad flag, an unknown tenant, a missing file or
  directory, a bad platform config, an unknown git ref, a missing tool (Pulumi CLI);
- 3: a bug in tenantry itself (one line; ``TENANTRY_DEBUG=1`` shows the traceback).

Every error is one line on stderr, ``tenantry: error: <what> ...; <how to fix it>``, after the
problems it is about (``file:line: error: field: ...``). With ``--format json`` the same
reaches stdout as one JSON object: ``{"ok": false, "exitCode": N, "error": ..., "problems":
[...]}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..loaded import load_platform
from ..pipeline import BaseRef, base_models, check
from ..plan.gitrefs import GitError, files_at
from ..spec import PlatformSettings, Problem, Registry
from ..spec.platform import PlatformError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
PREFIX = "tenantry: error: "
EXIT_CODES = (
    "exit codes: 0 done (warnings allowed); 1 invalid input or a failed check (tenant "
    "files, registry, guardrails, GPU plan, verify, deploy, Prometheus/OTLP); 2 the command "
    "cannot run as asked (flags, unknown tenant, missing file, platform config, git ref, "
    "missing tool); 3 a bug in tenantry (TENANTRY_DEBUG=1 shows the traceback)"
)


class CliError(Exception):
    """An error that ends a command: one line (``message``), the problems it is about, and
    the exit code."""

    code = EXIT_INVALID

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


class UsageError(CliError):
    """The command cannot run as asked (exit 2)."""

    code = EXIT_USAGE


class InvalidInput(CliError):
    """The input is invalid or a check failed (exit 1)."""

    code = EXIT_INVALID


def add_format(p: argparse.ArgumentParser, *extra: str, default: str = "text") -> None:
    """``--format``: ``text`` (the default, for people), ``json`` (for programs; problems
    too), and the command's ``extra`` formats."""
    choices = [default, *(c for c in ("text", *extra, "json") if c != default)]
    p.add_argument(
        "--format",
        choices=choices,
        default=default,
        help=f"output format (default: {default}); json also reports problems as JSON",
    )


def add_dirs(p: argparse.ArgumentParser, tenants: bool = True) -> None:
    if tenants:
        p.add_argument(
            "--tenants", type=Path, default=Path("tenants"), help="tenant files (default: tenants/)"
        )
    p.add_argument(
        "--stacks",
        type=Path,
        default=Path("stacks"),
        help="Pulumi.platform.yaml and the stack configs (default: stacks/)",
    )


def write_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    json.dump(data, out, indent=2, sort_keys=True)
    out.write("\n")


def print_problems(problems: Sequence[Problem], fmt: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        write_json([p.to_dict() for p in problems], out)
        return
    for p in problems:
        out.write(p.render() + "\n")


def report(exc: CliError, fmt: str) -> int:
    """Print ``exc`` in ``fmt`` (JSON on stdout, or its problems and one error line on
    stderr) and return its exit code."""
    if fmt == "json":
        write_json(
            {
                "ok": False,
                "exitCode": exc.code,
                "error": exc.message,
                "problems": [p.to_dict() for p in exc.problems],
            }
        )
    else:
        for p in exc.problems:
            sys.stderr.write(p.render() + "\n")
        sys.stderr.write(PREFIX + exc.message + "\n")
    return exc.code


def platform_from(stacks_dir: Path) -> PlatformSettings:
    """The platform settings, or :class:`UsageError` with the config's problems."""
    try:
        return load_platform(stacks_dir)
    except PlatformError as exc:
        raise UsageError(
            f"the platform config {stacks_dir / 'Pulumi.platform.yaml'} is invalid; fix it "
            "(every problem is listed above)",
            exc.problems,
        ) from None


def base_ref(ref: str | None, tenants_dir: Path) -> BaseRef | None:
    """The tenant files at git ``ref`` (``--base``), or None without a ref."""
    if not ref:
        return None
    try:
        return BaseRef(ref, base_models(files_at(Path.cwd(), ref, tenants_dir)))
    except GitError as exc:
        raise UsageError(f"--base {ref}: {exc}") from None


def verdict(
    tenants_dir: Path, stacks_dir: Path, base: str | None = None
) -> tuple[PlatformSettings, Registry]:
    """The one verdict (:func:`tenantry.pipeline.check`) on the tenant files in
    ``tenants_dir``; :class:`UsageError` when the directory does not exist."""
    if not tenants_dir.is_dir():
        raise UsageError(
            f"{tenants_dir}: no such directory of tenant files; pass --tenants DIR (or run "
            "from the repository root)"
        )
    platform = platform_from(stacks_dir)
    reg = check(
        [tenants_dir],
        platform,
        stacks_dir=stacks_dir,
        tenants_dir=tenants_dir,
        base=base_ref(base, tenants_dir),
    )
    return platform, reg


def valid_registry(
    tenants_dir: Path, stacks_dir: Path, base: str | None = None
) -> tuple[PlatformSettings, Registry]:
    """:func:`verdict`, for commands that need every tenant valid: :class:`InvalidInput`
    with every error when one is not; warnings are printed to stderr."""
    platform, reg = verdict(tenants_dir, stacks_dir, base)
    errors = [p for p in reg.problems if p.severity == "error"]
    if errors:
        raise InvalidInput(
            f"{len(errors)} error(s) in the tenant files or the platform settings; fix them "
            "(`tenantry validate` lists the same)",
            errors,
        )
    return platform, reg


def require_tenants(reg: Registry, tenants_dir: Path) -> None:
    """:class:`InvalidInput` for a registry without a single tenant file (commands about
    tenants; the platform stack alone may have none)."""
    if not reg.sources:
        raise InvalidInput(
            f"{tenants_dir}: no tenant files (*.yaml); write one with `tenantry init NAME "
            "--tier TIER`"
        )


def warn(problems: Sequence[Problem], fmt: str) -> None:
    """Warnings on stderr (text); in JSON the command puts them in its own output."""
    if fmt != "json":
        for p in problems:
            if p.severity == "warning":
                sys.stderr.write(p.render() + "\n")


def unknown_tenants(names: Sequence[str], reg: Registry, *, extra: Sequence[str] = ()) -> None:
    """:class:`UsageError` for a name no tenant file declares; :class:`InvalidInput` with
    its problems for a name whose file exists but cannot be read as a tenant."""
    unknown = sorted(set(names) - set(reg.files) - set(extra))
    unreadable = {Path(f).stem: f for f in reg.sources}
    broken = [n for n in unknown if n in unreadable]
    if broken:
        files = {unreadable[n] for n in broken}
        raise InvalidInput(
            f"tenant(s) {', '.join(broken)}: the file cannot be read as a tenant; fix the "
            "problems listed above",
            [p for p in reg.problems if p.file in files],
        )
    if unknown:
        accepted = ", ".join([*extra, *sorted(reg.files)]) or "none (no tenant files)"
        raise UsageError(f"unknown tenant(s): {', '.join(unknown)}; accepted: {accepted}")
