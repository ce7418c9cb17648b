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

Every hop is checked twice: NetworkPolicy (both ends), and the destination proxy's
PeerAuthentication, RequestAuthentication and AuthorizationPolicy. A path reaches the model
when every hop passes both; the **identity layer alone** (NetworkPolicy ignored) must
already refuse every undeclared caller, since NetworkPolicy is enforced only where the
cluster's network plugin does it, knows no identities, and cannot tell two workloads of one
namespace apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from ...spec.hosts import CLUSTER_DOMAIN
from .istio import Context, Request, Token, Workload
from .netpol import Endpoint
from .topology import (
    DIRECT_PORTS,
    GATEWAY_EXTERNAL_PORT,
    GATEWAY_LOCAL_PORT,
    QUEUE_H2C,
    QUEUE_HTTP1,
    Model,
    Revision,
    Route,
    World,
)

PathKind = Literal["direct", "mesh", "cluster-local gateway", "ingress gateway", "activator"]
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
        return " -> ".join(self.steps)


@dataclass(frozen=True)
class _Trace:
    kind: PathKind
    steps: tuple[str, ...]
    net_ok: bool = True
    net_stop: str = ""

    def then(self, step: str, hop: Hop) -> tuple[_Trace, bool]:
        """This trace with one more hop, and whether the request gets past it at all
        (the identity layer refusing ends the path in both views)."""
        t = replace(self, steps=(*self.steps, step))
        if not hop.net_ok and t.net_ok:
            t = replace(t, net_ok=False, net_stop=f"{step}: {hop.net_reason}")
        return t, hop.mesh_ok

    def end(self, hop: Hop | None, step: str = "") -> Outcome:
        if hop is not None and not hop.mesh_ok:
            stop = f"{step}: {hop.mesh_reason}"
            return Outcome(self.kind, self.steps, False, False, self.net_stop or stop)
        return Outcome(self.kind, self.steps, self.net_ok, True, self.net_stop)


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
        self._cache: dict[tuple[object, ...], Hop] = {}
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
        key = (src, dst.namespace, dst.name, port, req)
        out = self._cache.get(key)
        if out is None:
            w = self.w
            net = w.network.allows(
                Endpoint(src.namespace, src.labels, src.ip),
                Endpoint(dst.namespace, tuple(sorted(dst.labels.items())), dst.ip),
                port,
            )
            out = self._mesh(src, dst, port, req, net.allowed, net.reason)
            self._cache[key] = out
        if self.consulted is not None:
            self.consulted |= out.rules
        if self.consulted_namespaces is not None:
            self.consulted_namespaces.update(n for n in (src.namespace, dst.namespace) if n)
        return out

    def _mesh(
        self, src: Src, dst: Workload, port: int, req: Request, net_ok: bool, net_reason: str
    ) -> Hop:
        w = self.w
        if not dst.proxy:
            return Hop(net_ok, net_reason, True, "no sidecar: no Istio policy applies", req.token)
        ps = w.policies(dst)
        peer: str | None = None
        if dst is not w.gateway:
            mode, why = ps.mtls_mode(port, w.root)
            if src.proxy and mode != "DISABLE":
                peer = src.identity
            elif mode == "STRICT":
                return Hop(
                    net_ok,
                    net_reason,
                    False,
                    f"STRICT mTLS ({why}) refuses a caller without a mesh identity",
                    None,
                )
        auth, forwarded, refused = ps.authenticate(req)
        if refused:
            return Hop(net_ok, net_reason, False, refused, None)
        ctx = Context(req, peer, src.ip, src.ip, dst.ip, auth)
        rules = frozenset(
            (p.ref, r.index)
            for index in (ps.custom, ps.deny, ps.allow)
            for p, r in index.candidates(req)
        )
        verdict = ps.authorize(ctx)
        return Hop(net_ok, net_reason, verdict.allowed, verdict.reason, forwarded, rules)

    # --- paths ------------------------------------------------------------------------------

    def paths(self, caller: Caller, model: Model) -> Iterator[Outcome]:
        if caller.namespace is None:
            yield from self._ingress(caller, model)
            return
        src = Src(
            caller.namespace,
            caller.pod_labels,
            CALLER_IP,
            caller.sidecar,
            self._identity(caller),
        )
        yield from self._direct(src, model)
        yield from self._activator(src, model, caller.token)
        yield from self._local_gateway(src, model, caller.token)
        if caller.sidecar:
            yield from self._mesh_routes(src, model, caller.token)

    def _identity(self, c: Caller) -> str | None:
        if not c.sidecar or c.namespace is None:
            return None
        return f"{self.w.trust_domain}/ns/{c.namespace}/sa/{c.service_account}"

    def _direct(self, src: Src, m: Model) -> Iterator[Outcome]:
        for rev in m.revisions:
            for port in DIRECT_PORTS:
                req = Request(rev.pod.ip, port, path=f"/v2/models/{m.ref.name}/infer")
                step = f"pod {rev.name} :{port}"
                hop = self.hop(src, rev.pod, port, req)
                t, _ = _Trace("direct", ()).then(step, hop)
                yield t.end(hop, step)

    def _activator_forms(self, m: Model, rev: Revision) -> list[tuple[str, Request]]:
        ns = m.ref.tenant
        svc = f"activator-service.knative-serving.svc.{CLUSTER_DOMAIN}"
        host = f"{rev.name}.{ns}.svc.{CLUSTER_DOMAIN}"
        infer = f"/v2/models/{m.ref.name}/infer"
        hdrs = ((NS_HEADER, ns), (REV_HEADER, rev.name))
        return [
            ("headers", Request(svc, QUEUE_HTTP1, path=infer, headers=hdrs)),
            (
                "repeated namespace header",
                Request(
                    svc,
                    QUEUE_HTTP1,
                    path=infer,
                    headers=((NS_HEADER, ns), (NS_HEADER, "default"), (REV_HEADER, rev.name)),
                ),
            ),
            ("Host", Request(host, QUEUE_HTTP1, path=infer)),
            ("Host with port", Request(f"{host}:80", QUEUE_HTTP1, path=infer)),
            (
                "empty headers and Host",
                Request(host, QUEUE_HTTP1, path=infer, headers=((NS_HEADER, ""), (REV_HEADER, ""))),
            ),
            ("headers, h2c port", Request(svc, QUEUE_H2C, path=infer, headers=hdrs)),
        ]

    def _activator(self, src: Src, m: Model, token: Token | None) -> Iterator[Outcome]:
        for rev in m.revisions:
            for form, req in self._activator_forms(m, rev):
                req = replace(req, token=token)
                step = f"activator :{req.port} [{form}: {_describe(req)}]"
                hop = self.hop(src, self.w.activator, req.port, req)
                t, go_on = _Trace("activator", ()).then(step, hop)
                if not go_on:
                    yield t.end(hop, step)
                    continue
                yield from self._from_activator(t, m, rev, replace(req, token=hop.token))

    def _from_activator(
        self, t: _Trace, m: Model, rev: Revision, req: Request
    ) -> Iterator[Outcome]:
        target = activator_target(req)
        if target != (m.ref.tenant, rev.name):
            yield replace(
                t.end(None),
                reached=False,
                mesh_reached=False,
                stop="the activator routes it elsewhere",
            )
            return
        fwd = replace(req, port=QUEUE_HTTP1)
        step = f"pod {rev.name} :{QUEUE_HTTP1} (from the activator)"
        hop = self.hop(self.activator_src, rev.pod, QUEUE_HTTP1, fwd)
        t2, _ = t.then(step, hop)
        yield t2.end(hop, step)

    def _deliver(
        self, t: _Trace, src: Src, m: Model, route: Route, req: Request
    ) -> Iterator[Outcome]:
        """A router (a sidecar or the gateway) sends ``req`` on along a Knative route: to each
        revision's pods, or through the activator while it is in the data path."""
        for name in route.revisions:
            rev = m.revision(name)
            if rev is None:
                continue
            routed = replace(
                req,
                headers=(
                    *((k, v) for k, v in req.headers if k not in (NS_HEADER, REV_HEADER)),
                    (NS_HEADER, m.ref.tenant),
                    (REV_HEADER, rev.name),
                ),
                port=QUEUE_HTTP1,
            )
            for mode in rev.modes:
                if mode == "serve":
                    step = f"pod {rev.name} :{QUEUE_HTTP1}"
                    hop = self.hop(src, rev.pod, QUEUE_HTTP1, routed)
                    t2, _ = t.then(step, hop)
                    yield t2.end(hop, step)
                    continue
                step = f"activator :{QUEUE_HTTP1} (revision {rev.name} in proxy mode)"
                hop = self.hop(src, self.w.activator, QUEUE_HTTP1, routed)
                t2, go_on = t.then(step, hop)
                if not go_on:
                    yield t2.end(hop, step)
                    continue
                yield from self._from_activator(t2, m, rev, replace(routed, token=hop.token))

    def _gateway_route(self, t: _Trace, m: Model, route: Route, req: Request) -> Iterator[Outcome]:
        """The gateway has accepted ``req`` for ``route`` and sends it on."""
        if route.kind == "inference-service":
            yield from self._to_local_gateway(t, self.gateway_src, m, route, req)
        else:
            yield from self._deliver(t, self.gateway_src, m, route, req)

    def _to_local_gateway(
        self, t: _Trace, sender: Src, m: Model, route: Route, req: Request
    ) -> Iterator[Outcome]:
        """KServe's route: on to the cluster-local gateway with the predictor's Host (and
        KServe's name headers), which routes it along the predictor's Knative route."""
        again = Request(
            route.predictor_host,
            GATEWAY_LOCAL_PORT,
            path=req.path,
            headers=(
                *req.headers,
                ("kserve-isvc-name", m.ref.name),
                ("kserve-isvc-namespace", m.ref.tenant),
            ),
            token=req.token,
        )
        step = f"cluster-local gateway :{GATEWAY_LOCAL_PORT} [Host {route.predictor_host}]"
        hop = self.hop(sender, self.w.gateway, GATEWAY_LOCAL_PORT, again)
        t2, go_on = t.then(step, hop)
        if not go_on:
            yield t2.end(hop, step)
            return
        predictor = next((r for r in m.routes if r.kind == "predictor"), None)
        if predictor is not None:
            yield from self._deliver(
                t2, self.gateway_src, m, predictor, replace(again, token=hop.token)
            )

    def _local_gateway(self, src: Src, m: Model, token: Token | None) -> Iterator[Outcome]:
        for route in m.routes:
            for host in route.local_gateway:
                for form in (host, f"{host}:80"):
                    req = Request(
                        form, GATEWAY_LOCAL_PORT, path=f"/v2/models/{m.ref.name}/infer", token=token
                    )
                    step = f"cluster-local gateway :{GATEWAY_LOCAL_PORT} [Host {form}]"
                    hop = self.hop(src, self.w.gateway, GATEWAY_LOCAL_PORT, req)
                    t, go_on = _Trace("cluster-local gateway", ()).then(step, hop)
                    if not go_on:
                        yield t.end(hop, step)
                        continue
                    yield from self._gateway_route(t, m, route, replace(req, token=hop.token))

    def _mesh_routes(self, src: Src, m: Model, token: Token | None) -> Iterator[Outcome]:
        for route in m.routes:
            for host in route.mesh:
                for form in (host, f"{host}:80"):
                    req = Request(
                        form, QUEUE_HTTP1, path=f"/v2/models/{m.ref.name}/infer", token=token
                    )
                    t = _Trace("mesh", (f"own sidecar [Host {form}]",))
                    if route.kind == "inference-service":
                        yield from self._to_local_gateway(t, src, m, route, req)
                        continue
                    yield from self._deliver(t, src, m, route, req)

    def _ingress(self, caller: Caller, m: Model) -> Iterator[Outcome]:
        src = Src(None, (), EXTERNAL_IP, False, None)
        for route in m.routes:
            for host in route.external:
                for form in (host, f"{host}:80", f"{host}:443"):
                    req = Request(
                        form,
                        GATEWAY_EXTERNAL_PORT,
                        path=f"/v2/models/{m.ref.name}/infer",
                        token=caller.token,
                    )
                    step = f"ingress gateway :{GATEWAY_EXTERNAL_PORT} [Host {form}]"
                    hop = self.hop(src, self.w.gateway, GATEWAY_EXTERNAL_PORT, req)
                    t, go_on = _Trace("ingress gateway", ()).then(step, hop)
                    if not go_on:
                        yield t.end(hop, step)
                        continue
                    yield from self._gateway_route(t, m, route, replace(req, token=hop.token))


def _describe(req: Request) -> str:
    hdrs = ", ".join(f"{k}: {v!r}" for k, v in req.headers)
    return f"Host {req.host}" + (f"; {hdrs}" if hdrs else "")
