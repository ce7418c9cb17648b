"""The dynamic providers' create/read/diff/update/delete against a real PostgreSQL + pgvector.

The engine is played by hand: ``create`` outputs become the ``olds`` of ``read``/``diff``/
``update``/``delete``; ``check`` gets the previous inputs. Every admin statement goes through
a recording connection, so tests can prove what ran (or that nothing did).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from tenantry.data.backend import DataLossError, NamespaceError, VectorBackend
from tenantry.data.names import IdentifierError
from tenantry.data.pgvector import PgVectorBackend
from tenantry.data.provider import (
    TenantStoreProvider,
    VectorNamespaceProvider,
    admin_connection,
)

from .pg import PgServer

pytestmark = pytest.mark.server


class RecordingConnection(psycopg.Connection[Any]):
    """A psycopg connection that records every statement it executes, as sent."""

    log: list[str] = []

    def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        text = query.as_string(self) if isinstance(query, sql.Composable) else str(query)
        RecordingConnection.log.append(text)
        return super().execute(query, params, **kw)


class Recorder:
    def __init__(self, pg: PgServer | None, lock_timeout_s: float = 10) -> None:
        self.pg = pg
        self.connects = 0
        self.lock_timeout_s = lock_timeout_s
        RecordingConnection.log = []

    @property
    def statements(self) -> list[str]:
        return RecordingConnection.log

    def factory(self, kind: str, admin: Mapping[str, Any]) -> VectorBackend:
        assert kind == "pgvector"
        a = admin_connection(admin)  # the provider's own parsing of the admin input

        def connect() -> psycopg.Connection[Any]:
            self.connects += 1
            return RecordingConnection.connect(
                host=a.host,
                port=a.port,
                dbname=a.dbname,
                user=a.user,
                password=a.password,
                sslmode=a.sslmode,
            )

        def connect_to(dbname: str) -> psycopg.Connection[Any]:
            self.connects += 1
            return RecordingConnection.connect(
                host=a.host,
                port=a.port,
                dbname=dbname,
                user=a.user,
                password=a.password,
                sslmode=a.sslmode,
            )

        return PgVectorBackend(connect, connect_to=connect_to, lock_timeout_s=self.lock_timeout_s)


@pytest.fixture
def rec(pg: PgServer) -> Iterator[Recorder]:
    yield Recorder(pg)


@pytest.fixture
def admin(pg: PgServer) -> dict[str, Any]:
    return asdict(pg.admin)


@pytest.fixture
def offline() -> tuple[Recorder, dict[str, Any]]:
    """A recorder and an admin input for a server that does not exist: nothing may connect."""
    return Recorder(None), {
        "host": "127.0.0.1",
        "port": 1,
        "dbname": "vectors",
        "user": "platform_admin",
        "password": "unused",
        "sslmode": "disable",
    }


LIMITS = {
    "connectionLimit": 5,
    "statementTimeoutMs": 30_000,
    "lockTimeoutMs": 5_000,
    "idleInTransactionSessionTimeoutMs": 60_000,
}


def store_props(admin: dict[str, Any], tenant: str, **limits: int) -> dict[str, Any]:
    return {
        "backend": "pgvector",
        "admin": admin,
        "tenant": tenant,
        "limits": {**LIMITS, **limits},
    }


def ns_props(
    admin: dict[str, Any],
    tenant: str,
    name: str = "docs",
    dimension: int = 4,
    metric: str = "cosine",
    **kw: Any,
) -> dict[str, Any]:
    return {
        **store_props(admin, tenant),
        "name": name,
        "dimension": dimension,
        "metric": metric,
        "retainOnDelete": True,
        "allowDataLoss": False,
        **kw,
    }


def as_admin(pg: PgServer, stmt: sql.Composable | str) -> list[tuple[Any, ...]]:
    with pg.connect(pg.admin.user, pg.admin.password, autocommit=True) as conn:
        cur = conn.execute(stmt)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def rows(pg: PgServer, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in as_admin(
            pg, sql.SQL("SELECT id FROM {} ORDER BY id").format(sql.Identifier(schema, table))
        )
    ]


def insert(pg: PgServer, schema: str, table: str, dim: int, *ids: str) -> None:
    for i in ids:
        as_admin(
            pg,
            sql.SQL("INSERT INTO {} (id, embedding) VALUES ({}, {})").format(
                sql.Identifier(schema, table),
                sql.Literal(i),
                sql.Literal("[" + ",".join(["1"] * dim) + "]"),
            ),
        )


Tenant = Callable[[str], dict[str, Any]]


@pytest.fixture
def tenant(rec: Recorder, admin: dict[str, Any]) -> Iterator[Tenant]:
    """Creates a tenant store through the provider; deletes it (and its tables) afterwards."""
    made: list[dict[str, Any]] = []

    def make(name: str) -> dict[str, Any]:
        p = TenantStoreProvider(rec.factory)
        outs = p.create(store_props(admin, name)).outs
        assert outs is not None
        made.append(outs)
        return outs

    yield make
    assert rec.pg is not None
    for outs in made:
        as_admin(
            rec.pg,
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(outs["schema"])),
        )
        TenantStoreProvider(rec.factory).delete("", outs)


def test_create_is_idempotent_and_adopts_existing(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    tenant("lc-idem")
    p = VectorNamespaceProvider(rec.factory)
    first = p.create(ns_props(admin, "lc-idem"))
    assert first.id == "vectors/tenant_lc_idem.docs"
    assert first.outs is not None and first.outs["drift"] == []
    insert(pg, "tenant_lc_idem", "docs", 4, "a", "b")
    again = p.create(ns_props(admin, "lc-idem"))  # e.g. after a lost state file
    assert again.id == first.id and again.outs == first.outs
    assert rows(pg, "tenant_lc_idem", "docs") == ["a", "b"]
    # Through the engine every number arrives as a float (protobuf Struct).
    floats = {
        **ns_props(admin, "lc-idem", dimension=4.0),
        "admin": {**admin, "port": float(admin["port"])},
    }
    assert p.check({}, floats).failures == []
    via_engine = p.create(floats)
    assert via_engine.id == first.id and via_engine.outs is not None
    assert (via_engine.outs["dimension"], via_engine.outs["drift"]) == (4, [])
    updated = p.update(first.id, first.outs, ns_props(admin, "lc-idem"))
    assert updated.outs == first.outs
    diff = p.diff(first.id, first.outs, ns_props(admin, "lc-idem"))
    assert (diff.changes, diff.replaces) == (False, [])


def test_read_detects_missing_table_and_update_restores_it(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    tenant("lc-missing")
    p = VectorNamespaceProvider(rec.factory)
    created = p.create(ns_props(admin, "lc-missing"))
    assert created.outs is not None
    as_admin(pg, "DROP TABLE tenant_lc_missing.docs")
    read = p.read(created.id, created.outs)
    assert read.id == created.id and read.outs is not None
    assert read.outs["drift"] == ["table tenant_lc_missing.docs is missing"]
    diff = p.diff(created.id, read.outs, ns_props(admin, "lc-missing"))
    assert (diff.changes, diff.replaces) == (True, [])
    fixed = p.update(created.id, read.outs, ns_props(admin, "lc-missing"))
    assert fixed.outs is not None and fixed.outs["drift"] == []
    assert p.read(created.id, fixed.outs).outs == fixed.outs


def test_read_detects_extra_grants_and_update_revokes_them(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    victim, intruder = tenant("lc-victim"), tenant("lc-intruder")
    p = VectorNamespaceProvider(rec.factory)
    created = p.create(ns_props(admin, "lc-victim"))
    assert created.outs is not None
    insert(pg, "tenant_lc_victim", "docs", 4, "secret")
    as_admin(pg, "GRANT USAGE ON SCHEMA tenant_lc_victim TO tenant_lc_intruder")
    as_admin(pg, "GRANT SELECT, TRUNCATE ON tenant_lc_victim.docs TO tenant_lc_intruder")
    as_admin(pg, "GRANT SELECT ON tenant_lc_victim.docs TO PUBLIC")
    with pg.connect(intruder["role"], intruder["password"]) as conn:  # the drift is real
        assert conn.execute("SELECT id FROM tenant_lc_victim.docs").fetchall() == [("secret",)]
    read = p.read(created.id, created.outs)
    assert read.outs is not None
    assert read.outs["drift"] == [
        "tenant_lc_victim.docs: extra grant SELECT on table to PUBLIC",
        "tenant_lc_victim.docs: extra grant SELECT on table to tenant_lc_intruder",
        "tenant_lc_victim.docs: extra grant TRUNCATE on table to tenant_lc_intruder",
    ]
    store = TenantStoreProvider(rec.factory)
    store_read = store.read("", victim)
    assert store_read.outs is not None
    assert store_read.outs["drift"] == [
        "schema tenant_lc_victim: extra grant USAGE on schema to tenant_lc_intruder"
    ]
    assert p.diff(created.id, read.outs, ns_props(admin, "lc-victim")).changes is True
    assert store.diff("", store_read.outs, store_props(admin, "lc-victim")).changes is True
    fixed = p.update(created.id, read.outs, ns_props(admin, "lc-victim"))
    store_fixed = store.update("", store_read.outs, store_props(admin, "lc-victim"))
    assert fixed.outs is not None and fixed.outs["drift"] == []
    assert store_fixed.outs is not None and store_fixed.outs["drift"] == []
    assert store_fixed.outs["password"] == victim["password"]  # not rotated by a repair
    with (
        pg.connect(intruder["role"], intruder["password"]) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT id FROM tenant_lc_victim.docs")
    with pg.connect(victim["role"], victim["password"]) as conn:
        assert conn.execute("SELECT id FROM docs").fetchall() == [("secret",)]


def test_store_read_detects_role_drift(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    outs = tenant("lc-roledrift")
    other = tenant("lc-other")
    as_admin(pg, "ALTER ROLE tenant_lc_roledrift CREATEDB NOLOGIN")  # a hand-made change
    as_admin(pg, "GRANT tenant_lc_other TO tenant_lc_roledrift")
    store = TenantStoreProvider(rec.factory)
    read = store.read("", outs)
    assert read.outs is not None
    assert read.outs["drift"] == [
        "role tenant_lc_roledrift cannot log in",
        "role tenant_lc_roledrift has CREATEDB",
        "role tenant_lc_roledrift is a member of tenant_lc_other",
    ]
    fixed = store.update("", read.outs, store_props(admin, "lc-roledrift"))
    assert fixed.outs is not None and fixed.outs["drift"] == []
    with (
        pg.connect(outs["role"], outs["password"]) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(other["role"])))


def test_drift_the_admin_cannot_repair_fails_loudly(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    outs = tenant("lc-super")
    tenant("lc-super-other")
    with pg.superuser() as conn:  # granted by a superuser: the admin login cannot revoke it
        conn.execute("GRANT tenant_lc_super_other TO tenant_lc_super")
    store = TenantStoreProvider(rec.factory)
    read = store.read("", outs)
    assert read.outs is not None
    assert read.outs["drift"] == ["role tenant_lc_super is a member of tenant_lc_super_other"]
    with pytest.raises(NamespaceError, match="still a member of tenant_lc_super_other"):
        store.update("", read.outs, store_props(admin, "lc-super"))
    with pg.superuser() as conn:
        conn.execute("REVOKE tenant_lc_super_other FROM tenant_lc_super")


def test_dimension_change_needs_opt_in_and_then_replaces(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    tenant("lc-dim")
    p = VectorNamespaceProvider(rec.factory)
    old_in = ns_props(admin, "lc-dim", dimension=4)
    created = p.create(old_in)
    assert created.outs is not None
    insert(pg, "tenant_lc_dim", "docs", 4, "keep-me")
    new_in = ns_props(admin, "lc-dim", dimension=8)

    check = p.check(old_in, new_in)
    assert [f.property for f in check.failures] == ["dimension"]
    assert "dimension 4 -> 8 replaces the table and destroys its data" in check.failures[0].reason
    assert "replace_namespaces" in check.failures[0].reason
    with pytest.raises(DataLossError, match="dimension 4 -> 8"):
        p.diff(created.id, created.outs, new_in)
    # Even a create that bypassed check/diff refuses to destroy the table.
    with pytest.raises(DataLossError, match="has dimension 4, declared 8"):
        p.create(new_in)
    assert rows(pg, "tenant_lc_dim", "docs") == ["keep-me"]

    approved = {**new_in, "allowDataLoss": True}
    assert p.check(old_in, approved).failures == []
    diff = p.diff(created.id, created.outs, approved)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, ["dimension"], True)
    p.delete(created.id, created.outs)  # engine: delete first (retained: a no-op) ...
    replaced = p.create(approved)  # ... then create, which rebuilds the table
    assert replaced.outs is not None
    assert (replaced.outs["dimension"], replaced.outs["drift"]) == (8, [])
    assert rows(pg, "tenant_lc_dim", "docs") == []


def test_metric_change_needs_opt_in_and_rebuilds_the_index(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    tenant("lc-metric")
    p = VectorNamespaceProvider(rec.factory)
    old_in = ns_props(admin, "lc-metric", metric="cosine")
    created = p.create(old_in)
    assert created.outs is not None
    insert(pg, "tenant_lc_metric", "docs", 4, "kept")
    new_in = ns_props(admin, "lc-metric", metric="inner_product")
    assert [f.property for f in p.check(old_in, new_in).failures] == ["metric"]
    with pytest.raises(DataLossError, match="metric 'cosine' -> 'inner_product'"):
        p.diff(created.id, created.outs, new_in)
    approved = {**new_in, "allowDataLoss": True}
    assert p.diff(created.id, created.outs, approved).replaces == ["metric"]
    p.delete(created.id, created.outs)
    replaced = p.create(approved)
    assert replaced.outs is not None and replaced.outs["metric"] == "inner_product"
    assert replaced.outs["drift"] == []
    opclass = as_admin(
        pg,
        "SELECT opc.opcname FROM pg_index i JOIN pg_opclass opc ON "
        "opc.oid = i.indclass[0] WHERE i.indexrelid = "
        "'tenant_lc_metric.docs_embedding_hnsw'::regclass",
    )
    assert opclass == [("vector_ip_ops",)]
    assert rows(pg, "tenant_lc_metric", "docs") == ["kept"]  # only the index was rebuilt


def test_dimension_changed_behind_our_back_is_drift_needing_opt_in(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    tenant("lc-alter")
    p = VectorNamespaceProvider(rec.factory)
    created = p.create(ns_props(admin, "lc-alter", dimension=4))
    assert created.outs is not None
    as_admin(
        pg, "ALTER TABLE tenant_lc_alter.docs ALTER COLUMN embedding TYPE extensions.vector(6)"
    )
    read = p.read(created.id, created.outs)
    assert read.outs is not None and read.outs["dimension"] == 6
    assert read.outs["drift"] == ["tenant_lc_alter.docs: dimension is 6, declared 4"]
    with pytest.raises(DataLossError, match="dimension 6 -> 4"):
        p.diff(created.id, read.outs, ns_props(admin, "lc-alter", dimension=4))


def test_delete_retains_data_unless_the_tenant_opted_out(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    tenant("lc-retain")
    p = VectorNamespaceProvider(rec.factory)
    kept = p.create(ns_props(admin, "lc-retain", name="kept"))
    dropped = p.create(ns_props(admin, "lc-retain", name="dropped", retainOnDelete=False))
    assert kept.outs is not None and dropped.outs is not None
    assert kept.outs["retainOnDelete"] is True
    insert(pg, "tenant_lc_retain", "kept", 4, "x")
    insert(pg, "tenant_lc_retain", "dropped", 4, "y")
    p.delete(kept.id, kept.outs)
    p.delete(dropped.id, dropped.outs)
    p.delete(dropped.id, dropped.outs)  # idempotent
    assert rows(pg, "tenant_lc_retain", "kept") == ["x"]
    gone = p.read(dropped.id, dropped.outs).outs
    assert gone is not None and gone["drift"] == ["table tenant_lc_retain.dropped is missing"]
    back = p.create(ns_props(admin, "lc-retain", name="kept"))  # re-adding adopts the data
    assert back.outs is not None and back.outs["drift"] == []
    assert rows(pg, "tenant_lc_retain", "kept") == ["x"]


def test_store_delete_drops_the_role_and_keeps_retained_tables(
    pg: PgServer, rec: Recorder, admin: dict[str, Any]
) -> None:
    s, p = TenantStoreProvider(rec.factory), VectorNamespaceProvider(rec.factory)
    outs = s.create(store_props(admin, "lc-gone")).outs
    assert outs is not None
    ns = p.create(ns_props(admin, "lc-gone"))
    insert(pg, "tenant_lc_gone", "docs", 4, "z")
    s.delete("", outs)
    s.delete("", outs)  # idempotent
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg.connect(outs["role"], outs["password"])
    assert rows(pg, "tenant_lc_gone", "docs") == ["z"]
    again = s.create(store_props(admin, "lc-gone")).outs  # comes back with a new password
    assert again is not None and again["password"] != outs["password"]
    assert p.create(ns_props(admin, "lc-gone")).id == ns.id
    with pg.connect(again["role"], again["password"]) as conn:
        assert conn.execute("SELECT id FROM docs").fetchall() == [("z",)]
    as_admin(pg, "DROP TABLE tenant_lc_gone.docs")
    s.delete("", again)
    assert as_admin(pg, "SELECT 1 FROM pg_namespace WHERE nspname = 'tenant_lc_gone'") == []


def test_password_is_generated_and_never_sent_in_clear(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], tenant: Tenant
) -> None:
    outs = tenant("lc-secret")
    assert len(outs["password"]) == 43
    assert rec.statements and not any(outs["password"] in s for s in rec.statements)
    assert any("PASSWORD 'SCRAM-SHA-256$4096:" in s for s in rec.statements)
    with pg.connect(outs["role"], outs["password"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("tenant_lc_secret",)


HOSTILE = [
    'docs"; DROP TABLE tenant_acme.docs; --',
    "docs; DROP SCHEMA extensions CASCADE",
    "a'b",
    "döcs",  # Unicode letter
    "\uff44\uff4f\uff43\uff53",  # fullwidth look-alikes of "docs"
    "docs\n",
    "Docs",
    "1docs",
    "",
    "x" * 64,
    "pg_catalog",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_namespace_names_are_rejected_before_any_sql(
    offline: tuple[Recorder, dict[str, Any]], value: str
) -> None:
    rec, admin = offline
    p = VectorNamespaceProvider(rec.factory)
    props = ns_props(admin, "acme", name=value)
    failures = p.check({}, props).failures
    assert [f.property for f in failures] == ["vectorNamespaces.name"]
    assert "accepted: 1-63 characters: a lower-case ASCII letter" in failures[0].reason
    for call in (
        lambda: p.create(props),
        lambda: p.read("x", props),
        lambda: p.update("x", props, props),
        lambda: p.delete("x", {**props, "retainOnDelete": False}),
    ):
        with pytest.raises(IdentifierError) as exc:
            call()
        assert exc.value.field == "vectorNamespaces.name"
    assert (rec.connects, rec.statements) == (0, [])


@pytest.mark.parametrize(
    "value",
    ['acme"; DROP ROLE pgadmin; --', "acme;", "äcme", "ACME", "acme_corp", "-acme", "a" * 60],
)
def test_hostile_tenant_names_are_rejected_before_any_sql(
    offline: tuple[Recorder, dict[str, Any]], value: str
) -> None:
    rec, admin = offline
    s, p = TenantStoreProvider(rec.factory), VectorNamespaceProvider(rec.factory)
    assert [f.property for f in s.check({}, store_props(admin, value)).failures] == ["tenant"]
    assert [f.property for f in p.check({}, ns_props(admin, value)).failures] == ["tenant"]
    for call in (
        lambda: s.create(store_props(admin, value)),
        lambda: s.delete("x", store_props(admin, value)),
        lambda: p.create(ns_props(admin, value)),
    ):
        with pytest.raises(IdentifierError, match=r"^tenant: "):
            call()
    assert (rec.connects, rec.statements) == (0, [])


def test_invalid_dimension_metric_and_backend_fail_check(
    offline: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, admin = offline
    p = VectorNamespaceProvider(rec.factory)
    cases = {
        "dimension": ns_props(admin, "acme", dimension=4096),  # > pgvector HNSW limit 2000
        "metric": ns_props(admin, "acme", metric="dot"),
        "backend": {**ns_props(admin, "acme"), "backend": "milvus"},
    }
    for field, props in cases.items():
        failures = p.check({}, props).failures
        assert [f.property for f in failures] == [field], failures
        assert "accepted: " in failures[0].reason
    assert (rec.connects, rec.statements) == (0, [])
