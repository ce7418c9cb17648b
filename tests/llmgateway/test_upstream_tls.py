"""The gateway in front of an upstream that serves over TLS with a certificate like the one
KServe issues to an LLMInferenceService's workload (kserve v0.20.0
``pkg/controller/v1alpha2/llmisvc/workload_tls_self_signed.go``: one self-signed server
certificate, not a CA, ``ca.crt`` = ``tls.crt`` in Secret ``<llmisvc>-kserve-self-signed-certs``).

The upstream is a TLS-terminating stand-in of vLLM's OpenAI API (Python's ``http.server``
under ``ssl``): it answers ``/v1/completions``, plain and streamed, with vLLM's response
shapes. The gateway is the real process. Trusting that certificate (``--upstream-ca``) the
request goes through; trusting another, or only the system's CAs, it fails closed: 502 and one
log line that names the certificate."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tenantry.devserver.llm import running_llm_gateway
from tenantry.llmgateway.cli import main
from tests.llmgateway.test_routes_and_policy import _doc

XFCC = {"X-Forwarded-Client-Cert": "URI=spiffe://cluster.local/ns/acme/sa/default"}
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def kserve_like_cert(directory: Path, hosts: list[str]) -> Path:
    """Write ``tls.crt``, ``tls.key`` and ``ca.crt`` as KServe's self-signed Secret holds
    them: a self-signed RSA certificate with BasicConstraints present and not a CA, key usage
    digital signature + key encipherment, extended key usage server auth, the hosts as SANs
    (KServe uses RSA 4096; 2048 here keeps the shared box fast, the shape is the same)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kserve Self Signed")])
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "tls.crt").write_bytes(pem)
    (directory / "ca.crt").write_bytes(pem)
    (directory / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory


@dataclass
class TlsUpstream:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.upstream.bodies.append(body)
        if self.path != "/v1/completions":
            self._send(404, b'{"error": "not found"}', "application/json")
            return
        choice = {"index": 0, "text": "ok", "finish_reason": "stop"}
        if body.get("stream"):
            chunks = [
                {"id": "c1", "object": "text_completion", "model": body["model"],
                 "choices": [choice], "usage": USAGE},
                {"id": "c1", "object": "text_completion", "model": body["model"],
                 "choices": [], "usage": USAGE},
            ]  # fmt: skip
            raw = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
            self._send(200, raw + b"data: [DONE]\n\n", "text/event-stream")
            return
        out = {"id": "c1", "object": "text_completion", "model": body["model"],
               "choices": [choice], "usage": USAGE}  # fmt: skip
        self._send(200, json.dumps(out).encode(), "application/json")

    def _send(self, status: int, raw: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: TlsUpstream


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[tuple[TlsUpstream, Path]]:
    """A TLS upstream on 127.0.0.1 and the directory of its KServe-shaped certificate."""
    certs = kserve_like_cert(tmp_path / "kserve-certs", ["localhost"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / "tls.crt", certs / "tls.key")
    server = _Server(("127.0.0.1", 0), _Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.upstream = TlsUpstream(f"https://localhost:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.upstream, certs
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, body: dict[str, Any]) -> tuple[int, bytes]:
    req = urllib.request.Request(
        f"{url}/v1/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **XFCC},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _upstreams(url: str) -> dict[str, str]:
    return {"llama-3-8b": url, "other": "http://127.0.0.1:9"}


@pytest.mark.server
def test_the_kserve_certificate_trusted_the_request_goes_through_tls(
    tls_upstream: tuple[TlsUpstream, Path],
) -> None:
    up, certs = tls_upstream
    extra = ("--upstream-ca", str(certs / "ca.crt"))
    with running_llm_gateway(_doc(), _upstreams(up.url), extra_args=extra) as gw:
        status, raw = _post(gw.url, {"model": "acme-support", "prompt": "x"})
        assert status == 200, raw
        assert json.loads(raw)["usage"] == USAGE
        assert json.loads(raw)["model"] == "acme-support"  # the served name, mapped back
        status, raw = _post(gw.url, {"model": "acme-support", "prompt": "x", "stream": True})
        assert status == 200 and b'"text":"ok"' in raw and raw.endswith(b"data: [DONE]\n\n")
        assert b'"model":"acme-support"' in raw and b"acme-support--" not in raw
    # both reached the upstream, over TLS, with the gateway's rewritten body: the runtime's
    # name of the adapter version (tenant_llm_routes' runtimeModel)
    runtime = "acme-support--" + "0" * 64
    assert [(b["model"], b["priority"]) for b in up.bodies] == [(runtime, 1)] * 2
    assert up.bodies[1]["stream"] is True


@pytest.mark.server
@pytest.mark.parametrize("trust", ["another certificate", "the system's CAs"])
def test_an_untrusted_certificate_fails_closed_with_one_log_line(
    tls_upstream: tuple[TlsUpstream, Path], tmp_path: Path, trust: str
) -> None:
    up, _ = tls_upstream
    extra: tuple[str, ...] = ()
    if trust == "another certificate":
        other = kserve_like_cert(tmp_path / "other", ["localhost"])
        extra = ("--upstream-ca", str(other / "ca.crt"))
    with running_llm_gateway(_doc(), _upstreams(up.url), extra_args=extra) as gw:
        for stream in (False, True):
            body = {"model": "acme-support", "prompt": "x", "stream": stream}
            status, raw = _post(gw.url, body)
            assert status == 502 and json.loads(raw)["error"]["code"] == "bad_gateway"
        log = gw.log.read_text().splitlines()
    refused = [line for line in log if "TLS certificate is not trusted" in line]
    assert len(refused) == 2, log  # one line per request
    assert (
        "upstream llama-3-8b refused" in refused[0] and "certificate verify failed" in (refused[0])
    )
    assert up.bodies == []  # nothing was sent


@pytest.mark.server
def test_the_host_name_is_checked_against_the_certificate(
    tls_upstream: tuple[TlsUpstream, Path],
) -> None:
    """The right certificate for another host name (KServe's names only its own workload
    Service) fails closed too."""
    up, certs = tls_upstream
    by_ip = up.url.replace("localhost", "127.0.0.1")  # not among the SANs
    extra = ("--upstream-ca", str(certs / "ca.crt"))
    with running_llm_gateway(_doc(), _upstreams(by_ip), extra_args=extra) as gw:
        status, _ = _post(gw.url, {"model": "acme-support", "prompt": "x"})
        assert status == 502
        assert "TLS certificate is not trusted" in gw.log.read_text()


@pytest.mark.server
def test_a_renewed_certificate_is_trusted_without_a_restart(
    tls_upstream: tuple[TlsUpstream, Path], tmp_path: Path
) -> None:
    """KServe issues a new certificate when a runtime pod restarts; the kubelet swaps the
    mounted Secret's files. Here the mounted file first holds another certificate (502),
    then, swapped by a rename as the kubelet does, the upstream's (200); a bad file after
    that keeps the good one."""
    up, certs = tls_upstream
    other = kserve_like_cert(tmp_path / "other", ["localhost"])
    mounted = tmp_path / "mounted" / "llama-3-8b.crt"
    mounted.parent.mkdir()
    mounted.write_bytes((other / "ca.crt").read_bytes())
    extra = ("--upstream-ca", str(mounted), "--reload-interval", "0.2")

    def swap(raw: bytes) -> None:
        tmp = mounted.with_suffix(".new")
        tmp.write_bytes(raw)
        tmp.rename(mounted)

    with running_llm_gateway(_doc(), _upstreams(up.url), extra_args=extra) as gw:
        assert _post(gw.url, {"model": "acme-support", "prompt": "x"})[0] == 502
        swap((certs / "ca.crt").read_bytes())
        deadline = time.monotonic() + 30
        while "upstream CAs reloaded" not in gw.log.read_text():
            assert time.monotonic() < deadline, gw.log.read_text()
            time.sleep(0.1)
        assert _post(gw.url, {"model": "acme-support", "prompt": "x"})[0] == 200
        swap(b"not a certificate")
        while "upstream CAs not reloaded" not in gw.log.read_text():
            assert time.monotonic() < deadline, gw.log.read_text()
            time.sleep(0.1)
        assert _post(gw.url, {"model": "acme-support", "prompt": "x"})[0] == 200


def test_a_bad_ca_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "routes.json").write_text(json.dumps(_doc()))
    certs = kserve_like_cert(tmp_path / "certs", ["localhost"])
    (tmp_path / "empty.crt").write_text("")
    (tmp_path / "garbage.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "binary.crt").write_bytes(b"\xff\xfe\x00")

    def refused(ca: Path, upstream: str = "https://h:8000") -> str:
        argv = [
            "--routes", str(tmp_path / "routes.json"),
            "--upstream", f"llama-3-8b={upstream}", "--upstream", "other=http://h:1",
            "--upstream-ca", str(ca),
        ]  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("tenantry-llmgateway: error: --upstream-ca") and "\n" not in err
        return err

    assert f"{tmp_path / 'nope.crt'}: cannot read it (No such file" in refused(
        tmp_path / "nope.crt"
    )
    assert "cannot read it" in refused(tmp_path)  # a directory
    assert "cannot read it" in refused(tmp_path / "binary.crt")
    assert "no certificate in it; accepted: PEM certificates" in refused(tmp_path / "empty.crt")
    assert "no certificate in it" in refused(certs / "tls.key")
    assert "not a valid PEM certificate" in refused(tmp_path / "garbage.crt")
    msg = refused(certs / "ca.crt", upstream="http://h:8000")
    assert "no --upstream is https" in msg
