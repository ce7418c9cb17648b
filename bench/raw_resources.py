"""The raw-Pulumi baseline: a tenant's recorded custom resources declared again, flat (no
components, no parents), with the provider SDKs' own classes -- what a team writes without
Tenantry -- so the Pulumi runtime does the same per-resource work for the same properties.

- ``aws:<module>/<x>:<Class>`` -> ``pulumi_aws.<module>.<Class>(**snake_case inputs)``;
  ``pulumi:providers:aws`` -> ``pulumi_aws.Provider`` (its JSON-encoded inputs decoded);
- ``kubernetes:<group>/<version>:<Kind>`` -> ``pulumi_kubernetes.<group>.<version>.<Kind>``
  for built-in groups; custom resources (Istio, KServe) ->
  ``pulumi_kubernetes.apiextensions.CustomResource`` (as the components declare them);
- an input the record lacks because its value is known only after deployment (another
  resource's output, e.g. a KMS alias's key id) is passed as an Output of nothing, which
  the engine leaves out just the same;
- anything else (the dynamic vector-store resources, whose provider is a pickled Python
  object) -> ``pulumi.CustomResource(type, name, inputs)`` with the recorded inputs;
- wired (the default): each resource gets the same explicit provider and waits for the same
  resources as in the recording (``depends_on``, a component expanded to the custom
  resources under it; the platform's ``StackReference`` read as the stack program reads
  it). A hand-written program gets these edges from passing one resource's outputs to
  another; without them it could not deploy (a bucket encrypted with a key not yet made).
  ``wired=False`` leaves them out: every resource independent, the engine's cheapest case.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import pulumi

from tenantry.engine import Record

REQUIRED = re.compile(r"Missing required property '(\w+)'")
K8S_GROUPS = {
    "core": "core",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
    "apps": "apps",
    "policy": "policy",
    "scheduling.k8s.io": "scheduling",
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def typed_class(type_token: str) -> tuple[type, frozenset[str]] | None:
    """The SDK class for a type token and its keyword arguments, or None (generic)."""
    pkg, mod, cls = type_token.split(":")
    try:
        if pkg == "pulumi" and mod == "providers" and cls == "aws":
            target: Any = importlib.import_module("pulumi_aws").Provider
        elif pkg == "aws":
            target = getattr(importlib.import_module(f"pulumi_aws.{mod.split('/')[0]}"), cls)
        elif pkg == "kubernetes":
            group, version = mod.rsplit("/", 1)
            if group in K8S_GROUPS:
                module = importlib.import_module(f"pulumi_kubernetes.{K8S_GROUPS[group]}.{version}")
                target = getattr(module, cls)
            else:
                target = importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource
        else:
            return None
    except (ImportError, AttributeError, ValueError):
        return None
    init = getattr(target, "_internal_init", target.__init__)
    return target, frozenset(inspect.signature(init).parameters)


def _provider_value(value: Any) -> Any:
    """Provider inputs travel JSON-encoded (objects and booleans as text): decode them."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value


def declare(r: Record, opts: pulumi.ResourceOptions | None = None) -> pulumi.CustomResource:
    found = typed_class(r.type)
    inputs = dict(r.inputs)
    if r.type.startswith("pulumi:providers:"):
        inputs = {k: _provider_value(v) for k, v in inputs.items()}
    if found is not None:
        cls, params = found
        if cls.__name__ == "CustomResource" and "api_version" in params:
            kwargs = {"api_version": inputs.pop("apiVersion"), "kind": inputs.pop("kind")}
            kwargs["metadata"] = inputs.pop("metadata", None)
            kwargs.update(inputs)  # spec and the like, as keyword arguments
            return cls(r.name, opts=opts, **kwargs)  # type: ignore[no-any-return]
        kwargs = {snake(k): v for k, v in inputs.items()}
        if set(kwargs) <= params:
            for _ in range(len(params)):
                try:
                    return cls(r.name, opts=opts, **kwargs)  # type: ignore[no-any-return]
                except TypeError as exc:
                    missing = REQUIRED.match(str(exc))
                    if not missing:
                        raise
                    # A value known only after deployment (another resource's output) is
                    # left out of the recorded inputs; declare it as not known either.
                    kwargs[missing.group(1)] = pulumi.Output.from_input(None)
    return pulumi.CustomResource(r.type, r.name, inputs, opts)


def _custom_closure(records: Sequence[Record]) -> Callable[[str], list[str]]:
    """URN -> the custom resources it stands for: itself, a component's custom
    descendants, or (not a record: a read resource such as the StackReference) itself."""
    by_urn = {r.urn: r for r in records}
    children: dict[str, list[str]] = {}
    for r in records:
        if r.parent is not None:
            children.setdefault(r.parent, []).append(r.urn)

    def customs(urn: str) -> list[str]:
        r = by_urn.get(urn)
        if r is None or r.custom:
            return [urn]
        return [u for child in children.get(urn, []) for u in customs(child)]

    return customs


def raw_program(
    records: Sequence[Record], shells: bool = False, wired: bool = True
) -> Callable[[], None]:
    """A program that declares ``records``' custom resources with the SDK classes: flat (no
    components), or with ``shells`` under the same component tree as the records, every
    component an empty ``pulumi.ComponentResource`` (registered, outputs registered empty)
    -- what Pulumi itself charges for the tree, without any of the components' logic.
    ``wired``: the same providers and dependencies as recorded (see the module's notes)."""
    by_urn = {r.urn: r for r in records}
    customs = _custom_closure(records)

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}

        def parent_of(r: Record) -> pulumi.Resource | None:
            if not shells or r.parent is None:
                return None
            if r.parent not in made:
                p = by_urn[r.parent]
                opts = pulumi.ResourceOptions(parent=parent_of(p))
                made[r.parent] = shell = pulumi.ComponentResource(p.type, p.name, None, opts)
                shell.register_outputs({})
            return made[r.parent]

        def make(urn: str) -> pulumi.Resource:
            if urn in made:
                return made[urn]
            r = by_urn.get(urn)
            if r is None:  # a read resource: the platform's StackReference
                made[urn] = pulumi.StackReference(urn.rsplit("::", 1)[1])
                return made[urn]
            deps = sorted({u for d in r.dependencies for u in customs(d)}) if wired else []
            opts = pulumi.ResourceOptions(
                parent=parent_of(r),
                depends_on=[make(u) for u in deps] or None,
                provider=make(r.provider) if wired and r.provider else None,  # type: ignore[arg-type]
            )
            made[urn] = declare(r, opts)
            return made[urn]

        for r in records:
            if r.custom:
                make(r.urn)

    return program


def same_resources(
    components: Sequence[Record], raw: Sequence[Record], tree: bool = False, wired: bool = True
) -> list[str]:
    """Differences between the components' custom resources and the baseline's: type, name
    and inputs; with ``wired``, also the explicit provider and the resources each waits for
    (components expanded to their custom resources); with ``tree``, also URN and parent.
    Empty when the baseline declared the same resources."""

    def ref(urn: str) -> tuple[str, str]:  # (type, name): the same flat or in a tree
        qualified, name = urn.rsplit("::", 1)
        return qualified.rsplit("::", 1)[1].rsplit("$", 1)[-1], name

    def key(rs: Sequence[Record]) -> dict[tuple[str, str], Any]:
        customs = _custom_closure(rs)
        out: dict[tuple[str, str], Any] = {}
        for r in rs:
            if not r.custom:
                continue
            facts: list[Any] = [r.inputs]
            if wired:
                facts.append(ref(r.provider) if r.provider else None)
                facts.append(sorted({ref(u) for d in r.dependencies for u in customs(d)}))
            if tree:
                facts += [r.urn, r.parent]
            out[(r.type, r.name)] = facts
        return out

    a, b = key(components), key(raw)
    out = [f"missing {k}" for k in sorted(set(a) - set(b))]
    out += [f"extra {k}" for k in sorted(set(b) - set(a))]
    out += [f"differ: {k}" for k in sorted(set(a) & set(b)) if a[k] != b[k]]
    return out
