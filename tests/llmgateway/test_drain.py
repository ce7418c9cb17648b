"""The gateway process on SIGTERM (what Kubernetes sends at a rollout or a node drain): it
stops being ready, refuses new requests with 503, lets the streams in flight run to their
end and then exits 0; a stream longer than ``--max-request-seconds`` does not hold the exit.

The upstream is a stand-in of vLLM's streamed completions (Python's ``http.server``) that
sends its first chunk, then holds the rest until the test releases it, so the SIGTERM
arrives while the stream is provably in flight."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tenantry.devserver.llm import running_llm_gateway
from tests.llmgateway.test_routes_and_policy import _doc

XFCC = {"X-Forwarded-Client-Cert": "URI=spiffe://cluster.local/ns/acme/sa/default"}
CHUNKS = 5


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(CHUNKS):
            usage = {"prompt_tokens": 3, "completion_tokens": i + 1, "total_tokens": i + 4}
            chunk = {"id": "c", "object": "text_completion", "model": body["model"],
                     "choices": [{"index": 0, "text": f"tok{i}"}], "usage": usage}  # fmt: skip
            self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            if i == 0:
                self.server.first_sent.set()
                self.server.release.wait(60)
        usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
        final = {"id": "c", "object": "text_completion", "model": body["model"],
                 "choices": [], "usage": usage}  # fmt: skip
        self._chunk(b"data: " + json.dumps(final).encode() + b"\n\n")
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _chunk(self, raw: bytes) -> None:
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    first_sent: threading.Event
    release: threading.Event


@pytest.fixture
def slow_upstream() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Slow)
    server.first_sent, server.release = threading.Event(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def _upstreams(server: _Server) -> dict[str, str]:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    return {"llama-3-8b": url, "other": url}


def _open_stream(gateway_url: str) -> tuple[http.client.HTTPConnection, Any]:
    host, port = gateway_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    body = {"model": "acme-support", "prompt": "x", "stream": True}
    conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json",
                 **XFCC})  # fmt: skip
    response = conn.getresponse()
    assert response.status == 200
    return conn, response


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _post(url: str) -> tuple[int, dict[str, Any], str]:
    body = json.dumps({"model": "acme-support", "prompt": "x"}).encode()
    req = urllib.request.Request(
        f"{url}/v1/completions", body, {"Content-Type": "application/json", **XFCC}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read()), r.headers.get("Connection", "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers.get("Connection", "")


@pytest.mark.server
def test_sigterm_drains_the_stream_in_flight_and_refuses_new_requests(
    slow_upstream: _Server,
) -> None:
    with running_llm_gateway(_doc(), _upstreams(slow_upstream)) as gw:
        base = gw.metrics_url.removesuffix("/metrics")
        assert _get(f"{base}/readyz") == 200
        conn, stream = _open_stream(gw.url)
        try:
            assert slow_upstream.first_sent.wait(30)
            first = stream.readline()
            assert b"tok0" in first, first
            gw.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _get(f"{base}/readyz") != 503:
                assert time.monotonic() < deadline, "not unready 10 s after SIGTERM"
                time.sleep(0.1)
            assert _get(f"{base}/healthz") == 200  # alive while it drains
            status, out, connection = _post(gw.url)
            assert status == 503 and out["error"]["code"] == "service_unavailable"
            assert connection.lower() == "close"
            assert gw.process.poll() is None  # still running: the stream is in flight
            slow_upstream.release.set()
            rest = stream.read()
        finally:
            conn.close()
        relayed = first + rest
        for i in range(CHUNKS):
            assert f'"tok{i}"'.encode() in relayed
        assert relayed.rstrip().endswith(b"data: [DONE]")
        assert gw.process.wait(timeout=30) == 0
        log = gw.log.read_text()
        assert "drained" in log and "drain timed out" not in log


@pytest.mark.server
def test_a_stream_longer_than_the_request_bound_does_not_hold_the_exit(
    slow_upstream: _Server,
) -> None:
    extra = ("--max-request-seconds", "2")
    with running_llm_gateway(_doc(), _upstreams(slow_upstream), extra_args=extra) as gw:
        conn, stream = _open_stream(gw.url)
        try:
            assert slow_upstream.first_sent.wait(30)
            stream.readline()
            started = time.monotonic()
            gw.process.send_signal(signal.SIGTERM)
            assert gw.process.wait(timeout=30) == 0  # the upstream never releases
            took = time.monotonic() - started
        finally:
            conn.close()
        assert took < 2 + 5 + 5, took  # the bound, the listeners' close, slack for the box
        assert "ended early" in gw.log.read_text()
