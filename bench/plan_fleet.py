"""Benchmark ``tenantry plan --all`` on a synthetic fleet against raw Pulumi resources.

Generates N valid tenants (seeded; ``bench/fleet_tenants.py``) into a temporary tenants
directory, runs the one verdict on them as ``plan --all`` does (``tenantry.pipeline.check``:
every file's rules and downstream limits, the registry rules, the fleet GPU plan; every
tenant must be valid), computes the plan document's fleet GPU plan once, then plans every
tenant in this one process the way ``tenantry plan --all`` does, and right after each tenant
runs the baselines for the same tenant (interleaved: same process, same warm runtime, same
engine):

- components: ``record_tenant`` (takes the tenant from the verdict; builds its stack config;
  runs the real ``stacks/__main__.py`` under the recorder: the ``Tenant`` component and all
  its children) and ``tenant_plan`` (facts, every guardrail rule, the cost estimate), timed
  apart;
- raw: the SAME custom resources (types, names, inputs, explicit provider and the
  resources each waits for: all checked equal for every tenant) declared flat with the
  provider SDKs' classes (``bench/raw_resources.py``) under the same ``record()``: no
  validation, no config, no components, no guardrails, no cost;
- raw+tree: the same, under the same component tree made of empty ``ComponentResource``s
  (checked: identical URNs and parents): what Pulumi itself charges for the tree;
- raw unwired: the same resources flat without the provider and dependency edges (each
  independent: a program that could not deploy, shown as the engine's cheapest SDK case);
- generic: the same inputs, unwired, as plain ``pulumi.CustomResource(type, name, props)``:
  the engine's floor.

The targets (<= 50 ms per tenant, <= 1.3x raw) are judged on components total (record +
plan) against raw, medians; the 50 ms also on the end-to-end figure (the verdict, the
fleet GPU plan and every tenant's record + plan, warm-up tenants included, divided by N),
which charges each tenant its share of the validation and the fleet plan. Like ``plan``,
the heap is frozen after the first tenant (``tenantry.engine.freeze_heap``), and every side
records through the same ``record()`` (which pauses the cyclic collector during each
recording); the first ``--warmup`` tenants are left out of the statistics. Time:
``time.perf_counter``. Memory: peak of Python allocations per tenant above the level before
it (``tracemalloc``, in a separate pass over ``--mem-sample`` tenants, since tracing slows
everything down), and the process's ``ru_maxrss`` at the end.

    .venv/bin/python bench/plan_fleet.py --tenants 100
    .venv/bin/python bench/plan_fleet.py --tenants 1000
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_tenants import tenant_files
from raw_resources import raw_program, same_resources

from tenantry.engine import (
    Record,
    close_runtime,
    freeze_heap,
    record,
    record_tenant,
)
from tenantry.loaded import load_platform
from tenantry.pipeline import check
from tenantry.plan.document import fleet_plan
from tenantry.plan.request_path import request_path
from tenantry.plan.snapshot import tenant_plan
from tenantry.spec import PlatformSettings, Registry
from tenantry.spec.errors import errors

STACKS = Path(__file__).resolve().parents[1] / "stacks"
TARGET_MS = 50.0
TARGET_RATIO = 1.3
SIDES = ("record", "plan", "total", "raw", "raw+tree", "unwired", "generic")


def generic_program(records: Sequence[Record]) -> Callable[[], None]:
    customs = [r for r in records if r.custom]

    def program() -> None:
        for r in customs:
            pulumi.CustomResource(r.type, r.name, dict(r.inputs))

    return program


class Fleet:
    def __init__(self, tenants_dir: Path, reg: Registry, platform: PlatformSettings) -> None:
        self.tenants_dir, self.reg, self.platform = tenants_dir, reg, platform
        self.names = frozenset(reg.tenants)

    def plan(self, name: str) -> tuple[list[Record], float, float]:
        """One tenant as ``tenantry plan`` does it: record, then facts + guardrails + cost."""
        t0 = time.perf_counter()
        recs = record_tenant(name, self.tenants_dir, STACKS, verdict=self.reg)
        t1 = time.perf_counter()
        tenant_plan(self.reg.tenants[name], self.platform, [r.to_data() for r in recs], self.names)
        return recs, t1 - t0, time.perf_counter() - t1


def timed(program: Callable[[], None], stack: str) -> tuple[list[Record], float]:
    t0 = time.perf_counter()
    out = record(program, stack=stack)
    return out, time.perf_counter() - t0


def peak_kib(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    fn()
    return (tracemalloc.get_traced_memory()[1] - before) / 1024


def line(label: str, xs: Sequence[float], what: str) -> str:
    med, mean = statistics.median(xs) * 1000, statistics.fmean(xs) * 1000
    return f"  {label:<22} median {med:6.1f} ms  mean {mean:6.1f} ms  {what}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark tenantry plan --all on N tenants.")
    ap.add_argument("--tenants", type=int, default=100, help="N synthetic tenants")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=5, help="tenants left out of the statistics")
    ap.add_argument("--mem-sample", type=int, default=50, help="tenants in the memory pass")
    args = ap.parse_args(argv)
    wall0 = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="tenantry-bench-") as tmp:
        tenants_dir = Path(tmp) / "tenants"
        tenants_dir.mkdir()
        for n, text in tenant_files(args.tenants, args.seed).items():
            (tenants_dir / f"{n}.yaml").write_text(text, "utf-8")
        platform = load_platform(STACKS)
        t0 = time.perf_counter()
        reg = check([tenants_dir], platform, stacks_dir=STACKS)
        t_registry = time.perf_counter() - t0
        if errors(reg.problems) or len(reg.tenants) != args.tenants:
            for p in errors(reg.problems)[:20]:
                print(p, file=sys.stderr)
            print(f"only {len(reg.tenants)} of {args.tenants} tenants are valid", file=sys.stderr)
            return 1
        fleet = Fleet(tenants_dir, reg, platform)
        t0 = time.perf_counter()
        gpu_plan = fleet_plan(list(reg.tenants.values()), platform)
        t_fleet = time.perf_counter() - t0

        times: dict[str, list[float]] = {k: [] for k in SIDES}
        reach_objects: dict[str, list[dict[str, Any]]] = {}
        n_res: list[int] = []
        n_custom: list[int] = []
        t_plan_all = 0.0
        for i, name in enumerate(sorted(reg.tenants)):
            recs, tr, tp = fleet.plan(name)
            t_plan_all += tr + tp
            reach_objects[name] = [r.to_data() for r in recs if r.type.startswith("kubernetes:")]
            if i == 0:
                freeze_heap()  # as `tenantry plan` does after its first tenant
            raw, tw = timed(raw_program(recs), name)
            tree, tt = timed(raw_program(recs, shells=True), name)
            unwired, tu = timed(raw_program(recs, wired=False), name)
            generic, tg = timed(generic_program(recs), name)
            problems = same_resources(recs, raw) + same_resources(recs, tree, tree=True)
            problems += same_resources(recs, unwired, wired=False)
            problems += same_resources(recs, generic, wired=False)
            if problems:
                raise SystemExit(f"{name}: a baseline declared other resources: {problems[:5]}")
            n_res.append(len(recs))
            n_custom.append(len(raw))
            if i >= args.warmup:
                for k, v in zip(SIDES, (tr, tp, tr + tp, tw, tt, tu, tg), strict=True):
                    times[k].append(v)

        # the request-path proof over every tenant's recorded objects, as `plan --all` runs it
        t0 = time.perf_counter()
        proof = request_path(sorted(reg.tenants), reg.tenants, platform, reach_objects)
        t_reach = time.perf_counter() - t0
        if not proof.passed:
            raise SystemExit(f"the request-path proof fails: {proof.violations[:3]}")
        del reach_objects

        sample = sorted(reg.tenants)[:: max(1, args.tenants // max(1, args.mem_sample))]
        sample = sample[: args.mem_sample]
        tracemalloc.start()
        mem_comp, mem_raw = [], []
        for n in sample:
            mem_comp.append(peak_kib(partial(fleet.plan, n)))
            recs = record_tenant(n, tenants_dir, STACKS, verdict=reg)
            mem_raw.append(peak_kib(partial(record, raw_program(recs), stack=n)))
        tracemalloc.stop()
        close_runtime()

    tiers: dict[str, int] = {}
    for t in reg.tenants.values():
        tiers[t.tier.name] = tiers.get(t.tier.name, 0) + 1
    med = {k: statistics.median(v) for k, v in times.items()}
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = print
    py = sys.version.split()[0]
    out(f"tenantry plan benchmark: N={args.tenants} seed={args.seed}, python {py}")
    out(
        f"  tiers {dict(sorted(tiers.items()))}; resources per tenant {min(n_res)}-{max(n_res)}"
        f" (mean {statistics.fmean(n_res):.1f}, of which {statistics.fmean(n_custom):.1f} custom)"
    )
    out(
        f"  once per run: the verdict (pipeline.check) {t_registry * 1000:.0f} ms, fleet GPU plan "
        f"{t_fleet * 1000:.0f} ms ({len(gpu_plan.pools)} pools); planning all {args.tenants} "
        f"tenants {t_plan_all:.1f} s"
    )
    out(
        f"  request-path proof over all {args.tenants} tenants: {t_reach:.2f} s "
        f"({t_reach * 1000 / args.tenants:.1f} ms per tenant; {len(proof.models)} models x "
        f"{len(proof.callers)} caller classes, {proof.evaluated} evaluated path by path)"
    )
    end_to_end_ms = (t_registry + t_fleet + t_plan_all + t_reach) * 1000 / args.tenants
    out(
        f"  end to end (verdict + fleet plan + planning every tenant + request-path "
        f"proof) / N: {end_to_end_ms:.1f} ms per tenant"
    )
    out(f"per tenant, {len(times['total'])} tenants (first {args.warmup} left out as warm-up):")
    out(line("components record", times["record"], "tenant from the verdict + stacks/__main__.py"))
    out(line("components plan", times["plan"], "facts + guardrails + cost"))
    out(line("components total", times["total"], "= what `tenantry plan --all` spends"))
    out(line("raw (SDK classes)", times["raw"], "same resources and edges, flat, no components"))
    out(line("raw + empty tree", times["raw+tree"], "same, under empty ComponentResources"))
    out(line("raw unwired", times["unwired"], "same, flat, no provider/dependency edges"))
    out(line("generic CustomResource", times["generic"], "unwired, untyped: engine floor"))
    out(
        f"  ratios of medians: total/raw {med['total'] / med['raw']:.2f}x, "
        f"record/raw {med['record'] / med['raw']:.2f}x, "
        f"record/raw+tree {med['record'] / med['raw+tree']:.2f}x, "
        f"total/raw unwired {med['total'] / med['unwired']:.2f}x"
    )
    out(f"memory, peak Python allocations per tenant (tracemalloc, {len(sample)} tenants):")
    out(
        f"  components (record + plan) median {statistics.median(mem_comp):6.0f} KiB, "
        f"max {max(mem_comp):.0f} KiB"
    )
    out(
        f"  raw (SDK classes)          median {statistics.median(mem_raw):6.0f} KiB, "
        f"max {max(mem_raw):.0f} KiB"
    )
    out(
        f"  process ru_maxrss at exit: {maxrss_mib:.0f} MiB; bench wall time "
        f"{time.perf_counter() - wall0:.0f} s"
    )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    ok_median = med["total"] * 1000 <= TARGET_MS
    ok_ratio = med["total"] / med["raw"] <= TARGET_RATIO
    out(
        f"targets: <= {TARGET_MS:g} ms per tenant: median {verdict(ok_median)}, "
        f"end to end {verdict(end_to_end_ms <= TARGET_MS)}; "
        f"<= {TARGET_RATIO:g}x raw: {verdict(ok_ratio)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
