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

from ..pipeline import errors_for
from ..plan.gitrefs import GitError, affected_tenants, changed_files, export_tree
from ..plan.render import as_json, as_markdown, as_table
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    PREFIX,
    UsageError,
    add_dirs,
    add_format,
    require_tenants,
    unknown_tenants,
    verdict,
)

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
    p.add_argument(
        "--base",
        metavar="REF",
        help="diff against the same plan at git REF, and check rollouts against it (a "
        "canary needs its stable version deployed at REF)",
    )
    add_format(p, "markdown")
    add_dirs(p)
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
        try:
            base: dict[str, Any] = json.loads(proc.stdout)
        except json.JSONDecodeError:
            base = {}
        if proc.returncode not in (EXIT_OK, EXIT_INVALID) or "tenants" not in base:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise UsageError(f"the plan at {ref} failed: {last}")
        return base


def run(args: argparse.Namespace) -> int:
    from ..engine import RenderError

    try:
        return _run(args)
    except RenderError as exc:
        raise UsageError(f"{exc}; fix it or pass --stacks DIR") from None


def _run(args: argparse.Namespace) -> int:
    from ..engine import freeze_heap, record_tenant
    from ..plan.document import build, failed, with_diff
    from ..planner import FleetPlan

    platform, reg = verdict(args.tenants, args.stacks, base=args.base)
    require_tenants(reg, args.tenants)
    unknown_tenants(args.names, reg)
    if args.changed_since:
        try:
            changed = changed_files(Path.cwd(), args.changed_since)
        except GitError as exc:
            raise UsageError(f"--changed-since {args.changed_since}: {exc}") from None
        names = affected_tenants(changed, reg.files, args.tenants.as_posix())
    else:
        names = sorted(args.names) if args.names and not args.all else sorted(reg.files)

    planned = [n for n in names if n in reg.tenants and not errors_for(reg, n)]
    recorded = 0

    def recorder(name: str) -> list[dict[str, Any]]:
        nonlocal recorded
        out = [r.to_data() for r in record_tenant(name, args.tenants, args.stacks, verdict=reg)]
        recorded += 1
        if recorded == 1 and len(planned) > 1:
            freeze_heap()  # many tenants: keep full collections off the imported SDKs
        return out

    base = _base_plan(args.base, names, args) if args.base else None
    previous = (
        FleetPlan.from_dict(base["fleetPlan"]) if base and base["fleetPlan"]["pools"] else None
    )
    # tenants that cannot be planned: the selected ones whose file has errors, and every
    # file that does not even parse as a tenant (named after the file)
    invalid = {
        n: [p for p in reg.problems if p.file == reg.files[n]]
        for n in names
        if n in reg.files and n not in planned
    }
    unparsed = sorted(reg.sources - set(reg.files.values()))
    for file in unparsed:
        invalid[Path(file).stem] = [p for p in reg.problems if p.file == file]
    doc = build(
        planned,
        reg.tenants,
        platform,
        recorder,
        previous,
        problems={n: [p for p in reg.problems if p.file == reg.files[n]] for n in planned},
        invalid=invalid,
        general=[p for p in reg.problems if p.file not in reg.sources],
    )
    if base is not None:
        doc = with_diff(
            doc, {**base, "tenants": {n: t for n, t in base["tenants"].items() if n in names}}
        )
    render = {"json": as_json, "markdown": as_markdown, "text": as_table}[args.format]
    sys.stdout.write(render(doc))
    violations = sum(len(t["guardrails"]["violations"]) for t in doc["tenants"].values())
    unsafe = sum(
        len(t.get("requestPath", {}).get("violations", [])) for t in doc["tenants"].values()
    )
    errors = sum(1 for p in reg.problems if p.severity == "error")
    if failed(doc) or errors:
        what = [f"{errors} validation error(s)"] if errors else []
        what += [f"{violations} guardrail violation(s)"] if violations else []
        what += [f"{unsafe} request-path violation(s)"] if unsafe else []
        sys.stderr.write(
            f"{PREFIX}the plan has {' and '.join(what) or 'a failing check'} (listed in it); "
            "fix them (`tenantry validate` lists the errors with their lines)\n"
        )
        return EXIT_INVALID
    return EXIT_OK
