"""``tenantry verify``: prove a deployed tenant serves what its file declares."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..aws.names import TenantNames
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
    p.add_argument(
        "--metrics-url",
        help="host:port of Triton's metrics endpoint: the device's GPU memory is checked "
        "against the model's slice too",
    )
    p.add_argument(
        "--bucket",
        help="the tenant's model bucket (default: tenantry-<tenant>-<accountId>, as the "
        "tenant stack names it)",
    )
    p.add_argument(
        "--s3-endpoint-url", help="S3 endpoint (default: AWS's; for S3-compatible stores)"
    )
    p.add_argument(
        "--skip-artifacts",
        action="store_true",
        help="do not read the bucket to check the declared artifact digests",
    )
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
    platform, reg = valid_registry([args.tenants / f"{args.tenant}.yaml"], args.stacks)
    t = reg.tenants[args.tenant]
    caps = serving_caps(t)
    generated = {
        (m.name, v): model_config(m, t.tier, caps, v, t.name) for m in t.models for v in versions(m)
    }
    try:
        endpoint = TritonEndpoint(
            args.url, args.protocol, args.token, args.timeout, metrics_url=args.metrics_url
        )
    except EndpointError as exc:
        raise UsageError(str(exc)) from exc
    artifacts = None
    if not args.skip_artifacts:
        bucket = args.bucket or TenantNames(t.name, platform.account_id, t.region).bucket_name
        artifacts = bucket_reader(bucket, t.region, args.s3_endpoint_url)
    results = verify_tenant(
        t,
        endpoint,
        generated,
        requests=args.requests,
        revisions=args.revisions,
        artifacts=artifacts,
    )
    sys.stdout.write(as_json(results) if args.format == "json" else as_table(results))
    return EXIT_OK if results and all(r.ok for r in results) else EXIT_INVALID


def bucket_reader(
    bucket: str, region: str, endpoint_url: str | None = None
) -> Callable[[str, str], str]:
    """(model, version) -> the digest of that version's model directory in ``bucket``, read
    with boto3's default credentials (the caller's AWS identity: a platform admin, or the
    tenant's admin role, may read the bucket)."""

    def digest(model: str, version: str) -> str:
        import boto3

        from ..artifacts import bucket_digest

        s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint_url)
        return bucket_digest(s3, bucket, model, version)

    return digest
