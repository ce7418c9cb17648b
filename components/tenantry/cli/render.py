"""``tenantry render TENANT|platform --out DIR``: a tenant's stack, or the platform stack,
rendered to files (no cloud, no CLI).

Validates first (every problem printed, exit 1, nothing written), then runs the real stack
program under the recording engine and writes the directory atomically: Kubernetes YAML,
Triton ``config.pbtxt`` files and JSON for the other resources (layout:
:mod:`tenantry.engine.writers`). Same input, byte-identical output.
"""

from __future__ import annotations

import argparse
import atexit
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..spec import SpecError
from .common import EXIT_INVALID, EXIT_OK, UsageError

if TYPE_CHECKING:
    from ..engine import Record


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "render", help="render a tenant's (or the platform's) resources to a directory"
    )
    p.add_argument(
        "tenant", help="tenant name (tenants/<name>.yaml), or 'platform' for the platform stack"
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory (replaced whole; created if missing)",
    )
    p.add_argument("--tenants", type=Path, default=Path("tenants"))
    p.add_argument("--stacks", type=Path, default=Path("stacks"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..engine import close_runtime  # Pulumi loads here, not at every CLI start

    # Close the runtime's event loop when the process exits, before interpreter teardown
    # (an unclosed loop torn down then prints a spurious traceback). Registered once.
    atexit.unregister(close_runtime)
    atexit.register(close_runtime)
    return _render(args)


def _render(args: argparse.Namespace) -> int:
    import pulumi

    from ..engine import RenderError, WriteError, record_stack, render_files, write_atomic

    try:
        records = record_stack(args.tenant, args.tenants, args.stacks)
    except SpecError as exc:
        for p in exc.problems:
            sys.stderr.write(p.render() + "\n")
        sys.stderr.write(f"tenant {args.tenant!r} is invalid; nothing was written\n")
        return EXIT_INVALID
    except (RenderError, pulumi.RunError) as exc:
        raise UsageError(str(exc)) from exc
    try:
        files = render_files(records)
        write_atomic(files, args.out)
    except WriteError as exc:
        raise UsageError(str(exc)) from exc
    kube = sum(1 for f in files if f.startswith("kubernetes/"))
    triton = sum(1 for f in files if f.startswith("triton/"))
    print(
        f"{args.out}: {kube} Kubernetes object(s), {triton} Triton config(s), "
        f"{len(records)} resource(s) recorded"
    )
    pins = pinned_versions(records)
    if pins:
        print("pinned: " + "; ".join(pins))
    return EXIT_OK


def pinned_versions(records: list[Record]) -> list[str]:
    """What a render pins, from its records: every Helm release (``<release> <chart>
    <version>``) and the image of every serving runtime, with a note when it names no
    digest."""
    out: list[str] = []
    for r in sorted(records, key=lambda r: r.name):
        if r.type == "kubernetes:helm.sh/v3:Release":
            chart = str(r.inputs.get("chart", "")).rsplit("/", 1)[-1]
            out.append(f"{r.inputs.get('name')} ({chart}) {r.inputs.get('version')}")
        elif r.type.endswith(":ClusterServingRuntime"):
            for c in r.inputs.get("spec", {}).get("containers", []):
                image = str(c.get("image", ""))
                note = "" if "@sha256:" in image else " (no digest: set tritonImageDigest)"
                out.append(f"runtime {r.inputs['metadata']['name']}: {image}{note}")
    return out
