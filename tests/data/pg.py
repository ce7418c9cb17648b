"""A real PostgreSQL 16 + pgvector for tests, from the ``pgserver`` wheel's bundled binaries.

Only the binaries are used (not pgserver's Python wrapper, which trusts a Unix socket): the
cluster is initialised with scram-sha-256 password authentication, listens on 127.0.0.1 on a
free port, keeps its socket in a temp dir, and runs as an unprivileged OS user (PostgreSQL
refuses root; when the tests run as root a system user ``tenantry-pg`` is created with
``useradd``). The platform bootstrap mirrors a managed database (RDS): a superuser creates the
``vector`` extension in ``extensions``; the provider's admin login ``platform_admin`` has
CREATEROLE and CREATEDB (like the RDS master user) and owns the database, but is not a
superuser.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tenantry.data.pgvector import AdminConnection

OS_USER = "tenantry-pg"
SUPERUSER = "pgadmin"
ADMIN = "platform_admin"
DATABASE = "vectors"


def find_bin_dir() -> Path | None:
    """``pgserver/pginstall/bin`` without importing pgserver (its import warns)."""
    override = os.environ.get("TENANTRY_PG_BIN")
    if override:
        path = Path(override)
    else:
        spec = importlib.util.find_spec("pgserver")
        if spec is None or spec.origin is None:
            return None
        path = Path(spec.origin).parent / "pginstall" / "bin"
    return path if (path / "postgres").exists() and (path / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _os_user() -> pwd.struct_passwd | None:
    """None when not root (run as ourselves); else the unprivileged user, created if needed."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(OS_USER)


@dataclass
class PgServer:
    host: str
    port: int
    superuser_password: str
    admin: AdminConnection
    log: Path

    def connect(
        self, user: str, password: str, dbname: str = DATABASE, **kw: Any
    ) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password,
            dbname=dbname,
            sslmode="disable",
            connect_timeout=10,
            **kw,
        )

    def superuser(self, dbname: str = DATABASE) -> psycopg.Connection[Any]:
        return self.connect(SUPERUSER, self.superuser_password, dbname, autocommit=True)


@contextmanager
def running_server(bin_dir: Path) -> Iterator[PgServer]:
    user = _os_user()
    root = Path(tempfile.mkdtemp(prefix="tenantry-pg-"))
    data, log, pwfile = root / "data", root / "server.log", root / "pw"
    superuser_password = secrets.token_urlsafe(24)
    pwfile.write_text(superuser_password + "\n")
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    os.chmod(pwfile, 0o600)
    kw: dict[str, Any] = {"cwd": root, "check": True, "capture_output": True, "text": True}
    if user is not None:
        kw.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    port = _free_port()
    pg_ctl = str(bin_dir / "pg_ctl")
    started = False
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            **kw,
        )
        opts = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [pg_ctl, "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"], **kw
        )
        started = True
        admin = AdminConnection(
            host="127.0.0.1",
            port=port,
            dbname=DATABASE,
            user=ADMIN,
            password=secrets.token_urlsafe(24),
            sslmode="disable",
        )
        server = PgServer("127.0.0.1", port, superuser_password, admin, log)
        _bootstrap(server)
        yield server
    except subprocess.CalledProcessError as exc:
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"{exc.cmd[0]} failed: {exc.stderr}\n{exc.stdout}\n{tail}") from exc
    finally:
        if started:
            subprocess.run(
                [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], **{**kw, "check": False}
            )
        shutil.rmtree(root, ignore_errors=True)


def _bootstrap(server: PgServer) -> None:
    """What the platform (or RDS's master user) does once per database."""
    a = server.admin
    with server.superuser("postgres") as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(a.user), sql.Literal(a.password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(a.dbname), sql.Identifier(a.user)
            )
        )
    with server.superuser() as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA extensions AUTHORIZATION {}").format(sql.Identifier(a.user))
        )
        conn.execute("CREATE EXTENSION vector WITH SCHEMA extensions")
