"""``tenantry verify``: prove a deployed tenant serves what its file declares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import EXIT_INVALID, EXIT_OK, UsageError, valid_registry


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check a tenant's live models with tritonclient")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--url", required=True, help="host:port of the v2 endpoint")
    p.add_argument("--protocol", choices=["http", "grpc"], default="http")
    p.add_argument("--token", help="bearer token sent with every request")
    p.add_argument("--requests", type=int, default=50, help="latency sample size (default 50)")
    p.add_argument(
        "--revisions",
        choices=["stable", "canary", "all"],
        default="all",
        help="versions to check (a canary's revision is served by its own pods)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--tenants", type=Path, default=Path("tenants"))
    p.add_argument("--stacks", type=Path, default=Path("stacks"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..triton import model_config, serving_caps, versions
    from ..verify import EndpointError, TritonEndpoint, verify_tenant
    from ..verify.report import as_json, as_table

    if args.requests < 1:
        raise UsageError(f"--requests must be at least 1, got {args.requests}")
    _platform, reg = valid_registry([args.tenants / f"{args.tenant}.yaml"], args.stacks)
    t = reg.tenants[args.tenant]
    caps = serving_caps(t)
    generated = {
        (m.name, v): model_config(m, t.tier, caps, v, t.name) for m in t.models for v in versions(m)
    }
    try:
        endpoint = TritonEndpoint(args.url, args.protocol, args.token, args.timeout)
    except EndpointError as exc:
        raise UsageError(str(exc)) from exc
    results = verify_tenant(
        t, endpoint, generated, requests=args.requests, revisions=args.revisions
    )
    sys.stdout.write(as_json(results) if args.format == "json" else as_table(results))
    return EXIT_OK if results and all(r.ok for r in results) else EXIT_INVALID
