"""Istio's security policies as a function of one request at one workload (pure).

What is modelled, and where each rule comes from (istio/istio at commit 86c9f01f, the commit
of the CRDs in ``shared/schemas/istio``; the reference pages of istio.io say the same):

- **Which policies apply to a workload** (``pilot/pkg/model/policyattachment.go``
  ``ShouldAttachPolicy``, ``pilot/pkg/model/authorization.go`` ``ListAuthorizationPolicies``):
  policies of the mesh's root namespace and of the workload's namespace are looked up; one
  without a selector applies to every workload it is looked up for (so a root-namespace
  policy without a selector applies mesh-wide), one with a selector to workloads whose labels
  include it (a root-namespace one in every namespace). For a workload that is not a Gateway
  API gateway, a policy with ``targetRef(s)`` is ignored altogether; for a Gateway API gateway
  (label ``gateway.networking.k8s.io/gateway-name``) a ``targetRefs`` entry of kind
  ``Gateway`` in its namespace naming it attaches it. RequestAuthentication uses the same
  rule; PeerAuthentication matches on the selector only (``authentication.go``
  ``getConfigsForWorkload``).
- **Authorization** (istio.io "Authorization Policy" reference): CUSTOM, then DENY, then
  ALLOW. A matching DENY refuses; with no ALLOW policy the request passes; with ALLOW
  policies it passes only when one matches. A policy without rules matches nothing (``spec:
  {}`` as ALLOW allows nothing); a rule ``{}`` matches everything. A rule matches when one
  of its ``from`` sources, one of its ``to`` operations and all of its ``when`` conditions
  match (``pilot/pkg/security/authz/model/model.go`` ``New``: each source and each operation
  is an AND of its fields; ``when`` conditions are added to every one of them).
- **Field semantics** (``pilot/pkg/security/authz/model/generator.go``,
  ``.../matcher/header.go``, ``.../matcher/string.go``): values are exact, or prefix with a
  trailing ``*``, or suffix with a leading ``*``; ``*`` alone means present. ``hosts`` match
  the Host header case-insensitively, port included as sent; ``request.headers[name]`` and
  ``methods`` case-sensitively on the header's value (several header lines of one name are
  joined with ``,`` by Envoy: ``source/common/http/header_utility.h``
  ``getAllOfHeaderAsString``); ``principals`` on the peer's SPIFFE identity;
  ``namespaces`` as the regular expression ``.*/ns/<value>/.*`` on it; ``requestPrincipals``
  as ``<iss>/<sub>`` split at the last ``/``. Every source field needs an mTLS peer identity
  (``request.auth.*`` a validated JWT): when it is absent a positive match fails and a
  negative one (``notPrincipals``, ``notValues``...) succeeds - which is why Istio recommends
  DENY policies with negative matches (istio.io "Security Best Practices").
- **PeerAuthentication** (``pilot/pkg/security/authn/policy_applier.go``
  ``ComposePeerAuthentication``): mesh (root namespace, no selector), namespace (no selector)
  and workload (selector, not in the root namespace) levels, the most specific one that sets
  a mode wins (UNSET inherits); ``portLevelMtls`` of the workload level overrides per port;
  default PERMISSIVE. Of several policies at one level Istio takes the oldest; creation times
  are not known before deploying, so the model takes the weakest of them.
- **RequestAuthentication** (istio.io "RequestAuthentication" reference): a token that a rule
  of its issuer cannot validate is refused; a request without a token passes without a
  request principal; ``forwardOriginalToken`` keeps the token for the next hop.

What is not modelled raises :class:`ModelError` naming the field (the proof refuses to
guess): ``trustDomains``, path templates, ``connection.sni``, ``experimental.*`` keys,
``provider`` (CUSTOM) results - a matching CUSTOM policy is assumed to allow, the
conservative reading for a reachability proof.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, cast

Action = Literal["ALLOW", "DENY", "CUSTOM", "AUDIT"]
MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
_MODE_STRENGTH = {"DISABLE": 0, "PERMISSIVE": 1, "STRICT": 2}


class ModelError(ValueError):
    """An object uses a field or attribute whose semantics the model does not implement."""


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A JSON Web Token a caller presents (``Authorization: Bearer``). ``valid``: its
    signature verifies against the issuer's keys and it has not expired."""

    label: str
    issuer: str
    subject: str
    audiences: tuple[str, ...] = ()
    claims: tuple[tuple[str, tuple[str, ...]], ...] = ()
    presenter: str | None = None
    valid: bool = True

    def claim(self, path: Sequence[str]) -> tuple[str, ...] | None:
        if len(path) != 1:
            return None  # nested claims: the tokens the model builds have none
        if path[0] == "iss":
            return (self.issuer,)
        if path[0] == "sub":
            return (self.subject,)
        if path[0] == "aud":
            return self.audiences
        return dict(self.claims).get(path[0])


@dataclass(frozen=True)
class Request:
    """One HTTP request as a workload's proxy sees it."""

    host: str
    port: int  # the destination (container) port at the workload
    method: str = "POST"
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()  # header lines as sent, names lower-case
    token: Token | None = None

    def with_token(self, token: Token | None) -> Request:
        if token is self.token:
            return self
        return Request(self.host, self.port, self.method, self.path, self.headers, token)

    def header(self, name: str) -> str | None:
        """The value Envoy matches on: every line of that name joined with ','."""
        values = [v for k, v in self.headers if k == name]
        if name == ":authority" or name == "host":
            return self.host
        if name == ":method":
            return self.method
        if name == ":path":
            return self.path
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Auth:
    """The request's authenticated JWT attributes (``request.auth.*``), if any."""

    issuer: str
    subject: str
    audiences: tuple[str, ...]
    presenter: str | None
    token: Token


@dataclass(frozen=True)
class Context:
    """Everything a rule can look at for one request at one workload."""

    request: Request
    peer: str | None  # mTLS peer identity without spiffe://, e.g. cluster.local/ns/x/sa/y
    source_ip: str
    remote_ip: str
    destination_ip: str
    auth: Auth | None
    policy_namespace: str = ""


@dataclass(frozen=True)
class Workload:
    """A proxy that enforces policies (a sidecar or a gateway) or a pod without one."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    service_account: str
    proxy: bool
    ip: str

    @property
    def gateway_api_name(self) -> str | None:
        return self.labels.get(GATEWAY_NAME_LABEL)


def principal(trust_domain: str, namespace: str, service_account: str) -> str:
    """The SPIFFE identity (without ``spiffe://``) Istio gives a workload."""
    return f"{trust_domain}/ns/{namespace}/sa/{service_account}"


def namespace_of(peer: str | None) -> str | None:
    if peer is None:
        return None
    m = re.search(r"/ns/([^/]+)/", peer)
    return m.group(1) if m else None


# --- string matching -------------------------------------------------------------------------

Matcher = Callable[[str], bool]


@lru_cache(maxsize=4096)
def string_matcher(value: str, ignore_case: bool = False) -> Matcher:
    """Istio's StringMatcher: ``*`` (present, non-empty for string matchers), ``*x`` (suffix),
    ``x*`` (prefix), else exact."""
    v = value.lower() if ignore_case else value

    def norm(s: str) -> str:
        return s.lower() if ignore_case else s

    if value == "*":
        return lambda s: True
    if value.startswith("*"):
        tail = v[1:]
        return lambda s: norm(s).endswith(tail)
    if value.endswith("*"):
        head = v[:-1]
        return lambda s: norm(s).startswith(head)
    return lambda s: norm(s) == v


@lru_cache(maxsize=4096)
def _principal_matcher(value: str) -> Matcher:
    """``StringMatcherWithPrefix(value, "spiffe://")`` on the identity (``*`` is ``.+``)."""
    if value == "*":
        return lambda s: s != ""
    return string_matcher(value)


@lru_cache(maxsize=4096)
def _namespace_matcher(value: str) -> Matcher:
    """``srcNamespaceGenerator``: ``.*/ns/<value, * as .*>/.*`` on the whole identity."""
    if "*" not in value:
        needle = f"/ns/{value}/"
        return lambda s: needle in "spiffe://" + s
    pattern = re.compile(".*/ns/" + ".*".join(re.escape(p) for p in value.split("*")) + "/.*")
    return lambda s: pattern.fullmatch("spiffe://" + s) is not None


@lru_cache(maxsize=4096)
def _service_account_matcher(value: str, default_namespace: str) -> Matcher:
    """``serviceAccountRegex``: ``<sa>`` or ``<ns>/<sa>`` (namespace defaults to the
    policy's)."""
    ns, _, sa = value.partition("/")
    if not sa:
        ns, sa = default_namespace, value
    pattern = re.compile(rf"spiffe://.+/ns/{ns}/(.+/|)sa/{sa}(/.+)?")
    return lambda s: pattern.fullmatch("spiffe://" + s) is not None


@lru_cache(maxsize=1024)
def _request_principal_matcher(value: str) -> Callable[[str, str], bool]:
    """``requestPrincipalGenerator``: split ``iss/sub`` at the last ``/``; ``*`` parts
    match any non-empty value."""

    def any_(s: str) -> bool:
        return s != ""

    idx = value.rfind("/")
    found = idx >= 0
    iss, sub = (value[:idx], value[idx + 1 :]) if found else (value, "")
    if value == "*":
        return lambda i, s: any_(i) and any_(s)
    if value.startswith("*"):
        if found:
            tail = iss[1:]

            def match_iss(i: str) -> bool:
                return any_(i) if iss == "*" else i.endswith(tail)

            return lambda i, s: match_iss(i) and s == sub
        rest = value[1:]
        return lambda i, s: any_(i) and s.endswith(rest)
    if value.endswith("*"):
        if found:
            head = sub[:-1]

            def match_sub(s: str) -> bool:
                return any_(s) if sub == "*" else s.startswith(head)

            return lambda i, s: i == iss and match_sub(s)
        head = value[:-1]
        return lambda i, s: i.startswith(head) and any_(s)
    return lambda i, s: i == iss and s == sub


def _in_cidrs(ip: str, cidrs: Iterable[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    for c in cidrs:
        net = ipaddress.ip_network(c if "/" in c else f"{c}/{'32' if ':' not in c else '128'}")
        if addr.version == net.version and addr in net:
            return True
    return False


# --- rules -----------------------------------------------------------------------------------

Check = Callable[[Context], bool]


@dataclass(frozen=True)
class Cond:
    """One field of a source or an operation, or one ``when`` condition: true when any of
    ``values`` matches (or, negated, when none does)."""

    attr: str
    values: tuple[str, ...]
    negated: bool
    check: Check = field(compare=False, repr=False)

    def __call__(self, ctx: Context) -> bool:
        return self.check(ctx) != self.negated


def _any_of(ms: Sequence[Matcher], get: Callable[[Context], str | None]) -> Check:
    def check(c: Context) -> bool:
        v = get(c)
        return v is not None and any(m(v) for m in ms)

    return check


def _cond(attr: str, values: Sequence[str], negated: bool, policy_ns: str) -> Cond:
    vals = tuple(str(v) for v in values)
    alias = {
        "request.auth.principal": "requestPrincipals",
        "source.namespace": "namespaces",
        "source.principal": "principals",
        "source.serviceAccount": "serviceAccounts",
        "source.ip": "ipBlocks",
        "remote.ip": "remoteIpBlocks",
    }
    if attr in alias:
        return _cond(alias[attr], vals, negated, policy_ns)
    check: Check
    if attr == "principals":
        check = _any_of([_principal_matcher(v) for v in vals], lambda c: c.peer)
    elif attr == "namespaces":
        check = _any_of([_namespace_matcher(v) for v in vals], lambda c: c.peer)
    elif attr == "serviceAccounts":
        check = _any_of([_service_account_matcher(v, policy_ns) for v in vals], lambda c: c.peer)
    elif attr == "requestPrincipals":
        rms = [_request_principal_matcher(v) for v in vals]

        def check(c: Context) -> bool:
            a = c.auth
            return a is not None and any(m(a.issuer, a.subject) for m in rms)

    elif attr in ("ipBlocks", "remoteIpBlocks", "destination.ip"):
        key = {"ipBlocks": "source_ip", "remoteIpBlocks": "remote_ip"}.get(attr, "destination_ip")

        def check(c: Context) -> bool:
            return _in_cidrs(getattr(c, key), vals)

    elif attr == "hosts":
        check = _any_of(
            [string_matcher(v, ignore_case=True) for v in vals], lambda c: c.request.host
        )
    elif attr in ("ports", "destination.port"):
        ports = {int(v) for v in vals}

        def check(c: Context) -> bool:
            return c.request.port in ports

    elif attr == "methods":
        check = _any_of([string_matcher(v) for v in vals], lambda c: c.request.method)
    elif attr == "paths":
        if any("{" in v for v in vals):
            raise ModelError(f"paths {list(vals)}: path templates are not modelled")
        check = _any_of([string_matcher(v) for v in vals], lambda c: c.request.path)
    elif attr.startswith("request.headers["):
        name = _bracket(attr, "request.headers").lower()
        check = _any_of([string_matcher(v) for v in vals], lambda c: c.request.header(name))
    elif attr == "request.auth.audiences":
        ms = [string_matcher(v) for v in vals]

        def check(c: Context) -> bool:
            a = c.auth
            return a is not None and any(m(x) for x in a.audiences for m in ms)

    elif attr == "request.auth.presenter":
        check = _any_of(
            [string_matcher(v) for v in vals], lambda c: c.auth.presenter if c.auth else None
        )
    elif attr.startswith("request.auth.claims["):
        path = tuple(re.findall(r"\[([^\]]+)\]", attr[len("request.auth.claims") :]))
        if not path:
            raise ModelError(f"{attr!r}: expected request.auth.claims[name]")
        ms = [string_matcher(v) for v in vals]

        def check(c: Context) -> bool:
            got = c.auth.token.claim(path) if c.auth is not None else None
            return got is not None and any(m(g) for g in got for m in ms)

    else:
        raise ModelError(f"{attr!r} is not an attribute the model evaluates")
    return Cond(attr, vals, negated, check)


def _bracket(key: str, prefix: str) -> str:
    rest = key[len(prefix) :]
    if not (rest.startswith("[") and rest.endswith("]")) or len(rest) < 3:
        raise ModelError(f"{key!r}: expected {prefix}[name]")
    return rest[1:-1]


SOURCE_FIELDS = (
    ("principals", "notPrincipals"),
    ("namespaces", "notNamespaces"),
    ("serviceAccounts", "notServiceAccounts"),
    ("requestPrincipals", "notRequestPrincipals"),
    ("ipBlocks", "notIpBlocks"),
    ("remoteIpBlocks", "notRemoteIpBlocks"),
)
OPERATION_FIELDS = (
    ("hosts", "notHosts"),
    ("ports", "notPorts"),
    ("methods", "notMethods"),
    ("paths", "notPaths"),
)
UNMODELLED_SOURCE = ("trustDomains", "notTrustDomains")


def _fields(
    obj: Mapping[str, Any], pairs: Sequence[tuple[str, str]], policy_ns: str, where: str
) -> tuple[Cond, ...]:
    known = {f for pair in pairs for f in pair}
    for k in obj:
        if k in UNMODELLED_SOURCE:
            raise ModelError(f"{where}.{k} is not modelled")
        if k not in known:
            raise ModelError(f"{where}.{k} is not a field the model knows")
    out = []
    for pos, neg in pairs:
        if obj.get(pos):
            out.append(_cond(pos, obj[pos], False, policy_ns))
        if obj.get(neg):
            out.append(_cond(pos, obj[neg], True, policy_ns))
    return tuple(out)


@dataclass(frozen=True)
class Rule:
    """One compiled rule: ``principals`` and ``permissions`` are ORs of ANDs."""

    index: int
    principals: tuple[tuple[Cond, ...], ...]
    permissions: tuple[tuple[Cond, ...], ...]
    when: tuple[Cond, ...]

    def matches(self, ctx: Context) -> bool:
        if not all(c(ctx) for c in self.when):
            return False
        if not any(all(c(ctx) for c in p) for p in self.permissions):
            return False
        return any(all(c(ctx) for c in p) for p in self.principals)

    def positive(self, attr: str) -> list[tuple[str, ...]] | None:
        """Per permission (hosts) or for the rule (``when``): the positive values the request
        must match for ``attr``; None when some alternative does not constrain it."""
        if attr == "hosts":
            out = []
            for p in self.permissions:
                vals = [c.values for c in p if c.attr == "hosts" and not c.negated]
                if not vals:
                    return None
                out.append(vals[0])
            return out
        vals = [c.values for c in self.when if c.attr == attr and not c.negated]
        return [vals[0]] if vals else None

    def identities_named(
        self, policy_ns: str
    ) -> tuple[frozenset[str] | None, frozenset[tuple[str, str]]]:
        """Which source identities this rule can tell apart from others: the namespaces it
        names (any workload there may be told apart; None: a pattern could name any
        namespace) and the workloads it names exactly (namespace, service account). A
        bare ``*`` names nobody: it asks only for some identity (namespaces ``*`` matches
        every identity, which always has a namespace)."""
        names: set[str] = set()
        exact: set[tuple[str, str]] = set()
        conds = [c for p in self.principals for c in p] + list(self.when)
        for c in conds:
            if c.attr not in ("namespaces", "principals", "serviceAccounts"):
                continue
            for v in c.values:
                if v == "*":
                    continue
                if c.attr == "namespaces":
                    if "*" in v:
                        return None, frozenset()
                    names.add(v)
                    continue
                if c.attr == "serviceAccounts":
                    ns, _, sa = v.partition("/")
                    if not sa:
                        ns, sa = policy_ns, v
                    if _PLAIN.fullmatch(ns) and _PLAIN.fullmatch(sa):
                        exact.add((ns, sa))
                    elif _PLAIN.fullmatch(ns):
                        names.add(ns)
                    else:
                        return None, frozenset()
                    continue
                m = _EXACT_PRINCIPAL.fullmatch(v)
                if m and "*" not in v:
                    exact.add((m.group(1), m.group(2)))
                    continue
                pattern_ns = namespace_of("/" + v + "/")
                if pattern_ns is None or "*" in pattern_ns:
                    return None, frozenset()
                names.add(pattern_ns)
        return frozenset(names), frozenset(exact)


_PLAIN = re.compile(r"[a-z0-9-]+")  # no regular-expression syntax in a name
_EXACT_PRINCIPAL = re.compile(r"[^/]*/ns/([^/]+)/sa/([^/]+)")


def compile_rule(index: int, rule: Mapping[str, Any], policy_ns: str, where: str) -> Rule:
    for k in rule:
        if k not in ("from", "to", "when"):
            raise ModelError(f"{where}.{k} is not a field the model knows")
    when = tuple(
        _cond(str(w["key"]), w.get("values") or [], False, policy_ns)
        for w in rule.get("when") or []
        if w.get("values")
    ) + tuple(
        _cond(str(w["key"]), w["notValues"], True, policy_ns)
        for w in rule.get("when") or []
        if w.get("notValues")
    )
    for w in rule.get("when") or []:
        if str(w.get("key", "")).startswith(("connection.sni", "experimental.")):
            raise ModelError(f"{where}.when key {w['key']!r} is not modelled")
    froms = rule.get("from") or []
    principals = tuple(
        _fields(f.get("source") or {}, SOURCE_FIELDS, policy_ns, f"{where}.from[{i}].source")
        for i, f in enumerate(froms)
    ) or ((),)
    tos = rule.get("to") or []
    permissions = tuple(
        _fields(t.get("operation") or {}, OPERATION_FIELDS, policy_ns, f"{where}.to[{i}]")
        for i, t in enumerate(tos)
    ) or ((),)
    return Rule(index, principals, permissions, when)


# --- policies --------------------------------------------------------------------------------


def _selector(spec: Mapping[str, Any], where: str) -> dict[str, str] | None:
    sel = spec.get("selector")
    if sel is None:
        return None
    extra = set(sel) - {"matchLabels"}
    if extra:
        raise ModelError(f"{where}.selector.{sorted(extra)[0]} is not modelled")
    return {str(k): str(v) for k, v in (sel.get("matchLabels") or {}).items()}


def _target_refs(spec: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    refs = list(spec.get("targetRefs") or [])
    if not refs and spec.get("targetRef"):
        refs = [spec["targetRef"]]
    return tuple(
        (str(r.get("group", "")), str(r.get("kind", "")), str(r.get("name", ""))) for r in refs
    )


@dataclass(frozen=True)
class Attached:
    """The scoping part every Istio security policy shares."""

    namespace: str
    name: str
    selector: dict[str, str] | None
    target_refs: tuple[tuple[str, str, str], ...]

    @cached_property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def attaches(self, w: Workload, root: str) -> bool:
        """``ShouldAttachPolicy`` (see the module docstring)."""
        if self.namespace not in (root, w.namespace):
            return False
        gw = w.gateway_api_name
        if gw is None:
            if self.target_refs:
                return False
            return self.selector is None or all(
                w.labels.get(k) == v for k, v in self.selector.items()
            )
        if not self.target_refs:
            return self.selector is None or all(
                w.labels.get(k) == v for k, v in self.selector.items()
            )
        return self.namespace == w.namespace and any(
            group in ("gateway.networking.k8s.io",) and kind == "Gateway" and name == gw
            for group, kind, name in self.target_refs
        )

    def scope(self, root: str) -> str:
        """How far the policy reaches, in words."""
        if self.target_refs:
            return "targetRefs " + ", ".join(f"{k}/{n}" for _, k, n in self.target_refs)
        if self.selector:
            sel = ",".join(f"{k}={v}" for k, v in sorted(self.selector.items()))
            where = "every namespace" if self.namespace == root else self.namespace
            return f"workloads {sel} in {where}"
        if self.namespace == root:
            return "every workload of the mesh (root namespace, no selector)"
        return f"every workload in namespace {self.namespace}"


@dataclass(frozen=True)
class AuthorizationPolicy(Attached):
    action: Action
    rules: tuple[Rule, ...]
    provider: str | None = None


def authorization_policy(obj: Mapping[str, Any]) -> AuthorizationPolicy:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    where = f"AuthorizationPolicy {ns}/{name}"
    known = {"action", "rules", "selector", "targetRef", "targetRefs", "provider"}
    for k in spec:
        if k not in known:
            raise ModelError(f"{where}: spec.{k} is not a field the model knows")
    action = str(spec.get("action") or "ALLOW")
    if action not in ("ALLOW", "DENY", "CUSTOM", "AUDIT"):
        raise ModelError(f"{where}: action {action!r} is not an Istio action")
    rules = tuple(
        compile_rule(i, r or {}, ns, f"{where} rules[{i}]")
        for i, r in enumerate(spec.get("rules") or [])
    )
    provider = (spec.get("provider") or {}).get("name")
    return AuthorizationPolicy(
        ns,
        name,
        _selector(spec, where),
        _target_refs(spec),
        cast(Action, action),
        rules,
        provider,
    )


@dataclass(frozen=True)
class PeerAuthentication(Attached):
    mode: MtlsMode | None  # None: UNSET (inherit)
    port_modes: Mapping[int, MtlsMode | None]


def peer_authentication(obj: Mapping[str, Any]) -> PeerAuthentication:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    where = f"PeerAuthentication {ns}/{name}"

    def mode(m: Mapping[str, Any] | None) -> MtlsMode | None:
        v = str((m or {}).get("mode") or "UNSET")
        if v == "UNSET":
            return None
        if v not in _MODE_STRENGTH:
            raise ModelError(f"{where}: mTLS mode {v!r} is not an Istio mode")
        return v  # type: ignore[return-value]

    sel = _selector(spec, where)
    return PeerAuthentication(
        ns,
        name,
        sel or None,
        (),
        mode(spec.get("mtls")),
        {int(p): mode(m) for p, m in (spec.get("portLevelMtls") or {}).items()},
    )


@dataclass(frozen=True)
class JwtRule:
    issuer: str
    audiences: tuple[str, ...]
    forward: bool
    from_authorization: bool


@dataclass(frozen=True)
class RequestAuthentication(Attached):
    rules: tuple[JwtRule, ...]


def request_authentication(obj: Mapping[str, Any]) -> RequestAuthentication:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    where = f"RequestAuthentication {ns}/{name}"
    rules = []
    for r in spec.get("jwtRules") or []:
        headers = [str(h.get("name", "")).lower() for h in r.get("fromHeaders") or []]
        if r.get("fromParams") or r.get("fromCookies"):
            headers.append("elsewhere")
        rules.append(
            JwtRule(
                str(r.get("issuer", "")),
                tuple(str(a) for a in r.get("audiences") or []),
                bool(r.get("forwardOriginalToken", False)),
                not headers or "authorization" in headers,
            )
        )
    return RequestAuthentication(ns, name, _selector(spec, where), _target_refs(spec), tuple(rules))


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str  # why, naming the policy and rule that decided


class RuleIndex:
    """The rules of many policies at one workload, found by the host or the header value a
    request carries (a rule that constrains neither is always a candidate). A rule whose
    every alternative requires some host in a set can only match a request whose host is in
    it; the index is a shortcut, never a different answer."""

    def __init__(self) -> None:
        self.exact: dict[str, list[tuple[AuthorizationPolicy, Rule]]] = {}
        self.prefix: dict[str, list[tuple[AuthorizationPolicy, Rule]]] = {}
        self.suffix: dict[str, list[tuple[AuthorizationPolicy, Rule]]] = {}
        self.headers: dict[str, dict[str, list[tuple[AuthorizationPolicy, Rule]]]] = {}
        self.header_prefix: dict[str, dict[str, list[tuple[AuthorizationPolicy, Rule]]]] = {}
        self.scan: list[tuple[AuthorizationPolicy, Rule]] = []
        self._memo: dict[tuple[Any, ...], list[tuple[AuthorizationPolicy, Rule]]] = {}

    def add(self, policy: AuthorizationPolicy, rule: Rule) -> None:
        entry = (policy, rule)
        hosts = rule.positive("hosts")
        if hosts is not None and all(v != "*" for vals in hosts for v in vals):
            for vals in hosts:
                for v in vals:
                    lv = v.lower()
                    if lv.startswith("*"):
                        self.suffix.setdefault(lv[1:], []).append(entry)
                    elif lv.endswith("*"):
                        self.prefix.setdefault(lv[:-1], []).append(entry)
                    else:
                        self.exact.setdefault(lv, []).append(entry)
            return
        for c in rule.when:
            if c.negated or not c.attr.startswith("request.headers["):
                continue
            name = _bracket(c.attr, "request.headers").lower()
            if any(v.startswith("*") or v == "*" for v in c.values):
                continue
            for v in c.values:
                if v.endswith("*"):
                    self.header_prefix.setdefault(name, {}).setdefault(v[:-1], []).append(entry)
                else:
                    self.headers.setdefault(name, {}).setdefault(v, []).append(entry)
            return
        self.scan.append(entry)

    def candidates(self, req: Request) -> list[tuple[AuthorizationPolicy, Rule]]:
        h = req.host.lower()
        names = (*self.headers, *self.header_prefix)
        key = (h, tuple(req.header(n) for n in names))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._candidates(h, req)
        return hit

    def _candidates(self, h: str, req: Request) -> list[tuple[AuthorizationPolicy, Rule]]:
        out = list(self.scan)
        out += self.exact.get(h, ())
        if self.prefix:
            for i in range(len(h) + 1):
                out += self.prefix.get(h[:i], ())
        if self.suffix:
            for i in range(len(h) + 1):
                out += self.suffix.get(h[i:], ())
        for name, table in self.headers.items():
            v = req.header(name)
            if v is not None:
                out += table.get(v, ())
        for name, table in self.header_prefix.items():
            v = req.header(name)
            if v is not None:
                for i in range(len(v) + 1):
                    out += table.get(v[:i], ())
        # a rule found twice (several of its hosts match) is checked once
        seen: set[tuple[str, int]] = set()
        uniq = []
        for p, r in out:
            key = (p.ref, r.index)
            if key not in seen:
                seen.add(key)
                uniq.append((p, r))
        return uniq


@dataclass
class PolicySet:
    """The security policies that apply to one workload."""

    workload: Workload
    custom: RuleIndex = field(default_factory=RuleIndex)
    deny: RuleIndex = field(default_factory=RuleIndex)
    allow: RuleIndex = field(default_factory=RuleIndex)
    allow_policies: list[AuthorizationPolicy] = field(default_factory=list)
    authz: list[AuthorizationPolicy] = field(default_factory=list)
    peer: list[PeerAuthentication] = field(default_factory=list)
    jwt: list[RequestAuthentication] = field(default_factory=list)

    inspects: frozenset[str] = frozenset()  # request attributes its rules look at

    def canonical(self, req: Request) -> Request:
        """``req`` with what no rule here looks at blanked (same decisions, fewer to make)."""
        ins = self.inspects
        headers = req.headers
        if "*headers" not in ins:
            headers = tuple((k, v) for k, v in headers if f"header:{k}" in ins)
        return Request(
            req.host if "hosts" in ins or "*headers" in ins else "",
            req.port,
            req.method if "methods" in ins else "",
            req.path if "paths" in ins else "",
            headers,
            req.token if self.jwt or "auth" in ins else None,
        )

    @classmethod
    def build(
        cls,
        workload: Workload,
        root: str,
        authz: Iterable[AuthorizationPolicy],
        peer: Iterable[PeerAuthentication],
        jwt: Iterable[RequestAuthentication],
    ) -> PolicySet:
        s = cls(workload)
        for p in authz:
            if not p.attaches(workload, root):
                continue
            s.authz.append(p)
            index = {"CUSTOM": s.custom, "DENY": s.deny, "ALLOW": s.allow}.get(p.action)
            if index is None:
                continue  # AUDIT decides nothing
            if p.action == "ALLOW":
                s.allow_policies.append(p)
            for r in p.rules:
                index.add(p, r)
        s.peer = [p for p in peer if _pa_attaches(p, workload, root)]
        s.jwt = [p for p in jwt if p.attaches(workload, root)]
        ins: set[str] = set()
        for p in s.authz:
            for r in p.rules:
                for c in [c for alt in (*r.principals, *r.permissions) for c in alt] + list(r.when):
                    if c.attr.startswith("request.headers["):
                        ins.add("header:" + _bracket(c.attr, "request.headers").lower())
                        if _bracket(c.attr, "request.headers").lower() in (":authority", "host"):
                            ins.add("*headers")
                    elif c.attr.startswith("request.auth.") or c.attr == "requestPrincipals":
                        ins.add("auth")
                    else:
                        ins.add(c.attr)
        for index in (s.custom, s.deny, s.allow):
            ins |= {f"header:{n}" for n in (*index.headers, *index.header_prefix)}
        s.inspects = frozenset(ins)
        return s

    def mtls_mode(self, port: int, root: str) -> tuple[MtlsMode, str]:
        """The effective PeerAuthentication mode at ``port`` and the policy that set it."""
        levels: dict[str, list[PeerAuthentication]] = {"mesh": [], "namespace": [], "workload": []}
        for p in self.peer:
            if not p.selector:
                levels["mesh" if p.namespace == root else "namespace"].append(p)
            elif p.namespace != root:
                levels["workload"].append(p)
        mode: MtlsMode = "PERMISSIVE"
        why = "no PeerAuthentication (Istio's default: PERMISSIVE)"
        for level in ("mesh", "namespace", "workload"):
            candidates = [p for p in levels[level] if p.mode is not None]
            if candidates:
                weakest = min(candidates, key=lambda p: _MODE_STRENGTH[p.mode or "PERMISSIVE"])
                mode, why = weakest.mode or mode, f"PeerAuthentication {weakest.ref} ({level})"
        for p in levels["workload"]:
            if port in p.port_modes:
                pm = p.port_modes[port]
                mode, why = (pm or mode), f"PeerAuthentication {p.ref} portLevelMtls {port}"
                break
        return mode, why

    def authenticate(self, req: Request) -> tuple[Auth | None, Token | None, str | None]:
        """RequestAuthentication: (auth attributes, the token passed on, refusal reason)."""
        tok = req.token
        if tok is None or not self.jwt:
            return None, tok, None
        rules = [(p, r) for p in self.jwt for r in p.rules]
        matching = [(p, r) for p, r in rules if r.issuer == tok.issuer and r.from_authorization]
        if not matching:
            # a token no rule is for: treated as no credential (the weaker reading)
            return None, tok, None
        for _, r in matching:
            aud_ok = not r.audiences or bool(set(r.audiences) & set(tok.audiences))
            if tok.valid and aud_ok:
                auth = Auth(tok.issuer, tok.subject, tok.audiences, tok.presenter, tok)
                return auth, (tok if r.forward else None), None
        return None, None, f"RequestAuthentication {matching[0][0].ref}: invalid token"

    def authorize(self, ctx: Context) -> Verdict:
        return self.decide(ctx)[0]

    def decide(self, ctx: Context) -> tuple[Verdict, frozenset[tuple[str, int]]]:
        """The verdict and every rule that could have decided it (the candidates)."""
        req = ctx.request
        custom, deny, allow = (i.candidates(req) for i in (self.custom, self.deny, self.allow))
        seen = frozenset((p.ref, r.index) for p, r in (*custom, *deny, *allow))
        notes = []
        for p, r in custom:
            if r.matches(ctx):
                notes.append(f"CUSTOM {p.ref} (provider {p.provider}) assumed to allow")
                break
        for p, r in deny:
            if r.matches(ctx):
                return Verdict(False, f"DENY {p.ref} rules[{r.index}]"), seen
        if not self.allow_policies:
            return Verdict(True, "; ".join(notes) or "no ALLOW policy applies"), seen
        for p, r in allow:
            if r.matches(ctx):
                return Verdict(True, f"ALLOW {p.ref} rules[{r.index}]"), seen
        names = ", ".join(sorted(p.ref for p in self.allow_policies))
        return Verdict(False, f"no rule of the ALLOW policies ({names}) matches"), seen


def _pa_attaches(p: PeerAuthentication, w: Workload, root: str) -> bool:
    if p.namespace not in (root, w.namespace):
        return False
    return not p.selector or all(w.labels.get(k) == v for k, v in p.selector.items())
