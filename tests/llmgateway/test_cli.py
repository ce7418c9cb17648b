"""``python -m tenantry.llmgateway`` refuses bad arguments and routes files with one line on
stderr and exit status 2, before serving anything; never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tenantry.llmgateway.cli import main
from tests.llmgateway.test_routes_and_policy import _doc

KEY = "k" * 40


@pytest.fixture
def files(tmp_path: Path) -> Path:
    doc = _doc()
    doc["cacheSalt"] = True
    (tmp_path / "routes.json").write_text(json.dumps(doc, indent=2))
    (tmp_path / "key").write_text(KEY + "\n")
    (tmp_path / "short").write_text("abc")
    return tmp_path


def _args(d: Path, *extra: str) -> list[str]:
    return [
        "--routes", str(d / "routes.json"),
        "--upstream", "llama-3-8b=http://127.0.0.1:1",
        "--upstream", "other=http://127.0.0.1:2",
        "--salt-key-file", str(d / "key"),
        *extra,
    ]  # fmt: skip


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tenantry-llmgateway: error: ") and "\n" not in err, err
    return err


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_bad_input_is_one_line(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = files
    assert "--routes" in _refused([], capsys)
    assert "cannot read" in _refused([*_args(d)[:1], str(d / "nope.json")], capsys)
    (d / "bad.json").write_text('{"cacheSalt": tru}')
    assert "bad.json:1: not JSON" in _refused(["--routes", str(d / "bad.json")], capsys)
    msg = _refused([*_args(d)[:4], "--salt-key-file", str(d / "key")], capsys)
    assert "base model(s) other have no --upstream (given: llama-3-8b)" in msg
    assert "accepted: BASE=URL" in _refused(_args(d, "--upstream", "x=ftp://h"), capsys)
    assert "given twice" in _refused(_args(d, "--upstream", "other=http://h"), capsys)
    short = [*_args(d)[:-1], str(d / "short")]
    assert "3 bytes; accepted: >= 32 bytes" in _refused(short, capsys)
    assert "--salt-key-file is required" in _refused(_args(d)[:-2], capsys)
    assert "accepted: 1..65535" in _refused(_args(d, "--port", "0"), capsys)
    assert "both 9000" in _refused(_args(d, "--port", "9000", "--metrics-port", "9000"), capsys)
    assert "accepted: redis://" in _refused(_args(d, "--redis", "http://x"), capsys)
    msg = _refused(_args(d, "--ingress-identity", "spiffe://cluster.local/ns/x"), capsys)
    assert "accepted: spiffe://<trust domain>/ns/<ns>/sa/<sa>" in msg
    port = _unused_port()
    msg = _refused(_args(d, "--redis", f"redis://127.0.0.1:{port}/0"), capsys)
    assert "unreachable" in msg


def test_a_busy_port_is_one_line(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        msg = _refused(
            _args(files, "--host", "127.0.0.1", "--port", str(busy), "--metrics-port",
                  str(_unused_port())),
            capsys,
        )  # fmt: skip
    assert "cannot listen" in msg


def test_the_module_itself_prints_no_traceback(files: Path) -> None:
    (files / "routes.json").write_text('{"cacheSalt": true, "blockedPaths": [], "tenants": 3}')
    run = subprocess.run(
        [sys.executable, "-m", "tenantry.llmgateway", *_args(files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"tenantry-llmgateway: error: {files / 'routes.json'}:1: field tenants: got 3; "
        "accepted: an object of tenants"
    )


def test_a_bad_redis_password_file_is_one_line(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = files
    (d / "empty").write_text("\n")
    msg = _refused(_args(d, "--redis-password-file", str(d / "key")), capsys)
    assert msg.endswith("--redis-password-file given without --redis")
    redis = ("--redis", "redis://127.0.0.1:1/0")
    msg = _refused(_args(d, *redis, "--redis-password-file", str(d / "nope")), capsys)
    assert "--redis-password-file" in msg and "No such file" in msg
    msg = _refused(_args(d, *redis, "--redis-password-file", str(d / "empty")), capsys)
    assert "empty; accepted: the Redis password" in msg
    msg = _refused(_args(d, "--max-request-seconds", "0"), capsys)
    assert "--max-request-seconds 0.0: accepted: > 0" in msg


@pytest.mark.server
def test_a_wrong_redis_password_is_refused_before_serving(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tenantry.devserver.llm import RedisUnavailable, running_redis
    from tests.conftest import server_missing

    (files / "wrong").write_text("not-the-password")
    try:
        with running_redis(password="s3cret-of-the-test") as url:
            msg = _refused(
                _args(files, "--redis", url, "--redis-password-file", str(files / "wrong")),
                capsys,
            )
            assert "unreachable" in msg and "s3cret" not in msg and "not-the-password" not in msg
            msg = _refused(_args(files, "--redis", url), capsys)  # no password at all
            assert "unreachable" in msg
    except RedisUnavailable as exc:
        server_missing(str(exc))
