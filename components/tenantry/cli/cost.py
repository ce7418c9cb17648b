"""``tenantry cost``: monthly showback per tenant for finance (text, CSV or JSON): the
capacity estimate, or with ``--actual`` the usage measured by Prometheus next to it, or with
``--events`` the cost events of a short window (:mod:`.showback`).

Every tenant of the estimate gets at least one row, so finance sees each of them: capacity
the catalog has no price for is a $0 row that says "CPU not priced", and a tenant with no
capacity at all a $0 row that says so. The maxReplicas figure never counts what the tenant's
quotas would not admit (``unreachable_usd`` says how much was left out).

Capacity held for one tenant alone (its dedicated node groups, its nodes carved from a
shared pool) is priced whole, from the fleet plan the platform stack deploys: planned from
scratch, or with ``--previous-plan`` the minimal-disruption re-plan of the plan the cluster
runs now, as ``tenantry fleet up --previous-plan`` deploys it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from ..cost import PoolCost, TenantCost, estimate, fleet_cost, plan_split
from ..planner import DemandError, FleetPlan, extract_demands, plan
from ..spec import PlatformSettings, Registry
from .common import (
    EXIT_OK,
    UsageError,
    add_dirs,
    add_format,
    require_tenants,
    valid_registry,
    warn,
    write_json,
)
from .cost_split import split_json, split_text
from .showback import run_actual, run_events

FIELDS = [
    "tenant",
    "cost_center",
    "tier",
    "item",
    "detail",
    "monthly_usd_min",
    "monthly_usd_max",
    "priced",
    "unreachable_usd",
    "price_date",
]


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cost", help="monthly cost estimate per tenant and cost center")
    add_format(p, "csv")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--actual",
        action="store_true",
        help="showback from usage measured by Prometheus, next to the estimate",
    )
    mode.add_argument(
        "--events",
        action="store_true",
        help="cost events (JSON lines) of each model version over --window",
    )
    p.add_argument("--prometheus", metavar="URL", help="Prometheus with the tenants' rules")
    p.add_argument(
        "--window", help="measurement window, a Prometheus duration (default 30d; events 5m)"
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="end of the window: RFC 3339 or unix seconds (default: now; --events: the last "
        "window boundary at least a minute old)",
    )
    p.add_argument(
        "--otlp",
        metavar="URL",
        help="--events: send them to this OpenTelemetry collector (OTLP/HTTP) instead of stdout",
    )
    p.add_argument(
        "--previous-plan",
        type=Path,
        metavar="PLAN",
        help="the GPU plan the cluster runs now (`tenantry gpu plan --format json`): price "
        "the tenants' own nodes from its minimal-disruption re-plan, as `tenantry fleet up "
        "--previous-plan` deploys it, instead of a plan from scratch",
    )
    add_dirs(p)
    p.set_defaults(func=run)


def deployed_plan(reg: Registry, settings: PlatformSettings, previous: Path | None) -> FleetPlan:
    """The fleet plan the platform stack deploys: the verdict's plan from scratch, or the
    re-plan of ``previous`` (:class:`UsageError` for a file that is not a plan)."""
    assert reg.fleet is not None
    fresh: FleetPlan = reg.fleet
    if previous is None:
        return fresh
    from .fleet import _previous_plan

    before = _previous_plan(previous)
    try:
        return plan(extract_demands(list(reg.tenants.values()), settings), before)
    except DemandError as exc:
        raise UsageError(f"--previous-plan {previous}: {exc}") from None


def rows(c: TenantCost) -> list[dict[str, Any]]:
    """The CSV/JSON rows of one tenant: one per cost line, or one $0 row without any."""
    base = {"tenant": c.tenant, "cost_center": c.cost_center, "tier": c.tier}
    lines = [
        {
            "item": line.item,
            "detail": line.detail,
            "monthly_usd_min": line.monthly_usd_min,
            "monthly_usd_max": line.monthly_usd_max,
            "priced": line.priced,
            "unreachable_usd": line.unreachable_usd,
        }
        for line in c.lines
    ] or [
        {
            "item": "none",
            "detail": "no GPU or CPU capacity declared (no models)",
            "monthly_usd_min": 0.0,
            "monthly_usd_max": 0.0,
            "priced": True,
            "unreachable_usd": 0.0,
        }
    ]
    return [{**base, **line, "price_date": c.price_date} for line in lines]


def money_range(c: TenantCost) -> str:
    """``$573-$859``, ``CPU not priced``, ``$573-$859 + CPU not priced``; with what the
    quota leaves out of the maximum."""
    if not c.priced and c.not_priced:
        text = "CPU not priced"
    else:
        text = f"${c.monthly_usd_min:,.2f}-${c.monthly_usd_max:,.2f}"
        if c.not_priced:
            text += " + CPU not priced"
    if c.unreachable_usd:
        text += f" (max capped by quota: ${c.unreachable_usd:,.2f} unreachable)"
    return text


def run(args: argparse.Namespace) -> int:
    if args.actual:
        return run_actual(args)
    if args.events:
        if args.format == "csv":
            raise UsageError("--events writes JSON lines; drop --format csv")
        if args.previous_plan:
            raise UsageError("--previous-plan goes with the estimate or --actual, not --events")
        return run_events(args)
    if args.prometheus or args.window or args.at or args.otlp:
        raise UsageError("--prometheus, --window, --at and --otlp go with --actual or --events")
    settings, reg = valid_registry(args.tenants, args.stacks)
    require_tenants(reg, args.tenants)
    warn(reg.problems, args.format)
    fleet = deployed_plan(reg, settings, args.previous_plan)
    tenants = [t for _, t in sorted(reg.tenants.items())]
    splits = plan_split(tenants, settings)
    costs = [estimate(t, settings, splits, fleet=fleet) for t in tenants]
    pools = fleet_cost(fleet, reg.tenants, settings)
    table = [r for c in costs for r in rows(c)]
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(table)
        w.writerows(unallocated_rows(pools, costs, settings, fleet_price_date(costs)))
    elif args.format == "json":
        write_json(
            {
                "tenants": [
                    {
                        "tenant": c.tenant,
                        "costCenter": c.cost_center,
                        "tier": c.tier,
                        "monthlyUsdMin": c.monthly_usd_min,
                        "monthlyUsdMax": c.monthly_usd_max,
                        "unreachableUsd": c.unreachable_usd,
                        "notPriced": list(c.not_priced),
                    }
                    for c in costs
                ],
                "lines": table,
                "fleet": fleet_json(pools, costs, settings),
                "llmBaseModels": [split_json(sp) for sp in splits],
                "priceDate": costs[0].price_date if costs else None,
                "problems": [p.to_dict() for p in reg.problems],
            }
        )
    else:
        width = max([len(c.tenant) for c in costs] + [6])
        print(f"{'TENANT'.ljust(width)}  COST CENTER  TIER       MONTHLY (MIN-MAX)")
        for c in costs:
            print(f"{c.tenant.ljust(width)}  {c.cost_center:<11}  {c.tier:<9}  {money_range(c)}")
        total_min = sum(c.monthly_usd_min for c in costs)
        total_max = sum(c.monthly_usd_max for c in costs)
        print(f"{'TOTAL'.ljust(width)}  {'':11}  {'':9}  ${total_min:,.2f}-${total_max:,.2f}")
        print_fleet(pools, costs, settings)
        if costs:
            print(
                f"(on-demand prices of {costs[0].price_date}; see docs/cost.md for what is "
                "and is not priced)"
            )
        for sp in splits:
            print(split_text(sp, "/month"))
    return EXIT_OK


def fleet_price_date(costs: list[TenantCost]) -> str:
    return costs[0].price_date if costs else ""


def _shared_share(
    costs: list[TenantCost], pool: str, settings: PlatformSettings
) -> tuple[float, float]:
    """The tenants' lines on shared pool ``pool`` at their floor and maximum: their
    ``shared-pool`` shares and their ``llm-base`` shares of the shared base LLMs the pool
    serves (counted here, so the platform's row does not price those GPUs again)."""
    items = {f"shared-pool {pool}"} | {
        f"llm-base {b.name}" for b in settings.llm_base_models if b.pool == pool
    }
    lines = [x for c in costs for x in c.lines if x.item in items]
    return sum(x.monthly_usd_min for x in lines), sum(x.monthly_usd_max for x in lines)


def _unallocated(
    pools: list[PoolCost], costs: list[TenantCost], settings: PlatformSettings
) -> list[tuple[PoolCost, float]]:
    """Per shared pool: what its planned nodes cost beyond the tenants' shares at their
    floor, their shares of the shared base LLMs on it included (overflow headroom, spare
    slices, what of a shared base LLM no adapter's declaration covers: the platform's)."""
    out = []
    for p in pools:
        if p.kind == "shared-pool":
            floor, _ = _shared_share(costs, p.pool, settings)
            out.append((p, round(p.monthly_usd_min - floor, 2)))
    return out


def unallocated_rows(
    pools: list[PoolCost], costs: list[TenantCost], settings: PlatformSettings, price_date: str
) -> list[dict[str, Any]]:
    """CSV rows of the platform (``tenant=platform``, its cost center): each shared pool's
    planned nodes less the tenants' shares at their floor, so the rows add up to the
    fleet's GPU nodes at the floor."""
    return [
        {
            "tenant": "platform",
            "cost_center": settings.cost_center,
            "tier": "platform",
            "item": f"unallocated shared-pool {p.pool}",
            "detail": f"{p.nodes_min} x {p.instance_type} planned, ${p.monthly_usd_min:.2f}; "
            "less the tenants' shares at their floor and of its shared base LLMs (overflow "
            "headroom, spare slices, base LLM capacity no adapter declares)",
            "monthly_usd_min": usd,
            "monthly_usd_max": usd,
            "priced": True,
            "unreachable_usd": 0.0,
            "price_date": price_date,
        }
        for p, usd in _unallocated(pools, costs, settings)
    ]


def fleet_json(
    pools: list[PoolCost], costs: list[TenantCost], settings: PlatformSettings
) -> dict[str, Any]:
    unallocated = dict((p.pool, usd) for p, usd in _unallocated(pools, costs, settings))
    return {
        "pools": [
            {
                "pool": p.pool,
                "kind": p.kind,
                "tenant": p.tenant,
                "instanceType": p.instance_type,
                "nodesMin": p.nodes_min,
                "nodesMax": p.nodes_max,
                "monthlyUsdMin": p.monthly_usd_min,
                "monthlyUsdMax": p.monthly_usd_max,
                **({"unallocatedUsd": unallocated[p.pool]} if p.pool in unallocated else {}),
            }
            for p in pools
        ],
        "monthlyUsdMin": round(sum(p.monthly_usd_min for p in pools), 2),
        "monthlyUsdMax": round(sum(p.monthly_usd_max for p in pools), 2),
    }


def print_fleet(pools: list[PoolCost], costs: list[TenantCost], settings: PlatformSettings) -> None:
    """The fleet's GPU nodes as planned, whole, and what of the shared pools no tenant's
    share covers."""
    if not pools:
        return
    unallocated = dict((p.pool, usd) for p, usd in _unallocated(pools, costs, settings))
    print("\nGPU NODES (the fleet plan)        HELD BY     NODES  MONTHLY (MIN-MAX)")
    for p in pools:
        who = p.tenant or "shared"
        nodes = f"{p.nodes_min}" if p.nodes_min == p.nodes_max else f"{p.nodes_min}-{p.nodes_max}"
        money = f"${p.monthly_usd_min:,.2f}-${p.monthly_usd_max:,.2f}"
        extra = (
            f" (${unallocated[p.pool]:,.2f} beyond the tenants' shares)"
            if p.pool in unallocated
            else ""
        )
        print(f"{p.kind + ' ' + p.pool:<32}  {who:<10}  {nodes:>5}  {money}{extra}")
    low = sum(p.monthly_usd_min for p in pools)
    high = sum(p.monthly_usd_max for p in pools)
    print(f"{'FLEET TOTAL':<32}  {'':10}  {'':5}  ${low:,.2f}-${high:,.2f}")
