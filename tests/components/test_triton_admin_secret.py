"""The Triton admin key comes from its own platform secret (``tenantry:tritonAdminSecret``),
not from the vector database's password: each rotates without the other."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pytest

from tenantry import Platform, PlatformArgs, Tenant, TenantArgs, _sdk
from tenantry.testing import TenantryMocks, platform_inputs, record
from tenantry.triton_admin import ADMIN_SECRET, ADMIN_SECRET_KEY, admin_key, checked_secret
from tests.components.helpers import platform, tenants
from tests.platform.helpers import example_plan


class SecretCapture(TenantryMocks):
    """TenantryMocks that keep the admin Secret's plain ``stringData`` (records mask it)."""

    def __init__(self) -> None:
        super().__init__()
        self.admin: dict[str, Any] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "kubernetes:core/v1:Secret" and (
            args.inputs.get("metadata", {}).get("name") == ADMIN_SECRET
        ):
            data = args.inputs["stringData"]  # a secret: Pulumi's wire form reaches the mocks
            self.admin = dict(_sdk.unwrap_rpc_secret(data) if _sdk.is_rpc_secret(data) else data)
        return super().new_resource(args)


def _served_key(triton_secret: str, db_password: str, tenant: str = "acme") -> str:
    base = platform_inputs()
    db = {**base.vector_db, "password": db_password}
    inputs = dataclasses.replace(base, vector_db=db, triton_admin_secret=triton_secret)  # type: ignore[arg-type]
    mocks = SecretCapture()
    args = TenantArgs.from_spec(tenants()[tenant], platform(), inputs)
    record(lambda: Tenant(tenant, args), mocks=mocks)
    return str(mocks.admin[ADMIN_SECRET_KEY])


def test_the_admin_key_is_derived_from_the_triton_admin_secret_alone() -> None:
    key = _served_key("triton-secret-1", "db-password-1")
    assert key == admin_key("triton-secret-1", "acme")
    assert key != admin_key("db-password-1", "acme")
    # rotating the database's password leaves the key; rotating the Triton secret changes it
    assert _served_key("triton-secret-1", "db-password-2") == key
    assert _served_key("triton-secret-2", "db-password-1") == admin_key("triton-secret-2", "acme")


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_triton_admin_secret_is_named_with_the_command_that_sets_it(value: str) -> None:
    with pytest.raises(ValueError) as exc:
        checked_secret(value)
    assert str(exc.value) == (
        "tenantry:tritonAdminSecret: empty; the tenants' Triton admin keys are derived from it "
        "(set one: pulumi config set --secret tenantry:tritonAdminSecret <value> -s platform)"
    )
    with pytest.raises(ValueError, match="tenantry:tritonAdminSecret: empty"):
        admin_key(value, "acme")


def test_the_platform_exports_the_secret_for_tenant_stacks_and_refuses_an_empty_one() -> None:
    args = PlatformArgs.from_spec(
        platform(),
        example_plan(),
        vector_db_password="pw",
        triton_admin_secret="triton-secret",
        unpinned_preview=True,
    )
    built: list[Platform] = []
    record(lambda: built.append(Platform("platform", args)), stack="platform")
    assert "tritonAdminSecret" in built[0].outputs
    empty = dataclasses.replace(args, triton_admin_secret="")
    with pytest.raises(Exception, match="tenantry:tritonAdminSecret: empty"):
        record(lambda: Platform("platform", empty), stack="platform")
