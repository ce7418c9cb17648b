"""``tenantry render TENANT|platform --out DIR``: a tenant's stack, or the platform stack,
rendered to files (no cloud, no CLI).

Runs the one verdict first (:func:`tenantry.pipeline.check`): a tenant whose file has an
error, or the platform while any file has one, is not rendered (every problem printed,
exit 1, nothing written). Then it runs the real stack program under the recording engine and
writes the directory atomically: Kubernetes YAML, Triton ``config.pbtxt`` files and JSON
for the other resources (layout: :mod:`tenantry.engine.writers`). Same input,
byte-identical output. Warnings (a missing stack config, a frozen runtime) are printed.
"""

from __future__ import annotations

import argparse
import atexit
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalog.runtimes import RUNTIMES
from ..k8s.labels import UNPINNED_IMAGE
from ..spec import PLATFORM_STACK, SpecError
from .common import (
    EXIT_OK,
    InvalidInput,
    UsageError,
    add_dirs,
    add_format,
    unknown_tenants,
    verdict,
    warn,
    write_json,
)

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
    add_dirs(p)
    add_format(p)
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

    _, reg = verdict(args.tenants, args.stacks)
    unknown_tenants([args.tenant], reg, extra=[PLATFORM_STACK])
    shown = reg.problems if args.tenant == PLATFORM_STACK else reg.problems_for(args.tenant)
    warn(shown, args.format)
    try:
        records = record_stack(args.tenant, args.tenants, args.stacks, verdict=reg)
    except SpecError as exc:
        what = "the platform" if args.tenant == PLATFORM_STACK else f"tenant {args.tenant!r}"
        raise InvalidInput(
            f"{what} cannot be rendered: fix the errors above; nothing was written", exc.problems
        ) from None
    except (RenderError, pulumi.RunError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"render {args.tenant}: {first}; fix it, or pass --stacks DIR") from None
    try:
        files = render_files(records)
        write_atomic(files, args.out)
    except WriteError as exc:
        raise UsageError(f"--out {args.out}: {exc}") from None
    kube = sum(1 for f in files if f.startswith("kubernetes/"))
    triton = sum(1 for f in files if f.startswith("triton/"))
    pins = pinned_versions(records)
    if args.format == "json":
        write_json(
            {
                "ok": True,
                "out": str(args.out),
                "kubernetesObjects": kube,
                "tritonConfigs": triton,
                "resources": len(records),
                "pinned": pins,
                "problems": [p.to_dict() for p in shown],
            }
        )
    else:
        print(
            f"{args.out}: {kube} Kubernetes object(s), {triton} Triton config(s), "
            f"{len(records)} resource(s) recorded"
        )
        if pins:
            print("pinned: " + "; ".join(pins))
    return EXIT_OK


def pinned_versions(records: list[Record]) -> list[str]:
    """What a render pins, from its records: every Helm release (``<release> <chart>
    <version>``) and the image of every serving runtime and LLMInferenceService, with a note
    when it names no digest."""
    out: list[str] = []
    for r in sorted(records, key=lambda r: r.name):
        if r.type == "kubernetes:helm.sh/v3:Release":
            chart = str(r.inputs.get("chart", "")).rsplit("/", 1)[-1]
            out.append(f"{r.inputs.get('name')} ({chart}) {r.inputs.get('version')}")
        elif r.type.endswith(":ClusterServingRuntime"):
            name = r.inputs["metadata"]["name"]
            setting = next((rt.digest_setting for rt in RUNTIMES if rt.name == name), "")
            for c in r.inputs.get("spec", {}).get("containers", []):
                image = str(c.get("image", ""))
                note = "" if "@sha256:" in image else f" (no digest: set {setting})"
                out.append(f"runtime {name}: {image}{note}")
        elif r.type.endswith(":LLMInferenceService"):
            name = r.inputs["metadata"]["name"]
            for c in r.inputs.get("spec", {}).get("template", {}).get("containers", []):
                image = str(c.get("image", ""))
                note = "" if "@sha256:" in image else " (no digest: set vllmImageDigest)"
                out.append(f"llm {name}: {image}{note}")
        elif r.type == "kubernetes:apps/v1:Deployment":  # the LLM gateway and its Redis
            name = r.inputs["metadata"]["name"]
            unpinned = (r.inputs["metadata"].get("annotations") or {}).get(UNPINNED_IMAGE)
            for c in (
                r.inputs.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            ):
                note = f" ({unpinned})" if unpinned else ""
                out.append(f"deployment {name}: {c.get('image', '')}{note}")
    return out
