"""Per-tenant limits on the shared vector database, on the real PostgreSQL (tests/data/pg.py).

What one tenant's role can do to the database everyone shares, and what stops it: the
provisioning lock it cannot take or hold (the held-lock attack on the advisory lock the
provider used before, reproduced first), its connection limit, its statement, lock and
idle-in-transaction timeouts, its own ``ALTER ROLE ... SET`` (drift, corrected), and the
store deletion that has to get past everything the role left behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from tenantry.data.backend import NamespaceError, ProvisioningBlocked
from tenantry.data.pgcontrol import CONTROL_SCHEMA, LOCK_TABLE
from tenantry.data.provider import TenantStoreProvider, VectorNamespaceProvider

from .conftest import REPORTS
from .pg import PgServer
from .test_provider_lifecycle import LIMITS, Recorder, as_admin, insert, ns_props, store_props

pytestmark = pytest.mark.server

OLD_ADVISORY_KEY = "tenantry:vector"  # the key the provider locked before this change
LOCK_WAIT_S = 2.0  # the providers' lock timeout in these tests


@pytest.fixture
def rec(pg: PgServer) -> Recorder:
    return Recorder(pg, lock_timeout_s=LOCK_WAIT_S)


@pytest.fixture
def admin(pg: PgServer) -> dict[str, Any]:
    return asdict(pg.admin)


class Stores:
    """Creates stores through the provider and deletes whatever is left afterwards."""

    def __init__(self, pg: PgServer, rec: Recorder, admin: dict[str, Any]) -> None:
        self.pg, self.rec, self.admin = pg, rec, admin
        self.made: list[dict[str, Any]] = []

    def create(self, tenant: str, **limits: int) -> dict[str, Any]:
        outs = (
            TenantStoreProvider(self.rec.factory)
            .create(store_props(self.admin, tenant, **limits))
            .outs
        )
        assert outs is not None and outs["drift"] == []
        self.made.append(outs)
        return outs

    def login(self, outs: dict[str, Any], dbname: str = "vectors", **kw: Any) -> Any:
        return self.pg.connect(outs["role"], outs["password"], dbname, **kw)

    def cleanup(self) -> None:
        for outs in self.made:
            as_admin(
                self.pg,
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(outs["schema"])),
            )
            TenantStoreProvider(self.rec.factory).delete("", outs)


@pytest.fixture
def stores(pg: PgServer, rec: Recorder, admin: dict[str, Any]) -> Iterator[Stores]:
    s = Stores(pg, rec, admin)
    yield s
    s.cleanup()


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None)


# -- the provisioning lock -------------------------------------------------------------


def test_held_lock_attack_no_longer_blocks_another_tenants_provisioning(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], stores: Stores
) -> None:
    attacker = stores.create("lim-attacker")
    lock_oid = as_admin(
        pg,
        f"SELECT '{CONTROL_SCHEMA}.{LOCK_TABLE}'::regclass::oid",
    )[0][0]
    with stores.login(attacker, autocommit=True) as hold, stores.login(attacker) as tx:
        # 1. The attack, as it was: any role may take the provider's old advisory key and hold
        #    it for as long as its session lives; a provider waiting on that key is stuck.
        hold.execute("SELECT pg_advisory_lock(hashtext(%s))", (OLD_ADVISORY_KEY,))
        with pg.connect(pg.admin.user, pg.admin.password) as old_provider:
            old_provider.execute("SET lock_timeout = '500ms'")
            with pytest.raises(errors.LockNotAvailable):
                old_provider.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (OLD_ADVISORY_KEY,)
                )
        # 2. The provisioning lock now is a table lock in a schema the tenant cannot use ...
        for stmt in (
            f"LOCK TABLE {CONTROL_SCHEMA}.{LOCK_TABLE} IN ACCESS SHARE MODE",
            f"SELECT * FROM {CONTROL_SCHEMA}.{LOCK_TABLE}",
            f"SELECT '{CONTROL_SCHEMA}.{LOCK_TABLE}'::regclass",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                tx.execute(stmt)  # type: ignore[arg-type]
            tx.rollback()
        # ... functions granted to PUBLIC open it by OID (found in pg_class), but only for the
        # call and in ACCESS SHARE mode: nothing stays held ...
        tx.execute("SELECT pg_relation_size(%s::oid::regclass)", (lock_oid,))
        held = as_admin(
            pg,
            sql.SQL(
                "SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.relation = {} AND a.usename = {}"
            ).format(sql.Literal(lock_oid), sql.Literal(attacker["role"])),
        )
        assert held == []
        # ... and ACCESS SHARE, held as long as one likes, does not conflict with the
        # provider's EXCLUSIVE mode (shown with a session that may hold it: a superuser's).
        shared = pg.superuser()
        shared.autocommit = False
        shared.execute(f"LOCK TABLE {CONTROL_SCHEMA}.{LOCK_TABLE} IN ACCESS SHARE MODE")
        # 3. While the attacker holds both, another tenant's provisioning goes through.
        start = time.monotonic()
        victim = stores.create("lim-victim")
        ns = VectorNamespaceProvider(rec.factory).create(ns_props(admin, "lim-victim"))
        elapsed = time.monotonic() - start
        assert ns.outs is not None and ns.outs["drift"] == []
        assert elapsed < LOCK_WAIT_S, f"provisioning waited {elapsed:.2f} s"
        with stores.login(victim) as conn:
            assert conn.execute("SELECT count(*) FROM docs").fetchone() == (0,)
        shared.rollback()
        shared.close()
    REPORTS.append(
        "held-lock attack: a tenant holding the old advisory key blocks an advisory-lock "
        "provider (LockNotAvailable after 0.5 s); with the table lock, another tenant's "
        f"store + namespace were provisioned in {elapsed:.2f} s while the attacker held the "
        "advisory key (and another session ACCESS SHARE on the lock table)"
    )


def test_a_lock_held_too_long_fails_with_its_holder_named_and_changes_nothing(
    pg: PgServer, rec: Recorder, admin: dict[str, Any]
) -> None:
    TenantStoreProvider(rec.factory).create(store_props(admin, "lim-warmup"))  # lock table
    with pg.superuser() as su:
        su.autocommit = False
        su.execute(f"LOCK TABLE {CONTROL_SCHEMA}.{LOCK_TABLE} IN EXCLUSIVE MODE")
        pid = su.info.backend_pid
        start = time.monotonic()
        with pytest.raises(ProvisioningBlocked) as exc:
            TenantStoreProvider(rec.factory).create(store_props(admin, "lim-blocked"))
        waited = time.monotonic() - start
        su.rollback()
    assert LOCK_WAIT_S <= waited < LOCK_WAIT_S + 2
    message = str(exc.value)
    assert f"waited more than {LOCK_WAIT_S:g} s for a lock" in message
    assert f"pid {pid} (role pgadmin) holds ExclusiveLock on {CONTROL_SCHEMA}.{LOCK_TABLE}" in (
        message
    )
    assert "nothing was changed" in message
    assert as_admin(pg, "SELECT 1 FROM pg_roles WHERE rolname = 'tenant_lim_blocked'") == []
    TenantStoreProvider(rec.factory).delete("", store_props(admin, "lim-warmup"))


def test_tenant_roles_have_no_right_on_the_control_schema_and_grants_are_drift(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], stores: Stores
) -> None:
    outs = stores.create("lim-control")
    as_admin(pg, f"GRANT USAGE ON SCHEMA {CONTROL_SCHEMA} TO tenant_lim_control")
    as_admin(pg, f"GRANT UPDATE ON {CONTROL_SCHEMA}.{LOCK_TABLE} TO PUBLIC")
    read = TenantStoreProvider(rec.factory).read("", outs).outs
    assert read is not None
    assert read["drift"] == [
        f"schema {CONTROL_SCHEMA}: grant USAGE to tenant_lim_control",
        f"table {CONTROL_SCHEMA}.{LOCK_TABLE}: grant UPDATE to PUBLIC",
    ]
    fixed = TenantStoreProvider(rec.factory).update("", read, store_props(admin, "lim-control"))
    assert fixed.outs is not None and fixed.outs["drift"] == []


# -- what the role's limits do to its sessions -------------------------------------------


def test_a_tenant_exceeding_its_connection_limit_is_refused(stores: Stores) -> None:
    outs = stores.create("lim-conns", connectionLimit=2)
    first, second = stores.login(outs), stores.login(outs)
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            stores.login(outs)
    finally:
        first.close()
        second.close()
    with stores.login(outs) as again:  # a slot freed is a slot usable
        assert again.execute("SELECT 1").fetchone() == (1,)
    with stores.login(outs) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("ALTER ROLE tenant_lim_conns CONNECTION LIMIT -1")  # not its own to lift


def test_a_long_statement_is_killed_by_its_timeout(stores: Stores) -> None:
    outs = stores.create("lim-stmt", statementTimeoutMs=1000)
    with stores.login(outs) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("1s",)
        start = time.monotonic()
        with pytest.raises(errors.QueryCanceled, match="statement timeout") as exc:
            conn.execute("SELECT pg_sleep(10)")
        elapsed = time.monotonic() - start
    assert sqlstate(exc.value) == "57014"
    assert 0.9 < elapsed < 5
    REPORTS.append(f"statement timeout 1 s: pg_sleep(10) cancelled after {elapsed:.2f} s")


def test_a_lock_wait_is_cancelled_by_the_lock_timeout(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], stores: Stores
) -> None:
    outs = stores.create("lim-lockwait", lockTimeoutMs=1000)
    VectorNamespaceProvider(rec.factory).create(ns_props(admin, "lim-lockwait"))
    insert(pg, outs["schema"], "docs", 4, "row")
    with stores.login(outs) as holder, stores.login(outs) as waiter:
        holder.execute("UPDATE docs SET metadata = '{\"by\": 1}' WHERE id = 'row'")
        start = time.monotonic()
        with pytest.raises(errors.LockNotAvailable, match="lock timeout"):
            waiter.execute("UPDATE docs SET metadata = '{\"by\": 2}' WHERE id = 'row'")
        elapsed = time.monotonic() - start
        holder.rollback()
    assert 0.9 < elapsed < 5


def test_an_idle_in_transaction_session_is_terminated(pg: PgServer, stores: Stores) -> None:
    outs = stores.create("lim-idle", idleInTransactionSessionTimeoutMs=1000)
    conn = stores.login(outs)
    try:
        pid = conn.info.backend_pid
        conn.execute("SELECT 1")  # opens a transaction and leaves it open
        time.sleep(2)
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("SELECT 1")
        assert sqlstate(exc.value) == "25P03", exc.value
        assert "idle-in-transaction timeout" in str(exc.value)
    finally:
        conn.close()
    alive = as_admin(pg, sql.SQL("SELECT 1 FROM pg_stat_activity WHERE pid = {}").format(pid))
    assert alive == []


# -- role settings under drift detection -------------------------------------------------


def test_a_tenant_persisting_its_own_settings_is_detected_and_corrected(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], stores: Stores
) -> None:
    outs = stores.create("lim-drift")
    role = outs["role"]
    with stores.login(outs, autocommit=True) as conn:  # what any tenant may run on itself
        conn.execute(f"ALTER ROLE {role} SET statement_timeout = 0")
        conn.execute(f"ALTER ROLE {role} IN DATABASE vectors SET lock_timeout = 0")
        conn.execute(f"ALTER ROLE {role} IN DATABASE vectors SET work_mem = '1GB'")
        conn.execute(f"ALTER ROLE {role} IN DATABASE postgres SET statement_timeout = 0")
    with stores.login(outs) as conn:  # the drift is real: a new session runs without limits
        assert conn.execute("SHOW lock_timeout").fetchone() == ("0",)
    with pg.superuser() as su:  # and one the admin login would have to repair
        su.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
    store = TenantStoreProvider(rec.factory)
    read = store.read("", outs).outs
    assert read is not None
    assert read["drift"] == [
        f"role {role}: connection limit is -1, declared {LIMITS['connectionLimit']}",
        f"role {role}: setting statement_timeout=0 in every database",
        f"role {role} in database postgres: setting statement_timeout=0",
        f"role {role} in database vectors: lock_timeout is 0, declared {LIMITS['lockTimeoutMs']}",
        f"role {role} in database vectors: extra setting work_mem=1GB",
    ]
    diff = store.diff("", read, store_props(admin, "lim-drift"))
    assert (diff.changes, diff.replaces) == (True, [])
    fixed = store.update("", read, store_props(admin, "lim-drift"))
    assert fixed.outs is not None and fixed.outs["drift"] == []
    with stores.login(outs) as conn:
        assert conn.execute("SHOW lock_timeout").fetchone() == ("5s",)
        assert conn.execute("SHOW work_mem").fetchone() != ("1GB",)
    assert as_admin(
        pg,
        sql.SQL(
            "SELECT s.setdatabase <> 0, s.setconfig FROM pg_db_role_setting s "
            "WHERE s.setrole = {}::regrole"
        ).format(sql.Literal(role)),
    ) == [
        (
            True,
            [
                "idle_in_transaction_session_timeout=60000",
                "lock_timeout=5000",
                f"search_path={outs['schema']}, extensions",
                "statement_timeout=30000",
            ],
        )
    ]


def test_a_limits_change_is_an_update_and_a_state_without_limits_still_reads(
    pg: PgServer, rec: Recorder, admin: dict[str, Any], stores: Stores
) -> None:
    outs = stores.create("lim-change")
    store = TenantStoreProvider(rec.factory)
    news = store_props(admin, "lim-change", connectionLimit=7, statementTimeoutMs=2000)
    diff = store.diff("", outs, news)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = store.update("", outs, news).outs
    assert updated is not None and updated["drift"] == []
    assert updated["password"] == outs["password"]
    assert as_admin(
        pg, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'tenant_lim_change'"
    ) == [(7,)]
    legacy = {k: v for k, v in updated.items() if k != "limits"}  # state from before limits
    read = store.read("", legacy).outs
    assert read is not None and read["drift"] == []
    assert store.diff("", legacy, news).changes is True  # the next update sets them
    bad = store.check({}, store_props(admin, "lim-change", connectionLimit=0)).failures
    assert [(f.property, "accepted: an integer 1..10000" in f.reason) for f in bad] == [
        ("limits.connectionLimit", True)
    ]


# -- deleting a store whatever its role left behind ------------------------------------


def test_store_deletion_survives_what_a_tenant_can_create(
    pg: PgServer, rec: Recorder, admin: dict[str, Any]
) -> None:
    store, ns = TenantStoreProvider(rec.factory), VectorNamespaceProvider(rec.factory)
    outs = store.create(store_props(admin, "lim-gone")).outs
    assert outs is not None
    role, schema = outs["role"], outs["schema"]
    kept = ns.create(ns_props(admin, "lim-gone", name="kept")).outs
    assert kept is not None
    insert(pg, schema, "kept", 4, "keep-me")
    # Somewhere else on the server the role may create things: a database set up before
    # PostgreSQL 15 lets PUBLIC create in `public` (and every role may create large objects).
    with pg.superuser("postgres") as su:
        su.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    with pg.connect(role, outs["password"], "postgres", autocommit=True) as elsewhere:
        elsewhere.execute("CREATE TABLE public.mine (x int)")
        elsewhere.execute("SELECT lo_create(0)")
    lo_count = 20_000  # one DROP OWNED over these runs out of lock slots ("out of shared memory")
    with pg.connect(role, outs["password"], autocommit=True) as conn:
        conn.execute("SELECT count(lo_create(0)) FROM generate_series(1, %s)", (lo_count,))
    # Objects in its schema that are no namespace (added by hand, by someone else).
    with pg.superuser() as su:
        su.execute(f"CREATE SEQUENCE {schema}.stray_seq")
        su.execute(f"CREATE FUNCTION {schema}.stray() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    # Open sessions: one idle, one in a transaction holding a row lock on the kept table.
    idle = pg.connect(role, outs["password"], autocommit=True)
    busy = pg.connect(role, outs["password"])
    busy.execute("UPDATE kept SET metadata = '{}' WHERE id = 'keep-me'")
    try:
        start = time.monotonic()
        ns.delete("", kept)  # retained: the table and its rows stay
        store.delete("", outs)
        elapsed = time.monotonic() - start
        for conn in (idle, busy):
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
    finally:
        idle.close()
        busy.close()
    assert as_admin(pg, f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") == []
    assert as_admin(pg, "SELECT count(*) FROM pg_largeobject_metadata") == [(0,)]
    with pg.superuser("postgres") as su:
        assert su.execute("SELECT to_regclass('public.mine')").fetchone() == (None,)
        assert su.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone() == (0,)
        su.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    # The retained namespace keeps the schema, its rows, and nothing of the role.
    assert as_admin(pg, f"SELECT id FROM {schema}.kept") == [("keep-me",)]
    others = sql.SQL(
        "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) g "
        "WHERE c.oid = {}::regclass AND g.grantee <> c.relowner"
    ).format(sql.Literal(f"{schema}.kept"))
    assert as_admin(pg, others) == [(0,)]
    # Once the retained table goes too, a rerun drops the schema with what is left in it.
    as_admin(pg, f"DROP TABLE {schema}.kept")
    store.delete("", outs)
    assert as_admin(pg, f"SELECT 1 FROM pg_namespace WHERE nspname = '{schema}'") == []
    REPORTS.append(
        f"store deletion with {lo_count} large objects, a table and a large object in "
        f"another database, stray objects in the schema and 2 open sessions: {elapsed:.2f} s"
    )


def test_sessions_cannot_come_back_during_a_deletion(
    pg: PgServer, rec: Recorder, admin: dict[str, Any]
) -> None:
    store = TenantStoreProvider(rec.factory)
    outs = store.create(store_props(admin, "lim-race")).outs
    assert outs is not None
    stop = threading.Event()
    refused: list[str] = []

    def reconnect() -> None:  # a tenant's client pool that keeps reconnecting
        while not stop.is_set():
            try:
                pg.connect(outs["role"], outs["password"]).close()
            except psycopg.OperationalError as exc:
                refused.append(str(exc))
            time.sleep(0.01)

    t = threading.Thread(target=reconnect, daemon=True)
    t.start()
    try:
        time.sleep(0.2)
        store.delete("", outs)
    finally:
        stop.set()
        t.join(5)
    assert as_admin(pg, "SELECT 1 FROM pg_roles WHERE rolname = 'tenant_lim_race'") == []
    assert refused, "the reconnecting client was never refused"


def test_what_only_a_superuser_can_revoke_fails_the_deletion_loudly(
    pg: PgServer, rec: Recorder, admin: dict[str, Any]
) -> None:
    store = TenantStoreProvider(rec.factory)
    outs = store.create(store_props(admin, "lim-super")).outs
    assert outs is not None
    with pg.superuser("postgres") as su:  # granted by a superuser on an object it owns
        su.execute("CREATE SCHEMA IF NOT EXISTS granted")
        su.execute("GRANT USAGE ON SCHEMA granted TO tenant_lim_super")
    with pytest.raises(NamespaceError) as exc:
        store.delete("", outs)
    message = str(exc.value)
    assert "role tenant_lim_super cannot be dropped: 1 object in database postgres" in message
    assert "a superuser must revoke or drop it, in each database named" in message
    with pytest.raises(psycopg.OperationalError):  # half-deleted: it cannot log in any more
        pg.connect(outs["role"], outs["password"])
    with pg.superuser("postgres") as su:
        su.execute("DROP SCHEMA granted")
    store.delete("", outs)  # the rerun finishes
    assert as_admin(pg, "SELECT 1 FROM pg_roles WHERE rolname = 'tenant_lim_super'") == []


def test_an_admin_without_create_on_the_database_is_told_what_to_do(pg: PgServer) -> None:
    with pg.superuser("postgres") as su:
        su.execute("CREATE DATABASE lim_nocreate")  # owned by the superuser, not the admin
    try:
        admin = {**asdict(pg.admin), "dbname": "lim_nocreate"}
        with pytest.raises(NamespaceError) as exc:
            TenantStoreProvider(Recorder(pg).factory).create(store_props(admin, "lim-nocreate"))
        message = str(exc.value)
        assert message.startswith("admin: the admin login cannot create the provider's schema")
        assert "CREATE SCHEMA tenantry AUTHORIZATION <admin login>" in message
    finally:
        with pg.superuser("postgres") as su:
            su.execute("DROP DATABASE lim_nocreate")
