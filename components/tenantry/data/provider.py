"""Pulumi dynamic providers (pure Python) for a tenant's vector store and its namespaces.

Two resources, because their lifecycles differ: the *store* (schema + login role + generated
password) lives as long as the tenant; each *namespace* (table + HNSW index) can be added,
replaced or dropped on its own without touching the role or its password.

Semantics (what a database owner can accept):

- **check** validates every identifier, the backend kind, the dimension and the metric before
  any connection is opened, and refuses a dimension or metric change unless the namespace
  input ``allowDataLoss`` is true (the message says how to opt in).
- **read** inspects the live database and reports drift in ``drift`` (missing table or index,
  changed dimension or metric, extra or missing grants, role rights, the role's connection
  limit and session settings); the live dimension and metric become the state, so a change
  made behind Pulumi's back needs the same opt-in.
- **diff** replaces on a tenant, name, dimension, metric or database change (delete before
  replace) and updates when ``drift`` is non-empty or a flag changed; it raises
  :class:`~tenantry.data.backend.DataLossError` for an unapproved dimension/metric change.
- **create/update** are idempotent ``ensure`` calls: a rerun, or a create over a retained
  table with the same shape, adopts what is there and repairs grants.
- **delete** of a namespace drops its table only when ``retainOnDelete`` is false (default
  true: nothing is lost by accident); delete of a store ends the role's sessions, drops what
  the role owns (large objects included, in any database) and the role, and drops the schema
  only when no table is left in it.

The store's ``limits`` input (``connectionLimit``, ``statementTimeoutMs``, ``lockTimeoutMs``,
``idleInTransactionSessionTimeoutMs``) becomes the role's connection limit and its session
settings in the vector database; a change is an update, never a replacement.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from .. import _sdk
from .backend import (
    METRICS,
    DataLossError,
    NamespaceError,
    NamespaceSpec,
    RoleLimits,
    TenantStore,
    VectorBackend,
)
from .names import IdentifierError, check_identifier
from .pgvector import AdminConnection, PgVectorBackend, check_namespace

UNKNOWN: Final = _sdk.UNKNOWN  # an output known only after deployment
BACKENDS: Final = ("pgvector",)
ADMIN_KEYS: Final = ("host", "port", "dbname", "user", "password")
ADMIN_IDENTITY: Final = ("host", "port", "dbname")  # a change here means another database
PASSWORD_BYTES: Final = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits

BackendFactory = Callable[[str, Mapping[str, Any]], VectorBackend]


def admin_connection(admin: Mapping[str, Any]) -> AdminConnection:
    missing = [k for k in ADMIN_KEYS if not admin.get(k)]
    if missing:
        raise ValueError(
            f"admin: missing {', '.join(missing)}; accepted: a mapping with "
            f"{', '.join(ADMIN_KEYS)} (and optional sslmode)"
        )
    return AdminConnection(
        host=str(admin["host"]),
        port=int(admin["port"]),
        dbname=str(admin["dbname"]),
        user=str(admin["user"]),
        password=str(admin["password"]),
        sslmode=str(admin.get("sslmode") or "require"),
    )


def make_backend(kind: str, admin: Mapping[str, Any]) -> VectorBackend:
    """The backend for ``kind``; the only place that knows which backends exist."""
    if kind == "pgvector":
        conn = admin_connection(admin)
        return PgVectorBackend(conn.connect, connect_to=conn.connect)
    raise ValueError(f"backend: {kind!r} is not supported; accepted: {', '.join(BACKENDS)}")


def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def store_of(props: Mapping[str, Any]) -> TenantStore:
    return TenantStore.for_tenant(props["tenant"])


def whole(value: Any) -> Any:
    """Pulumi sends every number as a float (protobuf Struct): 768.0 -> 768; else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


LIMIT_KEYS: Final = (
    "connectionLimit",
    "statementTimeoutMs",
    "lockTimeoutMs",
    "idleInTransactionSessionTimeoutMs",
)


def limits_of(props: Mapping[str, Any]) -> RoleLimits:
    """The store's ``limits`` input; raises NamespaceError naming the field."""
    limits = props.get("limits")
    if not isinstance(limits, Mapping):
        raise NamespaceError(
            "limits",
            f"{limits!r} is not accepted; accepted: a mapping with {', '.join(LIMIT_KEYS)}",
        )
    missing = [k for k in LIMIT_KEYS if k not in limits]
    if missing:
        raise NamespaceError("limits", f"missing {', '.join(missing)}")
    values = [whole(limits[k]) for k in LIMIT_KEYS]
    return RoleLimits(*values)


def namespace_of(props: Mapping[str, Any]) -> NamespaceSpec:
    return NamespaceSpec(store_of(props), props["name"], whole(props["dimension"]), props["metric"])


def _failures(check: Callable[[], object]) -> list[CheckFailure]:
    try:
        check()
    except IdentifierError as exc:
        return [CheckFailure(exc.field, str(exc))]
    except NamespaceError as exc:
        return [CheckFailure(exc.field, str(exc))]
    except ValueError as exc:
        return [CheckFailure(str(exc).split(":", 1)[0], str(exc))]
    return []


def _check_common(news: Mapping[str, Any]) -> list[CheckFailure]:
    out: list[CheckFailure] = []
    kind = news.get("backend", "pgvector")
    if _known(kind) and kind not in BACKENDS:
        out.append(
            CheckFailure(
                "backend", f"backend: {kind!r} is not supported; accepted: {', '.join(BACKENDS)}"
            )
        )
    if _known(news.get("tenant")):
        out += _failures(lambda: store_of(news))
    admin = news.get("admin")
    if _known(admin) and isinstance(admin, Mapping):
        missing = [k for k in ADMIN_KEYS if k in admin and admin[k] in (None, "")]
        if missing:
            out.append(CheckFailure("admin", f"admin: empty {', '.join(missing)}"))
    return out


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any], key: str) -> bool:
    return olds.get(key) != news.get(key)


def _database_changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    old, new = olds.get("admin") or {}, news.get("admin") or {}
    if not isinstance(new, Mapping) or not isinstance(old, Mapping):
        return True  # unknown during preview: assume it may change
    return any(_known(new.get(k)) and old.get(k) != new.get(k) for k in ADMIN_IDENTITY)


def replacement_refusal(olds: Mapping[str, Any], news: Mapping[str, Any]) -> str | None:
    """Why a dimension/metric change may not go ahead, or None when it may."""
    if news.get("allowDataLoss") is True or not olds:
        return None
    if _changed(olds, news, "tenant") or _changed(olds, news, "name"):
        return None  # another table: the old one is deleted (or retained) on its own terms
    changes = [
        f"{k} {whole(olds.get(k))!r} -> {whole(news.get(k))!r}"
        for k in ("dimension", "metric")
        if _known(news.get(k)) and olds.get(k) is not None and _changed(olds, news, k)
    ]
    if not changes:
        return None
    where = f"{olds.get('tenant')}/{olds.get('name')}"
    return (
        f"vector namespace {where}: {'; '.join(changes)} replaces the table and destroys "
        "its data (a metric change rebuilds the index). Opt in by listing this namespace "
        "in TenantArgs.replace_vector_namespaces (TenantVectorStoreArgs.replace_namespaces; "
        "sets allowDataLoss) for this deployment, or revert the change."
    )


class TenantStoreProvider(ResourceProvider):
    """Dynamic provider of a tenant's store: schema, login role, generated password."""

    def __init__(self, backend_factory: BackendFactory = make_backend) -> None:
        super().__init__()
        self.backend_factory = backend_factory

    def _backend(self, props: Mapping[str, Any]) -> VectorBackend:
        return self.backend_factory(props.get("backend", "pgvector"), props["admin"])

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = _check_common(news)
        limits = news.get("limits")
        if _known(limits) and (
            not isinstance(limits, Mapping) or all(_known(v) for v in limits.values())
        ):
            failures += _failures(lambda: limits_of(news))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("tenant", "backend") if _changed(olds, news, k)]
        if _database_changed(olds, news):
            replaces.append("admin")
        changes = bool(
            replaces
            or olds.get("drift")
            or _changed(olds, news, "admin")
            or _changed(olds, news, "limits")
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def _outs(self, props: Mapping[str, Any], password: str) -> dict[str, Any]:
        store = store_of(props)
        # A state written before stores had limits has none: the next update sets them.
        limits = limits_of(props) if "limits" in props else None
        state = self._backend(props).inspect_tenant(store, limits)
        drift = list(state.problems)
        if not state.role_exists:
            drift.insert(0, f"role {store.role} is missing")
        elif not state.role_can_login:
            drift.insert(0, f"role {store.role} cannot log in")
        if not state.schema_exists:
            drift.insert(0, f"schema {store.schema} is missing")
        return {
            **props,
            "backend": props.get("backend", "pgvector"),
            "schema": store.schema,
            "role": store.role,
            "password": password,
            "drift": drift,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        store = store_of(props)
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        self._backend(props).ensure_tenant(store, password, limits_of(props))
        return CreateResult(
            f"{props['admin']['dbname']}/{store.schema}", self._outs(props, password)
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, self._outs(props, props["password"]))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Re-asserting the stored password also repairs a role dropped or changed behind
        # our back; the secret in state stays the one delivered to the tenant.
        password = str(olds["password"])
        self._backend(news).ensure_tenant(store_of(news), password, limits_of(news))
        return UpdateResult(self._outs(news, password))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._backend(props).drop_tenant(store_of(props))


class VectorNamespaceProvider(ResourceProvider):
    """Dynamic provider of one namespace: a table with a vector column and an HNSW index."""

    def __init__(self, backend_factory: BackendFactory = make_backend) -> None:
        super().__init__()
        self.backend_factory = backend_factory

    def _backend(self, props: Mapping[str, Any]) -> VectorBackend:
        return self.backend_factory(props.get("backend", "pgvector"), props["admin"])

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = _check_common(news)
        if _known(news.get("name")):
            failures += _failures(lambda: check_identifier("vectorNamespaces.name", news["name"]))
        dim, metric = whole(news.get("dimension")), news.get("metric")
        if _known(metric) and metric not in METRICS:
            failures.append(
                CheckFailure(
                    "metric", f"metric: {metric!r} is not accepted; accepted: {', '.join(METRICS)}"
                )
            )
        if (
            not failures
            and all(_known(news.get(k)) for k in ("tenant", "name", "dimension"))
            and _known(metric)
        ):
            failures += _failures(lambda: check_namespace(namespace_of(news)))
        elif _known(dim) and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            failures.append(
                CheckFailure("dimension", f"dimension: {dim!r}; accepted: an integer >= 1")
            )
        refusal = replacement_refusal(olds, news)
        if refusal:
            failures.append(
                CheckFailure(
                    "dimension" if _changed(olds, news, "dimension") else "metric", refusal
                )
            )
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        refusal = replacement_refusal(olds, news)
        if refusal:
            raise DataLossError(refusal)
        replaces = [
            k
            for k in ("tenant", "name", "dimension", "metric", "backend")
            if _changed(olds, news, k)
        ]
        if _database_changed(olds, news):
            replaces.append("admin")
        changes = bool(
            replaces
            or olds.get("drift")
            or any(_changed(olds, news, k) for k in ("admin", "retainOnDelete", "allowDataLoss"))
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=True)

    def _outs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        spec = namespace_of(props)
        state = self._backend(props).inspect_namespace(spec)
        live = {
            "dimension": state.dimension or spec.dimension,
            "metric": state.metric or spec.metric,
        }
        return {
            **props,
            **live,
            "backend": props.get("backend", "pgvector"),
            "schema": spec.store.schema,
            "table": spec.name,
            "role": spec.store.role,
            "retainOnDelete": props.get("retainOnDelete", True) is not False,
            "drift": state.drift(spec),
        }

    def _ensure(self, props: Mapping[str, Any]) -> dict[str, Any]:
        spec = namespace_of(props)
        self._backend(props).ensure_namespace(
            spec, allow_data_loss=props.get("allowDataLoss") is True
        )
        return self._outs(props)

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = namespace_of(props)
        return CreateResult(
            f"{props['admin']['dbname']}/{spec.store.schema}.{spec.name}", self._ensure(props)
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, self._outs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._ensure(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("retainOnDelete", True) is False:
            self._backend(props).drop_namespace(namespace_of(props))
