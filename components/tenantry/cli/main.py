"""Entry point of the ``tenantry`` command."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

from ..spec import SpecError
from ..spec.platform import PlatformError
from . import (
    cost,
    digest,
    fleet,
    gpu,
    gpus,
    init,
    plan,
    render,
    schema,
    stacks,
    validate,
    verify,
)
from .common import EXIT_CODES, EXIT_INTERNAL, PREFIX, CliError, InvalidInput, UsageError, report

COMMANDS = (init, validate, plan, render, cost, schema, stacks, gpu, gpus, digest, verify, fleet)


def version() -> str:
    try:
        return metadata.version("tenantry")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad invocation raises :class:`UsageError` (one line with the fix,
    exit 2, JSON with ``--format json``) instead of printing usage and exiting itself."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tenantry",
        description="Declare each tenant of a shared ML serving platform as code.",
        epilog=EXIT_CODES,
    )
    p.add_argument("--version", action="version", version=f"tenantry {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add(sub)
    return p


def _format_in(argv: Sequence[str]) -> str:
    """The ``--format`` asked for, read from raw arguments (when parsing itself failed)."""
    args = list(argv)
    for i, a in enumerate(args):
        if a == "--format" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--format="):
            return a.split("=", 1)[1]
    return "text"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # errors go to stdout as JSON only when --format json was asked for explicitly
    fmt = "json" if _format_in(argv) == "json" else "text"
    try:
        args = parser().parse_args(argv)
        code: int = args.func(args)
        return code
    except CliError as exc:
        return report(exc, fmt)
    except PlatformError as exc:
        return report(UsageError("the platform config is invalid; fix it", exc.problems), fmt)
    except SpecError as exc:
        return report(InvalidInput("the tenant files have errors; fix them", exc.problems), fmt)
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.filename is None:
            return _internal(exc, fmt)
        # a path the command was given, or that follows from one, that the file system
        # refuses (a parent that is a file, a read-only or pseudo file system, ...)
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        return report(
            UsageError(
                f"{where}: {exc.strerror or exc}; check the path given (--out, --tenants, "
                "--stacks, a file argument) and what the file system allows there"
            ),
            fmt,
        )
    except KeyboardInterrupt:
        sys.stderr.write(PREFIX + "interrupted\n")
        return 130
    except Exception as exc:
        return _internal(exc, fmt)


def _internal(exc: BaseException, fmt: str) -> int:
    """A bug: one line naming it (the traceback with TENANTRY_DEBUG=1), exit 3."""
    if os.environ.get("TENANTRY_DEBUG"):
        traceback.print_exc()
    detail = str(exc).splitlines()[0] if str(exc) else ""
    message = (
        f"internal error: {type(exc).__name__}: {detail} (a bug in tenantry: please "
        "report it; TENANTRY_DEBUG=1 shows the traceback)"
    )
    return report(_Internal(message), fmt)


class _Internal(CliError):
    code = EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
