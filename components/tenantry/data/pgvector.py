"""PostgreSQL + pgvector backend (psycopg 3).

Isolation model, per tenant: a schema and a login role named ``tenant_<name>``. The schema is
owned by the platform's admin login, so the tenant can read and write rows in its tables but
cannot create, alter, drop or grant anything (no GRANT OPTION, no ownership). ``PUBLIC`` loses
every privilege on the database, on ``public`` and on each tenant schema; the ``vector``
extension lives in a shared ``extensions`` schema where tenants have USAGE and nothing else.

Every name is checked by :mod:`tenantry.data.names` before a connection is opened and then
quoted with :class:`psycopg.sql.Identifier`; values travel as bound parameters or
:class:`psycopg.sql.Literal`. Role passwords are sent as SCRAM verifiers, never in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, LiteralString

import psycopg
from psycopg import sql

from .backend import (
    DataLossError,
    Grant,
    NamespaceError,
    NamespaceSpec,
    NamespaceState,
    TenantState,
    TenantStore,
)
from .names import check_identifier
from .scram import scram_sha256_verifier

EXTENSION_SCHEMA: Final = "extensions"
EMBEDDING_COLUMN: Final = "embedding"
# pgvector builds HNSW indexes on `vector` columns of at most 2000 dimensions.
HNSW_MAX_DIMENSION: Final = 2000
OPCLASS: Final[dict[str, str]] = {
    "cosine": "vector_cosine_ops",
    "l2": "vector_l2_ops",
    "inner_product": "vector_ip_ops",
}
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
_LOCK_KEY: Final = "tenantry:vector"

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

    def connect(self) -> Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password,
            sslmode=self.sslmode,
            connect_timeout=10,
            application_name="tenantry-vector",
        )


def index_name(table: str) -> str:
    return check_identifier("vectorNamespaces.name", f"{table}_{EMBEDDING_COLUMN}_hnsw")


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


def _ident(*parts: str) -> sql.Identifier:
    return sql.Identifier(*parts)


def _q(template: LiteralString, *args: sql.Composable) -> sql.Composed:
    return sql.SQL(template).format(*args)


class PgVectorBackend:
    """:class:`~tenantry.data.backend.VectorBackend` on PostgreSQL with pgvector.

    ``connect`` opens an admin connection (a new one per operation; the context manager
    commits on success and rolls back on error, so each operation is one transaction).
    """

    kind = "pgvector"

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect

    # -- tenants -------------------------------------------------------------------------

    def ensure_tenant(self, store: TenantStore, password: str | None) -> None:
        check_store(store)
        verifier = scram_sha256_verifier(password) if password is not None else None
        with self._connect() as conn:
            self._lock(conn)
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
                    _q("CREATE ROLE {} LOGIN {} PASSWORD {}", role, attrs, sql.Literal(verifier))
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
                fixes = [sql.SQL(off) for col, off, _ in _ROLE_FLAGS if flags[col]]
                if not flags["rolcanlogin"]:
                    fixes.append(sql.SQL("LOGIN"))
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
            conn.execute(
                _q(
                    "ALTER ROLE {} IN DATABASE {} SET search_path = {}, {}",
                    role,
                    _ident(db),
                    schema,
                    _ident(EXTENSION_SCHEMA),
                )
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

    def inspect_tenant(self, store: TenantStore) -> TenantState:
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
        with self._connect() as conn:
            self._lock(conn)
            schema_exists = self._exists(
                conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", store.schema
            )
            comment = self._role_comment(conn, store.role)
            if comment is not None:
                self._revoke_everything(conn, store.role)
                conn.execute(_q("DROP ROLE {}", _ident(store.role)))
            if not schema_exists:
                return True
            tables = self._scalar(
                conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                "n.oid = c.relnamespace WHERE n.nspname = %s",
                store.schema,
            )
            if tables:
                return False  # retained namespaces keep the schema; nothing is lost
            conn.execute(_q("DROP SCHEMA {} RESTRICT", _ident(store.schema)))
            return True

    # -- namespaces ----------------------------------------------------------------------

    def ensure_namespace(self, spec: NamespaceSpec, *, allow_data_loss: bool = False) -> None:
        check_namespace(spec)
        store = spec.store
        table = _ident(store.schema, spec.name)
        with self._connect() as conn:
            self._lock(conn)
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
        with self._connect() as conn:
            self._lock(conn)
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

    def _role_flags(self, conn: Connection, role: str) -> dict[str, bool]:
        """pg_roles flags of ``role`` ({} when it does not exist)."""
        cols = [col for col, _, _ in _ROLE_FLAGS] + ["rolcanlogin"]
        query = _q(
            "SELECT {} FROM pg_roles WHERE rolname = %s",
            sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        )
        row = conn.execute(query, (role,)).fetchone()
        return {} if row is None else {c: bool(v) for c, v in zip(cols, row, strict=True)}

    def _revoke_everything(self, conn: Connection, role: str) -> None:
        """Revoke what ``role`` holds in this database so DROP ROLE can succeed.

        Explicit revokes instead of DROP OWNED: an RDS-style admin (CREATEROLE, not
        superuser) administers the role but does not have its privileges.
        """
        for schema, rel in conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace, aclexplode(c.relacl) g "
            "WHERE g.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s) "
            "GROUP BY 1, 2",
            (role,),
        ).fetchall():
            conn.execute(_q("REVOKE ALL ON TABLE {} FROM {}", _ident(schema, rel), _ident(role)))
        for (schema,) in conn.execute(
            "SELECT DISTINCT n.nspname FROM pg_namespace n, aclexplode(n.nspacl) g "
            "WHERE g.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s)",
            (role,),
        ).fetchall():
            conn.execute(_q("REVOKE ALL ON SCHEMA {} FROM {}", _ident(schema), _ident(role)))
        db = _ident(self._database(conn))
        conn.execute(_q("REVOKE ALL ON DATABASE {} FROM {}", db, _ident(role)))
        conn.execute(_q("ALTER ROLE {} IN DATABASE {} RESET ALL", _ident(role), db))

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
        return problems

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

    def _lock(self, conn: Connection) -> None:
        # Serializes concurrent providers (CREATE EXTENSION/ROLE IF NOT EXISTS races).
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY,))

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
        row = conn.execute(query, params or None).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _column(conn: Connection, query: LiteralString, *params: Any) -> list[str]:
        return [str(r[0]) for r in conn.execute(query, params or None).fetchall()]

    def _exists(self, conn: Connection, query: LiteralString, *params: Any) -> bool:
        return self._scalar(conn, query, *params) is not None


def _grants(rows: Iterable[tuple[Any, ...]], on: str) -> list[Grant]:
    return [Grant(on=on, grantee=str(r[0]), privilege=str(r[1])) for r in rows]


def _privilege(name: str) -> sql.Composable:
    return _PRIVILEGE_SQL.get(name, sql.SQL("ALL"))


def _grantee(g: Grant) -> sql.Composable:
    return sql.SQL("PUBLIC") if g.grantee == "PUBLIC" else _ident(g.grantee)
