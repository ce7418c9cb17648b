"""Kubernetes NetworkPolicy as a function of one connection (pure).

Semantics (Kubernetes documentation, "Network Policies", and the ``networking.k8s.io/v1``
API reference): a pod is isolated for ingress (egress) when some policy of its namespace
selects it and has ``Ingress`` (``Egress``) in ``policyTypes`` (omitted: ``Ingress``, plus
``Egress`` when the policy has egress rules); a connection needs the source's egress and the
destination's ingress to allow it, each allowed when any rule of any selecting policy does.
A rule with no ``from``/``to`` allows every peer, with no ``ports`` every port. A peer with
``podSelector`` alone means pods of the policy's namespace, ``namespaceSelector`` alone every
pod of the selected namespaces, both together the selected pods of the selected namespaces;
``ipBlock`` a CIDR minus its ``except`` ranges. Selectors: ``matchLabels`` and
``matchExpressions`` (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``); every namespace carries
``kubernetes.io/metadata.name``.

Where behaviour is left to the network plugin, the model takes the reading that lets more
through (a proof must not rely on it): an ``ipBlock`` also matches pod addresses (the
documentation leaves in-cluster traffic to ``ipBlock`` to the implementation), and a named
port matches any port.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .istio import ModelError

NS_NAME = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: a pod (``namespace`` set) or an address outside the
    cluster (``namespace`` None). ``label_items``: the pod's labels, sorted."""

    namespace: str | None
    label_items: tuple[tuple[str, str], ...]
    ip: str

    @cached_property
    def labels(self) -> dict[str, str]:
        return dict(self.label_items)


@dataclass(frozen=True)
class Selector:
    labels: tuple[tuple[str, str], ...]
    expressions: tuple[tuple[str, str, tuple[str, ...]], ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        for k, v in self.labels:
            if labels.get(k) != v:
                return False
        for key, op, values in self.expressions:
            have = key in labels
            if op == "In" and not (have and labels[key] in values):
                return False
            if op == "NotIn" and have and labels[key] in values:
                return False
            if op == "Exists" and not have:
                return False
            if op == "DoesNotExist" and have:
                return False
        return True

    def names(self) -> set[str]:
        """Every label value this selector mentions (namespace names included)."""
        out = {v for _, v in self.labels}
        for _, _, values in self.expressions:
            out.update(values)
        return out


def selector(obj: Mapping[str, Any] | None, where: str) -> Selector:
    obj = obj or {}
    extra = set(obj) - {"matchLabels", "matchExpressions"}
    if extra:
        raise ModelError(f"{where}.{sorted(extra)[0]} is not a label selector field")
    exprs = []
    for e in obj.get("matchExpressions") or []:
        op = str(e.get("operator"))
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ModelError(f"{where}: operator {op!r} is not a label selector operator")
        exprs.append((str(e["key"]), op, tuple(str(v) for v in e.get("values") or [])))
    return Selector(
        tuple(sorted((str(k), str(v)) for k, v in (obj.get("matchLabels") or {}).items())),
        tuple(exprs),
    )


@dataclass(frozen=True)
class Peer:
    pods: Selector | None
    namespaces: Selector | None
    cidr: str | None = None
    excepted: tuple[str, ...] = ()

    def matches(self, policy_ns: str, ep: Endpoint, ns_labels: Mapping[str, str]) -> bool:
        if self.cidr is not None:
            ip = ipaddress.ip_address(ep.ip)
            if ip not in ipaddress.ip_network(self.cidr):
                return False
            return not any(ip in ipaddress.ip_network(e) for e in self.excepted)
        if ep.namespace is None:
            return False
        if self.namespaces is None:
            if ep.namespace != policy_ns:
                return False
        elif not self.namespaces.matches(ns_labels):
            return False
        return self.pods is None or self.pods.matches(ep.labels)


@dataclass(frozen=True)
class PortRange:
    protocol: str
    port: int | None  # None: any port (or a named port, read as any)
    end: int | None

    def matches(self, port: int, protocol: str) -> bool:
        if self.protocol != protocol:
            return False
        if self.port is None:
            return True
        return self.port <= port <= (self.end or self.port)


@dataclass(frozen=True)
class NpRule:
    peers: tuple[Peer, ...] | None  # None: every peer
    ports: tuple[PortRange, ...] | None  # None: every port


@dataclass(frozen=True)
class NetworkPolicy:
    namespace: str
    name: str
    pods: Selector
    ingress: tuple[NpRule, ...] | None  # None: not an ingress policy
    egress: tuple[NpRule, ...] | None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def _rules(items: Sequence[Mapping[str, Any]], key: str, where: str) -> tuple[NpRule, ...]:
    out = []
    for i, r in enumerate(items):
        peers = None
        if r.get(key):
            ps = []
            for j, p in enumerate(r[key]):
                w = f"{where}[{i}].{key}[{j}]"
                if "ipBlock" in p:
                    ps.append(
                        Peer(
                            None,
                            None,
                            str(p["ipBlock"]["cidr"]),
                            tuple(p["ipBlock"].get("except") or []),
                        )
                    )
                    continue
                pods = selector(p["podSelector"], w) if "podSelector" in p else None
                nss = selector(p["namespaceSelector"], w) if "namespaceSelector" in p else None
                ps.append(Peer(pods, nss))
            peers = tuple(ps)
        ports = None
        if r.get("ports"):
            prs = []
            for p in r["ports"]:
                port = p.get("port")
                prs.append(
                    PortRange(
                        str(p.get("protocol") or "TCP"),
                        port if isinstance(port, int) else None,
                        p.get("endPort"),
                    )
                )
            ports = tuple(prs)
        out.append(NpRule(peers, ports))
    return tuple(out)


def network_policy(obj: Mapping[str, Any]) -> NetworkPolicy:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    where = f"NetworkPolicy {ns}/{name}"
    types = spec.get("policyTypes")
    if types is None:
        types = ["Ingress"] + (["Egress"] if "egress" in spec else [])
    return NetworkPolicy(
        ns,
        name,
        selector(spec.get("podSelector"), f"{where} spec.podSelector"),
        _rules(spec.get("ingress") or [], "from", f"{where} ingress")
        if "Ingress" in types
        else None,
        _rules(spec.get("egress") or [], "to", f"{where} egress") if "Egress" in types else None,
    )


@dataclass(frozen=True)
class NetVerdict:
    allowed: bool
    reason: str


class Network:
    """Every NetworkPolicy of the cluster, by namespace, and the namespaces' labels."""

    def __init__(
        self,
        policies: Iterable[NetworkPolicy],
        namespace_labels: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.by_ns: dict[str, list[NetworkPolicy]] = {}
        for p in policies:
            self.by_ns.setdefault(p.namespace, []).append(p)
        self.ns_labels = namespace_labels
        self._cache: dict[tuple[Any, ...], NetVerdict] = {}

    def labels_of(self, ns: str) -> dict[str, str]:
        return {**self.ns_labels.get(ns, {}), NS_NAME: ns}

    def _side(self, ep: Endpoint, peer: Endpoint, port: int, proto: str, egress: bool) -> str:
        """'' when this side allows the connection, else the reason it does not."""
        if ep.namespace is None:
            return ""
        selecting = [
            p
            for p in self.by_ns.get(ep.namespace, ())
            if (p.egress if egress else p.ingress) is not None and p.pods.matches(ep.labels)
        ]
        if not selecting:
            return ""
        peer_ns = self.labels_of(peer.namespace) if peer.namespace else {}
        for p in selecting:
            for r in (p.egress if egress else p.ingress) or ():
                if r.ports is not None and not any(pr.matches(port, proto) for pr in r.ports):
                    continue
                if r.peers is None or any(x.matches(p.namespace, peer, peer_ns) for x in r.peers):
                    return ""
        names = ", ".join(sorted(p.name for p in selecting))
        # the sender is named by the path; ingress names the receiving namespace
        side = "egress of the sender's namespace" if egress else f"ingress to {ep.namespace}"
        return f"NetworkPolicy {side} ({names}) has no rule for port {port}"

    def allows(self, src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> NetVerdict:
        key = (src, dst, port, proto)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        reason = self._side(src, dst, port, proto, egress=True) or self._side(
            dst, src, port, proto, egress=False
        )
        out = NetVerdict(not reason, reason or "allowed")
        self._cache[key] = out
        return out

    def ingress_peers(self, ns: str, ports: Iterable[int]) -> list[Peer]:
        """The peers the ingress rules of ``ns`` name by namespace or pod (address blocks
        left out), in rules that can apply to one of ``ports``."""
        wanted = tuple(ports)
        out: list[Peer] = []
        for p in self.by_ns.get(ns, ()):
            for r in p.ingress or ():
                if r.ports is not None and not any(
                    pr.matches(port, "TCP") for pr in r.ports for port in wanted
                ):
                    continue
                out.extend(x for x in r.peers or () if x.cidr is None)
        return out

    def selects_for_egress(self, ns: str, labels: Mapping[str, str]) -> bool:
        """Whether some policy of ``ns`` restricts the egress of pods with ``labels``."""
        return any(p.egress is not None and p.pods.matches(labels) for p in self.by_ns.get(ns, ()))
