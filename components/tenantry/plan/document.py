"""The plan document for a set of tenants, optionally diffed against a base plan. Pure apart
from the injected recorder (which runs each tenant's real stack program)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..planner import FleetPlan, extract_demands, plan
from ..spec import PlatformSettings, Problem, ResolvedTenant
from .diff import diff_snapshots
from .request_path import request_path, tenant_section
from .snapshot import SCHEMA_VERSION, tenant_plan

Recorder = Callable[[str], list[dict[str, Any]]]


def fleet_plan(
    tenants: Sequence[ResolvedTenant], platform: PlatformSettings, previous: FleetPlan | None = None
) -> FleetPlan:
    return plan(extract_demands(list(tenants), platform), previous=previous)


def build(
    selected: Sequence[str],
    tenants: Mapping[str, ResolvedTenant],
    platform: PlatformSettings,
    recorder: Recorder,
    previous: FleetPlan | None = None,
    problems: Mapping[str, Sequence[Problem]] | None = None,
    invalid: Mapping[str, Sequence[Problem]] | None = None,
    general: Sequence[Problem] = (),
) -> dict[str, Any]:
    """Plan ``selected`` tenants (valid ones); the fleet GPU plan always covers every valid
    tenant. ``problems``: each planned tenant's warnings; ``invalid``: the tenants that
    cannot be planned and their problems; ``general``: problems of the platform settings
    or the fleet. Every one of them is in the document (every format shows them)."""
    names = frozenset(tenants)
    fleet = fleet_plan(list(tenants.values()), platform, previous)
    problems = problems or {}
    records = {n: recorder(n) for n in sorted(selected)}
    reach = request_path(sorted(selected), tenants, platform, records)
    plans = {}
    for n in sorted(selected):
        plans[n] = tenant_plan(
            tenants[n], platform, records[n], names, problems.get(n, ()), fleet=fleet
        )
        plans[n]["requestPath"] = tenant_section(reach, n)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tenants": plans,
        "invalid": {n: [p.to_dict() for p in ps] for n, ps in sorted((invalid or {}).items())},
        "problems": [p.to_dict() for p in general],
        "fleet": {
            "pools": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "gpuModel": p.gpu_model,
                    "nodes": p.nodes,
                    "gpus": p.used_gpus,
                    "lowerBound": p.lower_bound,
                    "nodeConfigs": list(p.node_configs),
                    # what set "nodes": gpu, or cpu / memory / pods where a node's
                    # allocatable holds fewer replicas than its GPUs' slices
                    "boundBy": p.bound_by,
                    "gpuNodes": p.gpu_nodes,
                }
                for p in fleet.pools
            ],
            "errors": list(fleet.errors),
        },
        "fleetPlan": fleet.to_dict(),
    }


def failed(doc: Mapping[str, Any]) -> bool:
    """A plan fails when a tenant breaks a guardrail or its request path lets anything but
    its declared callers reach a model (or refuses a declared one)."""
    return any(
        not t["guardrails"]["passed"] or not t.get("requestPath", {"passed": True})["passed"]
        for t in doc["tenants"].values()
    )


def _layout(gpu: Mapping[str, Any] | None) -> str:
    if not gpu or not gpu["slots"]:
        return "free"
    return ", ".join(f"{s['profile']}@{s['start']}" for s in gpu["slots"])


def _reconfigured(head: Mapping[str, Any], base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GPUs whose layout changes, with the tenants whose slices they hold before and after."""
    base_pools = {p["name"]: p for p in base.get("fleetPlan", {}).get("pools", [])}
    out = []
    for pool in head["fleetPlan"]["pools"]:
        before = {
            (g["node"], g["gpu"]): g for g in base_pools.get(pool["name"], {}).get("gpu_slots", [])
        }
        after = {(g["node"], g["gpu"]): g for g in pool["gpu_slots"]}
        for item in pool.get("reconfigured", []):
            key = (item["node"], item["gpu"])
            tenants = sorted(
                {
                    s["tenant"]
                    for g in (before.get(key), after.get(key))
                    if g
                    for s in g["slots"]
                    if s["tenant"]
                }
            )
            out.append(
                {
                    "pool": pool["name"],
                    "node": key[0],
                    "gpu": key[1],
                    "before": _layout(before.get(key)),
                    "after": _layout(after.get(key)),
                    "tenants": tenants,
                }
            )
    return out


def with_diff(head: dict[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``diff``: per tenant in either plan, added/removed/changed resources (changed
    fields listed) and the monthly cost delta; plus the GPUs the fleet must drain."""
    out: dict[str, Any] = {}
    base_tenants = base.get("tenants", {})
    for name in sorted(set(head["tenants"]) | set(base_tenants)):
        h, b = head["tenants"].get(name), base_tenants.get(name)
        d = diff_snapshots(b["records"] if b else [], h["records"] if h else [])
        cost_h = h["cost"] if h else {"monthlyUsdMin": 0.0, "monthlyUsdMax": 0.0}
        cost_b = b["cost"] if b else {"monthlyUsdMin": 0.0, "monthlyUsdMax": 0.0}
        out[name] = {
            "status": "added"
            if b is None
            else "removed"
            if h is None
            else "unchanged"
            if d.empty
            else "changed",
            "added": [f"{t} {n}" for t, n in d.added],
            "removed": [f"{t} {n}" for t, n in d.removed],
            "changed": [
                {
                    "resource": f"{c.type} {c.name}",
                    "fields": [
                        {"path": f.path, "before": f.before, "after": f.after} for f in c.fields
                    ],
                }
                for c in d.changed
            ],
            "costDelta": {
                "monthlyUsdMin": round(cost_h["monthlyUsdMin"] - cost_b["monthlyUsdMin"], 2),
                "monthlyUsdMax": round(cost_h["monthlyUsdMax"] - cost_b["monthlyUsdMax"], 2),
            },
        }
    return {**head, "diff": {"tenants": out, "reconfiguredGpus": _reconfigured(head, base)}}
