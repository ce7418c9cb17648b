"""PostgreSQL + pgvector backend (psycopg 3).

Isolation model, per tenant: a schema and a login role named ``tenant_<name>``. The schema is
owned by the platform's admin login, so the tenant can read and write rows in its tables but
cannot create, alter, drop or grant anything (no GRANT OPTION, no ownership). ``PUBLIC`` loses
every privilege on the database, on ``public`` and on each tenant schema; the ``vector``
extension lives in a shared ``extensions`` schema where tenants have USAGE and nothing else.

Per tenant, the database also enforces :class:`~tenantry.data.backend.RoleLimits`: the
role's connection limit and its statement, lock and idle-in-transaction timeouts in this
database, read back and repaired like every other fact (a tenant may persist its own
session defaults with ``ALTER ROLE``; they are drift). Provider transactions serialize on a
table lock tenants cannot take and wait for no lock longer than ``lock_timeout_s``; a store
is deleted together with its sessions and everything its role owns, anywhere on the server
(:mod:`.pgcontrol`).

Every name is checked by :mod:`tenantry.data.names` before a connection is opened and then
quoted with :class:`psycopg.sql.Identifier`; values travel as bound parameters or
:class:`psycopg.sql.Literal`. Role passwords are sent as SCRAM verifiers, never in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, LiteralString

import psycopg
from psycopg import errors, sql

from ..catalog.limits import VECTOR_INDEX
from . import pgcontrol
from .backend import (
    DataLossError,
    Grant,
    NamespaceError,
    NamespaceSpec,
    NamespaceState,
    RoleLimits,
    TenantState,
    TenantStore,
)
from .names import EMBEDDING_COLUMN, check_identifier, index_name
from .pgcontrol import LOCK_TIMEOUT_S, TERMINATE_TIMEOUT_S
from .scram import scram_sha256_verifier

EXTENSION_SCHEMA: Final = "extensions"
# pgvector builds HNSW indexes on `vector` columns of at most 2000 dimensions (the limit and
# the operator classes, with their sources: tenantry.catalog.limits).
HNSW_MAX_DIMENSION: Final = VECTOR_INDEX.max_dimensions
OPCLASS: Final[dict[str, str]] = dict(VECTOR_INDEX.opclasses)
METRIC_OF_OPCLASS: Final = {v: k for k, v in OPCLASS.items()}
TENANT_PRIVILEGES: Final = ("DELETE", "INSERT", "SELECT", "UPDATE")
# Privilege keywords as fixed SQL fragments: catalog strings never become SQL text.
_PRIVILEGE_SQL: Final[dict[str, sql.SQL]] = {
    p: sql.SQL(p)
    for p in (
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
        "MAINTAIN",
        "USAGE",
        "CREATE",
        "CONNECT",
        "TEMPORARY",
    )
}
# Role attributes a tenant role must not have: (pg_roles column, keyword to turn it off).
_ROLE_FLAGS: Final[tuple[tuple[LiteralString, LiteralString, str], ...]] = (
    ("rolsuper", "NOSUPERUSER", "SUPERUSER"),
    ("rolcreatedb", "NOCREATEDB", "CREATEDB"),
    ("rolcreaterole", "NOCREATEROLE", "CREATEROLE"),
    ("rolreplication", "NOREPLICATION", "REPLICATION"),
    ("rolbypassrls", "NOBYPASSRLS", "BYPASSRLS"),
    ("rolinherit", "NOINHERIT", "INHERIT"),
)
MANAGED: Final = "managed by tenantry"

Connection = psycopg.Connection[Any]


@dataclass(frozen=True)
class AdminConnection:
    """How the provider reaches the database as the platform's admin login (a secret)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    sslmode: str = "require"

    def connect(self, dbname: str | None = None) -> Connection:
        """A connection to the vector database, or to ``dbname`` on the same server."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=dbname or self.dbname,
            user=self.user,
            password=self.password,
            sslmode=self.sslmode,
            connect_timeout=10,
            application_name="tenantry-vector",
        )


def check_namespace(spec: NamespaceSpec) -> None:
    """Backend-specific limits, checked before any SQL (the spec allows up to 16000)."""
    check_identifier("schema", spec.store.schema)
    index_name(spec.name)
    if spec.dimension > HNSW_MAX_DIMENSION:
        raise NamespaceError(
            "dimension",
            f"{spec.dimension} is more than pgvector's HNSW index supports for `vector`; "
            f"accepted: 1..{HNSW_MAX_DIMENSION}",
        )


def check_store(store: TenantStore) -> None:
    check_identifier("schema", store.schema)
    check_identifier("role", store.role)


_ident = pgcontrol.ident
_q = pgcontrol.q


class PgVectorBackend:
    """:class:`~tenantry.data.backend.VectorBackend` on PostgreSQL with pgvector.

    ``connect`` opens an admin connection (a new one per operation; the context manager
    commits on success and rolls back on error, so each operation is one transaction);
    ``connect_to(dbname)`` one to another database of the same server (only a store
    deletion needs it, when the tenant's role owns something there). Changes wait at most
    ``lock_timeout_s`` for any lock, then raise
    :class:`~tenantry.data.backend.ProvisioningBlocked`; a deletion waits at most
    ``terminate_timeout_s`` for the role's sessions to end.
    """

    kind = "pgvector"

    def __init__(
        self,
        connect: Callable[[], Connection],
        *,
        connect_to: Callable[[str], Connection] | None = None,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
        terminate_timeout_s: float = TERMINATE_TIMEOUT_S,
    ) -> None:
        self._connect = connect
        self._connect_to = connect_to
        self.lock_timeout_s = lock_timeout_s
        self.terminate_timeout_s = terminate_timeout_s
        self._control_ready = False

    @contextmanager
    def _locked(self, schema: str | None = None) -> Iterator[Connection]:
        """One admin transaction holding the provisioning lock, with ``lock_timeout`` set
        for every statement in it. A lock wait past the timeout (on the provisioning lock,
        or on a tenant's table a session holds) rolls everything back and raises
        :class:`ProvisioningBlocked` naming the holders (``schema``: the tenant's)."""
        if not self._control_ready:
            try:
                with self._connect() as conn:
                    pgcontrol.ensure_control_schema(conn)
            except (errors.UniqueViolation, errors.DuplicateSchema, errors.DuplicateTable):
                pass  # a concurrent provider created it first
            except errors.InsufficientPrivilege as exc:
                raise NamespaceError(
                    "admin",
                    f"the admin login cannot create the provider's schema "
                    f"{pgcontrol.CONTROL_SCHEMA} ({str(exc).strip()}); it needs CREATE on the "
                    f"database: have the database's owner run CREATE SCHEMA "
                    f"{pgcontrol.CONTROL_SCHEMA} AUTHORIZATION <admin login> once",
                ) from exc
            self._control_ready = True
        try:
            with self._connect() as conn:
                pgcontrol.take_lock(conn, self.lock_timeout_s)
                yield conn
        except errors.LockNotAvailable as exc:
            raise pgcontrol.blocked(self._connect, self.lock_timeout_s, schema, exc) from exc

    # -- tenants -------------------------------------------------------------------------

    def ensure_tenant(self, store: TenantStore, password: str | None, limits: RoleLimits) -> None:
        check_store(store)
        verifier = scram_sha256_verifier(password) if password is not None else None
        with self._locked(store.schema) as conn:
            db = self._database(conn)
            me = self._scalar(conn, "SELECT current_user")
            self._bootstrap(conn, db)
            role, schema = _ident(store.role), _ident(store.schema)
            if self._role_comment(conn, store.role) is None:
                if self._exists(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", store.role):
                    raise NamespaceError(
                        "tenant",
                        f"role {store.role!r} exists and is not "
                        "managed by tenantry; refusing to adopt it",
                    )
                if verifier is None:
                    raise NamespaceError(
                        "password", f"role {store.role!r} is new: a password is required"
                    )
                attrs = sql.SQL(" ").join(sql.SQL(off) for _, off, _ in _ROLE_FLAGS)
                conn.execute(
                    _q(
                        "CREATE ROLE {} LOGIN {} CONNECTION LIMIT {} PASSWORD {}",
                        role,
                        attrs,
                        sql.Literal(limits.connection_limit),
                        sql.Literal(verifier),
                    )
                )
                conn.execute(
                    _q(
                        "COMMENT ON ROLE {} IS {}",
                        role,
                        sql.Literal(f"{MANAGED}: tenant {store.tenant}"),
                    )
                )
            else:
                # Only what differs: a non-superuser admin (RDS) may not even restate
                # SUPERUSER/REPLICATION/BYPASSRLS, and an ALTER that changes nothing is noise.
                flags = self._role_flags(conn, store.role)
                fixes: list[sql.Composable] = [
                    sql.SQL(off) for col, off, _ in _ROLE_FLAGS if flags[col]
                ]
                if not flags["rolcanlogin"]:
                    fixes.append(sql.SQL("LOGIN"))
                if self._connection_limit(conn, store.role) != limits.connection_limit:
                    fixes.append(_q("CONNECTION LIMIT {}", sql.Literal(limits.connection_limit)))
                if fixes:
                    conn.execute(_q("ALTER ROLE {} {}", role, sql.SQL(" ").join(fixes)))
                if verifier is not None:
                    conn.execute(_q("ALTER ROLE {} PASSWORD {}", role, sql.Literal(verifier)))
            # A tenant role is a member of nothing (membership would inherit another's rights).
            for granted in self._column(
                conn,
                "SELECT r.rolname FROM pg_auth_members m "
                "JOIN pg_roles r ON r.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member "
                "WHERE u.rolname = %s",
                store.role,
            ):
                conn.execute(_q("REVOKE {} FROM {}", _ident(granted), role))
            left = self._column(
                conn,
                "SELECT r.rolname FROM pg_auth_members m "
                "JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u "
                "ON u.oid = m.member WHERE u.rolname = %s",
                store.role,
            )
            if left:
                raise NamespaceError(
                    "tenant",
                    f"role {store.role} is still a member of "
                    f"{', '.join(left)} (granted by a role the admin login "
                    "cannot act for); a superuser must revoke it",
                )
            # An interrupted deletion may have left the admin login a member of the role.
            if self._scalar(
                conn,
                "SELECT 1 FROM pg_auth_members WHERE roleid = (SELECT oid FROM pg_roles "
                "WHERE rolname = %s) AND member = (SELECT oid FROM pg_roles WHERE "
                "rolname = current_user) AND grantor = member",
                store.role,
            ):
                conn.execute(_q("REVOKE {} FROM CURRENT_USER", role))
            if pgcontrol.settings_drift(conn, store.role, db, self._settings(store, limits)):
                pgcontrol.apply_settings(
                    conn,
                    store.role,
                    db,
                    {
                        "search_path": _q("{}, {}", _ident(store.schema), _ident(EXTENSION_SCHEMA)),
                        **{k: sql.Literal(int(v)) for k, v in limits.settings().items()},
                    },
                )
            conn.execute(_q("GRANT CONNECT ON DATABASE {} TO {}", _ident(db), role))
            conn.execute(_q("GRANT USAGE ON SCHEMA {} TO {}", _ident(EXTENSION_SCHEMA), role))
            owner = self._scalar(
                conn,
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
                store.schema,
            )
            if owner is None:
                conn.execute(_q("CREATE SCHEMA {}", schema))
                conn.execute(
                    _q(
                        "COMMENT ON SCHEMA {} IS {}",
                        schema,
                        sql.Literal(f"{MANAGED}: tenant {store.tenant}"),
                    )
                )
            elif owner != me:
                raise NamespaceError(
                    "tenant",
                    f"schema {store.schema!r} is owned by {owner!r}, "
                    f"not by the admin login {me!r}; refusing to adopt it",
                )
            for g in self._schema_grants(conn, store.schema):
                if g.grantee != store.role or g.privilege != "USAGE":
                    conn.execute(_q("REVOKE ALL ON SCHEMA {} FROM {}", schema, _grantee(g)))
            conn.execute(_q("GRANT USAGE ON SCHEMA {} TO {}", schema, role))

    def inspect_tenant(self, store: TenantStore, limits: RoleLimits | None) -> TenantState:
        check_store(store)
        with self._connect() as conn:
            flags = self._role_flags(conn, store.role)
            schema_exists = self._exists(
                conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", store.schema
            )
            problems: list[str] = []
            if flags:
                problems += [
                    f"role {store.role} has {on}" for col, _, on in _ROLE_FLAGS if flags[col]
                ]
                for granted in self._column(
                    conn,
                    "SELECT r.rolname FROM pg_auth_members m "
                    "JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u "
                    "ON u.oid = m.member WHERE u.rolname = %s",
                    store.role,
                ):
                    problems.append(f"role {store.role} is a member of {granted}")
                limit = self._connection_limit(conn, store.role)
                if limits is not None and limit != limits.connection_limit:
                    problems.append(
                        f"role {store.role}: connection limit is {limit}, "
                        f"declared {limits.connection_limit}"
                    )
                if limits is not None:
                    problems += pgcontrol.settings_drift(
                        conn, store.role, self._database(conn), self._settings(store, limits)
                    )
            extra = tuple(
                g
                for g in self._schema_grants(conn, store.schema)
                if not (g.grantee == store.role and g.privilege == "USAGE")
            )
            problems += [f"schema {store.schema}: extra grant {g}" for g in extra]
            problems += self._shared_problems(conn)
            return TenantState(
                schema_exists=schema_exists,
                role_exists=bool(flags),
                role_can_login=bool(flags.get("rolcanlogin")),
                extra_grants=extra,
                problems=tuple(problems),
            )

    def drop_tenant(self, store: TenantStore) -> bool:
        check_store(store)
        with self._locked(store.schema) as conn:
            managed = self._role_comment(conn, store.role) is not None
            if managed:  # no new session from here on; the admin may act for the role
                conn.execute(_q("ALTER ROLE {} NOLOGIN", _ident(store.role)))
                try:
                    pgcontrol.act_as(conn, store.role)
                except errors.InsufficientPrivilege as exc:
                    raise NamespaceError(
                        "tenant",
                        f"the admin login cannot act for role {store.role} ({exc}); a "
                        f"superuser must run DROP OWNED BY {store.role}; DROP ROLE "
                        f"{store.role} in every database",
                    ) from exc
        if managed:
            pgcontrol.end_sessions(self._connect, store.role, self.terminate_timeout_s)
            pgcontrol.unlink_large_objects(self._connect, store.role)
            with self._connect() as conn:
                elsewhere = pgcontrol.databases_with(conn, store.role)
            for db in elsewhere:
                self._drop_owned_in(db, store.role)
        with self._locked(store.schema) as conn:
            if managed and self._role_comment(conn, store.role) is not None:
                conn.execute(_q("DROP OWNED BY {}", _ident(store.role)))
                try:
                    conn.execute(_q("DROP ROLE {}", _ident(store.role)))
                except errors.DependentObjectsStillExist as exc:
                    detail = (exc.diag.message_detail or "").replace("\n", "; ")
                    raise NamespaceError(
                        "tenant",
                        f"role {store.role} cannot be dropped: {detail or exc}. What is left "
                        "was granted or created by a role the admin login cannot act for "
                        "(DROP OWNED revokes only what the admin login may revoke): a "
                        "superuser must revoke or drop it, in each database named, then "
                        "rerun the delete. The role has lost LOGIN and its sessions.",
                    ) from exc
            if not self._exists(
                conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", store.schema
            ):
                return True
            tables = self._scalar(
                conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                "n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm')",
                store.schema,
            )
            if tables:
                return False  # retained namespaces keep the schema; nothing is lost
            # Whatever else is left (views, sequences, functions, types someone added)
            # holds no data: the schema's owner drops it with the schema.
            conn.execute(_q("DROP SCHEMA {} CASCADE", _ident(store.schema)))
            return True

    def _drop_owned_in(self, db: str, role: str) -> None:
        """DROP OWNED BY ``role`` in another database of the server (large objects first)."""
        connect_to = self._connect_to
        if connect_to is None:
            raise NamespaceError(
                "tenant",
                f"role {role} owns objects or holds privileges in database {db}; this "
                f"backend cannot connect there: run DROP OWNED BY {role} in {db} and retry",
            )
        try:
            pgcontrol.drop_owned(lambda: connect_to(db), role)
        except psycopg.OperationalError as exc:
            raise NamespaceError(
                "tenant",
                f"role {role} owns objects or holds privileges in database {db} and the "
                f"admin login cannot connect there ({str(exc).strip()}); run DROP OWNED BY "
                f"{role} in {db} and retry",
            ) from exc

    # -- namespaces ----------------------------------------------------------------------

    def ensure_namespace(self, spec: NamespaceSpec, *, allow_data_loss: bool = False) -> None:
        check_namespace(spec)
        store = spec.store
        table = _ident(store.schema, spec.name)
        with self._locked(store.schema) as conn:
            if self._role_comment(conn, store.role) is None:
                raise NamespaceError(
                    "tenant", f"role {store.role!r} does not exist: create the tenant's store first"
                )
            state = self._inspect_namespace(conn, spec)
            if state.exists and state.dimension != spec.dimension:
                if not allow_data_loss:
                    raise DataLossError(
                        f"dimension: {store.schema}.{spec.name} has dimension {state.dimension}, "
                        f"declared {spec.dimension}; changing it drops the table and its data. "
                        "Opt in to replace this namespace to accept that."
                    )
                conn.execute(_q("DROP TABLE {} RESTRICT", table))
                state = NamespaceState(exists=False)
            if state.exists and state.metric not in (None, spec.metric):
                if not allow_data_loss:
                    raise DataLossError(
                        f"metric: {store.schema}.{spec.name} is indexed for {state.metric}, "
                        f"declared {spec.metric}; changing it rebuilds the index and changes "
                        "query results. Opt in to replace this namespace to accept that."
                    )
                conn.execute(_q("DROP INDEX {}", _ident(store.schema, index_name(spec.name))))
            if not state.exists:
                conn.execute(
                    _q(
                        "CREATE TABLE {} (id text PRIMARY KEY, {} {} NOT NULL, "
                        "metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb, "
                        "created_at timestamptz NOT NULL DEFAULT now())",
                        table,
                        _ident(EMBEDDING_COLUMN),
                        _q(
                            "{}({})",
                            _ident(EXTENSION_SCHEMA, "vector"),
                            sql.Literal(spec.dimension),
                        ),
                    )
                )
                conn.execute(
                    _q(
                        "COMMENT ON TABLE {} IS {}",
                        table,
                        sql.Literal(f"{MANAGED}: vector namespace, metric {spec.metric}"),
                    )
                )
            conn.execute(
                _q(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw ({} {})",
                    _ident(index_name(spec.name)),
                    table,
                    _ident(EMBEDDING_COLUMN),
                    _ident(EXTENSION_SCHEMA, OPCLASS[spec.metric]),
                )
            )
            for g in self._table_grants(conn, store.schema, spec.name):
                if g.grantee != store.role or g.privilege not in TENANT_PRIVILEGES:
                    conn.execute(
                        _q(
                            "REVOKE {} ON TABLE {} FROM {}",
                            _privilege(g.privilege),
                            table,
                            _grantee(g),
                        )
                    )
            conn.execute(
                _q(
                    "GRANT {} ON TABLE {} TO {}",
                    sql.SQL(", ").join(_PRIVILEGE_SQL[p] for p in TENANT_PRIVILEGES),
                    table,
                    _ident(store.role),
                )
            )

    def inspect_namespace(self, spec: NamespaceSpec) -> NamespaceState:
        check_namespace(spec)
        with self._connect() as conn:
            return self._inspect_namespace(conn, spec)

    def drop_namespace(self, spec: NamespaceSpec) -> None:
        check_namespace(spec)
        with self._locked(spec.store.schema) as conn:
            conn.execute(
                _q("DROP TABLE IF EXISTS {} RESTRICT", _ident(spec.store.schema, spec.name))
            )

    # -- helpers -------------------------------------------------------------------------

    def _inspect_namespace(self, conn: Connection, spec: NamespaceSpec) -> NamespaceState:
        store = spec.store
        row = conn.execute(
            "SELECT c.oid, t.typname, a.atttypmod FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %s "
            "AND NOT a.attisdropped LEFT JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'r'",
            (EMBEDDING_COLUMN, store.schema, spec.name),
        ).fetchone()
        if row is None:
            return NamespaceState(exists=False)
        oid, typname, typmod = row
        problems: list[str] = []
        dimension = typmod if typname == "vector" and typmod and typmod > 0 else None
        if typname != "vector":
            problems.append(
                f"{store.schema}.{spec.name}: column {EMBEDDING_COLUMN} is "
                f"{typname or 'missing'}, not vector"
            )
        opclass = self._scalar(
            conn,
            "SELECT opc.opcname FROM pg_index i "
            "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
            "JOIN pg_opclass opc ON opc.oid = i.indclass[0] "
            "WHERE i.indrelid = %s AND ic.relname = %s AND am.amname = 'hnsw'",
            oid,
            index_name(spec.name),
        )
        grants = self._table_grants(conn, store.schema, spec.name)
        extra = tuple(
            g for g in grants if g.grantee != store.role or g.privilege not in TENANT_PRIVILEGES
        )
        have = {g.privilege for g in grants if g.grantee == store.role}
        missing = tuple(f"{p} to {store.role}" for p in TENANT_PRIVILEGES if p not in have)
        return NamespaceState(
            exists=True,
            dimension=dimension,
            metric=METRIC_OF_OPCLASS.get(str(opclass)) if opclass else None,
            extra_grants=extra,
            missing_grants=missing,
            problems=tuple(problems),
        )

    def _bootstrap(self, conn: Connection, db: str) -> None:
        """Database-wide fences, idempotent: the extension schema, PUBLIC revoked."""
        ext = _ident(EXTENSION_SCHEMA)
        conn.execute(_q("CREATE SCHEMA IF NOT EXISTS {}", ext))
        conn.execute(_q("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA {}", ext))
        conn.execute(_q("REVOKE ALL ON SCHEMA {} FROM PUBLIC", ext))
        conn.execute(_q("REVOKE ALL ON SCHEMA {} FROM PUBLIC", _ident("public")))
        conn.execute(_q("REVOKE ALL ON DATABASE {} FROM PUBLIC", _ident(db)))
        pgcontrol.repair_control(conn)

    def _role_flags(self, conn: Connection, role: str) -> dict[str, bool]:
        """pg_roles flags of ``role`` ({} when it does not exist)."""
        cols = [col for col, _, _ in _ROLE_FLAGS] + ["rolcanlogin"]
        query = _q(
            "SELECT {} FROM pg_roles WHERE rolname = %s",
            sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        )
        row = conn.execute(query, (role,)).fetchone()
        return {} if row is None else {c: bool(v) for c, v in zip(cols, row, strict=True)}

    def _shared_problems(self, conn: Connection) -> list[str]:
        problems: list[str] = []
        for schema in (EXTENSION_SCHEMA, "public"):
            for g in self._schema_grants(conn, schema):
                if g.grantee == "PUBLIC" or g.privilege != "USAGE":
                    problems.append(f"schema {schema}: grant {g}")
        for grantee, privilege in conn.execute(
            "SELECT g.grantee, g.privilege_type FROM pg_database d, aclexplode(d.datacl) g "
            "WHERE d.datname = current_database() AND g.grantee = 0"
        ).fetchall():
            problems.append(f"database: grant {privilege} to PUBLIC ({grantee})")
        return problems + pgcontrol.control_problems(conn)

    def _schema_grants(self, conn: Connection, schema: str) -> list[Grant]:
        return _grants(
            conn.execute(
                "SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END, "
                "g.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) g "
                "WHERE n.nspname = %s AND g.grantee <> n.nspowner ORDER BY 1, 2",
                (schema,),
            ).fetchall(),
            "schema",
        )

    def _table_grants(self, conn: Connection, schema: str, table: str) -> list[Grant]:
        return _grants(
            conn.execute(
                "SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END, "
                "g.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
                "aclexplode(c.relacl) g WHERE n.nspname = %s AND c.relname = %s "
                "AND g.grantee <> c.relowner ORDER BY 1, 2",
                (schema, table),
            ).fetchall(),
            "table",
        )

    def _connection_limit(self, conn: Connection, role: str) -> int:
        return int(self._scalar(conn, "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", role))

    @staticmethod
    def _settings(store: TenantStore, limits: RoleLimits) -> dict[str, str]:
        """The role's settings in the vector database as ``pg_db_role_setting`` stores them."""
        return {"search_path": f"{store.schema}, {EXTENSION_SCHEMA}", **limits.settings()}

    def _database(self, conn: Connection) -> str:
        return str(self._scalar(conn, "SELECT current_database()"))

    def _role_comment(self, conn: Connection, role: str) -> str | None:
        """The role's comment if it is a role tenantry manages, else None."""
        comment = self._scalar(
            conn,
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
            role,
        )
        return str(comment) if comment and str(comment).startswith(MANAGED) else None

    @staticmethod
    def _scalar(conn: Connection, query: LiteralString, *params: Any) -> Any:
        return pgcontrol.scalar(conn, query, *params)

    @staticmethod
    def _column(conn: Connection, query: LiteralString, *params: Any) -> list[str]:
        return pgcontrol.column(conn, query, *params)

    def _exists(self, conn: Connection, query: LiteralString, *params: Any) -> bool:
        return self._scalar(conn, query, *params) is not None


def _grants(rows: Iterable[tuple[Any, ...]], on: str) -> list[Grant]:
    return [Grant(on=on, grantee=str(r[0]), privilege=str(r[1])) for r in rows]


def _privilege(name: str) -> sql.Composable:
    return _PRIVILEGE_SQL.get(name, sql.SQL("ALL"))


def _grantee(g: Grant) -> sql.Composable:
    return sql.SQL("PUBLIC") if g.grantee == "PUBLIC" else _ident(g.grantee)
