"""What the gateway trusts for its ``https`` upstreams (``--upstream-ca``).

KServe's LLMInferenceService serves vLLM over TLS with a self-signed certificate it issues
per service, ``ca.crt`` of Secret ``<llmisvc>-kserve-self-signed-certs`` (kserve v0.20.0
``pkg/controller/v1alpha2/llmisvc/workload_tls_self_signed.go``), and issues a new one, with a
new key, whenever the runtime's pod or Service IPs are no longer all in it
(``ShouldRecreateCertificate``): a pod that restarts gets a new certificate. The gateway
therefore re-reads the files when they change (:class:`UpstreamTrust`), keeping the last
good context when a new file is bad.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path

PEM_CERT = "-----BEGIN CERTIFICATE-----"


class CaFileError(ValueError):
    """A CA file that is missing, unreadable or holds no valid certificate (one line)."""


def client_context(cafiles: Sequence[Path]) -> ssl.SSLContext:
    """A TLS client context that verifies the peer's chain and host name against the
    certificates in ``cafiles`` only (PEM; no system CA: ``ssl.PROTOCOL_TLS_CLIENT`` loads
    none and requires a verified certificate and a matching host name). Raises
    :class:`CaFileError` naming the file and what is accepted."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for f in cafiles:
        try:
            pem = f.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CaFileError(f"{f}: cannot read it ({why})") from None
        if PEM_CERT not in pem:
            raise CaFileError(
                f"{f}: no certificate in it; accepted: PEM certificates ({PEM_CERT}), "
                "e.g. the Secret's ca.crt"
            )
        try:
            ctx.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError) as exc:
            raise CaFileError(
                f"{f}: not a valid PEM certificate ({exc}); accepted: PEM certificates, "
                "e.g. the Secret's ca.crt"
            ) from None
    return ctx


def _stamp(files: Sequence[Path]) -> tuple[tuple[int, int], ...] | None:
    out = []
    for f in files:
        try:
            st = f.stat()  # follows the symlink a Secret volume swaps on an update
        except OSError:
            return None
        out.append((st.st_mtime_ns, st.st_ino))
    return tuple(out)


class UpstreamTrust:
    """The current client context of ``cafiles`` (``context``), rebuilt by :meth:`refresh`
    when one of the files changed."""

    def __init__(self, cafiles: Sequence[Path]) -> None:
        self.files = tuple(cafiles)
        self._stamp = _stamp(self.files)
        self.context = client_context(self.files)

    def refresh(self) -> str | None:
        """Re-read the files if they changed. Returns None when nothing changed, ``""`` when
        the new files were loaded, else why they were not (the previous context stays)."""
        stamp = _stamp(self.files)
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            self.context = client_context(self.files)
        except CaFileError as exc:
            return str(exc)
        return ""
