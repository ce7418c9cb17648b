"""The reachability matrix: every caller class against every model, and the verdict
(pure).

Caller classes: each tenant namespace (its pods, with the mesh identity they get or none);
each namespace some tenant allows (a workload with a mesh identity, and a pod without one);
the system namespaces (``kube-system``, the gateway and root namespaces, ``knative-serving``,
``monitoring``: any workload there other than the gateway and the activator, with and
without an identity); an unrelated namespace (with and without); and callers outside the
cluster: without a token, with a valid token of each declared client, with a valid token of
each issuer that is nobody's client, with a token that fails validation and with a token of
an issuer the platform does not know.

Declared callers of a model: workloads of the tenant's ``allowedNamespaces`` **by their mesh
identity** (a pod without one cannot be told apart from any other pod of its namespace),
and holders of a valid token that satisfies one of the tenant's ``clients``. The proof
fails when an undeclared caller reaches a model on the identity layer (even where a
NetworkPolicy happens to stop it: NetworkPolicy depends on the network plugin and cannot
tell workloads apart), when a declared caller cannot reach it at all, or when an object
changes the request path in ways the model does not evaluate.

Callers that no policy on a model's paths tells apart are evaluated once: a class's result
is reused for another class with the same mesh identity presence, the same own egress
policies and the same labels on every selector the cluster's policies use, when no rule the
first one's paths looked at names the other's namespace or workload (an Istio source
condition; a NetworkPolicy peer that selects its pods, in a rule on a port some path takes)
or a value of its token, and, for a caller in a namespace those paths went through, it has
no egress policy there. Evaluation is deterministic, so two such callers take the same
decisions at every hop (tests hold the reuse to ``reuse=False``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...spec.platform import PlatformSettings
from .istio import Cond, Token
from .netpol import NS_NAME, Selector
from .paths import Caller, Engine
from .topology import (
    KNATIVE_NAMESPACE,
    LLM_NAMESPACE,
    PROBED_PORTS,
    Finding,
    LlmModel,
    Model,
    ModelRef,
    World,
)

MONITORING_NAMESPACE = "monitoring"
UNRELATED_NAMESPACE = "unrelated"
MAX_PATHS = 12  # per edge in the report; the count says how many there were


@dataclass(frozen=True)
class ClientIntent:
    """A declared external client, as the tenant file says it (issuer resolved)."""

    name: str
    issuer: str  # the issuer URL
    audiences: tuple[str, ...]  # the issuer's accepted audiences
    subjects: tuple[str, ...]
    claims: tuple[tuple[str, tuple[str, ...]], ...]

    def admits(self, t: Token) -> bool:
        if not t.valid or t.issuer != self.issuer:
            return False
        if self.audiences and not set(self.audiences) & set(t.audiences):
            return False
        if self.subjects and t.subject not in self.subjects:
            return False
        have = dict(t.claims)
        return all(set(have.get(k, ())) & set(vs) for k, vs in self.claims)


@dataclass(frozen=True)
class Intent:
    """Who a tenant declares may call its models."""

    tenant: str
    allowed_namespaces: tuple[str, ...]
    clients: tuple[ClientIntent, ...] = ()

    def declares(self, c: Caller, ref: ModelRef | None = None) -> bool:
        """Whether ``c`` may call the row ``ref`` (default: an InferenceService) of this
        tenant. An InferenceService: the allowed namespaces by mesh identity and the
        clients' tokens. The tenant's own LLM: the allowed namespaces by mesh identity (no
        route from outside is rendered). An adapter on a shared base: the tenant's own
        namespace and its allowed namespaces by mesh identity (the gateway pins callers by
        the namespace of their identity: docs/llm.md). A base model's own name: nobody."""
        kind = ref.kind if ref is not None else ""
        if kind == "base":
            return False
        if kind == "adapter":
            return c.sidecar and (
                c.namespace == self.tenant or c.namespace in self.allowed_namespaces
            )
        if c.namespace is not None:
            return c.sidecar and c.namespace in self.allowed_namespaces
        if kind == "llm":
            return False
        return c.token is not None and any(cl.admits(c.token) for cl in self.clients)


def intents_from(tenants: Iterable[Any], platform: PlatformSettings) -> dict[str, Intent]:
    """:class:`Intent` per resolved tenant (``ResolvedTenant``)."""
    out = {}
    for t in tenants:
        clients = []
        for c in t.access.clients:
            issuer = platform.issuer(c.issuer)
            if issuer is None:
                continue
            clients.append(
                ClientIntent(
                    c.name,
                    issuer.issuer,
                    tuple(issuer.audiences),
                    tuple(c.subjects),
                    tuple((k, tuple(v)) for k, v in sorted(c.claims.items())),
                )
            )
        out[t.name] = Intent(t.name, tuple(t.access.allowed_namespaces), tuple(clients))
    return out


# --- caller classes --------------------------------------------------------------------------


def caller_classes(
    world: World, intents: Mapping[str, Intent], platform: PlatformSettings
) -> list[Caller]:
    out: list[Caller] = []
    tenants = sorted(set(world.tenant_namespaces()) | set(intents))
    for t in tenants:
        models = [m for m in world.models.values() if m.ref.tenant == t]
        sa = models[0].service_account if models else f"{t}-inference"
        labels = tuple(sorted(models[0].revisions[0].pod.labels.items())) if models else ()
        out.append(
            Caller(
                f"tenant:{t}",
                "tenant",
                f"tenant {t} (its pods)",
                t,
                world.in_mesh(t),
                sa,
                labels,
            )
        )
    allowed = sorted({a for i in intents.values() for a in i.allowed_namespaces} - set(tenants))
    system = [
        n
        for n in dict.fromkeys(
            [
                "kube-system",
                platform.gateway_namespace,
                world.root,
                KNATIVE_NAMESPACE,
                MONITORING_NAMESPACE,
                *([LLM_NAMESPACE] if world.llms else []),
            ]
        )
        if n not in tenants and n not in allowed
    ]
    for kind, names in (("allowed", allowed), ("system", system), ("other", [UNRELATED_NAMESPACE])):
        for n in names:
            out.append(Caller(f"ns:{n}", kind, f"{n} (mesh identity)", n, True))  # type: ignore[arg-type]
            out.append(
                Caller(f"ns:{n}/no-identity", kind, f"{n} (no identity)", n, False)  # type: ignore[arg-type]
            )
    out.append(Caller("external", "external", "outside, no token", None, False))
    for issuer in platform.token_issuers:
        aud = tuple(issuer.audiences[:1])
        out.append(
            Caller(
                f"external/{issuer.name}/nobody",
                "external",
                f"outside, valid {issuer.name} token of no client",
                None,
                False,
                token=Token(f"{issuer.name}/nobody", issuer.issuer, "nobody", aud),
            )
        )
        out.append(
            Caller(
                f"external/{issuer.name}/invalid",
                "external",
                f"outside, {issuer.name} token that fails validation",
                None,
                False,
                token=Token(f"{issuer.name}/invalid", issuer.issuer, "nobody", aud, valid=False),
            )
        )
    out.append(
        Caller(
            "external/unknown-issuer",
            "external",
            "outside, token of an unknown issuer",
            None,
            False,
            token=Token("unknown-issuer", "https://issuer.invalid/", "nobody", ("any",)),
        )
    )
    for t in tenants:
        intent = intents.get(t)
        for cl in intent.clients if intent else ():
            out.append(
                Caller(
                    f"external/{t}/{cl.name}",
                    "external",
                    f"outside, token of {t}'s client {cl.name}",
                    None,
                    False,
                    token=Token(
                        f"{t}/{cl.name}",
                        cl.issuer,
                        cl.subjects[0] if cl.subjects else f"{cl.name}-any-subject",
                        cl.audiences[:1],
                        tuple((k, vs[:1]) for k, vs in cl.claims),
                    ),
                )
            )
    return out


# --- the report ------------------------------------------------------------------------------

Status = Literal["declared", "refused-declared", "undeclared", "only-netpol", "refused"]


@dataclass(frozen=True)
class Summary:
    reached: bool
    mesh_reached: bool
    paths: tuple[str, ...]  # paths that reach (every layer)
    netpol_only: tuple[str, ...]  # paths only a NetworkPolicy stops
    refusals: tuple[str, ...]  # the most frequent reasons, when nothing reaches
    path_count: int


@dataclass(frozen=True)
class Edge:
    model: ModelRef
    caller: Caller
    declared: bool
    summary: Summary

    @property
    def status(self) -> Status:
        s = self.summary
        if self.declared:
            return "declared" if s.reached else "refused-declared"
        if s.reached:
            return "undeclared"
        if s.mesh_reached:
            return "only-netpol"
        return "refused"


@dataclass(frozen=True)
class Violation:
    kind: Literal["undeclared-caller", "declared-caller-refused", "object"]
    model: str
    caller: str
    message: str


@dataclass
class Report:
    models: list[ModelRef]
    callers: list[Caller]
    edges: dict[tuple[ModelRef, str], Edge] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    evaluated: int = 0  # (caller, model) pairs evaluated path by path; the rest were reused

    @property
    def violations(self) -> list[Violation]:
        out = [
            Violation("object", "", "", f"{f.object}: {f.message}")
            for f in self.findings
            if f.severity == "error"
        ]
        for (_, _), e in sorted(self.edges.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            s = e.summary
            if e.status == "undeclared":
                out.append(
                    Violation(
                        "undeclared-caller",
                        str(e.model),
                        e.caller.label,
                        f"{e.caller.label} reaches {e.model}: {s.paths[0]}",
                    )
                )
            elif e.status == "only-netpol":
                out.append(
                    Violation(
                        "undeclared-caller",
                        str(e.model),
                        e.caller.label,
                        f"{e.caller.label} reaches {e.model} on the identity layer, "
                        f"stopped only by a NetworkPolicy: {s.netpol_only[0]}",
                    )
                )
            elif e.status == "refused-declared":
                why = "; ".join(s.refusals) or "no path"
                out.append(
                    Violation(
                        "declared-caller-refused",
                        str(e.model),
                        e.caller.label,
                        f"declared caller {e.caller.label} cannot reach {e.model}: {why}",
                    )
                )
        return out

    @property
    def passed(self) -> bool:
        return not self.violations

    def edge(self, model: ModelRef, caller: Caller) -> Edge:
        return self.edges[(model, caller.id)]

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON), deterministic. ``matrix``: per model, per caller class, the
        status; ``edges``: every declared caller and every caller that reaches, with
        paths."""
        edges = []
        matrix: dict[str, dict[str, str]] = {}
        for m in self.models:
            row = matrix.setdefault(str(m), {})
            for c in self.callers:
                e = self.edges[(m, c.id)]
                row[c.id] = e.status
                if e.declared or e.summary.mesh_reached:
                    s = e.summary
                    edges.append(
                        {
                            "model": str(m),
                            "caller": c.id,
                            "declared": e.declared,
                            "status": e.status,
                            "paths": list(s.paths),
                            "netpolOnly": list(s.netpol_only),
                            "refusals": list(s.refusals),
                        }
                    )
        return {
            "passed": self.passed,
            "callers": [
                {"id": c.id, "kind": c.kind, "label": c.label, "meshIdentity": c.sidecar}
                for c in self.callers
            ],
            "models": [str(m) for m in self.models],
            "matrix": matrix,
            "edges": edges,
            "findings": [
                {"severity": f.severity, "object": f.object, "message": f.message}
                for f in self.findings
            ],
            "violations": [
                {"kind": v.kind, "model": v.model, "caller": v.caller, "message": v.message}
                for v in self.violations
            ],
        }


# --- analysis --------------------------------------------------------------------------------


def _summary(outcomes: Sequence[Any]) -> Summary:
    def order(chosen: list[Any]) -> list[str]:
        """The shortest path of each kind first, then the others, shortest first."""
        texts = sorted({(o.text().count(" -> "), len(o.text()), o.text(), o.kind) for o in chosen})
        first: dict[str, str] = {}
        for _, _, text, kind in texts:
            first.setdefault(kind, text)
        lead = list(first.values())
        return lead + [t for _, _, t, _ in texts if t not in lead]

    reached = order([o for o in outcomes if o.reached])
    netpol = order([o for o in outcomes if o.mesh_reached and not o.reached])
    stops = Counter(o.stop for o in outcomes if not o.reached and o.stop)
    return Summary(
        bool(reached),
        bool(reached or netpol),
        tuple(reached[:MAX_PATHS]),
        tuple(netpol[:MAX_PATHS]),
        tuple(r for r, _ in stops.most_common(3)),
        len(outcomes),
    )


def _egress_fingerprint(world: World, c: Caller) -> str:
    if c.namespace is None:
        return ""
    own = c.namespace
    pols = [
        p
        for p in world.network.by_ns.get(own, ())
        if p.egress is not None and p.pods.matches(dict(c.pod_labels))
    ]
    text = json.dumps([repr(p.egress) for p in sorted(pols, key=lambda p: p.name)])
    return text.replace(repr(own), "'<self>'")


def _peer_selectors(world: World) -> tuple[list[Selector], list[Selector]]:
    """The distinct selectors ingress rules pick peers by: pod selectors, and namespace
    selectors on labels other than the name (names are handled as mentions)."""
    pods: dict[Selector, None] = {}
    namespaces: dict[Selector, None] = {}
    for pols in world.network.by_ns.values():
        for p in pols:
            for r in p.ingress or ():
                for peer in r.peers or ():
                    if peer.pods is not None:
                        pods[peer.pods] = None
                    ns = peer.namespaces
                    if ns is not None and (
                        any(k != NS_NAME for k, _ in ns.labels)
                        or any(k != NS_NAME for k, _, _ in ns.expressions)
                    ):
                        namespaces[ns] = None
    return list(pods), list(namespaces)


def _group_key(
    world: World, c: Caller, selectors: tuple[list[Selector], list[Selector]]
) -> tuple[Any, ...]:
    """Callers with one key take the same decisions wherever no rule names them: the same
    mesh identity presence, own egress policies and answers from every peer selector."""
    if c.namespace is None:
        t = c.token
        return (
            "external",
            t.issuer if t else None,
            t.valid if t else None,
            t.audiences if t else (),
        )
    pod = dict(c.pod_labels)
    ns_labels = world.network.labels_of(c.namespace)
    return (
        "pod",
        c.sidecar,
        _egress_fingerprint(world, c),
        tuple(sel.matches(pod) for sel in selectors[0]),
        tuple(sel.matches(ns_labels) for sel in selectors[1]),
    )


@dataclass
class _Mentions:
    namespaces: set[str] | None = field(default_factory=set)  # None: a pattern names any
    workloads: set[tuple[str, str]] = field(default_factory=set)  # (namespace, account)
    consulted: set[str] = field(default_factory=set)  # namespaces whose policies were read
    # NetworkPolicy peers: the namespace names each may select, and its pod selector
    peers: list[tuple[frozenset[str], Selector | None]] = field(default_factory=list)
    token_values: set[str] | None = field(default_factory=set)


def _mentions(world: World, rules: set[tuple[str, int]], namespaces: set[str]) -> _Mentions:
    by_ref = world.authz_by_ref
    out = _Mentions()
    for ref, index in rules:
        policy = by_ref[ref]
        rule = policy.rules[index]
        named, exact = rule.identities_named(policy.namespace)
        if named is None or out.namespaces is None:
            out.namespaces = None
        else:
            out.namespaces |= named
        out.workloads |= exact
        conds: list[Cond] = [c for p in rule.principals for c in p] + list(rule.when)
        for c in conds:
            if c.attr == "requestPrincipals" or c.attr.startswith("request.auth."):
                if out.token_values is None:
                    continue
                for v in c.values:
                    if "*" in v.rpartition("/")[2] or (c.attr != "requestPrincipals" and "*" in v):
                        out.token_values = None
                        break
                    out.token_values.add(
                        v.rpartition("/")[2] if c.attr == "requestPrincipals" else v
                    )
    out.consulted = set(namespaces)
    for ns in namespaces:
        for peer in world.network.ingress_peers(ns, PROBED_PORTS):
            names = {ns} if peer.namespaces is None else peer.namespaces.names()
            out.peers.append((frozenset(names), peer.pods))
    return out


def _special(world: World, c: Caller, m: _Mentions) -> bool:
    """Whether a rule looked at may tell this caller apart from its group's representative.

    In the cluster: a NetworkPolicy peer that names the caller's namespace and selects its
    pods (address blocks cannot tell callers apart: they share one address), egress
    policies of the caller's own in a namespace the paths went through (they may allow
    "this namespace"), and, for a caller with a mesh identity, a rule that names its
    namespace or its workload. Outside: a rule that names a value of its token."""
    if c.namespace is not None:
        labels = dict(c.pod_labels)
        for names, pods in m.peers:
            if c.namespace in names and (pods is None or pods.matches(labels)):
                return True
        if c.namespace in m.consulted and world.network.selects_for_egress(c.namespace, labels):
            return True
        # a caller without a mesh identity: no authorization rule can see its namespace
        return c.sidecar and (
            m.namespaces is None
            or c.namespace in m.namespaces
            or (c.namespace, c.service_account) in m.workloads
        )
    if c.token is None:
        return False
    if m.token_values is None:
        return True
    values = {c.token.subject} | {v for _, vs in c.token.claims for v in vs}
    return bool(values & m.token_values)


def analyze(
    manifests: Iterable[Mapping[str, Any]],
    platform: PlatformSettings,
    intents: Mapping[str, Intent],
    tenants: Iterable[str] | None = None,
    *,
    reuse: bool = True,
) -> Report:
    """The matrix for the models of ``tenants`` (default: every model in ``manifests``).
    ``reuse=False`` evaluates every caller class path by path (the same answer, slower:
    tests hold the two equal)."""
    world = World(manifests, platform)
    engine = Engine(world)
    callers = caller_classes(world, intents, platform)
    wanted = set(tenants) if tenants is not None else None
    models = sorted(
        (r for r in world.rows() if wanted is None or r.tenant in wanted),
        key=lambda r: (r.tenant, r.kind, r.name),
    )
    report = Report(models, callers, findings=list(world.findings))
    selectors = _peer_selectors(world)
    groups: dict[tuple[Any, ...], list[Caller]] = {}
    for c in callers:
        key = _group_key(world, c, selectors) if reuse else (c.id,)
        groups.setdefault(key, []).append(c)
    for ref in models:
        model: Model | LlmModel = world.models[ref] if ref in world.models else world.llms[ref]
        intent = intents.get(ref.tenant, Intent(ref.tenant, ()))
        # the LLM gateway decides by the caller's namespace where no policy rule names it:
        # no reuse across callers on those rows
        row_groups = groups if not ref.kind else {(c.id,): [c] for c in callers}
        for members in row_groups.values():
            done: dict[str, Summary] = {}
            generic: Summary | None = None
            mentions = _Mentions()
            for c in members:  # find a member no rule it meets tells apart
                if generic is not None:
                    break
                engine.consulted, engine.consulted_namespaces = set(), set()
                summary = _summary(list(engine.paths(c, model)))
                seen_rules, seen_ns = engine.consulted, engine.consulted_namespaces
                engine.consulted = engine.consulted_namespaces = None
                report.evaluated += 1
                done[c.id] = summary
                mentions = _mentions(world, seen_rules, seen_ns | {ref.tenant})
                if not _special(world, c, mentions):
                    generic = summary
            for c in members:
                summary = done.get(c.id) or generic  # type: ignore[assignment]
                if c.id not in done and _special(world, c, mentions):
                    summary = _summary(list(engine.paths(c, model)))
                    report.evaluated += 1
                report.edges[(ref, c.id)] = Edge(ref, c, intent.declares(c, ref), summary)
    return report


def trace(
    manifests: Iterable[Mapping[str, Any]],
    platform: PlatformSettings,
    intents: Mapping[str, Intent],
    caller_id: str,
    model: str,
) -> list[Any]:
    """Every path (:class:`~.paths.Outcome`) caller class ``caller_id`` has to ``model``
    (``<tenant>/<name>``), reached or not: what the report summarizes, whole."""
    world = World(manifests, platform)
    caller = next(c for c in caller_classes(world, intents, platform) if c.id == caller_id)
    ref = next(r for r in world.rows() if str(r) == model)
    row = world.models[ref] if ref in world.models else world.llms[ref]
    return list(Engine(world).paths(caller, row))
