"""The multi-language component package (``components/``, :mod:`tenantry.component_package`):
the SDK's own schema inference accepts Tenant and Platform, the schema says what their Args
say (types, required fields, descriptions), the committed schema and requirements stay in
sync, and the arguments the SDK's host passes build the same resources as the Python API."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantry import _sdk
from tenantry.component_package import (
    COMPONENTS,
    PACKAGE,
    PLUGIN_DIR,
    SCHEMA_FILE,
    package_version,
    schema,
    schema_text,
    schema_token,
    serve,
)
from tenantry.fleet import pulumi_cli
from tenantry.platform.platform import Platform, PlatformArgs
from tenantry.platform.program import platform_plan
from tenantry.spec import load_platform, load_tenant
from tenantry.tenant import Tenant, TenantArgs
from tenantry.testing import platform_outputs, record
from tests.conftest import ROOT, STACKS, TENANTS

ANY = {"$ref": "pulumi.json#/Any"}


@pytest.fixture(scope="module")
def inferred() -> dict[str, Any]:
    return schema()


def _resource(inferred: dict[str, Any], component: type) -> dict[str, Any]:
    res: dict[str, Any] = inferred["resources"][schema_token(component)]
    return res


def _shape(prop: dict[str, Any]) -> Any:
    """A property's type without descriptions and plain flags."""
    if "$ref" in prop:
        return prop["$ref"]
    if prop["type"] == "array":
        return ["array", _shape(prop["items"])]
    if prop["type"] == "object" and "additionalProperties" in prop:
        return ["map", _shape(prop["additionalProperties"])]
    return prop["type"]


def test_the_package_serves_tenant_and_platform(inferred: dict[str, Any]) -> None:
    assert inferred["name"] == PACKAGE == "tenantry"
    assert inferred["version"] == package_version()
    assert set(inferred["resources"]) == {"tenantry:index:Tenant", "tenantry:index:Platform"}
    assert all(r["isComponent"] for r in inferred["resources"].values())
    assert {schema_token(c) for c in COMPONENTS} == set(inferred["resources"])


def test_tenant_inputs_and_outputs(inferred: dict[str, Any]) -> None:
    tenant = _resource(inferred, Tenant)
    inputs = tenant["inputProperties"]
    assert {k: _shape(v) for k, v in inputs.items()} == {
        "tenant": ["map", ANY["$ref"]],
        "platform": ["map", ANY["$ref"]],
        "platformOutputs": "#/types/tenantry:index:PlatformInputs",
        "identity": "#/types/tenantry:index:Identity",
        "replaceVectorNamespaces": ["array", "string"],
    }
    assert sorted(tenant["requiredInputs"]) == ["platform", "platformOutputs", "tenant"]
    # the documents decide which resources exist: plain values, never outputs
    assert inputs["tenant"]["plain"] and inputs["platform"]["plain"]
    assert {k: _shape(v) for k, v in tenant["properties"].items()} == {
        "namespace": "string",
        "bucketName": "string",
        "inferenceRoleArn": "string",
        "models": ["array", "string"],
    }
    assert sorted(tenant["required"]) == sorted(tenant["properties"])


def test_platform_inputs_and_outputs(inferred: dict[str, Any]) -> None:
    platform = _resource(inferred, Platform)
    inputs = platform["inputProperties"]
    assert {k: _shape(v) for k, v in inputs.items()} == {
        "settings": ["map", ANY["$ref"]],
        "vectorDbPassword": "string",
        "tritonAdminSecret": "string",
        "llmSaltKey": "string",
        "llmRedisPassword": "string",
        "tenantsDir": "string",
        "unpinnedPreview": "boolean",
    }
    assert sorted(platform["requiredInputs"]) == [
        "settings",
        "tritonAdminSecret",
        "vectorDbPassword",
    ]
    for secret in ("vectorDbPassword", "tritonAdminSecret", "llmSaltKey", "llmRedisPassword"):
        assert "plain" not in inputs[secret]  # an Input: a secret output may flow in
    assert {k: _shape(v) for k, v in platform["properties"].items()} == {
        "clusterName": "string",
        "clusterEndpoint": "string",
        "clusterCaData": "string",
        "nodeRoleArn": "string",
        "subnetIds": ["array", "string"],
        "platformKeyArn": "string",
        "vectorDb": ["map", ANY["$ref"]],
        "tritonAdminSecret": "string",
        "migConfigs": ["array", "string"],
        "sharedPools": ["map", ANY["$ref"]],
        "costEventsBucket": "string",
        "auditBucket": "string",
    }


def test_nested_types(inferred: dict[str, Any]) -> None:
    kinds = inferred["types"]
    assert set(kinds) == {
        "tenantry:index:PlatformInputs",
        "tenantry:index:AdminArgs",
        "tenantry:index:Identity",
        "tenantry:index:IdentityMode",
    }
    mode = kinds["tenantry:index:IdentityMode"]
    assert mode["type"] == "string"
    assert [e["value"] for e in mode["enum"]] == ["pod-identity", "irsa"]
    admin = kinds["tenantry:index:AdminArgs"]
    assert _shape(admin["properties"]["port"]) == "integer"
    assert sorted(admin["required"]) == ["dbname", "host", "password", "port", "user"]


def _unwrap(hint: Any) -> Any:
    """The class behind Optional/NotRequired/Input/Sequence wrappers, else None."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            found = _unwrap(arg)
            if found is not None:
                return found
        return None
    if origin in (typing.NotRequired, typing.Required):
        return _unwrap(typing.get_args(hint)[0])
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)):
        return hint
    return None


def _fields(cls: type) -> dict[str, tuple[bool, Any]]:
    """Public field -> (required in Python, annotation)."""
    hints: dict[str, Any] = {}  # as the analyzer reads them (pulumi.Input holds a ForwardRef)
    for base in reversed(cls.__mro__):
        hints.update(inspect.get_annotations(base))
    if typing.is_typeddict(cls):
        return {k: (k in cls.__required_keys__, hints[k]) for k in hints if not k.startswith("_")}
    assert dataclasses.is_dataclass(cls)
    return {
        f.name: (
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            hints[f.name],
        )
        for f in dataclasses.fields(cls)
        if not f.name.startswith("_")
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def test_required_in_the_schema_exactly_when_required_in_python(
    inferred: dict[str, Any],
) -> None:
    """By kind, for every Args type the schema reaches: a field with a default (or NotRequired)
    is optional for other languages too, one without is required (the analyzer reads only
    the annotation, so a defaulted plain field would silently become required)."""
    seen: set[type] = set()
    wrong: list[str] = []

    def check(cls: type, required: list[str], where: str) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for name, (needed, hint) in _fields(cls).items():
            if needed != (_camel(name) in required):
                wrong.append(f"{where}.{name}: Python required={needed}")
            nested = _unwrap(hint)
            if nested is not None:
                kind = inferred["types"][f"tenantry:index:{nested.__name__}"]
                check(nested, kind.get("required", []), nested.__name__)

    for component in COMPONENTS:
        args = inspect.get_annotations(component.__init__)["args"]
        check(args, _resource(inferred, component).get("requiredInputs", []), args.__name__)
    assert wrong == []
    assert len(seen) == 5  # TenantArgs, PlatformInputs, AdminArgs, Identity, PlatformArgs


def test_everything_is_described(inferred: dict[str, Any]) -> None:
    missing: list[str] = []
    for token, res in inferred["resources"].items():
        if not res.get("description"):
            missing.append(token)
        for group in ("inputProperties", "properties"):
            missing += [
                f"{token}.{group}.{k}" for k, v in res[group].items() if not v.get("description")
            ]
    for token, kind in inferred["types"].items():
        if not kind.get("description"):
            missing.append(token)
        props = kind.get("properties", {})
        missing += [f"{token}.{k}" for k, v in props.items() if not v.get("description")]
        members = kind.get("enum", [])
        missing += [f"{token}.{e['name']}" for e in members if not e.get("description")]
    assert missing == []


def test_the_committed_schema_is_the_inferred_one() -> None:
    current = schema_text()
    if os.environ.get("TENANTRY_UPDATE_GOLDEN"):
        SCHEMA_FILE.write_text(current, "utf-8")
    assert SCHEMA_FILE.read_text("utf-8") == current, (
        "components/schema.json is stale: python components schema > components/schema.json "
        "(or TENANTRY_UPDATE_GOLDEN=1 pytest tests/unit/test_component_package.py)"
    )


def test_the_plugin_folder_is_what_the_python_language_host_runs() -> None:
    assert PLUGIN_DIR == ROOT / "components"
    manifest = yaml.safe_load((PLUGIN_DIR / "PulumiPlugin.yaml").read_text("utf-8"))
    assert manifest == {"runtime": "python"}
    # the language host runs `python <plugin dir> ...`: its __main__.py, with the folder first
    # on sys.path (so the checked-out tenantry is what the host serves)
    proc = subprocess.run(
        [sys.executable, str(PLUGIN_DIR), "schema"],
        cwd="/",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SCHEMA_FILE.read_text("utf-8")


def test_the_plugin_requirements_are_the_package_dependencies() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    lines = (PLUGIN_DIR / "requirements.txt").read_text("utf-8").splitlines()
    listed = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    assert listed == pyproject["project"]["dependencies"]


# --- what the host passes builds what the Python API builds ----------------------------


def _consumer_inputs() -> dict[str, Any]:
    """A Tenant's inputs as another language sends them: schema (camelCase) names."""
    out = platform_outputs()
    tenant_doc = yaml.safe_load((TENANTS / "acme.yaml").read_text("utf-8"))
    settings = yaml.safe_load((STACKS / "Pulumi.platform.yaml").read_text("utf-8"))
    return {
        "tenant": tenant_doc,
        "platform": settings["config"]["tenantry:platform"],
        "platformOutputs": {
            "clusterName": out["clusterName"],
            "clusterEndpoint": out["clusterEndpoint"],
            "clusterCaData": out["clusterCaData"],
            "nodeRoleArn": out["nodeRoleArn"],
            "subnetIds": out["subnetIds"],
            "platformKeyArn": out["platformKeyArn"],
            "vectorDb": out["vectorDb"],
            "tritonAdminSecret": out["tritonAdminSecret"],
        },
        "identity": {"mode": "pod-identity"},
    }


def _summary(recording: Any) -> list[tuple[str, str, str | None]]:
    return sorted((r.type, r.name, r.parent) for r in recording)


def test_the_hosts_arguments_build_the_same_tenant() -> None:
    provider = _sdk.component_provider(COMPONENTS, PACKAGE, package_version())
    mapped = _sdk.host_args(provider, "Tenant", _consumer_inputs())
    assert isinstance(mapped, dict) and "platform_outputs" in mapped  # the host's dict
    hosted = record(lambda: Tenant("acme", mapped))

    platform = load_platform(STACKS)
    acme = load_tenant(TENANTS / "acme.yaml", platform)
    from tenantry.testing import platform_inputs

    native = record(lambda: Tenant("acme", TenantArgs.from_spec(acme, platform, platform_inputs())))
    assert _summary(hosted) == _summary(native)
    assert [r.inputs for r in hosted] == [r.inputs for r in native]


def test_the_host_refuses_a_missing_required_input() -> None:
    provider = _sdk.component_provider(COMPONENTS, PACKAGE, package_version())
    inputs = _consumer_inputs()
    del inputs["platformOutputs"]["vectorDb"]["password"]
    with pytest.raises(Exception, match=r"platformOutputs\.vectorDb\.password"):
        _sdk.host_args(provider, "Tenant", inputs)


def test_the_hosts_arguments_build_the_same_platform() -> None:
    settings = yaml.safe_load((STACKS / "Pulumi.platform.yaml").read_text("utf-8"))
    inputs = {
        "settings": settings["config"]["tenantry:platform"],
        "tenantsDir": str(TENANTS),
        "vectorDbPassword": "mock-admin-password",
        "tritonAdminSecret": "triton-secret",
        "unpinnedPreview": True,  # the example platform pins no Triton image digest
    }
    provider = _sdk.component_provider(COMPONENTS, PACKAGE, package_version())
    hosted = record(lambda: Platform("platform", _sdk.host_args(provider, "Platform", inputs)))
    loaded = load_platform(STACKS)
    program = platform_plan(TENANTS, loaded)
    args = PlatformArgs.from_spec(
        loaded,
        program.plan,
        vector_db_password="mock-admin-password",
        triton_admin_secret="triton-secret",
        unpinned_preview=True,
        llm_grants=program.llm_grants,
        tenant_tags=program.tenant_tags,
    )
    native = record(lambda: Platform("platform", args))
    assert _summary(hosted) == _summary(native)
    assert [r.inputs for r in hosted] == [r.inputs for r in native]


def test_the_host_process_registers_the_schema_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve() hands COMPONENTS to the SDK's host and, in that process, makes each register
    under the token its consumers' SDKs declare; Python programs keep their own tokens."""
    import pulumi.provider.experimental as experimental

    calls: list[tuple[list[type], str, str | None]] = []
    monkeypatch.setattr(
        experimental,
        "component_provider_host",
        lambda components, name, namespace=None, version=None: calls.append(
            (components, name, version)
        ),
    )
    for component in COMPONENTS:
        monkeypatch.setattr(component, "TYPE", component.TYPE)  # restored afterwards
    assert Tenant.TYPE == "tenantry:tenant:Tenant" and Platform.TYPE == "tenantry:platform:Platform"
    serve()
    assert calls == [(list(COMPONENTS), PACKAGE, package_version())]
    provider = _sdk.component_provider(COMPONENTS, PACKAGE, package_version())
    hosted = record(lambda: Tenant("acme", _sdk.host_args(provider, "Tenant", _consumer_inputs())))
    assert hosted.one("tenantry:index:Tenant").name == "acme"
    assert hosted.of_type("tenantry:tenant:Tenant") == []


@pytest.mark.engine
def test_pulumi_package_add_round_trip(tmp_path: Path) -> None:
    """The round trip a consumer makes: the CLI loads the plugin folder, gets the schema the
    host serves (it must be the committed one) and records the package in a YAML project."""
    cli = pulumi_cli()
    if cli is None:
        pytest.skip("needs the Pulumi CLI (not installable here: see docs/library.md)")
    got = subprocess.run(
        [cli, "package", "get-schema", str(PLUGIN_DIR)], capture_output=True, text=True
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == json.loads(SCHEMA_FILE.read_text("utf-8"))
    (tmp_path / "Pulumi.yaml").write_text("name: consumer\nruntime: yaml\n", "utf-8")
    added = subprocess.run(
        [cli, "package", "add", str(PLUGIN_DIR)], cwd=tmp_path, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    project = yaml.safe_load((tmp_path / "Pulumi.yaml").read_text("utf-8"))
    assert PACKAGE in project.get("packages", {})
