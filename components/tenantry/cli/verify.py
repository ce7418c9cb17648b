"""``tenantry verify``: prove a deployed tenant serves what its file declares.

The bearer token sent with every request comes from, in order: ``--token-file FILE`` (``-``
reads stdin), the environment variable ``TENANTRY_VERIFY_TOKEN``, and only as a last resort
``--token`` on the command line, which shell history and ``ps`` show to anyone on the
machine (a warning says so).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..aws.names import tenant_names
from ..pipeline import errors_for
from ..verify.percentile import DEFAULT_REQUESTS
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    PREFIX,
    InvalidInput,
    UsageError,
    add_dirs,
    add_format,
    unknown_tenants,
    verdict,
)

TOKEN_ENV = "TENANTRY_VERIFY_TOKEN"


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="check a tenant's live models (tritonclient) and LLM adapters (the LLM gateway)",
    )
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--url", help="host:port of the v2 endpoint (the tenant's models)")
    p.add_argument(
        "--llm-url",
        help="http(s)://host:port of the Tenantry LLM gateway: checks the tenant's LLM adapters "
        "(run it from a pod of the tenant's namespace: the gateway knows the caller by its mesh "
        "identity)",
    )
    p.add_argument(
        "--own-llm-url",
        action="append",
        default=[],
        metavar="[LLM=]URL",
        help="http(s)://host:port of one of the tenant's own LLMs (KServe's workload Service "
        "<tenant>-<llm>-kserve-workload-svc, port 8000), LLM= naming which when the tenant has "
        "several (repeatable; run it from a namespace the tenant allows)",
    )
    p.add_argument(
        "--llm-header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="an extra header on every LLM request (repeatable)",
    )
    p.add_argument(
        "--exhaust-budget",
        action="store_true",
        help="also spend an adapter's token budget until the gateway refuses (429), to check "
        "the refusal; its callers are refused until the budget refills",
    )
    p.add_argument("--protocol", choices=["http", "grpc"], default="http")
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="file holding the bearer token sent with every request ('-': stdin)",
    )
    p.add_argument(
        "--token",
        help=f"the bearer token itself: a fallback only (shell history and ps show it); "
        f"prefer {TOKEN_ENV} or --token-file",
    )
    p.add_argument(
        "--requests",
        type=int,
        default=DEFAULT_REQUESTS,
        help=f"latency sample per model version (default {DEFAULT_REQUESTS}: enough to judge a "
        "p99, see docs/verify.md)",
    )
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
    add_format(p)
    add_dirs(p)
    p.set_defaults(func=run)


def token(args: argparse.Namespace) -> str | None:
    """The bearer token: ``--token-file``, else ``TENANTRY_VERIFY_TOKEN``, else ``--token``
    (with a warning); None without any."""
    if args.token_file is not None and args.token is not None:
        raise UsageError("give the token once: --token-file or --token, not both")
    if args.token_file is not None:
        try:
            text = (
                sys.stdin.read()
                if str(args.token_file) == "-"
                else args.token_file.read_text("utf-8")
            )
        except (OSError, UnicodeDecodeError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"--token-file {args.token_file}: cannot read it ({detail})") from None
        value = text.strip()
        if not value:
            raise UsageError(f"--token-file {args.token_file}: the file is empty")
        return value
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    if args.token is not None:
        sys.stderr.write(
            f"tenantry: warning: --token puts the token in shell history and ps; use "
            f"{TOKEN_ENV} or --token-file\n"
        )
        return str(args.token)
    return None


def run(args: argparse.Namespace) -> int:
    from ..triton import model_config, serving_caps, versions
    from ..verify import EndpointError, TritonEndpoint, verify_tenant
    from ..verify.report import as_json, as_table

    if args.requests < 1:
        raise UsageError(f"--requests must be at least 1, got {args.requests}")
    if args.url is None and args.llm_url is None and not args.own_llm_url:
        raise UsageError(
            "give --url (the tenant's models), --llm-url (its LLM adapters), --own-llm-url "
            "(its own LLMs), or several"
        )
    llm_headers = _headers(args.llm_header)
    bearer = token(args)
    platform, reg = verdict(args.tenants, args.stacks)
    unknown_tenants([args.tenant], reg)
    problems = errors_for(reg, args.tenant)
    if problems or args.tenant not in reg.tenants:
        raise InvalidInput(f"tenant {args.tenant!r} is invalid; fix its file first", problems)
    t = reg.tenants[args.tenant]
    results = []
    if args.url is not None:
        caps = serving_caps(t)
        generated = {
            (m.name, v): model_config(m, t.tier, caps, v, t.name)
            for m in t.models
            for v in versions(m)
        }
        try:
            endpoint = TritonEndpoint(
                args.url, args.protocol, bearer, args.timeout, metrics_url=args.metrics_url
            )
        except EndpointError as exc:
            raise UsageError(f"--url {args.url}: {exc}") from None
        artifacts = None
        if not args.skip_artifacts:
            bucket = args.bucket or tenant_names(t.name, t.region, platform).bucket_name
            artifacts = bucket_reader(bucket, t.region, args.s3_endpoint_url)
        results += verify_tenant(
            t,
            endpoint,
            generated,
            requests=args.requests,
            revisions=args.revisions,
            artifacts=artifacts,
        )
    if args.llm_url is not None:
        from ..verify.llm import HttpLlmEndpoint, other_served_names, verify_llm

        if not args.llm_url.startswith(("http://", "https://")):
            raise UsageError(
                f"--llm-url {args.llm_url!r}: accepted: http(s)://host:port of the LLM gateway"
            )
        if bearer is not None:
            llm_headers.setdefault("Authorization", f"Bearer {bearer}")
        results += verify_llm(
            t,
            HttpLlmEndpoint(args.llm_url, llm_headers, args.timeout),
            other_served_names(t.name, list(reg.tenants.values())),
            exhaust=args.exhaust_budget,
        )
    if args.own_llm_url:
        from ..verify.llm import HttpLlmEndpoint, verify_own_llm

        if bearer is not None:
            llm_headers.setdefault("Authorization", f"Bearer {bearer}")
        urls = _own_llm_urls(args.own_llm_url, [llm.name for llm in t.llms], t.name)
        results += verify_own_llm(
            t, {n: HttpLlmEndpoint(u, llm_headers, args.timeout) for n, u in urls.items()}
        )
    sys.stdout.write(as_json(results) if args.format == "json" else as_table(results))
    failed = [r for r in results if not r.ok]
    if args.format != "json" and (failed or not results):
        message = (
            f"{len(failed)} of {len(results)} check(s) failed (listed above); fix the "
            "deployment or the endpoint (--url, --protocol, the token)"
            if results
            else f"tenant {args.tenant!r} has nothing to verify at the given endpoint(s); "
            "declare a model (--url) or an LLM adapter (--llm-url) first"
        )
        sys.stderr.write(PREFIX + message + "\n")
    return EXIT_OK if results and not failed else EXIT_INVALID


def _own_llm_urls(values: list[str], names: list[str], tenant: str) -> dict[str, str]:
    """``--own-llm-url`` values as {llm name: url}: ``LLM=URL``, or a bare URL when the tenant
    has exactly one own LLM."""
    out: dict[str, str] = {}
    for v in values:
        name, sep, url = v.partition("=")
        if not sep:
            if len(names) != 1:
                accepted = ", ".join(f"{n}=URL" for n in names) or "none: it declares no spec.llms"
                raise UsageError(
                    f"--own-llm-url {v!r}: tenant {tenant!r} has {len(names)} own LLMs; "
                    f"accepted: {accepted}"
                )
            name, url = names[0], v
        if name not in names:
            raise UsageError(
                f"--own-llm-url {v!r}: {name!r} is not an own LLM of tenant {tenant!r}; "
                f"accepted: {', '.join(names) or 'none (it declares no spec.llms)'}"
            )
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--own-llm-url {v!r}: accepted: [LLM=]http(s)://host:port")
        if name in out:
            raise UsageError(f"--own-llm-url: {name!r} given twice")
        out[name] = url
    return out


def _headers(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, colon, value = v.partition(":")
        if not colon or not name.strip() or any(c in name for c in " \t\r\n"):
            raise UsageError(f"--llm-header {v!r}: accepted: NAME:VALUE")
        out[name.strip()] = value.strip()
    return out


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
