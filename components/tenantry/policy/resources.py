"""The resource view every guardrail rule reads: type token, logical name, properties as the
engine sees them (camelCase). The recording engine and Pulumi CrossGuard both produce it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PolicyResource:
    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    provider: str = ""  # the explicit provider's URN; "" or "default": the default provider


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str  # "type name"
    message: str


@dataclass(frozen=True)
class Context:
    """What rules know beyond the resources: every tenant's name (for cross-tenant checks)."""

    tenants: frozenset[str] = field(default_factory=frozenset)


def is_k8s(r: PolicyResource) -> bool:
    return r.type.startswith("kubernetes:")


def is_aws(r: PolicyResource) -> bool:
    return r.type.startswith("aws:")


def k8s_kind(r: PolicyResource) -> str:
    """``kubernetes:core/v1:Namespace`` -> ``Namespace``; custom resources by their kind."""
    if r.type.startswith("kubernetes:") and "kind" in r.props:
        return str(r.props["kind"])
    return r.type.rsplit(":", 1)[-1]


def metadata(r: PolicyResource) -> Mapping[str, Any]:
    md = r.props.get("metadata") or {}
    return md if isinstance(md, Mapping) else {}


def labels(r: PolicyResource) -> Mapping[str, Any]:
    lb = metadata(r).get("labels") or {}
    return lb if isinstance(lb, Mapping) else {}


def namespace_of(r: PolicyResource) -> str | None:
    if k8s_kind(r) == "Namespace":
        name = metadata(r).get("name")
        return str(name) if name else None
    ns = metadata(r).get("namespace")
    return str(ns) if ns else None


def of_kind(resources: Iterable[PolicyResource], kind: str) -> list[PolicyResource]:
    return [r for r in resources if is_k8s(r) and k8s_kind(r) == kind]


def of_type(resources: Iterable[PolicyResource], *prefixes: str) -> list[PolicyResource]:
    return [r for r in resources if r.type.startswith(prefixes)]
