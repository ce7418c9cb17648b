"""The gateway's routes file: what it pins per caller, parsed and checked before serving.

The shape is the one :func:`tenantry.k8s.llm_inference_service.tenant_llm_routes` renders into
the ConfigMap ``tenantry-llm/tenantry-llm-routes`` (key ``routes.json``)::

    {"cacheSalt": bool,
     "blockedPaths": [str, ...],
     "tenants": {"<tenant>": {"priority": int,
                              "models": {"<tenant>-<adapter>": {
                                  "adapter": str, "baseModel": str, "runtime": str,
                                  "runtimeModel": str (optional),
                                  "tokensPerMinute": int >= 1,
                                  "maxConcurrentRequests": int >= 1}}}}}

Every problem is a :class:`RoutesError` whose message is one line naming the file, the line,
the field (a dotted path), the value given and what is accepted.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..spec.yamlio import compose, line_of

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a DNS-1123 label


class RoutesError(ValueError):
    """The routes file cannot be used (one line: file, line, field, value, accepted)."""


@dataclass(frozen=True)
class ModelRoute:
    """One served model a tenant may ask for: ``served_name`` is ``<tenant>-<adapter>``, the
    OpenAI ``model`` the caller sends; ``runtime_model`` the name the runtime serves it under
    (``runtimeModel``: ``<served name>--<digest hex>`` for an adapter loaded at runtime,
    :func:`tenantry.k8s.llm_inference_service.runtime_model`; without it, the served name),
    which the gateway sends upstream and maps back in the answer's ``model``."""

    served_name: str
    tenant: str
    adapter: str
    base_model: str
    runtime: str
    tokens_per_minute: int
    max_concurrent_requests: int
    runtime_model: str = ""

    @property
    def upstream_model(self) -> str:
        """The ``model`` sent to the runtime."""
        return self.runtime_model or self.served_name


@dataclass(frozen=True)
class TenantRoute:
    name: str
    priority: int  # vLLM request priority (lower is scheduled first)
    models: Mapping[str, ModelRoute]
    # namespaces besides the tenant's own whose workloads call as the tenant (its
    # access.allowedNamespaces; routes key ``callers``)
    callers: tuple[str, ...] = ()

    def serves(self, namespace: str) -> bool:
        """Whether a workload of ``namespace`` calls as this tenant."""
        return namespace == self.name or namespace in self.callers


@dataclass(frozen=True)
class Routes:
    cache_salt: bool
    blocked_paths: tuple[str, ...]
    tenants: Mapping[str, TenantRoute]

    @property
    def base_models(self) -> frozenset[str]:
        return frozenset(m.base_model for t in self.tenants.values() for m in t.models.values())

    @functools.cached_property
    def _by_namespace(self) -> dict[str, list[TenantRoute]]:
        """namespace -> the tenants serving it, by name: built once per routes file, so a
        request looks its caller up instead of scanning every tenant."""
        out: dict[str, list[TenantRoute]] = {}
        for _, t in sorted(self.tenants.items()):
            for ns in dict.fromkeys((t.name, *t.callers)):
                out.setdefault(ns, []).append(t)
        return out

    def tenants_of(self, namespace: str) -> list[TenantRoute]:
        """The tenants a caller of ``namespace`` calls for (its own tenant's namespace, or a
        namespace tenants list as callers; several tenants may list one), by name."""
        return list(self._by_namespace.get(namespace, ()))

    def label_of(self, namespace: str) -> str:
        """The ``tenant`` label of a refusal before any model is known: the one tenant the
        namespace calls for, else the namespace itself."""
        found = self.tenants_of(namespace)
        return found[0].name if len(found) == 1 else namespace


def load_routes(path: Path) -> Routes:
    """Read and check ``path`` (raises :class:`RoutesError`)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutesError(f"{path}: cannot read the routes file: {exc}") from None
    return parse_routes(text, str(path))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


class _Checker:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, path: tuple[str, ...], value: Any, accepted: str) -> RoutesError:
        line = line_of(compose(self.text), path) or 1
        field = ".".join(path) or "(document)"
        shown = json.dumps(value)
        if len(shown) > 80:
            shown = f"{type(value).__name__} {shown[:60]}..."
        return RoutesError(
            f"{self.source}:{line}: field {field}: got {shown}; accepted: {accepted}"
        )

    def obj(self, v: Any, path: tuple[str, ...], keys: set[str], optional: set[str]) -> None:
        if not isinstance(v, dict):
            raise self.fail(path, v, "an object")
        for k in v:
            if k not in keys | optional:
                raise self.fail((*path, k), k, f"one of the fields {sorted(keys | optional)}")
        for k in sorted(keys):
            if k not in v:
                raise self.fail(path, f"no {k}", f"an object with the field {k!r}")

    def int_(self, v: Any, path: tuple[str, ...], minimum: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(path, v, f"an integer >= {minimum}")
        return v

    def str_(self, v: Any, path: tuple[str, ...]) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(path, v, "a non-empty string")
        return v


def parse_routes(text: str, source: str = "routes.json") -> Routes:
    """Parse the routes JSON ``text`` (``source`` names it in errors)."""
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise RoutesError(
            f"{source}:{exc.lineno}: not JSON ({exc.msg}, column {exc.colno}); "
            "accepted: the JSON tenant_llm_routes renders"
        ) from None
    except ValueError as exc:
        raise RoutesError(f"{source}: {exc}; accepted: each key once") from None
    c = _Checker(text, source)
    c.obj(doc, (), {"cacheSalt", "blockedPaths", "tenants"}, set())
    if not isinstance(doc["cacheSalt"], bool):
        raise c.fail(("cacheSalt",), doc["cacheSalt"], "true or false")
    blocked = doc["blockedPaths"]
    if not isinstance(blocked, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in blocked
    ):
        raise c.fail(("blockedPaths",), blocked, "a list of paths starting with '/'")
    if not isinstance(doc["tenants"], dict):
        raise c.fail(("tenants",), doc["tenants"], "an object of tenants")
    tenants: dict[str, TenantRoute] = {}
    owner: dict[str, str] = {}
    for tname, t in doc["tenants"].items():
        tp = ("tenants", tname)
        c.obj(t, tp, {"priority", "models"}, {"callers"})
        priority = c.int_(t["priority"], (*tp, "priority"), 0)
        callers = t.get("callers", [])
        if not isinstance(callers, list) or not all(
            isinstance(n, str) and _NAMESPACE.match(n) for n in callers
        ):
            raise c.fail((*tp, "callers"), callers, "a list of namespace names")
        if not isinstance(t["models"], dict):
            raise c.fail((*tp, "models"), t["models"], "an object of served model names")
        models: dict[str, ModelRoute] = {}
        for served, m in t["models"].items():
            mp = (*tp, "models", served)
            if served in owner:
                raise c.fail(mp, served, f"a name no other tenant has ({owner[served]} has it)")
            owner[served] = tname
            c.obj(
                m,
                mp,
                {"adapter", "baseModel", "runtime", "tokensPerMinute", "maxConcurrentRequests"},
                {"runtimeModel"},
            )
            models[served] = ModelRoute(
                served_name=served,
                tenant=tname,
                adapter=c.str_(m["adapter"], (*mp, "adapter")),
                base_model=c.str_(m["baseModel"], (*mp, "baseModel")),
                runtime=c.str_(m["runtime"], (*mp, "runtime")),
                tokens_per_minute=c.int_(m["tokensPerMinute"], (*mp, "tokensPerMinute"), 1),
                max_concurrent_requests=c.int_(
                    m["maxConcurrentRequests"], (*mp, "maxConcurrentRequests"), 1
                ),
                runtime_model=(
                    c.str_(m["runtimeModel"], (*mp, "runtimeModel")) if "runtimeModel" in m else ""
                ),
            )
        tenants[tname] = TenantRoute(tname, priority, models, tuple(callers))
    return Routes(doc["cacheSalt"], tuple(blocked), tenants)
