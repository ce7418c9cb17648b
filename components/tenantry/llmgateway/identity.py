"""Who is calling: the tenant named by the caller's mesh identity (pure functions).

The gateway runs behind its own Istio sidecar. For an mTLS connection the sidecar's Envoy adds
the peer certificate's details to the ``X-Forwarded-Client-Cert`` (XFCC) header: Istio
programs inbound sidecar listeners with ``ForwardClientCertDetails: APPEND_FORWARD`` and
``SetCurrentClientCertDetails{Subject, Uri, Dns}`` (istio/istio
``pilot/pkg/networking/core/listener_inbound.go``, ``buildSidecarInboundHTTPOpts``), and
Envoy's ``APPEND_FORWARD`` appends the mTLS client's certificate information to the request's
XFCC header (Envoy ``HttpConnectionManager.ForwardClientCertDetails``). Elements are
separated by ``,``, their ``key=value`` pairs by ``;``, and values may be double-quoted (Envoy's
``config_http_conn_man_headers_x-forwarded-client-cert``).

A caller can send its own XFCC header, so only the **last** element, the one the gateway's
own sidecar appended for the peer it authenticated, is trusted. That holds only if every
connection to the gateway is mTLS (a STRICT ``PeerAuthentication`` on the gateway's workload,
rendered with it): over plain text the sidecar forwards the caller's header unchanged.

The identity is a SPIFFE ID ``spiffe://<trust domain>/ns/<namespace>/sa/<service account>``
(Istio's workload identity); the namespace names the tenant (a tenant's namespace is named
after it, :mod:`tenantry.catalog.namespaces`).

Callers from outside the cluster arrive through the Istio ingress gateway, whose own
workload identity is then the peer. For them the tenant is the one the ingress forwards in
:data:`TENANT_HEADER`, trusted only when the peer is one of the configured ingress
identities: the ingress admits a request for a tenant's host only with a token of one of
that tenant's clients (RequestAuthentication + AuthorizationPolicy, docs/gateway.md), and
the route of that host sets the header (VirtualService ``headers.request.set``, which
replaces any value the caller sent). A peer that is not an ingress identity never has the
header read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

XFCC_HEADER = "X-Forwarded-Client-Cert"
TENANT_HEADER = "X-Tenantry-Tenant"  # set by the ingress route of a tenant's host
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a namespace name
_SPIFFE = re.compile(r"^spiffe://(?P<td>[^/]+)/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$")


@dataclass(frozen=True)
class Caller:
    tenant: str  # the namespace of the caller's workload identity (or the ingress's header)
    principal: str  # the SPIFFE ID it was read from (the ingress's, for outside callers)


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


def caller_of(
    xfcc: str | None,
    tenant_header: str | None,
    *,
    trust_domain: str | None = None,
    ingress_identities: frozenset[str] = frozenset(),
) -> Caller | None:
    """The caller: the XFCC peer's namespace, or, when the peer is one of
    ``ingress_identities`` (SPIFFE IDs), the tenant named by ``tenant_header`` (a namespace
    name). None when there is no usable identity."""
    peer = caller_from_xfcc(xfcc, trust_domain)
    if peer is None or peer.principal not in ingress_identities:
        return peer
    if tenant_header is None or not _DNS_LABEL.match(tenant_header):
        return None
    return Caller(tenant=tenant_header, principal=peer.principal)
