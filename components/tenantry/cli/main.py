"""Entry point of the ``tenantry`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import cost, digest, fleet, gpu, gpus, plan, render, schema, stacks, validate, verify
from .common import EXIT_INVALID, EXIT_USAGE, InvalidTenants, UsageError

COMMANDS = (validate, plan, render, cost, schema, stacks, gpu, gpus, digest, verify, fleet)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tenantry",
        description="Declare each tenant of a shared ML serving platform as code.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except InvalidTenants:
        return EXIT_INVALID
    except UsageError as exc:
        print(f"tenantry: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
