"""N x N isolation matrix over the example tenants, on a real PostgreSQL + pgvector.

Each example tenant gets its store and namespaces through the pgvector backend, exactly as the
provider creates them. Then every tenant's role, logged in with its own password over TCP,
writes and queries its own namespaces, and tries every cross-tenant SELECT, INSERT, UPDATE,
DELETE, TRUNCATE, DDL (CREATE TABLE, ALTER TABLE, DROP TABLE, CREATE INDEX) and GRANT, and
SET ROLE: each must fail with SQLSTATE 42501 (insufficient_privilege).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from tenantry.data.backend import NamespaceSpec, TenantStore
from tenantry.data.pgvector import PgVectorBackend
from tenantry.data.store import role_limits
from tenantry.spec import load_platform, load_registry

from .conftest import REPORTS
from .pg import PgServer

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]
TENANTS = ("acme", "globex", "initech", "umbrella")


@dataclass
class Tenant:
    name: str
    store: TenantStore
    password: str
    namespaces: list[NamespaceSpec]


def vec(dim: int, hot: int = 0) -> str:
    return "[" + ",".join("1" if i == hot else "0" for i in range(dim)) + "]"


@pytest.fixture(scope="module")
def tenants(pg: PgServer) -> dict[str, Tenant]:
    reg = load_registry([ROOT / "tenants"], load_platform(ROOT / "stacks"))
    backend = PgVectorBackend(pg.admin.connect)
    out: dict[str, Tenant] = {}
    for name in TENANTS:
        t = reg.tenants[name]
        store = TenantStore.for_tenant(t.name)
        password = secrets.token_urlsafe(24)
        backend.ensure_tenant(store, password, role_limits(t.quotas.vector_db))
        specs = [
            NamespaceSpec(store, ns.name, ns.dimension, ns.metric) for ns in t.vector_namespaces
        ]
        for spec in specs:
            backend.ensure_namespace(spec)
            # The targets exist as declared, so a denial below is a permission, not a typo.
            state = backend.inspect_namespace(spec)
            assert (state.exists, state.dimension, state.metric) == (
                True,
                spec.dimension,
                spec.metric,
            )
            assert state.drift(spec) == []
        out[name] = Tenant(name, store, password, specs)
    assert len(out) >= 3
    return out


@pytest.fixture(scope="module")
def login(pg: PgServer, tenants: dict[str, Tenant]) -> Iterator[Callable[[str], Any]]:
    conns: dict[str, psycopg.Connection[Any]] = {}

    def get(name: str) -> psycopg.Connection[Any]:
        if name not in conns:
            t = tenants[name]
            conns[name] = pg.connect(t.store.role, t.password, autocommit=True)
        return conns[name]

    yield get
    for c in conns.values():
        c.close()


def own_ops(conn: psycopg.Connection[Any], ns: NamespaceSpec) -> None:
    """Write and query one's own namespace: insert, nearest-neighbour search, update, delete."""
    table = sql.Identifier(ns.store.schema, ns.name)
    for i in range(3):
        conn.execute(
            sql.SQL("INSERT INTO {} (id, embedding, metadata) VALUES (%s, %s, %s)").format(table),
            (f"doc{i}", vec(ns.dimension, i), f'{{"n": {i}}}'),
        )
    op = {"cosine": "<=>", "l2": "<->", "inner_product": "<#>"}[ns.metric]
    got = conn.execute(
        sql.SQL("SELECT id FROM {} ORDER BY embedding {} %s::vector LIMIT 1").format(
            table, sql.SQL(op)
        ),
        (vec(ns.dimension, 1),),
    ).fetchone()
    assert got == ("doc1",)
    conn.execute(sql.SQL("UPDATE {} SET metadata = '{{\"n\": 9}}' WHERE id = 'doc0'").format(table))
    conn.execute(sql.SQL("DELETE FROM {}").format(table))


def cross_attempts(actor: Tenant, target: NamespaceSpec) -> dict[str, sql.Composed]:
    t = sql.Identifier(target.store.schema, target.name)
    s = sql.Identifier(target.store.schema)
    me = sql.Identifier(actor.store.role)
    v = sql.Literal(vec(target.dimension))
    return {
        "SELECT": sql.SQL("SELECT * FROM {}").format(t),
        "INSERT": sql.SQL("INSERT INTO {} (id, embedding) VALUES ('x', {})").format(t, v),
        "UPDATE": sql.SQL("UPDATE {} SET metadata = '{{}}'").format(t),
        "DELETE": sql.SQL("DELETE FROM {}").format(t),
        "TRUNCATE": sql.SQL("TRUNCATE {}").format(t),
        "CREATE TABLE": sql.SQL("CREATE TABLE {} (x int)").format(
            sql.Identifier(target.store.schema, "intruder")
        ),
        "ALTER TABLE": sql.SQL("ALTER TABLE {} ADD COLUMN leak text").format(t),
        "DROP TABLE": sql.SQL("DROP TABLE {}").format(t),
        "CREATE INDEX": sql.SQL("CREATE INDEX ON {} (id)").format(t),
        "GRANT table": sql.SQL("GRANT SELECT ON {} TO {}").format(t, me),
        "GRANT schema": sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, me),
        "SET ROLE": sql.SQL("SET ROLE {}").format(sql.Identifier(target.store.role)),
    }


def test_isolation_matrix(tenants: dict[str, Tenant], login: Callable[[str], Any]) -> None:
    names = list(tenants)
    cells: dict[tuple[str, str], str] = {}
    failures: list[str] = []
    for a in names:
        conn = login(a)
        for b in names:
            if a == b:
                for ns in tenants[b].namespaces:
                    own_ops(conn, ns)
                cells[a, b] = f"rw {len(tenants[b].namespaces)}ns"
                continue
            denied = total = 0
            for ns in tenants[b].namespaces:
                for op, stmt in cross_attempts(tenants[a], ns).items():
                    total += 1
                    try:
                        conn.execute(stmt)
                    except errors.InsufficientPrivilege:
                        denied += 1
                    except psycopg.Error as exc:
                        failures.append(f"{a}->{b}.{ns.name} {op}: {exc.sqlstate} {exc}")
                    else:
                        failures.append(f"{a}->{b}.{ns.name} {op}: ALLOWED")
            cells[a, b] = f"42501 {denied}/{total}"
    ops = ", ".join(cross_attempts(tenants[names[0]], tenants[names[1]].namespaces[0]))
    width = max(len(n) for n in names) + 2
    col = max(len(c) for c in cells.values()) + 2
    lines = [
        f"actor \\ target ({len(names)} x {len(names)}); off-diagonal = statements denied "
        f"with SQLSTATE 42501 per namespace x [{ops}]",
        " " * width + "".join(n.ljust(col) for n in names),
    ]
    lines += [a.ljust(width) + "".join(cells[a, b].ljust(col) for b in names) for a in names]
    text = "\n".join(lines)
    print("\n" + text)
    REPORTS.append(text)
    assert not failures, "\n".join(failures)
    assert all(cells[a, a].startswith("rw") for a in names)


def test_tenants_cannot_touch_the_shared_extension(
    tenants: dict[str, Tenant], login: Callable[[str], Any]
) -> None:
    for name in tenants:
        conn = login(name)
        for stmt in (
            "DROP EXTENSION vector",
            "ALTER EXTENSION vector UPDATE",
            "CREATE TABLE extensions.x (id int)",
            "CREATE TABLE public.x (id int)",
            "CREATE SCHEMA mine",
            "CREATE TEMP TABLE t (id int)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(stmt)


def test_own_namespace_ddl_and_sharing_are_refused(
    tenants: dict[str, Tenant], login: Callable[[str], Any]
) -> None:
    """Tenants own no objects: they cannot reshape their tables or share them with others."""
    acme, globex = tenants["acme"], tenants["globex"]
    conn = login("acme")
    docs = sql.Identifier(acme.store.schema, acme.namespaces[0].name)
    for stmt in (
        sql.SQL("DROP TABLE {}").format(docs),
        sql.SQL("ALTER TABLE {} ADD COLUMN x int").format(docs),
        sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(acme.store.schema, "own_extra")),
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(stmt)
    # Holding SELECT without GRANT OPTION: PostgreSQL only warns, so prove nothing leaked.
    conn.execute(
        sql.SQL("GRANT SELECT ON {} TO {}").format(docs, sql.Identifier(globex.store.role))
    )
    with pytest.raises(errors.InsufficientPrivilege):
        login("globex").execute(sql.SQL("SELECT * FROM {}").format(docs))


def test_wrong_password_is_refused(pg: PgServer, tenants: dict[str, Tenant]) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg.connect(tenants["acme"].store.role, tenants["globex"].password)
