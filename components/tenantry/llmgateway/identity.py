"""Who is calling: the tenant named by the caller's mesh identity (pure functions).

The gateway runs behind its own Istio sidecar. For an mTLS connection the sidecar's Envoy adds
the peer certificate's details to the ``X-Forwarded-Client-Cert`` (XFCC) header: Istio
programs inbound sidecar listeners with ``forward_client_cert_details: APPEND_FORWARD`` and
``set_current_client_cert_details`` with ``uri: true`` (Istio ``ProxyConfig``
``forwardClientCertDetails``, default ``APPEND_FORWARD`` for sidecars; Envoy
``HttpConnectionManager.ForwardClientCertDetails``: "append the client certificate
information to the request's XFCC header and forward it"). Elements are separated by ``,``,
their ``key=value`` pairs by ``;``, and values may be double-quoted (Envoy's
``config_http_conn_man_headers_x-forwarded-client-cert``).

A caller can send its own XFCC header, so only the **last** element, the one the gateway's
own sidecar appended for the peer it authenticated, is trusted. That holds only if every
connection to the gateway is mTLS (a STRICT ``PeerAuthentication`` on the gateway's workload,
rendered with it): over plain text the sidecar forwards the caller's header unchanged.

The identity is a SPIFFE ID ``spiffe://<trust domain>/ns/<namespace>/sa/<service account>``
(Istio's workload identity); the namespace names the tenant (a tenant's namespace is named
after it, :mod:`tenantry.catalog.namespaces`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

XFCC_HEADER = "X-Forwarded-Client-Cert"
_SPIFFE = re.compile(r"^spiffe://(?P<td>[^/]+)/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$")


@dataclass(frozen=True)
class Caller:
    tenant: str  # the namespace of the caller's workload identity
    principal: str  # the SPIFFE ID it was read from


def _split(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside double quotes (backslash escapes inside them)."""
    out, cur, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            cur.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def xfcc_elements(header: str) -> list[dict[str, list[str]]]:
    """The XFCC header's elements, each a mapping of lower-cased key to its values (a key such
    as ``URI`` or ``DNS`` may repeat)."""
    elements = []
    for raw in _split(header, ","):
        element: dict[str, list[str]] = {}
        for pair in _split(raw.strip(), ";"):
            key, eq, value = pair.strip().partition("=")
            if eq:
                element.setdefault(key.strip().lower(), []).append(_unquote(value.strip()))
        elements.append(element)
    return elements


def caller_from_xfcc(header: str | None, trust_domain: str | None = None) -> Caller | None:
    """The caller named by the last XFCC element's SPIFFE ``URI``, or None when there is no
    header, no ``URI`` in that element, it is not a workload SPIFFE ID, or its trust domain
    is not ``trust_domain`` (when given)."""
    if not header:
        return None
    last = xfcc_elements(header)[-1]
    uris = [u for u in last.get("uri", []) if u.startswith("spiffe://")]
    if len(uris) != 1:
        return None
    m = _SPIFFE.match(uris[0])
    if m is None or (trust_domain is not None and m["td"] != trust_domain):
        return None
    return Caller(tenant=m["ns"], principal=uris[0])
