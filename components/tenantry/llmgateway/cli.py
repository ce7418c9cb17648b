"""Arguments, checks and the serving loop of ``python -m tenantry.llmgateway``.

Every bad argument, routes file, salt key, Redis password file or unreachable Redis ends the
process before it serves, with one line on stderr (``tenantry-llmgateway: error: ...``) and
exit status 2; no traceback.

SIGTERM or SIGINT drains before the process exits 0 (:meth:`.server.Gateway.drain`): the
metrics port's ``/readyz`` turns 503, new API requests get 503 ``service_unavailable`` with
``Connection: close``, and the requests in flight, streams included, run to their end, at most
``--max-request-seconds``; then the listeners close.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

from aiohttp import web

from .identity import caller_from_xfcc
from .limits import Limits, MemoryLimits, RedisLimits
from .metrics import GatewayMetrics
from .routes import RoutesError, load_routes
from .server import Gateway, GatewayConfig
from .tls import CaFileError, UpstreamTrust

PROG = "tenantry-llmgateway"
MIN_SALT_KEY_BYTES = 32  # HMAC-SHA256 key: at least the hash's output size (RFC 2104 sec. 3)


class ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Tenantry's LLM gateway in front of shared vLLM runtimes.")
    p.add_argument("--routes", required=True, type=Path, help="routes.json (tenant_llm_routes)")
    p.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="BASE=URL",
        help="base model name and its runtime's base URL (repeat per base model)",
    )
    p.add_argument(
        "--upstream-ca",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="PEM certificate(s) trusted for the https upstreams, instead of the system's "
        "(KServe's <llmisvc>-kserve-self-signed-certs ca.crt; repeatable)",
    )
    p.add_argument("--salt-key-file", type=Path, help="secret key of the per-tenant cache salt")
    p.add_argument("--redis", help="redis://host:port/db: token buckets shared by replicas")
    p.add_argument(
        "--redis-password-file",
        type=Path,
        help="file holding the password of --redis (Redis requirepass; never in the URL)",
    )
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--metrics-port", type=int, default=9090)
    p.add_argument("--trust-domain", help="accept only SPIFFE IDs of this trust domain")
    p.add_argument(
        "--ingress-identity",
        action="append",
        default=[],
        metavar="SPIFFE_ID",
        help="the Istio ingress gateway's identity: its requests name the tenant in "
        "X-Tenantry-Tenant (callers from outside the cluster; repeatable)",
    )
    p.add_argument("--upstream-timeout", type=float, default=600.0, help="seconds per read")
    p.add_argument(
        "--max-request-seconds",
        type=float,
        default=600.0,
        help="the longest a forwarded request may run, streams included (its concurrency "
        "lease lapses a minute later); on SIGTERM the gateway waits up to this long for the "
        "requests in flight",
    )
    p.add_argument("--reload-interval", type=float, default=10.0, help="routes file check, s")
    return p


def _upstreams(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        base, eq, url = v.partition("=")
        parsed = urlparse(url)
        if not eq or not base or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ArgumentError(
                f"--upstream {v!r}: accepted: BASE=URL, e.g. llama-3-8b=http://host:8000"
            )
        if base in out:
            raise ArgumentError(f"--upstream {base!r} given twice")
        out[base] = url
    return out


def _port(name: str, value: int) -> None:
    if not 1 <= value <= 65535:
        raise ArgumentError(f"{name} {value}: accepted: 1..65535")


def configure(argv: Sequence[str]) -> tuple[GatewayConfig, argparse.Namespace]:
    """Parse and check everything (raises :class:`ArgumentError` or RoutesError)."""
    args = parser().parse_args(argv)
    _port("--port", args.port)
    _port("--metrics-port", args.metrics_port)
    if args.port == args.metrics_port:
        raise ArgumentError(f"--port and --metrics-port are both {args.port}")
    for name in ("upstream_timeout", "reload_interval", "max_request_seconds"):
        if getattr(args, name) <= 0:
            raise ArgumentError(f"--{name.replace('_', '-')} {getattr(args, name)}: accepted: > 0")
    routes = load_routes(args.routes)
    upstreams = _upstreams(args.upstream)
    missing = sorted(routes.base_models - set(upstreams))
    if missing:
        raise ArgumentError(
            f"{args.routes}: base model(s) {', '.join(missing)} have no --upstream "
            f"(given: {', '.join(sorted(upstreams)) or 'none'})"
        )
    upstream_trust = None
    if args.upstream_ca:
        if not any(urlparse(u).scheme == "https" for u in upstreams.values()):
            raise ArgumentError(
                "--upstream-ca given, but no --upstream is https (it applies to https only)"
            )
        try:
            upstream_trust = UpstreamTrust(args.upstream_ca)
        except CaFileError as exc:
            raise ArgumentError(f"--upstream-ca {exc}") from None
    salt_key = None
    if args.salt_key_file is not None:
        try:
            salt_key = args.salt_key_file.read_bytes().strip()
        except OSError as exc:
            raise ArgumentError(f"--salt-key-file {args.salt_key_file}: {exc}") from None
        if len(salt_key) < MIN_SALT_KEY_BYTES:
            raise ArgumentError(
                f"--salt-key-file {args.salt_key_file}: {len(salt_key)} bytes; accepted: "
                f">= {MIN_SALT_KEY_BYTES} bytes of secret (e.g. openssl rand -hex 32)"
            )
    if routes.cache_salt and salt_key is None:
        raise ArgumentError(f"{args.routes}: cacheSalt is true; --salt-key-file is required")
    if args.redis is not None and urlparse(args.redis).scheme not in ("redis", "rediss", "unix"):
        raise ArgumentError(f"--redis {args.redis!r}: accepted: redis://host:port/db")
    if args.redis_password_file is not None:
        if args.redis is None:
            raise ArgumentError("--redis-password-file given without --redis")
        try:
            args.redis_password = args.redis_password_file.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            where = args.redis_password_file
            raise ArgumentError(f"--redis-password-file {where}: {exc}") from None
        if not args.redis_password:
            raise ArgumentError(
                f"--redis-password-file {args.redis_password_file}: empty; accepted: the "
                "Redis password (requirepass)"
            )
    else:
        args.redis_password = None
    for ident in args.ingress_identity:
        if caller_from_xfcc(f"URI={ident}", args.trust_domain) is None:
            raise ArgumentError(
                f"--ingress-identity {ident!r}: accepted: spiffe://<trust domain>/ns/<ns>/sa/<sa>"
                + (f" in trust domain {args.trust_domain}" if args.trust_domain else "")
            )
    config = GatewayConfig(
        routes=routes,
        upstreams=upstreams,
        salt_key=salt_key,
        trust_domain=args.trust_domain,
        ingress_identities=frozenset(args.ingress_identity),
        upstream_timeout_s=args.upstream_timeout,
        max_request_s=args.max_request_seconds,
        upstream_trust=upstream_trust,
        routes_path=args.routes,
        reload_interval_s=args.reload_interval,
    )
    return config, args


async def serve(config: GatewayConfig, args: argparse.Namespace) -> None:
    limits: Limits
    if args.redis is not None:
        redis_limits = RedisLimits(
            args.redis, lease_s=args.max_request_seconds + 60, password=args.redis_password
        )
        try:
            await redis_limits.ping()
        except Exception as exc:
            await redis_limits.close()
            raise ArgumentError(f"--redis {args.redis}: unreachable ({exc})") from None
        limits = redis_limits
    else:
        limits = MemoryLimits()
    gateway = Gateway(config, limits, GatewayMetrics())
    # shutdown_timeout: what is still in flight after the drain is cancelled promptly
    runners = [
        web.AppRunner(gateway.app(), shutdown_timeout=5.0),
        web.AppRunner(gateway.metrics_app(), shutdown_timeout=5.0),
    ]
    try:
        for runner in runners:
            await runner.setup()
        try:
            await web.TCPSite(runners[0], args.host, args.port).start()
            await web.TCPSite(runners[1], args.host, args.metrics_port).start()
        except OSError as exc:
            raise ArgumentError(f"cannot listen on {args.host}: {exc.strerror}") from None
        logging.getLogger("tenantry.llmgateway").info(
            "serving %d tenants on :%d, metrics on :%d, limits %s",
            len(config.routes.tenants),
            args.port,
            args.metrics_port,
            "in redis" if args.redis else "in process",
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        # SIGTERM: not ready, new requests 503, the ones in flight finish (Gateway.drain);
        # then the listeners close and what is left after max_request_s is cancelled.
        await gateway.drain(config.max_request_s)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        await limits.close()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config, args = configure(sys.argv[1:] if argv is None else argv)
        # A loop of its own, never made the thread's current loop: asyncio.run would leave
        # the thread with none set, breaking a caller that uses get_event_loop() after.
        with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
            runner.run(serve(config, args))
    except (ArgumentError, RoutesError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0
