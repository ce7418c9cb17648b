"""What the pgvector backend does around its statements (pure psycopg, no Pulumi): the
provisioning lock, a tenant role's session settings, and ending a role for good.

**The provisioning lock.** Concurrent providers serialize on a table lock, not on an
advisory lock: every role may call ``pg_advisory_lock`` (the functions are granted to
PUBLIC), so a tenant could take the provider's advisory key and hold it, blocking every other
tenant's provisioning. ``LOCK TABLE`` needs a privilege on the table and USAGE on its schema
(PostgreSQL 16 documentation, "LOCK": "ROW EXCLUSIVE/SHARE ROW EXCLUSIVE/EXCLUSIVE/ACCESS
EXCLUSIVE require UPDATE, DELETE, TRUNCATE or MAINTAIN", "ACCESS SHARE requires SELECT"), and
the lock table lives in the schema ``tenantry`` where no role but its owner has any right. A
tenant can still name the table by OID through functions granted to PUBLIC (for example
``pg_relation_size(oid)``), which take ``ACCESS SHARE`` only; the provider locks in
``EXCLUSIVE`` mode, which does not conflict with ``ACCESS SHARE`` ("Explicit Locking",
table-level lock conflicts). Every provider transaction sets ``lock_timeout`` so it never
waits on a session for longer than that, and says who held the lock when it gave up.

**Role settings.** A role may persist session defaults for itself (``ALTER ROLE self SET``;
"ALTER ROLE": "ordinary roles can only change their own password and set defaults for
themselves"), so the settings are read back from ``pg_db_role_setting`` and everything but
the declared ones is drift.

**Ending a role.** ``DROP ROLE`` fails while the role owns anything or holds privileges in any
database ("DROP ROLE": use ``REASSIGN OWNED``/``DROP OWNED`` first), and ``DROP OWNED`` needs
the privileges of the role: the admin login (CREATEROLE, ADMIN OPTION on the roles it
created, not a superuser) grants the role to itself first. A tenant can create large objects
(no privilege needed) in numbers that make one ``DROP OWNED`` run out of lock slots ("out of
shared memory" at 20,000 objects with the default ``max_locks_per_transaction`` = 64), so
they are unlinked in batches first. Sessions are ended with ``pg_terminate_backend`` after the
role lost LOGIN, so none can come back while it is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Final, LiteralString

import psycopg
from psycopg import sql

from .backend import ProvisioningBlocked

Connection = psycopg.Connection[Any]

CONTROL_SCHEMA: Final = "tenantry"  # tenant schemas are tenant_<name>: never this one
LOCK_TABLE: Final = "provisioning_lock"
LOCK_MODE: Final = "EXCLUSIVE"  # conflicts with itself, not with ACCESS SHARE
LOCK_TIMEOUT_S: Final = 30.0
TERMINATE_TIMEOUT_S: Final = 30.0
LARGE_OBJECT_BATCH: Final = 1000
CONTROL_COMMENT: Final = (
    "managed by tenantry: the vector provider's provisioning lock; no tenant has any right here"
)
# Parameter names as fixed SQL fragments (catalog text never becomes SQL).
SETTING_SQL: Final[dict[str, sql.SQL]] = {
    p: sql.SQL(p)
    for p in (
        "idle_in_transaction_session_timeout",
        "lock_timeout",
        "search_path",
        "statement_timeout",
    )
}


def ident(*parts: str) -> sql.Identifier:
    return sql.Identifier(*parts)


def q(template: LiteralString, *args: sql.Composable) -> sql.Composed:
    return sql.SQL(template).format(*args)


def scalar(conn: Connection, query: LiteralString, *params: Any) -> Any:
    row = conn.execute(query, params or None).fetchone()
    return None if row is None else row[0]


def column(conn: Connection, query: LiteralString, *params: Any) -> list[str]:
    return [str(r[0]) for r in conn.execute(query, params or None).fetchall()]


# -- the provisioning lock ---------------------------------------------------------------


def ensure_control_schema(conn: Connection) -> None:
    """Create ``tenantry.provisioning_lock`` (an empty table) when missing; one transaction.
    A concurrent provider may create it first: the caller ignores the duplicate error."""
    found = scalar(
        conn,
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'r'",
        CONTROL_SCHEMA,
        LOCK_TABLE,
    )
    if found:
        return
    schema = ident(CONTROL_SCHEMA)
    conn.execute(q("CREATE SCHEMA IF NOT EXISTS {}", schema))
    conn.execute(q("COMMENT ON SCHEMA {} IS {}", schema, sql.Literal(CONTROL_COMMENT)))
    conn.execute(q("REVOKE ALL ON SCHEMA {} FROM PUBLIC", schema))
    table = ident(CONTROL_SCHEMA, LOCK_TABLE)
    conn.execute(q("CREATE TABLE IF NOT EXISTS {} ()", table))
    conn.execute(q("REVOKE ALL ON TABLE {} FROM PUBLIC", table))


def take_lock(conn: Connection, timeout_s: float) -> None:
    """In ``conn``'s transaction: wait at most ``timeout_s`` for any lock from here on, then
    take the provisioning lock (released when the transaction ends)."""
    conn.execute(
        "SELECT set_config('lock_timeout', %s, true)", (str(max(1, round(timeout_s * 1000))),)
    )
    conn.execute(q("LOCK TABLE {} IN " + LOCK_MODE + " MODE", ident(CONTROL_SCHEMA, LOCK_TABLE)))


def control_problems(conn: Connection) -> list[str]:
    """Grants on the control schema or the lock table to anyone but their owner."""
    rows = conn.execute(
        "SELECT 'schema ' || n.nspname, CASE WHEN g.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_get_userbyid(g.grantee) END, g.privilege_type "
        "FROM pg_namespace n, aclexplode(n.nspacl) g "
        "WHERE n.nspname = %s AND g.grantee <> n.nspowner "
        "UNION ALL SELECT 'table ' || n.nspname || '.' || c.relname, CASE WHEN g.grantee = 0 "
        "THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) END, g.privilege_type "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) g "
        "WHERE n.nspname = %s AND c.relname = %s AND g.grantee <> c.relowner ORDER BY 1, 2, 3",
        (CONTROL_SCHEMA, CONTROL_SCHEMA, LOCK_TABLE),
    ).fetchall()
    return [f"{on}: grant {priv} to {grantee}" for on, grantee, priv in rows]


def repair_control(conn: Connection) -> None:
    """Revoke every grant on the control schema and the lock table (owner's rights stay)."""
    for grantee in column(
        conn,
        "SELECT DISTINCT CASE WHEN g.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_get_userbyid(g.grantee) END FROM pg_namespace n, aclexplode(n.nspacl) g "
        "WHERE n.nspname = %s AND g.grantee <> n.nspowner "
        "UNION SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee) "
        "END FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "aclexplode(c.relacl) g WHERE n.nspname = %s AND c.relname = %s "
        "AND g.grantee <> c.relowner",
        CONTROL_SCHEMA,
        CONTROL_SCHEMA,
        LOCK_TABLE,
    ):
        who = sql.SQL("PUBLIC") if grantee == "PUBLIC" else ident(grantee)
        conn.execute(q("REVOKE ALL ON SCHEMA {} FROM {}", ident(CONTROL_SCHEMA), who))
        conn.execute(q("REVOKE ALL ON TABLE {} FROM {}", ident(CONTROL_SCHEMA, LOCK_TABLE), who))


def lock_holders(conn: Connection, schema: str | None) -> list[str]:
    """Other sessions holding a lock the provider may wait for: one that conflicts with the
    provisioning lock, or any lock on a relation in ``schema`` (the tenant's)."""
    rows = conn.execute(
        "SELECT DISTINCT a.pid, a.usename, n.nspname || '.' || c.relname, l.mode "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE l.granted AND l.locktype = 'relation' AND a.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((n.nspname = %s AND c.relname = %s AND l.mode <> 'AccessShareLock') "
        "OR n.nspname = %s) ORDER BY 1, 3",
        (CONTROL_SCHEMA, LOCK_TABLE, schema or ""),
    ).fetchall()
    return [f"pid {pid} (role {user}) holds {mode} on {rel}" for pid, user, rel, mode in rows]


def blocked(
    connect: Callable[[], Connection], timeout_s: float, schema: str | None, cause: Exception
) -> ProvisioningBlocked:
    """The error for a lock wait that hit the timeout, naming who holds what (looked up on a
    fresh connection: the waiting transaction is aborted)."""
    try:
        with connect() as conn:
            holders = lock_holders(conn, schema)
    except psycopg.Error as exc:
        holders = [f"(could not list the lock holders: {exc})"]
    who = "; ".join(holders) or "the holder has gone since"
    first = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return ProvisioningBlocked(
        f"waited more than {timeout_s:g} s for a lock ({first}); nothing was changed. "
        f"Held by: {who}. Rerun when they are done, or end them with "
        "pg_terminate_backend(pid)."
    )


# -- role settings ---------------------------------------------------------------------


def role_settings(conn: Connection, role: str) -> list[tuple[str, int, dict[str, str]]]:
    """Every ``pg_db_role_setting`` row of ``role``: (database name, database oid, settings);
    oid 0 (name '') is the role's default for every database."""
    rows = conn.execute(
        "SELECT COALESCE(d.datname, ''), s.setdatabase, s.setconfig FROM pg_db_role_setting s "
        "LEFT JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = %s) ORDER BY 1",
        (role,),
    ).fetchall()
    return [(str(name), int(oid), _pairs(config)) for name, oid, config in rows]


def _pairs(config: Iterable[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in config or ():
        key, _, value = item.partition("=")
        out[key] = value
    return out


def settings_drift(conn: Connection, role: str, db: str, expected: dict[str, str]) -> list[str]:
    """Differences between the role's stored settings and ``expected`` (this database's);
    [] when the role has exactly those settings and no others anywhere."""
    out: list[str] = []
    here: dict[str, str] = {}
    for name, oid, pairs in role_settings(conn, role):
        if name == db:
            here = pairs
        elif oid == 0:
            out += [f"role {role}: setting {k}={v} in every database" for k, v in pairs.items()]
        else:
            out += [f"role {role} in database {name}: setting {k}={v}" for k, v in pairs.items()]
    for key, value in sorted(expected.items()):
        if here.get(key) != value:
            out.append(
                f"role {role} in database {db}: {key} is {here.get(key, 'not set')}, "
                f"declared {value}"
            )
    out += [
        f"role {role} in database {db}: extra setting {k}={here[k]}"
        for k in sorted(set(here) - set(expected))
    ]
    return out


def apply_settings(conn: Connection, role: str, db: str, values: dict[str, sql.Composable]) -> None:
    """Make ``values`` (parameter -> SQL value) the role's only settings: reset the role's
    defaults everywhere, then set them in ``db``."""
    r = ident(role)
    for name, oid, _ in role_settings(conn, role):
        if oid == 0:
            conn.execute(q("ALTER ROLE {} RESET ALL", r))
        elif name != db:
            conn.execute(q("ALTER ROLE {} IN DATABASE {} RESET ALL", r, ident(name)))
    conn.execute(q("ALTER ROLE {} IN DATABASE {} RESET ALL", r, ident(db)))
    for key, value in sorted(values.items()):
        conn.execute(
            q("ALTER ROLE {} IN DATABASE {} SET {} = {}", r, ident(db), SETTING_SQL[key], value)
        )


# -- ending a role ---------------------------------------------------------------------


def act_as(conn: Connection, role: str) -> None:
    """Give the current login the privileges of ``role`` (needed by DROP OWNED and to end
    the role's sessions), unless it has them already."""
    if not scalar(conn, "SELECT pg_has_role(current_user, %s, 'USAGE')", role):
        conn.execute(q("GRANT {} TO CURRENT_USER", ident(role)))


def end_sessions(connect: Callable[[], Connection], role: str, timeout_s: float) -> int:
    """Terminate every session of ``role`` (in any database) and wait until none is left;
    returns how many were ended. Raises :class:`ProvisioningBlocked` after ``timeout_s``."""
    ended: set[int] = set()
    deadline = time.monotonic() + timeout_s
    with connect() as conn:
        conn.autocommit = True  # pg_stat_activity is a per-transaction snapshot
        while True:
            pids = [
                int(p)
                for p in column(conn, "SELECT pid FROM pg_stat_activity WHERE usename = %s", role)
            ]
            if not pids:
                return len(ended)
            if time.monotonic() > deadline:
                raise ProvisioningBlocked(
                    f"role {role}: sessions {pids} are still open {timeout_s:g} s after "
                    "pg_terminate_backend; nothing more was dropped, rerun the delete"
                )
            for pid in pids:
                conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
                ended.add(pid)
            time.sleep(0.05)


def unlink_large_objects(connect: Callable[[], Connection], role: str) -> int:
    """Unlink the role's large objects in this database, ``LARGE_OBJECT_BATCH`` per
    transaction; returns how many."""
    total = 0
    while True:
        with connect() as conn:
            n = int(
                scalar(
                    conn,
                    "SELECT count(lo_unlink(m.oid)) FROM (SELECT oid FROM "
                    "pg_largeobject_metadata WHERE lomowner = "
                    "(SELECT oid FROM pg_roles WHERE rolname = %s) LIMIT %s) m",
                    role,
                    LARGE_OBJECT_BATCH,
                )
                or 0
            )
        total += n
        if n < LARGE_OBJECT_BATCH:
            return total


def databases_with(conn: Connection, role: str) -> list[str]:
    """Other databases where ``role`` owns objects or holds privileges (``pg_shdepend``)."""
    return column(
        conn,
        "SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE s.refclassid = 'pg_authid'::regclass "
        "AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = %s) "
        "AND d.datname <> current_database() ORDER BY 1",
        role,
    )


def drop_owned(connect: Callable[[], Connection], role: str) -> None:
    """Everything ``role`` owns in the database ``connect`` reaches goes, and every privilege
    granted to it there is revoked (large objects first, in batches)."""
    unlink_large_objects(connect, role)
    with connect() as conn:
        conn.execute(q("DROP OWNED BY {}", ident(role)))
