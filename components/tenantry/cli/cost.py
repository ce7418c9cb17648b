"""``tenantry cost``: monthly showback per tenant for finance (text, CSV or JSON): the
capacity estimate, or with ``--actual`` the usage measured by Prometheus next to it, or with
``--events`` the cost events of a short window (:mod:`.showback`).

Every tenant of the estimate gets at least one row, so finance sees each of them: capacity
the catalog has no price for is a $0 row that says "CPU not priced", and a tenant with no
capacity at all a $0 row that says so. The maxReplicas figure never counts what the tenant's
quotas would not admit (``unreachable_usd`` says how much was left out).
"""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from ..cost import TenantCost, estimate, plan_split
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
    add_dirs(p)
    p.set_defaults(func=run)


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
        return run_events(args)
    if args.prometheus or args.window or args.at or args.otlp:
        raise UsageError("--prometheus, --window, --at and --otlp go with --actual or --events")
    settings, reg = valid_registry(args.tenants, args.stacks)
    require_tenants(reg, args.tenants)
    warn(reg.problems, args.format)
    tenants = [t for _, t in sorted(reg.tenants.items())]
    splits = plan_split(tenants, settings)
    costs = [estimate(t, settings, splits) for t in tenants]
    table = [r for c in costs for r in rows(c)]
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(table)
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
        if costs:
            print(
                f"(on-demand prices of {costs[0].price_date}; see docs/cost.md for what is "
                "and is not priced)"
            )
        for sp in splits:
            print(split_text(sp, "/month"))
    return EXIT_OK
