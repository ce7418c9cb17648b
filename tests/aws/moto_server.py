"""Start a real ``moto_server`` on 127.0.0.1 with IAM enforcement (local-servers.md §3)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NO_AUTH_CALLS = 3  # create_user, put_user_policy, create_access_key
MOTO_ACCOUNT = "123456789012"  # moto's default account


@dataclass(frozen=True)
class Moto:
    endpoint: str
    admin_key: str
    admin_secret: str
    admin_arn: str

    def client(
        self,
        service: str,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
    ) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key or self.admin_key,
            aws_secret_access_key=secret or self.admin_secret,
            aws_session_token=token,
        )


def moto_binary() -> str | None:
    found = shutil.which("moto_server")
    beside = Path(sys.executable).with_name("moto_server")
    return found or (str(beside) if beside.exists() else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return
        time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer on {url} within {timeout}s")


@contextlib.contextmanager
def moto_server(iam_auth: bool = True) -> Iterator[Moto]:
    """A moto server; ``iam_auth=False`` skips IAM enforcement and SigV4 checks (moto 5.2.5
    rejects the signature of a list request whose ``Prefix`` contains a ``/`` when it checks
    them, so tests that list a prefix and do not test access run without it)."""
    binary = moto_binary()
    if binary is None:
        reason = "moto_server not installed (pip install 'moto[server]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    port = _free_port()
    env = os.environ | {"AWS_DEFAULT_REGION": "us-east-1"}
    if iam_auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(NO_AUTH_CALLS)
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        yield _bootstrap(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _bootstrap(url: str) -> Moto:
    """The only unauthenticated calls: an admin user with ``*:*`` and its access key."""
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    user = iam.create_user(UserName="tenantry-test-admin")["User"]
    iam.put_user_policy(
        UserName="tenantry-test-admin",
        PolicyName="admin",
        PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
        ),
    )
    key = iam.create_access_key(UserName="tenantry-test-admin")["AccessKey"]
    return Moto(url, key["AccessKeyId"], key["SecretAccessKey"], user["Arn"])
