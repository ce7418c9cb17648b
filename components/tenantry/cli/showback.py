"""``tenantry cost --actual`` and ``tenantry cost --events``: measured usage from Prometheus,
priced, next to the capacity estimate (table, CSV or JSON), and the cost-event stream
(JSON lines)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from typing import Any

from ..observability.events import cost_event
from ..observability.otlp import OtlpError, export
from ..observability.prometheus import PrometheusClient, PrometheusError, duration_seconds
from ..observability.showback import Showback, TenantShowback, Totals, showback
from ..observability.usage import measure, measure_adapter_tokens, measure_own_llms
from .common import EXIT_OK, InvalidInput, UsageError, valid_registry, write_json
from .cost_split import split_json, split_text

CSV_FIELDS = [
    "level",
    "cost_center",
    "tenant",
    "tier",
    "model",
    "version",
    "requests",
    "successes",
    "failures",
    "rejections_rate_limited",
    "rejections_queue_full",
    "queue_seconds",
    "compute_seconds",
    "gpu_seconds",
    "cpu_seconds",
    "cost_usd",
    "monthly_pace_usd",
    "tokens",
    "estimate_monthly_usd_min",
    "estimate_monthly_usd_max",
    "window",
    "window_end",
    "price_date",
]


def parse_time(text: str | None) -> float:
    """``--at``: RFC 3339 (``2026-12-01T00:00:00Z``) or unix seconds; default now."""
    if text is None:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"--at {text!r}: accepted is RFC 3339 (2026-12-01T00:00:00Z) or unix seconds"
        ) from exc
    if parsed.tzinfo is None:
        raise UsageError(f"--at {text!r}: give a time zone (Z or +hh:mm)")
    return parsed.timestamp()


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _window(args: argparse.Namespace, default: str) -> tuple[str, float]:
    window = args.window or default
    try:
        return window, duration_seconds(window)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from exc


BASE_PREFIX = "llm-base "  # the row of a tenant adapter's share of a shared base model
SETTLE_SECONDS = 60.0  # scrape, rule evaluation and staleness settle before a window closes


def aligned_end(now: float, window_seconds: float) -> float:
    """The last window boundary (a multiple of the window since the epoch) at least
    SETTLE_SECONDS old: consecutive runs of ``--events`` then cover consecutive windows,
    and a rerun of the same window gives the same event ids."""
    return float(int((now - SETTLE_SECONDS) // window_seconds) * window_seconds)


def _measure(args: argparse.Namespace, default_window: str) -> tuple[Showback, float]:
    if not args.prometheus:
        raise UsageError("--actual and --events need --prometheus URL")
    if args.otlp and not args.events:
        raise UsageError("--otlp goes with --events")
    window, seconds = _window(args, default_window)
    if args.at is None and args.events:
        end = aligned_end(time.time(), seconds)
    else:
        end = parse_time(args.at)
    platform, reg = valid_registry(args.tenants, args.stacks)
    try:
        client = PrometheusClient(args.prometheus)
        usages = measure(client, window=window, at=end)
        tokens = (
            measure_adapter_tokens(client, window=window, at=end)
            if platform.llm_base_models
            else []
        )
        served = {
            t.name: {f"{t.name}-{x.name}" for x in t.llms} for t in reg.tenants.values() if t.llms
        }
        own = measure_own_llms(client, served, window=window, at=end) if served else []
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except PrometheusError as exc:
        raise InvalidInput(
            f"{exc}; check --prometheus and that it loads the tenants' rules"
        ) from None
    from .cost import deployed_plan  # cost imports this module

    report = showback(
        usages,
        dict(reg.tenants),
        platform,
        window=window,
        window_seconds=seconds,
        end=end,
        adapter_tokens=tokens,
        own_llms=own,
        fleet=deployed_plan(reg, platform, getattr(args, "previous_plan", None)),
    )
    for warning in report.warnings:
        print(f"tenantry: warning: {warning}", file=sys.stderr)
    return report, seconds


def run_events(args: argparse.Namespace) -> int:
    """One JSON line per measured model version (``docs/cost-event.schema.json``), on
    stdout or to an OpenTelemetry collector (``--otlp``)."""
    report, seconds = _measure(args, "5m")
    events = [
        cost_event(m, end=report.end, window_seconds=seconds)
        for row in report.tenants
        for m in row.models
    ]
    if args.otlp:
        try:
            export(args.otlp, events)
        except OtlpError as exc:
            raise InvalidInput(f"{exc}; check --otlp") from None
        print(
            f"tenantry: sent {len(events)} cost event(s) for the window ending "
            f"{_iso(report.end)} to {args.otlp}",
            file=sys.stderr,
        )
        return EXIT_OK
    for event in events:
        sys.stdout.write(event.model_dump_json(by_alias=True) + "\n")
    return EXIT_OK


def _totals(t: Totals, report: Showback) -> dict[str, Any]:
    return {
        "requests": round(t.requests, 3),
        "successes": round(t.successes, 3),
        "failures": round(t.failures, 3),
        "rejectionsRateLimited": round(t.rejections_rate_limited, 3),
        "rejectionsQueueFull": round(t.rejections_queue_full, 3),
        "queueSeconds": round(t.queue_seconds, 6),
        "computeSeconds": round(t.compute_seconds, 6),
        "gpuSeconds": round(t.gpu_seconds, 3) if t.complete else None,
        "cpuSeconds": round(t.cpu_seconds, 3) if t.complete else None,
        "costUsd": round(t.cost_usd, 6) if t.complete else None,
        "monthlyPaceUsd": round(report.monthly_pace(t.cost_usd), 2) if t.complete else None,
        "tokens": round(t.tokens, 3),
    }


def _r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _as_json(report: Showback) -> dict[str, Any]:
    def model(row: TenantShowback) -> list[dict[str, Any]]:
        out = []
        for m in row.models:
            u = m.usage
            out.append(
                {
                    "model": u.model,
                    "version": u.version,
                    "requests": round(u.requests, 3),
                    "successes": round(u.successes, 3),
                    "failures": {k: round(v, 3) for k, v in sorted(u.failures.items())},
                    "rejectionsRateLimited": round(u.rejections_rate_limited, 3),
                    "rejectionsQueueFull": round(u.rejections_queue_full, 3),
                    "queueSeconds": round(u.queue_seconds, 6),
                    "computeSeconds": round(u.compute_seconds, 6),
                    "replicaSeconds": _r3(u.replica_seconds),
                    "gpuSeconds": _r3(u.gpu_seconds),
                    "cpuSeconds": _r3(u.cpu_seconds),
                    "costUsd": None if m.cost_usd is None else round(m.cost_usd, 6),
                    "monthlyPaceUsd": None
                    if m.cost_usd is None
                    else round(report.monthly_pace(m.cost_usd), 2),
                    "instanceType": m.rates.instance_type if m.rates else None,
                    "gpuShare": round(m.rates.gpu_share, 6) if m.rates else None,
                }
            )
        return out

    return {
        "window": report.window,
        "windowSeconds": report.window_seconds,
        "windowEnd": _iso(report.end),
        "priceDate": report.price_date,
        "tenants": [
            {
                "tenant": row.tenant,
                "costCenter": row.cost_center,
                "tier": row.tier,
                "estimate": None
                if row.estimate is None
                else {
                    "monthlyUsdMin": row.estimate.monthly_usd_min,
                    "monthlyUsdMax": row.estimate.monthly_usd_max,
                },
                "measured": _totals(row.totals, report),
                "models": model(row),
                "llmAdapters": [
                    {
                        "model": x.usage.model,
                        "adapter": x.usage.adapter,
                        "baseModel": x.usage.base_model,
                        "requests": round(x.usage.requests, 3),
                        "promptTokens": round(x.usage.prompt_tokens, 3),
                        "completionTokens": round(x.usage.completion_tokens, 3),
                        "tokenShare": round(x.share, 6),
                        "gpuSeconds": round(x.gpu_seconds, 3),
                        "costUsd": round(x.cost_usd, 6),
                    }
                    for x in row.llm
                ],
                "ownLlms": [
                    {
                        "model": o.usage.model,
                        "requests": round(o.usage.requests, 3),
                        "promptTokens": round(o.usage.prompt_tokens, 3),
                        "completionTokens": round(o.usage.completion_tokens, 3),
                        "replicaSeconds": _r3(o.usage.replica_seconds),
                        "gpuSeconds": _r3(o.gpu_seconds),
                        "costUsd": None if o.cost_usd is None else round(o.cost_usd, 6),
                        "instanceType": o.rates.instance_type if o.rates else None,
                        "gpuShare": round(o.rates.gpu_share, 6) if o.rates else None,
                    }
                    for o in row.own_llms
                ],
            }
            for row in report.tenants
        ],
        "llmBaseModels": [split_json(sp) for sp in report.llm_splits],
        "costCenters": [
            {
                "costCenter": cc.cost_center,
                "tenants": cc.tenants,
                "estimate": {
                    "monthlyUsdMin": round(cc.estimate_monthly_usd_min, 2),
                    "monthlyUsdMax": round(cc.estimate_monthly_usd_max, 2),
                },
                "measured": _totals(cc.totals, report),
            }
            for cc in report.cost_centers
        ],
        "measured": _totals(report.totals, report),
        "warnings": report.warnings,
    }


def _csv_rows(report: Showback) -> list[dict[str, Any]]:
    common = {"window": report.window, "window_end": _iso(report.end)}
    common["price_date"] = report.price_date
    rows: list[dict[str, Any]] = []

    def totals(t: Totals) -> dict[str, Any]:
        j = _totals(t, report)
        return {
            "requests": j["requests"],
            "successes": j["successes"],
            "failures": j["failures"],
            "rejections_rate_limited": j["rejectionsRateLimited"],
            "rejections_queue_full": j["rejectionsQueueFull"],
            "queue_seconds": j["queueSeconds"],
            "compute_seconds": j["computeSeconds"],
            "gpu_seconds": j["gpuSeconds"],
            "cpu_seconds": j["cpuSeconds"],
            "cost_usd": j["costUsd"],
            "monthly_pace_usd": j["monthlyPaceUsd"],
            "tokens": j["tokens"],
        }

    for cc in report.cost_centers:
        rows.append(
            {
                "level": "cost_center",
                "cost_center": cc.cost_center,
                **totals(cc.totals),
                "estimate_monthly_usd_min": round(cc.estimate_monthly_usd_min, 2),
                "estimate_monthly_usd_max": round(cc.estimate_monthly_usd_max, 2),
                **common,
            }
        )
    for row in report.tenants:
        base = {"cost_center": row.cost_center, "tenant": row.tenant, "tier": row.tier}
        rows.append(
            {
                "level": "tenant",
                **base,
                **totals(row.totals),
                "estimate_monthly_usd_min": row.estimate.monthly_usd_min if row.estimate else "",
                "estimate_monthly_usd_max": row.estimate.monthly_usd_max if row.estimate else "",
                **common,
            }
        )
        for m in row.models:
            one = Totals()
            one.add(m)
            rows.append(
                {
                    "level": "model",
                    **base,
                    "model": m.usage.model,
                    "version": m.usage.version,
                    **totals(one),
                    **common,
                }
            )
        for x in row.llm:
            one = Totals()
            one.add_llm(x)
            rows.append(
                {
                    "level": "llm_adapter",
                    **base,
                    "model": x.usage.model,
                    "version": f"{BASE_PREFIX}{x.usage.base_model}",
                    **totals(one),
                    **common,
                }
            )
        for o in row.own_llms:
            one = Totals()
            one.add_own_llm(o)
            rows.append(
                {
                    "level": "own_llm",
                    **base,
                    "model": o.usage.model,
                    "version": "",
                    **totals(one),
                    **common,
                }
            )
    return rows


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"


def _table(report: Showback) -> None:
    out = sys.stdout
    out.write(
        f"Measured over {report.window} to {_iso(report.end)}, priced at the catalog's "
        f"on-demand prices of {report.price_date}; monthly pace = cost x 730 h / window.\n\n"
    )
    head = (
        f"{'TENANT / MODEL':<28} {'COST CENTER':<11} {'TIER':<9} {'REQUESTS':>10} "
        f"{'COMPUTE-S':>10} {'GPU-S':>10} {'VCPU-S':>10} {'COST':>11} {'PACE/MONTH':>12} "
        f"{'ESTIMATE/MONTH':>25}"
    )
    out.write(head + "\n")

    def line(label: str, cc: str, tier: str, t: Totals, estimate: str) -> None:
        j = _totals(t, report)
        gpu = "-" if j["gpuSeconds"] is None else f"{j['gpuSeconds']:,.1f}"
        cpu = "-" if j["cpuSeconds"] is None else f"{j['cpuSeconds']:,.1f}"
        text = (
            f"{label:<28} {cc:<11} {tier:<9} {t.requests:>10,.0f} {t.compute_seconds:>10,.1f} "
            f"{gpu:>10} {cpu:>10} {_money(j['costUsd']):>11} "
            f"{_money(j['monthlyPaceUsd']):>12} {estimate:>25}"
        )
        out.write(text.rstrip() + "\n")

    for row in report.tenants:
        est = (
            "not in tenants/"
            if row.estimate is None
            else f"{_money(row.estimate.monthly_usd_min)} - {_money(row.estimate.monthly_usd_max)}"
        )
        line(row.tenant, row.cost_center, row.tier, row.totals, est)
        for m in row.models:
            one = Totals()
            one.add(m)
            line(f"  {m.usage.model} v{m.usage.version}", "", "", one, "")
        for x in row.llm:
            one = Totals()
            one.add_llm(x)
            line(f"  {x.usage.model} ({BASE_PREFIX}{x.usage.base_model})", "", "", one, "")
        for o in row.own_llms:
            one = Totals()
            one.add_own_llm(o)
            line(f"  {o.usage.model} (own LLM)", "", "", one, "")
    out.write("\n")
    for cc in report.cost_centers:
        est = f"{_money(cc.estimate_monthly_usd_min)} - {_money(cc.estimate_monthly_usd_max)}"
        line(f"cost center {cc.cost_center}", "", "", cc.totals, est)
    total_min = sum(cc.estimate_monthly_usd_min for cc in report.cost_centers)
    total_max = sum(cc.estimate_monthly_usd_max for cc in report.cost_centers)
    line("TOTAL", "", "", report.totals, f"{_money(total_min)} - {_money(total_max)}")
    out.write(
        "(measured: shared-pool GPU slices and CPU-only models by what they held, shared base "
        "LLMs by each tenant's share of their tokens; a tenant's own nodes - dedicated node "
        "groups, an isolated tenant's nodes of a shared pool - are paid at the estimate's "
        "floor whatever they serve - see docs/cost.md)\n"
    )
    for sp in report.llm_splits:
        out.write(split_text(sp, f" over {report.window}") + "\n")


def run_actual(args: argparse.Namespace) -> int:
    report, _ = _measure(args, "30d")
    if args.format == "json":
        write_json(_as_json(report))
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(_csv_rows(report))
    else:
        _table(report)
    return EXIT_OK
