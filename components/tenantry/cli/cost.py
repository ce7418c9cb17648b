"""``tenantry cost``: monthly showback per tenant for finance (table, CSV or JSON): the
capacity estimate, or with ``--actual`` the usage measured by Prometheus next to it, or with
``--events`` the cost events of a short window (:mod:`.showback`)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from ..cost import estimate
from .common import EXIT_OK, UsageError, valid_registry
from .showback import run_actual, run_events

FIELDS = [
    "tenant",
    "cost_center",
    "tier",
    "item",
    "detail",
    "monthly_usd_min",
    "monthly_usd_max",
    "price_date",
]


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cost", help="monthly cost estimate per tenant and cost center")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
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
    p.add_argument("--tenants", type=Path, default=Path("tenants"))
    p.add_argument("--stacks", type=Path, default=Path("stacks"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.actual:
        return run_actual(args)
    if args.events:
        return run_events(args)
    if args.prometheus or args.window or args.at or args.otlp:
        raise UsageError("--prometheus, --window, --at and --otlp go with --actual or --events")
    platform, reg = valid_registry([args.tenants], args.stacks)
    costs = [estimate(t, platform) for _, t in sorted(reg.tenants.items())]
    rows = [
        {
            "tenant": c.tenant,
            "cost_center": c.cost_center,
            "tier": c.tier,
            "item": line.item,
            "detail": line.detail,
            "monthly_usd_min": line.monthly_usd_min,
            "monthly_usd_max": line.monthly_usd_max,
            "price_date": c.price_date,
        }
        for c in costs
        for line in c.lines
    ]
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    elif args.format == "json":
        json.dump(
            {
                "tenants": [
                    {
                        "tenant": c.tenant,
                        "costCenter": c.cost_center,
                        "tier": c.tier,
                        "monthlyUsdMin": c.monthly_usd_min,
                        "monthlyUsdMax": c.monthly_usd_max,
                    }
                    for c in costs
                ],
                "lines": rows,
                "priceDate": costs[0].price_date if costs else None,
            },
            sys.stdout,
            indent=2,
            sort_keys=True,
        )
        sys.stdout.write("\n")
    else:
        width = max([len(c.tenant) for c in costs] + [6])
        print(f"{'TENANT'.ljust(width)}  COST CENTER  TIER       MIN/MONTH     MAX/MONTH")
        for c in costs:
            print(
                f"{c.tenant.ljust(width)}  {c.cost_center:<11}  {c.tier:<9}  "
                f"${c.monthly_usd_min:>11,.2f}  ${c.monthly_usd_max:>11,.2f}"
            )
        total_min = sum(c.monthly_usd_min for c in costs)
        total_max = sum(c.monthly_usd_max for c in costs)
        print(
            f"{'TOTAL'.ljust(width)}  {'':11}  {'':9}  ${total_min:>11,.2f}  ${total_max:>11,.2f}"
        )
        if costs:
            print(
                f"(on-demand prices of {costs[0].price_date}; GPU capacity only: see "
                "docs/cost.md for what is and is not priced)"
            )
    return EXIT_OK
