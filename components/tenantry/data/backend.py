"""The vector-store backend protocol (pure, no Pulumi, no driver imports).

The dynamic provider and the component only talk to a :class:`VectorBackend`, so Milvus,
Qdrant or Pinecone can be added as further implementations; pgvector is the one shipped.
A backend maps a tenant to an isolated *store* (pgvector: a schema plus a login role) and each
declared namespace to a *collection* in it (pgvector: a table with an HNSW index).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, get_args

from .names import check_identifier, tenant_identifier

Metric = Literal["cosine", "l2", "inner_product"]
METRICS: Final[tuple[str, ...]] = get_args(Metric)
MAX_DIMENSION: Final = 16000
MAX_CONNECTION_LIMIT: Final = 10_000
MAX_TIMEOUT_MS: Final = 86_400_000  # one day; PostgreSQL accepts up to INT_MAX ms


class NamespaceError(ValueError):
    """A namespace that cannot be created as asked; names the field and what is accepted."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class TenantStore:
    """A tenant's isolated store: one schema and one login role of the same name."""

    tenant: str
    schema: str
    role: str

    @classmethod
    def for_tenant(cls, tenant: str, prefix: str = "tenant_") -> TenantStore:
        ident = tenant_identifier(tenant, prefix)
        return cls(tenant=tenant, schema=ident, role=ident)


@dataclass(frozen=True)
class NamespaceSpec:
    """A declared namespace: ``store.schema``.``name`` with ``dimension`` and ``metric``."""

    store: TenantStore
    name: str
    dimension: int
    metric: str

    def __post_init__(self) -> None:
        check_identifier("vectorNamespaces.name", self.name)
        if isinstance(self.dimension, bool) or not isinstance(self.dimension, int):
            raise NamespaceError("dimension", f"{self.dimension!r} is not an integer")
        if not 1 <= self.dimension <= MAX_DIMENSION:
            raise NamespaceError(
                "dimension", f"{self.dimension} is out of range; accepted: 1..{MAX_DIMENSION}"
            )
        if self.metric not in METRICS:
            raise NamespaceError(
                "metric", f"{self.metric!r} is not accepted; accepted: {', '.join(METRICS)}"
            )


@dataclass(frozen=True)
class RoleLimits:
    """What the database enforces on a tenant's login role, per role (PostgreSQL terms).

    - ``connection_limit``: concurrent sessions of the role (``CONNECTION LIMIT``; checked
      by the server at login, and a role cannot change its own).
    - ``statement_timeout_ms``: a statement running longer is cancelled (SQLSTATE 57014).
    - ``lock_timeout_ms``: a statement waiting longer for a lock is cancelled (55P03).
    - ``idle_in_transaction_session_timeout_ms``: a session idle inside an open transaction
      longer is terminated (25P03), releasing its locks and snapshot.

    The three timeouts are the role's session defaults in the vector database (``ALTER ROLE
    ... IN DATABASE ... SET``): PostgreSQL lets a session ``SET`` them itself (they are
    user-settable parameters), so they bound every default client; the connection limit is
    the bound a session cannot lift. Source: PostgreSQL 16 documentation, "CREATE ROLE"
    (CONNECTION LIMIT) and "Client Connection Defaults" (the three timeouts).
    """

    connection_limit: int
    statement_timeout_ms: int
    lock_timeout_ms: int
    idle_in_transaction_session_timeout_ms: int

    def __post_init__(self) -> None:
        for name, value, top in (
            ("connectionLimit", self.connection_limit, MAX_CONNECTION_LIMIT),
            ("statementTimeoutMs", self.statement_timeout_ms, MAX_TIMEOUT_MS),
            ("lockTimeoutMs", self.lock_timeout_ms, MAX_TIMEOUT_MS),
            (
                "idleInTransactionSessionTimeoutMs",
                self.idle_in_transaction_session_timeout_ms,
                MAX_TIMEOUT_MS,
            ),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise NamespaceError(
                    f"limits.{name}", f"{value!r} is not accepted; accepted: an integer 1..{top}"
                )

    def settings(self) -> dict[str, str]:
        """The role's session settings in the vector database: parameter -> value (ms)."""
        return {
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_session_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "statement_timeout": str(self.statement_timeout_ms),
        }


@dataclass(frozen=True)
class Grant:
    """One privilege on a schema or table: ``grantee`` ('PUBLIC' for everyone)."""

    on: str  # "schema" or "table"
    grantee: str
    privilege: str

    def __str__(self) -> str:
        return f"{self.privilege} on {self.on} to {self.grantee}"


@dataclass(frozen=True)
class TenantState:
    """What a backend finds for a store. ``problems`` lists isolation drift in words."""

    schema_exists: bool
    role_exists: bool
    role_can_login: bool
    extra_grants: tuple[Grant, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamespaceState:
    """What a backend finds for a namespace; ``exists`` False means the table is missing."""

    exists: bool
    dimension: int | None = None
    metric: str | None = None  # None: no index recognised (missing or foreign opclass)
    rows: int | None = None
    extra_grants: tuple[Grant, ...] = ()
    missing_grants: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    def drift(self, spec: NamespaceSpec) -> list[str]:
        """Differences between this state and ``spec``, one sentence each; [] when in sync."""
        name = f"{spec.store.schema}.{spec.name}"
        if not self.exists:
            return [f"table {name} is missing"]
        out: list[str] = []
        if self.dimension != spec.dimension:
            out.append(f"{name}: dimension is {self.dimension}, declared {spec.dimension}")
        if self.metric != spec.metric:
            found = self.metric or "no HNSW index"
            out.append(f"{name}: metric is {found}, declared {spec.metric}")
        out += [f"{name}: extra grant {g}" for g in self.extra_grants]
        out += [f"{name}: missing grant {p}" for p in self.missing_grants]
        out += list(self.problems)
        return out


class VectorBackend(Protocol):
    """Operations a vector store needs. Every method is idempotent.

    Implementations validate every name before they open a connection, and never
    interpolate names into statements.
    """

    kind: str  # "pgvector", later "milvus", "qdrant", "pinecone"

    def ensure_tenant(self, store: TenantStore, password: str | None, limits: RoleLimits) -> None:
        """Create or repair the store (schema, login role, shared extension, grants) and the
        role's ``limits``. ``password`` sets the role's password; None keeps the current one.
        """

    def inspect_tenant(self, store: TenantStore, limits: RoleLimits | None) -> TenantState:
        """Read the store's state, including isolation drift (extra grants, role rights) and
        any difference from ``limits`` (connection limit, role settings; None: not compared,
        for a state written before stores had limits)."""

    def drop_tenant(self, store: TenantStore) -> bool:
        """Remove the login role, its sessions and whatever it owns; remove the schema only
        if it holds no tables.

        Returns True when the schema was removed, False when retained data kept it.
        """

    def ensure_namespace(self, spec: NamespaceSpec, *, allow_data_loss: bool = False) -> None:
        """Create or repair a namespace. An existing one with another dimension or metric is
        rebuilt only with ``allow_data_loss``; otherwise :class:`DataLossError` is raised."""

    def inspect_namespace(self, spec: NamespaceSpec) -> NamespaceState:
        """Read the namespace's live state (dimension, metric, grants, row count)."""

    def drop_namespace(self, spec: NamespaceSpec) -> None:
        """Destroy the namespace and its data (callers decide whether that is wanted)."""


class DataLossError(RuntimeError):
    """A change would destroy a namespace's data and was not opted into."""


class ProvisioningBlocked(RuntimeError):
    """A lock the provider needs stayed held by another session past the provider's lock
    timeout; the message names the sessions holding it. Nothing was changed (the operation's
    transaction was rolled back); rerun once they are gone."""
