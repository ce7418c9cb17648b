"""Local servers around an LLM runtime: Debian's ``redis-server`` (the gateway's shared
token buckets) and the Tenantry LLM gateway itself (``python -m tenantry.llmgateway``), each
on free loopback ports, stopped at the end of a ``with`` block."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .process import free_port, serving, stop


class RedisUnavailable(RuntimeError):
    """``redis-server`` is not installed (Debian package ``redis-server``)."""


@contextlib.contextmanager
def running_redis(startup_timeout: float = 20.0, password: str | None = None) -> Iterator[str]:
    """A private ``redis-server`` on 127.0.0.1 (no persistence) until the block ends; yields
    its URL ``redis://127.0.0.1:<port>/0``. With ``password`` it requires it (``requirepass``,
    from a config file, as the platform's render runs it). Raises :class:`RedisUnavailable`
    without the binary, RuntimeError when it does not accept connections in
    ``startup_timeout`` s."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RedisUnavailable("redis-server is not installed (Debian package redis-server)")
    with tempfile.TemporaryDirectory(prefix="tenantry-redis-") as tmp:
        port = free_port()
        conf = Path(tmp) / "redis.conf"
        conf.write_text(f"requirepass {password}\n" if password else "")
        args = [exe, str(conf), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", tmp]  # fmt: skip
        with open(Path(tmp) / "redis.log", "wb") as log:
            proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"redis-server did not start: {(Path(tmp) / 'redis.log').read_text()}"
                        ) from None
                    time.sleep(0.1)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop(proc)


@dataclass(frozen=True)
class GatewayServer:
    url: str  # http://127.0.0.1:<port>, the tenants' side
    metrics_url: str  # http://127.0.0.1:<metrics port>/metrics
    routes: Path
    salt_key: bytes
    log: Path
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def running_llm_gateway(
    routes: Mapping[str, Any],
    upstreams: Mapping[str, str],
    *,
    redis: str | None = None,
    redis_password: str | None = None,
    salt_key: bytes = b"0123456789abcdef0123456789abcdef-test-only",
    extra_args: Sequence[str] = (),
    startup_timeout: float = 60.0,
) -> Iterator[GatewayServer]:
    """Run the gateway with ``routes`` (the ``tenant_llm_routes`` shape) in front of
    ``upstreams`` (base model name -> URL) until the block ends; ``redis_password`` goes to
    the gateway in a file (``--redis-password-file``), as the platform's render mounts it."""
    with tempfile.TemporaryDirectory(prefix="tenantry-llmgw-") as tmp:
        work = Path(tmp)
        routes_file = work / "routes.json"
        routes_file.write_text(json.dumps(routes, indent=2))
        key_file = work / "salt.key"
        key_file.write_bytes(salt_key)
        port, metrics_port = free_port(), free_port()
        redis_args: tuple[str, ...] = ("--redis", redis) if redis else ()
        if redis_password is not None:
            (work / "redis.password").write_text(redis_password)
            redis_args += ("--redis-password-file", str(work / "redis.password"))
        args = [
            sys.executable, "-m", "tenantry.llmgateway", "--routes", str(routes_file),
            *(a for base, url in upstreams.items() for a in ("--upstream", f"{base}={url}")),
            "--salt-key-file", str(key_file), "--host", "127.0.0.1", "--port", str(port),
            "--metrics-port", str(metrics_port),
            *redis_args,
            *extra_args,
        ]  # fmt: skip
        log = work / "gateway.log"
        with serving(
            args, log, f"http://127.0.0.1:{metrics_port}/healthz", startup_timeout
        ) as proc:
            yield GatewayServer(
                url=f"http://127.0.0.1:{port}",
                metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
                routes=routes_file,
                salt_key=salt_key,
                log=log,
                process=proc,
            )
