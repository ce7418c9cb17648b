"""Every way a caller's request can travel to a model's pods, hop by hop (pure).

Paths (the platform's request path, see :mod:`.topology` for the sources):

- ``direct``: the caller connects to a pod's address on a port that serves inference (the
  queue-proxy's 8012/8013, Triton's 8080/9000);
- ``mesh``: the caller's own sidecar routes a cluster-local host of the model (net-istio's
  ``mesh`` VirtualService) to the revision, straight to its pods or through the activator;
- ``cluster-local gateway``: the caller sends a cluster-local host to the ingress gateway's
  port 8081 (where the Knative route's ``ExternalName`` Service points), which routes it on;
- ``ingress gateway``: a caller outside the cluster sends an external host (port 8080);
- ``activator``: the caller sends a request straight to the activator (8012/8013), naming a
  revision in the headers the activator reads, or in the Host it falls back to.

An LLM served name (:class:`~.topology.LlmModel`) has two:

- ``direct``: the caller connects to a pod of its LLMInferenceService on vLLM's port 8000
  (vLLM serves any name it loaded to whoever reaches it);
- ``llm gateway``: the caller sends the request to the Tenantry LLM gateway (8080), which
  pins it to the caller's tenant (404 for another tenant's name) and forwards it to the
  runtime with its own identity.

Callers outside the cluster have no path to an LLM: no route to one is rendered (KServe
creates none without ``spec.router``, and the ingress gateway routes only what a
VirtualService, which the model refuses to evaluate, would add).

Every hop is checked twice: NetworkPolicy (both ends), and the destination proxy's
PeerAuthentication, RequestAuthentication and AuthorizationPolicy. A path reaches the model
when every hop passes both; the **identity layer alone** (NetworkPolicy ignored) must
already refuse every undeclared caller, since NetworkPolicy is enforced only where the
cluster's network plugin does it, knows no identities, and cannot tell two workloads of one
namespace apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, TypeVar

from ...spec.hosts import CLUSTER_DOMAIN
from .istio import Context, ModelError, Request, Token, Workload, namespace_of
from .netpol import Endpoint
from .topology import (
    DIRECT_PORTS,
    GATEWAY_EXTERNAL_PORT,
    GATEWAY_LOCAL_PORT,
    LLM_GATEWAY,
    LLM_GATEWAY_PORT,
    LLM_NAMESPACE,
    LLM_PORT,
    PROBED_PORTS,
    QUEUE_H2C,
    QUEUE_HTTP1,
    LlmModel,
    Model,
    Revision,
    Route,
    World,
)

T = TypeVar("T")
PathKind = Literal[
    "direct", "mesh", "cluster-local gateway", "ingress gateway", "activator", "llm gateway"
]
NS_HEADER, REV_HEADER = "knative-serving-namespace", "knative-serving-revision"
EXTERNAL_IP = "198.51.100.7"  # a caller outside the cluster (TEST-NET-2)
CALLER_IP = "10.2.0.5"  # a pod of the caller's namespace


@dataclass(frozen=True)
class Caller:
    """One class of caller. ``namespace`` None: outside the cluster."""

    id: str
    kind: Literal["tenant", "allowed", "system", "other", "external"]
    label: str
    namespace: str | None
    sidecar: bool
    service_account: str = "default"
    pod_labels: tuple[tuple[str, str], ...] = ()
    token: Token | None = None


@dataclass(frozen=True)
class Src:
    """The sender of one hop: the caller itself, the gateway or the activator."""

    namespace: str | None
    labels: tuple[tuple[str, str], ...]
    ip: str
    proxy: bool
    identity: str | None

    @cached_property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.namespace, self.labels, self.ip)


@dataclass(frozen=True)
class Hop:
    net_ok: bool
    net_reason: str
    mesh_ok: bool
    mesh_reason: str
    token: Token | None  # what the next hop receives
    rules: frozenset[tuple[str, int]] = frozenset()  # authorization rules looked at


@dataclass(frozen=True)
class Outcome:
    """One path from a caller to a pod of a model, and where it stopped."""

    kind: PathKind
    steps: tuple[str, ...]
    reached: bool  # every hop passed NetworkPolicy and the identity layer
    mesh_reached: bool  # every hop passed the identity layer
    stop: str  # what refused it (empty when reached)

    def text(self) -> str:
        return self._text

    @cached_property
    def _text(self) -> str:
        return " -> ".join(self.steps)


Tail = tuple[tuple[str, ...], str, str]  # steps, NetworkPolicy stop, identity-layer stop
END: list[Tail] = [((), "", "")]


def _join(step: str, hop: Hop, rest: list[Tail]) -> list[Tail]:
    """The ways on of a request that takes ``hop`` (described by ``step``) and then any of
    ``rest``. The identity layer refusing ends it; a NetworkPolicy refusing is noted and the
    path followed on (the identity layer must hold without NetworkPolicy)."""
    net = "" if hop.net_ok else f"{step}: {hop.net_reason}"
    if not hop.mesh_ok:
        return [((step,), net, f"{step}: {hop.mesh_reason}")]
    return [((step, *steps), net or n, m) for steps, n, m in rest]


def _outcomes(kind: PathKind, tails: list[Tail]) -> list[Outcome]:
    return [Outcome(kind, steps, not n and not m, not m, n or m) for steps, n, m in tails]


def activator_target(req: Request) -> tuple[str, str] | None:
    """The (namespace, revision) the activator proxies ``req`` to: the first value of each
    routing header (Go's ``Header.Get``), or, when either is empty, a Host of the form
    ``<revision>.<namespace>.svc.<cluster domain>[:port]`` (knative/serving
    ``pkg/activator/handler/context_handler.go``)."""

    def first(name: str) -> str:
        return next((v.strip() for k, v in req.headers if k == name), "")

    ns, name = first(NS_HEADER), first(REV_HEADER)
    if not name or not ns:
        parts = req.host.split(".", 3)
        if len(parts) == 4 and parts[2] == "svc" and parts[3].split(":", 1)[0] == CLUSTER_DOMAIN:
            name, ns = parts[0], parts[1]
    return (ns, name) if ns and name else None


class Engine:
    """Evaluates hops over one :class:`World`, with a cache shared by every caller."""

    def __init__(self, world: World) -> None:
        self.w = world
        self._cache: dict[
            tuple[object, ...], tuple[bool, str, bool, frozenset[tuple[str, int]]]
        ] = {}
        self._modes: dict[tuple[str, str, int], tuple[str, str]] = {}
        self._endpoints: dict[int, Endpoint] = {}
        self._outcome_cache: dict[tuple[object, ...], list[Outcome]] = {}
        self._memo: dict[
            tuple[object, ...], tuple[Any, frozenset[tuple[str, int]], frozenset[str]]
        ] = {}
        self.consulted: set[tuple[str, int]] | None = None  # rules looked at, when recording
        self.consulted_namespaces: set[str] | None = None
        w = world
        self.gateway_src = Src(
            w.gateway.namespace,
            tuple(sorted(w.gateway.labels.items())),
            w.gateway.ip,
            True,
            w.gateway_principal,
        )
        self.activator_src = Src(
            w.activator.namespace,
            tuple(sorted(w.activator.labels.items())),
            w.activator.ip,
            w.activator.proxy,
            w.activator_principal if w.activator.proxy else None,
        )

    # --- one hop ----------------------------------------------------------------------------

    def hop(self, src: Src, dst: Workload, port: int, req: Request) -> Hop:
        if port not in PROBED_PORTS:  # the matrix's caller reuse reads rules on these only
            raise ModelError(f"a path connects to port {port}, not one of PROBED_PORTS")
        ep = self._endpoints.get(id(dst))
        if ep is None:
            ep = self._endpoints[id(dst)] = Endpoint(
                dst.namespace, tuple(sorted(dst.labels.items())), dst.ip
            )
        net = self.w.network.allows(src.endpoint, ep, port)
        ok, reason, forwards, rules = self._mesh(src, dst, port, req)
        if self.consulted is not None:
            self.consulted |= rules
        if self.consulted_namespaces is not None:
            self.consulted_namespaces.add(dst.namespace)  # its ingress rules were looked at
        return Hop(net.allowed, net.reason, ok, reason, req.token if forwards else None, rules)

    def _mesh(
        self, src: Src, dst: Workload, port: int, req: Request
    ) -> tuple[bool, str, bool, frozenset[tuple[str, int]]]:
        """The destination proxy's decision: (passes, why, the token goes on, rules looked
        at). Cached on what its policies can see of the request."""
        w = self.w
        if not dst.proxy:
            return True, "no sidecar: no Istio policy applies", True, frozenset()
        ps = w.policies(dst)
        peer: str | None = None
        if dst is not w.gateway:
            mkey = (dst.namespace, dst.name, port)
            mode_why = self._modes.get(mkey)
            if mode_why is None:
                mode_why = self._modes[mkey] = ps.mtls_mode(port, w.root)
            mode, why = mode_why
            if src.proxy and mode != "DISABLE":
                peer = src.identity
            elif mode == "STRICT":
                return (
                    False,
                    f"STRICT mTLS ({why}) refuses a caller without a mesh identity",
                    False,
                    frozenset(),
                )
        creq = ps.canonical(req)
        ip = src.ip if {"ipBlocks", "remoteIpBlocks"} & ps.inspects else ""
        key = (dst.namespace, dst.name, port, creq, peer, ip)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        auth, forwarded, refused = ps.authenticate(creq)
        if refused:
            out = (False, refused, False, frozenset[tuple[str, int]]())
        else:
            verdict, seen = ps.decide(Context(creq, peer, src.ip, src.ip, dst.ip, auth))
            forwards = creq.token is None or forwarded is not None
            out = (verdict.allowed, verdict.reason, forwards, seen)
        self._cache[key] = out
        return out

    # --- paths ------------------------------------------------------------------------------

    def paths(self, caller: Caller, model: Model | LlmModel) -> Iterator[Outcome]:
        if isinstance(model, LlmModel):
            yield from self._llm_paths(caller, model)
            return
        if caller.namespace is None:
            yield from self._ingress(caller, model)
            return
        src = self._caller_src(caller)
        yield from self._direct(src, model)
        yield from self._activator(src, model, caller.token)
        yield from self._local_gateway(src, model, caller.token)
        if caller.sidecar:
            yield from self._mesh_routes(src, model, caller.token)

    # --- LLM served names -------------------------------------------------------------------

    def _llm_paths(self, caller: Caller, m: LlmModel) -> Iterator[Outcome]:
        if caller.namespace is None:
            return  # no route from outside to an LLM (module docstring)
        src = self._caller_src(caller)
        pod = m.runtime.pod
        host = f"{m.runtime.ref.name}-kserve-workload-svc.{pod.namespace}.svc.{CLUSTER_DOMAIN}"
        req = Request(host, LLM_PORT, path="/v1/completions")
        hop = self.hop(src, pod, LLM_PORT, req)
        yield from _outcomes("direct", _join(f"pod {pod.name} :{LLM_PORT}", hop, END))
        if m.ref.kind in ("adapter", "base") and self.w.llm_gateway is not None:
            yield from self._via_llm_gateway(src, m)

    def _via_llm_gateway(self, src: Src, m: LlmModel) -> Iterator[Outcome]:
        w = self.w
        gw = w.llm_gateway
        assert gw is not None
        host = f"{LLM_GATEWAY}.{LLM_NAMESPACE}.svc.{CLUSTER_DOMAIN}"
        req = Request(host, LLM_GATEWAY_PORT, path="/v1/completions")
        hop = self.hop(src, gw, LLM_GATEWAY_PORT, req)
        step = f"LLM gateway {LLM_NAMESPACE}/{LLM_GATEWAY} :{LLM_GATEWAY_PORT}"
        mtls = False
        if gw.proxy and src.proxy:
            mode, _ = w.policies(gw).mtls_mode(LLM_GATEWAY_PORT, w.root)
            mtls = mode != "DISABLE"
        # who the gateway takes the caller for: the identity its sidecar vouches for, or,
        # without mTLS, whatever X-Forwarded-Client-Cert the caller writes
        ns = namespace_of(src.identity) if mtls else None
        if w.llm_pins(ns, m):
            owner = m.ref.tenant
            who = (
                "as any tenant it claims (no mTLS)"
                if not ns
                else f"as tenant {ns}"
                if ns == owner
                else f"to {ns}, a caller namespace of tenant {owner}"
            )
            pin = Hop(True, "", True, "", None)
            pin_step = f"gateway serves {m.served_name} {who}"
        else:
            if ns is None and not any(w.llm_routes.values()):
                why = "the gateway's routes name no tenant"
            elif ns is None:
                why = f"{m.served_name} is no tenant's served name"
            else:
                why = f"{m.served_name} is not among the served names {ns} may call"
            pin = Hop(True, "", False, f"404 model_not_found ({why})", None)
            pin_step = "gateway pins the caller's tenant"
        rest = _join(pin_step, pin, self._llm_upstream(m))
        yield from _outcomes("llm gateway", _join(step, hop, rest))

    def _llm_upstream(self, m: LlmModel) -> list[Tail]:
        """The gateway forwards to the runtime with its own identity."""

        def build() -> list[Tail]:
            w = self.w
            gw = w.llm_gateway
            assert gw is not None
            src = Src(
                gw.namespace,
                tuple(sorted(gw.labels.items())),
                gw.ip,
                gw.proxy,
                w.llm_gateway_principal,
            )
            pod = m.runtime.pod
            svc = f"{m.runtime.ref.name}-kserve-workload-svc.{pod.namespace}.svc.{CLUSTER_DOMAIN}"
            req = Request(svc, LLM_PORT, path="/v1/completions")
            hop = self.hop(src, pod, LLM_PORT, req)
            return _join(f"pod {pod.name} :{LLM_PORT} (from the LLM gateway)", hop, END)

        return self._shared(("llm-upstream", m.runtime.ref), build)

    def _caller_src(self, c: Caller) -> Src:
        """A pod of the caller's class, as the first hop's sender."""
        return Src(c.namespace, c.pod_labels, CALLER_IP, c.sidecar, self._identity(c))

    def _identity(self, c: Caller) -> str | None:
        if not c.sidecar or c.namespace is None:
            return None
        return f"{self.w.trust_domain}/ns/{c.namespace}/sa/{c.service_account}"

    def _shared(self, key: tuple[object, ...], build: Callable[[], list[T]]) -> list[T]:
        """What does not depend on the caller (a way on from the gateway or the activator,
        all an outside caller's paths for one token), computed once; the rules and
        namespaces it looked at count for every caller that uses it."""
        hit = self._memo.get(key)
        if hit is None:
            outer_rules, outer_ns = self.consulted, self.consulted_namespaces
            self.consulted, self.consulted_namespaces = set(), set()
            value = build()
            hit = (value, frozenset(self.consulted), frozenset(self.consulted_namespaces))
            self._memo[key] = hit
            self.consulted, self.consulted_namespaces = outer_rules, outer_ns
        value, rules, namespaces = hit
        if self.consulted is not None:
            self.consulted |= rules
        if self.consulted_namespaces is not None:
            self.consulted_namespaces |= namespaces
        return value

    def _direct(self, src: Src, m: Model) -> Iterator[Outcome]:
        for rev in m.revisions:
            for port in DIRECT_PORTS:
                req = Request(rev.pod.ip, port, path=f"/v2/models/{m.ref.name}/infer")
                hop = self.hop(src, rev.pod, port, req)
                yield from _outcomes("direct", _join(f"pod {rev.name} :{port}", hop, END))

    def _activator_forms(self, m: Model, rev: Revision) -> list[tuple[str, Request]]:
        ns = m.ref.tenant
        svc = f"activator-service.knative-serving.svc.{CLUSTER_DOMAIN}"
        host = f"{rev.name}.{ns}.svc.{CLUSTER_DOMAIN}"
        infer = f"/v2/models/{m.ref.name}/infer"
        hdrs = ((NS_HEADER, ns), (REV_HEADER, rev.name))
        repeated = ((NS_HEADER, ns), (NS_HEADER, "default"), (REV_HEADER, rev.name))
        empty = ((NS_HEADER, ""), (REV_HEADER, ""))
        return [
            ("headers", Request(svc, QUEUE_HTTP1, path=infer, headers=hdrs)),
            ("repeated namespace header", Request(svc, QUEUE_HTTP1, path=infer, headers=repeated)),
            ("Host", Request(host, QUEUE_HTTP1, path=infer)),
            ("Host with port", Request(f"{host}:80", QUEUE_HTTP1, path=infer)),
            ("empty headers and Host", Request(host, QUEUE_HTTP1, path=infer, headers=empty)),
            ("headers, h2c port", Request(svc, QUEUE_H2C, path=infer, headers=hdrs)),
        ]

    def _activator(self, src: Src, m: Model, token: Token | None) -> Iterator[Outcome]:
        for rev in m.revisions:
            for form, req in self._activator_forms(m, rev):
                req = req.with_token(token)
                hop = self.hop(src, self.w.activator, req.port, req)
                step = f"activator :{req.port} [{form}: {_describe(req)}]"
                rest = self._after_activator(m, rev, req.with_token(hop.token))
                yield from _outcomes("activator", _join(step, hop, rest))

    def _after_activator(self, m: Model, rev: Revision, req: Request) -> list[Tail]:
        """The activator proxies ``req`` to the revision it names, with its own identity."""

        def build() -> list[Tail]:
            if activator_target(req) != (m.ref.tenant, rev.name):
                return [((), "", "the activator routes it elsewhere")]
            fwd = Request(req.host, QUEUE_HTTP1, req.method, req.path, req.headers, req.token)
            hop = self.hop(self.activator_src, rev.pod, QUEUE_HTTP1, fwd)
            return _join(f"pod {rev.name} :{QUEUE_HTTP1} (from the activator)", hop, END)

        return self._shared(("activator", m.ref, rev.name, req), build)

    def _deliver(self, src: Src, m: Model, route: Route, req: Request) -> list[Tail]:
        """A router (a sidecar or the gateway) sends ``req`` on along a Knative route: to each
        revision's pods, or through the activator while it is in the data path."""
        if src is self.gateway_src:
            return self._shared(
                ("deliver", m.ref, route.name, req),
                lambda: self._deliver_from(src, m, route, req),
            )
        return self._deliver_from(src, m, route, req)

    def _deliver_from(self, src: Src, m: Model, route: Route, req: Request) -> list[Tail]:
        out: list[Tail] = []
        kept = tuple((k, v) for k, v in req.headers if k not in (NS_HEADER, REV_HEADER))
        for name in route.revisions:
            rev = m.revision(name)
            if rev is None:
                continue
            routed = Request(
                req.host,
                QUEUE_HTTP1,
                req.method,
                req.path,
                (*kept, (NS_HEADER, m.ref.tenant), (REV_HEADER, rev.name)),
                req.token,
            )
            for mode in rev.modes:
                if mode == "serve":
                    hop = self.hop(src, rev.pod, QUEUE_HTTP1, routed)
                    out += _join(f"pod {rev.name} :{QUEUE_HTTP1}", hop, END)
                    continue
                hop = self.hop(src, self.w.activator, QUEUE_HTTP1, routed)
                step = f"activator :{QUEUE_HTTP1} (revision {rev.name} in proxy mode)"
                rest = self._after_activator(m, rev, routed.with_token(hop.token))
                out += _join(step, hop, rest)
        return out

    def _after_gateway(self, m: Model, route: Route, req: Request) -> list[Tail]:
        """The gateway has accepted ``req`` for ``route`` and sends it on."""

        def build() -> list[Tail]:
            if route.kind == "inference-service":
                return self._to_local_gateway(self.gateway_src, m, route, req)
            return self._deliver(self.gateway_src, m, route, req)

        return self._shared(("gateway", m.ref, route.name, req), build)

    def _to_local_gateway(self, sender: Src, m: Model, route: Route, req: Request) -> list[Tail]:
        """KServe's route: on to the cluster-local gateway with the predictor's Host (and
        KServe's name headers), which routes it along the predictor's Knative route."""
        again = Request(
            route.predictor_host,
            GATEWAY_LOCAL_PORT,
            req.method,
            req.path,
            (
                *req.headers,
                ("kserve-isvc-name", m.ref.name),
                ("kserve-isvc-namespace", m.ref.tenant),
            ),
            req.token,
        )
        hop = self.hop(sender, self.w.gateway, GATEWAY_LOCAL_PORT, again)
        predictor = next((r for r in m.routes if r.kind == "predictor"), None)
        rest = END
        if predictor is not None:
            rest = self._deliver(self.gateway_src, m, predictor, again.with_token(hop.token))
        step = f"cluster-local gateway :{GATEWAY_LOCAL_PORT} [Host {route.predictor_host}]"
        return _join(step, hop, rest)

    def _local_gateway(self, src: Src, m: Model, token: Token | None) -> Iterator[Outcome]:
        """The gateway sees no identity (callers reach it in plaintext), so what it does with
        each Host is the same for every caller: computed once per model and token; the
        caller's own part is the network from it to the gateway."""
        w = self.w
        ep = self._endpoints.get(id(w.gateway))
        if ep is None:
            ep = self._endpoints[id(w.gateway)] = Endpoint(
                w.gateway.namespace, tuple(sorted(w.gateway.labels.items())), w.gateway.ip
            )
        net = w.network.allows(src.endpoint, ep, GATEWAY_LOCAL_PORT)
        if self.consulted_namespaces is not None:
            self.consulted_namespaces.add(w.gateway.namespace)
        families = self._shared(("local", m.ref, token), lambda: self._local_family(m, token))
        key = ("local-outcomes", m.ref, token, net.allowed, net.reason)
        outcomes = self._outcome_cache.get(key)
        if outcomes is None:
            outcomes = []
            for steps, n, x in families:
                if not net.allowed and not n:
                    n = f"{steps[0]}: {net.reason}"
                outcomes.append(
                    Outcome("cluster-local gateway", steps, not n and not x, not x, n or x)
                )
            self._outcome_cache[key] = outcomes
        yield from outcomes

    def _local_family(self, m: Model, token: Token | None) -> list[Tail]:
        anyone = Src(None, (), CALLER_IP, False, None)  # what the gateway sees of a caller
        out: list[Tail] = []
        infer = f"/v2/models/{m.ref.name}/infer"
        for route in m.routes:
            for host in route.local_gateway:
                for form in (host, f"{host}:80"):
                    req = Request(form, GATEWAY_LOCAL_PORT, path=infer, token=token)
                    ok, reason, forwards, rules = self._mesh(
                        anyone, self.w.gateway, GATEWAY_LOCAL_PORT, req
                    )
                    if self.consulted is not None:
                        self.consulted |= rules
                    hop = Hop(True, "", ok, reason, token if forwards else None, rules)
                    step = f"cluster-local gateway :{GATEWAY_LOCAL_PORT} [Host {form}]"
                    rest = self._after_gateway(m, route, req.with_token(hop.token))
                    out += _join(step, hop, rest)
        return out

    def _mesh_routes(self, src: Src, m: Model, token: Token | None) -> Iterator[Outcome]:
        """Host forms that every workload on the route sees alike (its policies' canonical
        request is the same) take the same decisions: followed once, named each."""
        infer = f"/v2/models/{m.ref.name}/infer"
        for route in m.routes:
            dsts: list[Workload] = []
            for name in route.revisions:
                rev = m.revision(name)
                if rev is not None:
                    dsts.append(rev.pod)
                    if "proxy" in rev.modes:
                        dsts.append(self.w.activator)
            done: dict[object, list[Tail]] = {}
            for host in route.mesh:
                for form in (host, f"{host}:80"):
                    req = Request(form, QUEUE_HTTP1, path=infer, token=token)
                    if route.kind == "inference-service":
                        key: object = "rewritten"  # KServe sets the Host: every form alike
                    else:
                        key = tuple(
                            self.w.policies(d).canonical(req) if d.proxy else None for d in dsts
                        )
                    tails = done.get(key)
                    if tails is None:
                        if route.kind == "inference-service":
                            tails = self._to_local_gateway(src, m, route, req)
                        else:
                            tails = self._deliver(src, m, route, req)
                        done[key] = tails
                    step = f"own sidecar [Host {form}]"
                    yield from _outcomes("mesh", [((step, *s), n, x) for s, n, x in tails])

    def _ingress(self, caller: Caller, m: Model) -> Iterator[Outcome]:
        key = ("ingress", m.ref, caller.token)
        yield from self._shared(key, lambda: list(self._ingress_paths(caller, m)))

    def _ingress_paths(self, caller: Caller, m: Model) -> Iterator[Outcome]:
        """A caller outside the cluster is its token: the same paths for one token."""
        src = Src(None, (), EXTERNAL_IP, False, None)
        infer = f"/v2/models/{m.ref.name}/infer"
        for route in m.routes:
            for host in route.external:
                for form in (host, f"{host}:80", f"{host}:443"):
                    req = Request(form, GATEWAY_EXTERNAL_PORT, path=infer, token=caller.token)
                    hop = self.hop(src, self.w.gateway, GATEWAY_EXTERNAL_PORT, req)
                    step = f"ingress gateway :{GATEWAY_EXTERNAL_PORT} [Host {form}]"
                    rest = self._after_gateway(m, route, req.with_token(hop.token))
                    yield from _outcomes("ingress gateway", _join(step, hop, rest))


def _describe(req: Request) -> str:
    hdrs = ", ".join(f"{k}: {v!r}" for k, v in req.headers)
    return f"Host {req.host}" + (f"; {hdrs}" if hdrs else "")
