"""What every local server of the dev servers needs: a free loopback port, a start that
waits until the server answers its readiness URL, and a stop that ends the server's whole
process group."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (started with ``start_new_session=True``), SIGKILL it if
    it is still there after 20 seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def serving(
    args: Sequence[str],
    log: Path,
    ready_url: str,
    startup_timeout: float,
    *,
    env: Mapping[str, str] | None = None,
    keep_log_env: str | None = None,
    poll_s: float = 0.2,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` in its own process group, stdout and stderr to ``log``, until the
    ``with`` block ends; enter the block once ``ready_url`` answers HTTP 200. Raises
    RuntimeError with the log's last 4000 characters when the process exits first or is not
    ready within ``startup_timeout`` seconds. On exit the group is stopped (:func:`stop`)
    and, when the environment variable ``keep_log_env`` names a path, the log copied there."""
    name = Path(args[0]).name
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(args), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(ready_url, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} not ready in {startup_timeout}s:\n{log.read_text()[-4000:]}"
                )
            time.sleep(poll_s)
        yield proc
    finally:
        stop(proc)
        if keep_log_env and os.environ.get(keep_log_env):
            shutil.copy2(log, os.environ[keep_log_env])
