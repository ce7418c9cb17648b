"""``tenantry plan``: credential-free preview of what each tenant declares, what it breaks and
what it costs; with ``--base REF``, the change against the same plan at that git ref."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..plan.gitrefs import GitError, affected_tenants, changed_files, export_tree
from ..plan.render import as_json, as_markdown, as_table
from .common import EXIT_INVALID, EXIT_OK, UsageError, valid_registry

# The folder that holds this ``tenantry`` package (``components/`` in a checkout).
CODE_ROOT = Path(__file__).resolve().parents[2]


def _code_at(tree: Path) -> tuple[str, Path]:
    """The import package and the folder to put on ``PYTHONPATH`` for the code in ``tree``:
    ``tenantry`` under ``components/`` since the rename, ``components`` at the root before."""
    if (tree / "components" / "tenantry" / "__init__.py").exists():
        return "tenantry", tree / "components"
    return "components", tree


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", help="offline plan of tenants: resources, guardrails, cost, diff")
    p.add_argument("names", nargs="*", metavar="TENANT")
    p.add_argument("--all", action="store_true", help="every tenant (the default)")
    p.add_argument(
        "--changed-since",
        metavar="REF",
        help="tenants whose file, or the shared code, changed since REF",
    )
    p.add_argument("--base", metavar="REF", help="diff against the same plan at git REF")
    p.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    p.add_argument("--tenants", type=Path, default=Path("tenants"))
    p.add_argument("--stacks", type=Path, default=Path("stacks"))
    p.set_defaults(func=run)


def _base_plan(ref: str, names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Run the plan at ``ref`` (its own code and files) in a subprocess; fall back to this
    code on its files when that commit has no ``plan`` command yet."""
    with tempfile.TemporaryDirectory(prefix="tenantry-base-") as tmp:
        try:
            tree = export_tree(Path.cwd(), ref, Path(tmp) / "tree")
        except GitError as exc:
            raise UsageError(str(exc)) from exc
        present = [n for n in names if (tree / args.tenants / f"{n}.yaml").exists()]
        if not present:
            return {"tenants": {}, "fleetPlan": {"pools": []}}
        argv = ["plan", "--format", "json", "--all", *present]
        argv += ["--tenants", str(args.tenants), "--stacks", str(args.stacks)]
        proc = None
        for package, code_root in (_code_at(tree), ("tenantry", CODE_ROOT)):
            env = {**os.environ, "PYTHONPATH": str(code_root)}
            proc = subprocess.run(
                [sys.executable, "-m", package, *argv],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if "invalid choice: 'plan'" not in proc.stderr:
                break
        assert proc is not None
        if proc.returncode not in (EXIT_OK, EXIT_INVALID) or not proc.stdout.strip():
            raise UsageError(f"the plan at {ref} failed:\n{proc.stderr.strip()[-2000:]}")
        base: dict[str, Any] = json.loads(proc.stdout)
        return base


def run(args: argparse.Namespace) -> int:
    from ..engine import freeze_heap, record_tenant
    from ..plan.document import build, failed, with_diff
    from ..planner import FleetPlan

    platform, reg = valid_registry([args.tenants], args.stacks)
    unknown = sorted(set(args.names) - set(reg.tenants))
    if unknown:
        raise UsageError(
            f"unknown tenant(s): {', '.join(unknown)}; accepted: {', '.join(sorted(reg.tenants))}"
        )
    if args.changed_since:
        try:
            changed = changed_files(Path.cwd(), args.changed_since)
        except GitError as exc:
            raise UsageError(str(exc)) from exc
        names = affected_tenants(changed, reg.tenants, args.tenants.as_posix())
    else:
        names = sorted(args.names) if args.names and not args.all else sorted(reg.tenants)

    recorded = 0

    def recorder(name: str) -> list[dict[str, Any]]:
        nonlocal recorded
        out = [r.to_data() for r in record_tenant(name, args.tenants, args.stacks)]
        recorded += 1
        if recorded == 1 and len(names) > 1:
            freeze_heap()  # many tenants: keep full collections off the imported SDKs
        return out

    base = _base_plan(args.base, names, args) if args.base else None
    previous = (
        FleetPlan.from_dict(base["fleetPlan"]) if base and base["fleetPlan"]["pools"] else None
    )
    present = [n for n in names if n in reg.tenants]
    doc = build(present, reg.tenants, platform, recorder, previous)
    if base is not None:
        doc = with_diff(
            doc, {**base, "tenants": {n: t for n, t in base["tenants"].items() if n in names}}
        )
    render = {"json": as_json, "markdown": as_markdown, "table": as_table}[args.format]
    sys.stdout.write(render(doc))
    return EXIT_INVALID if failed(doc) else EXIT_OK
