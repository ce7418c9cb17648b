"""The dev servers' shared launcher (``tenantry.devserver.process.serving``): a server that
exits or never becomes ready is an error carrying its log, and the process group is stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tenantry.devserver.process import free_port, serving


def test_a_server_that_exits_early_is_an_error_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    args = [sys.executable, "-c", "print('bind failed'); raise SystemExit(3)"]
    with pytest.raises(RuntimeError, match=r"exited early:\n.*bind failed"):  # noqa: SIM117
        with serving(args, log, f"http://127.0.0.1:{free_port()}/ready", 10):
            pass


def test_a_server_ready_in_time_is_yielded_and_stopped(tmp_path: Path) -> None:
    port = free_port()
    args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with serving(args, tmp_path / "server.log", f"http://127.0.0.1:{port}/", 30) as proc:
        assert proc.poll() is None
    assert proc.poll() is not None  # stopped with its group


def test_a_server_never_ready_times_out(tmp_path: Path) -> None:
    args = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(RuntimeError, match=r"not ready in 0.5s"):  # noqa: SIM117
        with serving(args, tmp_path / "server.log", f"http://127.0.0.1:{free_port()}/", 0.5):
            pass
