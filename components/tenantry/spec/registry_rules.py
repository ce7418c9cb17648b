"""Rules across tenant files: what no single file can know (pure).

- ``name_duplicate``: two files declare the same tenant (each file is told where the other
  is, with its line);
- ``namespace_is_tenant``: a tenant's ``access.allowedNamespaces`` names another tenant's
  namespace, in either order (the other tenant's workloads would become trusted callers; a
  new tenant could take a name another tenant trusts);
- ``host_collision``: two models of different tenants get the same host
  (:func:`tenantry.spec.hosts.model_hosts`; e.g. model ``fraud-detector`` of ``acme`` and
  model ``fraud`` of ``detector-acme`` both get ``fraud-detector-acme.<domain>``): the
  ingress could route one tenant's callers to the other's model;
- ``aws_name_collision``: two tenants' EKS node groups get the same name (``tenantry-<tenant>-
  <group>``: node group ``big-h200`` of ``umbrella`` and ``h200`` of ``umbrella-big``; or an
  isolated tenant's own nodes ``tenantry-<tenant>-pool-<pool>``): EKS node group and EC2
  launch template names are unique per cluster and region, so the second stack's deploy
  would fail on a name the first one holds;
- ``served_name_collision``: two LLM adapters of different tenants get the same served name
  ``<tenant>-<adapter>`` (the OpenAI ``model`` callers send; e.g. adapter ``fraud-x`` of
  ``acme`` and adapter ``x`` of ``acme-fraud``): on one shared base model vLLM would hold two
  LoRA adapters of one name, and the gateway's per-tenant routes would name the same model
  for two tenants.

Each finding is reported in both files, so whichever changed is told, and both stay
refused until one of them changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from yaml.nodes import Node

from .downstream import node_group_names
from .errors import Problem, Unparsed, parse_path
from .hosts import Host, model_hosts, short_forms
from .model import TenantSpec
from .platform import PlatformSettings
from .yamlio import compose, line_of

At = Callable[[str, str], str]  # (file, field path) -> "file:line"


@dataclass(frozen=True)
class Entry:
    """One tenant file: structurally valid, or ``partial`` (the parts of a file with
    structural errors that parsed: :mod:`tenantry.spec.partial`)."""

    file: str
    text: str
    spec: TenantSpec
    partial: bool = False

    @property
    def name(self) -> str:
        return self.spec.metadata.name


def registry_problems(entries: Sequence[Entry], platform: PlatformSettings) -> list[Problem]:
    """Every cross-file problem of ``entries``, with lines."""

    texts = {e.file: e.text for e in entries}
    trees: dict[str, Node | None] = {}

    def line(file: str, path: str) -> int | None:
        if file not in trees:
            trees[file] = compose(texts[file])
        return line_of(trees[file], parse_path(path))

    def at(file: str, path: str) -> str:
        n = line(file, path)
        return f"{file}:{n}" if n else file

    def hosts(group: Sequence[Entry], at: At) -> list[Problem]:
        return _hosts(group, platform, at)

    out: list[Problem] = []

    def node_groups(group: Sequence[Entry], at: At) -> list[Problem]:
        return _node_group_names(group, platform, at)

    for rule in (_duplicates, _callers, hosts, _served_names, node_groups):
        out += _readable(rule, entries, at)
    return [replace(p, line=line(p.file, p.path)) for p in out]


def _readable(
    rule: Callable[[Sequence[Entry], At], list[Problem]], entries: Sequence[Entry], at: At
) -> list[Problem]:
    """``rule`` over the entries, the partial ones included where it reads none of their
    fields that did not parse (:class:`Unparsed`). Every rule here reports a conflict
    between files that are there, so leaving an entry out loses findings, never makes one."""
    try:
        return rule(entries, at)
    except Unparsed:
        pass
    whole = [e for e in entries if not e.partial]
    readable = []
    for e in entries:
        if e.partial:
            try:
                rule([*whole, e], at)
            except Unparsed:
                continue
            readable.append(e)
    try:
        return rule([*whole, *readable], at)
    except Unparsed:
        return rule(whole, at)


def _duplicates(entries: Sequence[Entry], at: At) -> list[Problem]:
    by_name: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_name[e.name].append(e)
    out = []
    for name, group in sorted(by_name.items()):
        if len(group) < 2:
            continue
        for e in group:
            others = ", ".join(at(o.file, "metadata.name") for o in group if o is not e)
            out.append(
                Problem(
                    e.file,
                    "metadata.name",
                    "name_duplicate",
                    f"tenant name is also declared in {others}",
                    name,
                    "a name unique across the registry",
                )
            )
    return out


def _callers(entries: Sequence[Entry], at: At) -> list[Problem]:
    by_name = {e.name: e for e in entries}
    out = []
    for e in entries:
        for i, ns in enumerate(e.spec.spec.access.allowed_namespaces):
            other = by_name.get(ns)
            if other is None or other.name == e.name:
                continue
            path = f"spec.access.allowedNamespaces[{i}]"
            out.append(
                Problem(
                    e.file,
                    path,
                    "namespace_is_tenant",
                    f"is the namespace of tenant {ns!r} ({at(other.file, 'metadata.name')}): "
                    f"every workload of that tenant would be a trusted caller of {e.name!r}",
                    ns,
                    "a namespace that is no tenant's (a tenant's own applications run in a "
                    "namespace of their own)",
                )
            )
            out.append(
                Problem(
                    other.file,
                    "metadata.name",
                    "namespace_is_tenant",
                    f"is listed as a trusted caller namespace of tenant {e.name!r} "
                    f"({at(e.file, path)}): every workload of this tenant would be a "
                    f"trusted caller of {e.name!r}",
                    ns,
                    "a name no other tenant lists in spec.access.allowedNamespaces",
                )
            )
    return out


def _hosts(entries: Sequence[Entry], platform: PlatformSettings, at: At) -> list[Problem]:
    owners: dict[str, list[tuple[Entry, int, Host]]] = defaultdict(list)
    for e in entries:
        for i, m in enumerate(e.spec.spec.models):
            for h in model_hosts(m.name, e.name, platform.ingress):
                for name in (h.name, *short_forms(h)):
                    owners[name].append((e, i, h))
    out = []
    seen: set[tuple[str, int, str, int]] = set()
    for name, holders in sorted(owners.items()):
        for e, i, h in holders:
            for o, j, g in holders:
                if o.name == e.name or (e.file, i, o.file, j) in seen:
                    continue
                seen.add((e.file, i, o.file, j))
                path = f"spec.models[{j}].name"
                out.append(
                    Problem(
                        e.file,
                        f"spec.models[{i}].name",
                        "host_collision",
                        f"gives the {h.describe()} {name!r}, which model {g.model!r} of tenant "
                        f"{o.name!r} ({at(o.file, path)}) gets too: the ingress could route one "
                        "tenant's requests to the other's model",
                        h.model,
                        "a model name whose hosts no other tenant's model has",
                    )
                )
    return out


def _served_names(entries: Sequence[Entry], at: At) -> list[Problem]:
    owners: dict[str, list[tuple[Entry, int]]] = defaultdict(list)
    for e in entries:
        for i, a in enumerate(e.spec.spec.llm_adapters):
            owners[f"{e.name}-{a.name}"].append((e, i))
    out = []
    for served, holders in sorted(owners.items()):
        for e, i in holders:
            others = [
                f"adapter {o.spec.spec.llm_adapters[j].name!r} of tenant {o.name!r} "
                f"({at(o.file, f'spec.llmAdapters[{j}].name')})"
                for o, j in holders
                if o.name != e.name
            ]
            if others:
                out.append(
                    Problem(
                        e.file,
                        f"spec.llmAdapters[{i}].name",
                        "served_name_collision",
                        f"is served as {served!r}, as {', '.join(others)} is: callers name "
                        "adapters by that name, so one tenant's requests could reach the "
                        "other's adapter",
                        e.spec.spec.llm_adapters[i].name,
                        "an adapter name whose served name <tenant>-<name> no other tenant's "
                        "adapter has",
                    )
                )
    return out


def _node_group_names(
    entries: Sequence[Entry], platform: PlatformSettings, at: At
) -> list[Problem]:
    owners: dict[str, list[tuple[Entry, str]]] = defaultdict(list)
    for e in entries:
        for path, name, _ in node_group_names(e.spec, platform):
            owners[name].append((e, path))
    out = []
    for name, holders in sorted(owners.items()):
        for e, path in holders:
            others = [
                f"tenant {o.name!r} ({at(o.file, other)})"
                for o, other in holders
                if o.name != e.name
            ]
            if others:
                value = (
                    e.name if path == "metadata.name" else name.removeprefix(f"tenantry-{e.name}-")
                )
                out.append(
                    Problem(
                        e.file,
                        path,
                        "aws_name_collision",
                        f"gives the EKS node group and launch template {name!r}, as "
                        f"{', '.join(others)} does: the names are unique per cluster, so one "
                        "of the two stacks could not be deployed",
                        value,
                        "a node group name (or tenant name) whose tenantry-<tenant>-<group> "
                        "no other tenant's node group has",
                    )
                )
    return out
