"""The public surface (``tenantry.__all__``) and the one component contract, checked over
every component of the library rather than a list of examples."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from typing import Any

import pulumi
import pytest

import tenantry
from tests.conftest import ROOT

INIT = ROOT / "components" / "tenantry" / "__init__.py"
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def test_every_public_name_resolves() -> None:
    missing = [n for n in tenantry.__all__ if getattr(tenantry, n, None) is None]
    assert missing == []
    assert len(set(tenantry.__all__)) == len(tenantry.__all__)


def test_importing_tenantry_imports_neither_pulumi_nor_pydantic() -> None:
    code = (
        "import sys, tenantry; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pydantic')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def _type_checking_imports() -> dict[str, str]:
    """Public name -> module, as the ``if TYPE_CHECKING:`` block imports it."""
    tree = ast.parse(INIT.read_text("utf-8"))
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    out: dict[str, str] = {}
    for node in block.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return out


def test_type_checkers_see_every_lazy_name_with_its_type() -> None:
    """Each name the module ``__getattr__`` serves is also imported under TYPE_CHECKING
    from the same module, so a user's type checker sees its real type, not ``Any``."""
    static = _type_checking_imports()
    lazy = {n: f"{m}:{a}" for n, (m, a) in tenantry._EXPORTS.items()}
    assert static == lazy
    assert set(tenantry.__all__) == set(lazy) | {"__version__"}


def _library_modules() -> list[Any]:
    skip = ("tenantry.devserver.standin_model", "tenantry.policy.pack")
    mods = []
    for info in pkgutil.walk_packages(tenantry.__path__, "tenantry."):
        if info.name.startswith(skip) or info.name.endswith("__main__"):
            continue
        mods.append(importlib.import_module(info.name))
    return mods


def components() -> list[type[pulumi.ComponentResource]]:
    found = {
        obj
        for mod in _library_modules()
        for obj in vars(mod).values()
        if inspect.isclass(obj)
        and issubclass(obj, pulumi.ComponentResource)
        and obj.__module__.startswith("tenantry.")
    }
    return sorted(found, key=lambda c: c.__name__)


def test_every_component_follows_one_contract() -> None:
    """``Component(name, args: ComponentArgs, opts=None)``: one frozen, keyword-only Args
    dataclass named after the component, exported next to it."""
    comps = components()
    assert len(comps) >= 20
    problems = []
    for comp in comps:
        sig = inspect.signature(comp.__init__)
        params = list(sig.parameters.values())[1:]
        args_cls = getattr(sys.modules[comp.__module__], f"{comp.__name__}Args", None)
        if [p.name for p in params] != ["name", "args", "opts"] or params[2].default is not None:
            problems.append(f"{comp.__name__}{sig}")
        elif args_cls is None or not dataclasses.is_dataclass(args_cls):
            problems.append(f"{comp.__name__}: no dataclass {comp.__name__}Args")
        else:
            params_ = args_cls.__dataclass_params__  # type: ignore[attr-defined]
            if not params_.frozen or not all(f.kw_only for f in dataclasses.fields(args_cls)):
                problems.append(f"{args_cls.__name__}: not frozen and keyword-only")
        if comp.__name__ not in tenantry.__all__ or f"{comp.__name__}Args" not in tenantry.__all__:
            problems.append(f"{comp.__name__}: not exported by tenantry")
    assert problems == []


def test_component_outputs_are_camel_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key any component registers, over the example tenants and the platform."""
    from tenantry import Platform, PlatformArgs, Tenant, TenantArgs
    from tenantry.testing import platform_inputs, record
    from tests.components.helpers import platform, tenants
    from tests.platform.helpers import example_plan

    keys: dict[str, set[str]] = {}
    original = pulumi.ComponentResource.register_outputs

    def spy(self: pulumi.ComponentResource, outputs: Any) -> None:
        keys.setdefault(type(self).__name__, set()).update(outputs)
        original(self, outputs)

    monkeypatch.setattr(pulumi.ComponentResource, "register_outputs", spy)
    for name, t in tenants().items():
        record(
            lambda t=t, name=name: Tenant(
                name, TenantArgs.from_spec(t, platform(), platform_inputs())
            )
        )
    args = PlatformArgs.from_spec(
        platform(),
        example_plan(),
        vector_db_password="pw",
        triton_admin_secret="triton-secret",
        unpinned_preview=True,
    )
    record(lambda: Platform("platform", args), stack="platform")
    assert {c.__name__ for c in components()} - set(keys) == set()  # every one was seen
    bad = {c: sorted(k for k in ks if not CAMEL.match(k)) for c, ks in keys.items()}
    assert {c: ks for c, ks in bad.items() if ks} == {}


def test_pulumi_schema_inference_accepts_tenant_and_platform() -> None:
    """Issue 15 item 5 builds on this: the SDK's analyzer infers a schema from the one
    ``args`` parameter (no unions but Optional, every field typed)."""
    from pulumi.provider.experimental.analyzer import Analyzer

    from tenantry import Platform, Tenant

    result = Analyzer("tenantry").analyze([Tenant, Platform])
    defs = result["component_definitions"]
    tenant, plat = defs["Tenant"], defs["Platform"]
    required = {k for k, p in tenant.inputs.items() if not p.optional}
    assert required == {"tenant", "platform", "platformOutputs"}
    assert set(tenant.inputs) == required | {"identity", "replaceVectorNamespaces"}
    assert set(tenant.outputs) == {"namespace", "bucketName", "inferenceRoleArn", "models"}
    assert {k for k, p in plat.inputs.items() if not p.optional} == {
        "settings",
        "vectorDbPassword",
        "tritonAdminSecret",
    }
    assert "tenantsDir" in plat.inputs
    types = result["type_definitions"]
    assert types["IdentityMode"].enum is not None
    assert {e.value for e in types["IdentityMode"].enum} == {"pod-identity", "irsa"}
    assert all(p.description for p in tenant.inputs.values())


PURE = ("spec", "catalog", "planner", "tags", "triton", "cost", "identity", "stackconfig", "_args")


def test_the_pure_modules_import_no_pulumi() -> None:
    """What validation, planning, tags and cost need loads without the Pulumi SDK."""
    code = (
        "import importlib, sys; "
        f"[importlib.import_module('tenantry.' + m) for m in {PURE!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pulumi', 'pulumi_aws', "
        "'pulumi_kubernetes'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
