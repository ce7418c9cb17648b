"""``TenantVectorStore`` child contract under ``pulumi.runtime.set_mocks`` (no server, no CLI)."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import dill  # type: ignore[import-untyped]
import pulumi
import pytest

from tenantry.data.provider import VectorNamespaceProvider, make_backend
from tenantry.data.store import SECRET_NAME, AdminArgs, TenantVectorStore, TenantVectorStoreArgs
from tenantry.spec import ResolvedTenant, load_platform, load_registry
from tenantry.spec.model import VectorNamespace

ROOT = Path(__file__).resolve().parents[2]
STORE_TYPE = "pulumi-python:dynamic/tenantry:TenantVectorSchema"
NS_TYPE = "pulumi-python:dynamic/tenantry:VectorNamespace"
ADMIN: AdminArgs = {
    "host": "db.internal",
    "port": 5432,
    "dbname": "vectors",
    "user": "platform_admin",
    "password": "admin-secret",
    "sslmode": "verify-full",
}


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources[args.name] = args
        state = dict(args.inputs)
        if args.typ == STORE_TYPE:
            state.update(
                schema="tenant_acme", role="tenant_acme", password="generated-pw", drift=[]
            )
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pytest.fixture
def mocks() -> Recorder:
    rec = Recorder()
    pulumi.runtime.set_mocks(rec, project="tenantry", stack="acme", preview=False)
    return rec


@pytest.fixture(scope="module")
def acme() -> ResolvedTenant:
    reg = load_registry([ROOT / "tenants"], load_platform(ROOT / "stacks"))
    return reg.tenants["acme"]


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how a secret input reaches the mock


def without_provider(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k != "__provider"}


def unwrap_secret(value: Any) -> Any:
    assert isinstance(value, dict) and SECRET_SIG in value, f"not a secret: {value!r}"
    return value["value"]


@pulumi.runtime.test
def test_children_contract(mocks: Recorder, acme: ResolvedTenant) -> Any:
    store = TenantVectorStore("acme-vectors", TenantVectorStoreArgs(tenant=acme, admin=ADMIN))

    def check(_: Any) -> None:
        r = mocks.resources
        assert {n: (a.typ, a.custom) for n, a in r.items()} == {
            "acme-vectors": ("tenantry:data:TenantVectorStore", False),
            "acme-vectors-store": (STORE_TYPE, True),
            "acme-vectors-docs": (NS_TYPE, True),
            "acme-vectors-merchants": (NS_TYPE, True),
            "acme-vectors-credentials": ("kubernetes:core/v1:Secret", True),
        }
        admin = {**ADMIN, "port": 5432.0}  # numbers reach providers as floats
        for n in ("store", "docs", "merchants"):  # the admin login only travels as a secret
            assert unwrap_secret(r[f"acme-vectors-{n}"].inputs["admin"]) == admin
        assert without_provider(r["acme-vectors-store"].inputs) | {"admin": 0} == {
            "backend": "pgvector",
            "admin": 0,
            "tenant": "acme",
            "limits": {  # acme is premium: the tier's defaults, in ms
                "connectionLimit": 30.0,
                "statementTimeoutMs": 60000.0,
                "lockTimeoutMs": 10000.0,
                "idleInTransactionSessionTimeoutMs": 60000.0,
            },
        }
        assert without_provider(r["acme-vectors-docs"].inputs) | {"admin": 0} == {
            "backend": "pgvector",
            "admin": 0,
            "tenant": "acme",
            "name": "docs",
            "dimension": 768,
            "metric": "cosine",
            "retainOnDelete": True,
            "allowDataLoss": False,
        }
        assert r["acme-vectors-merchants"].inputs["dimension"] == 64
        assert r["acme-vectors-merchants"].inputs["metric"] == "l2"
        # The serialized provider travels in state and comes back as a working provider.
        provider = dill.loads(
            base64.b64decode(unwrap_secret(r["acme-vectors-docs"].inputs["__provider"]))
        )
        assert isinstance(provider, VectorNamespaceProvider)
        assert provider.backend_factory is make_backend
        secret = r["acme-vectors-credentials"].inputs
        assert secret["type"] == "Opaque"
        assert secret["metadata"]["name"] == SECRET_NAME
        assert secret["metadata"]["namespace"] == "acme"  # the tenant's k8s namespace
        labels = secret["metadata"]["labels"]
        assert labels["tenant"] == "acme" and labels["managed-by"] == "tenantry"
        assert labels["cost-center"] == acme.cost_center
        assert unwrap_secret(secret["stringData"]) == {
            "PGHOST": "db.internal",
            "PGPORT": "5432",
            "PGDATABASE": "vectors",
            "PGSSLMODE": "verify-full",
            "PGUSER": "tenant_acme",
            "PGPASSWORD": "generated-pw",
        }

    return pulumi.Output.all(store.password, store.secret.id).apply(check)


@pulumi.runtime.test
def test_password_and_admin_are_secret(mocks: Recorder, acme: ResolvedTenant) -> Any:
    store = TenantVectorStore("acme-vectors", TenantVectorStoreArgs(tenant=acme, admin=ADMIN))
    docs = store.namespaces["docs"]

    async def secrets() -> None:
        assert await store.password.is_secret()
        assert await store.secret.string_data.is_secret()  # type: ignore[union-attr]
        assert await docs.admin.is_secret()  # type: ignore[attr-defined]
        assert not await store.role.is_secret()

    return pulumi.Output.from_input(secrets())


@pulumi.runtime.test
def test_children_are_parented_to_the_component(mocks: Recorder, acme: ResolvedTenant) -> Any:
    store = TenantVectorStore("acme-vectors", TenantVectorStoreArgs(tenant=acme, admin=ADMIN))
    children = [store.store, *store.namespaces.values(), store.secret]

    def check(urns: list[str]) -> None:
        for urn in urns:  # the parent's type prefixes the child's type in its URN
            assert "::tenantry:data:TenantVectorStore$" in urn, urn

    return pulumi.Output.all(*[c.urn for c in children]).apply(check)


@pulumi.runtime.test
def test_replace_opt_in_is_per_namespace(mocks: Recorder, acme: ResolvedTenant) -> Any:
    store = TenantVectorStore(
        "acme-vectors",
        TenantVectorStoreArgs(tenant=acme, admin=ADMIN, replace_namespaces=["merchants"]),
    )

    def check(_: Any) -> None:
        flags = {
            n: mocks.resources[f"acme-vectors-{n}"].inputs["allowDataLoss"]
            for n in ("docs", "merchants")
        }
        assert flags == {"docs": False, "merchants": True}

    return store.namespaces["merchants"].id.apply(check)


@pulumi.runtime.test
def test_retain_on_delete_comes_from_the_tenant_file(mocks: Recorder, acme: ResolvedTenant) -> Any:
    t = dataclasses.replace(
        acme,
        vector_namespaces=(
            VectorNamespace(
                name="scratch", dimension=8, metric="inner_product", retain_on_delete=False
            ),
        ),
    )
    store = TenantVectorStore("acme-vectors", TenantVectorStoreArgs(tenant=t, admin=ADMIN))

    def check(_: Any) -> None:
        assert mocks.resources["acme-vectors-scratch"].inputs["retainOnDelete"] is False

    return store.namespaces["scratch"].id.apply(check)


@pytest.mark.parametrize(
    ("kwargs", "namespaces", "message"),
    [
        (
            {"replace_namespaces": ["nope"]},
            None,
            r"replace_namespaces: \['nope'\] are not vector namespaces of tenant acme; "
            r"accepted: \['docs', 'merchants'\]",
        ),
        ({"backend": "milvus"}, None, r"backend: 'milvus' is not supported; accepted: pgvector"),
        (
            {},
            (VectorNamespace(name="big", dimension=4096),),
            r"dimension: 4096 is more than pgvector's HNSW index supports .*accepted: 1\.\.2000",
        ),
    ],
)
def test_bad_input_fails_before_any_resource(
    mocks: Recorder, acme: ResolvedTenant, kwargs: dict[str, Any], namespaces: Any, message: str
) -> None:
    t = dataclasses.replace(acme, vector_namespaces=namespaces) if namespaces else acme
    with pytest.raises(ValueError, match=message):
        TenantVectorStore("acme-vectors", TenantVectorStoreArgs(tenant=t, admin=ADMIN, **kwargs))
    assert mocks.resources == {}
