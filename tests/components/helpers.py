"""Shared helpers: the example tenants, building components under the recording engine, and
the schemas rendered objects are validated against."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tenantry.engine import Record
from tenantry.spec import PlatformSettings, ResolvedTenant, load_platform, load_registry
from tenantry.testing import PreviewMocks, record
from tests.schemas import strict

ROOT = Path(__file__).resolve().parents[2]
TIER_OF_EXAMPLE = {
    "acme": "premium",
    "globex": "shared",
    "initech": "isolated",
    "umbrella": "dedicated",
}
EXAMPLES = sorted(TIER_OF_EXAMPLE)
BUCKET = "test-models-bucket"
KSERVE_CRD = ROOT / "tests" / "data" / "kserve" / "serving.kserve.io_inferenceservices.yaml"
ISTIO_CRDS = ROOT / "tests" / "data" / "istio" / "crd-all.gen.yaml"  # see its README


@functools.cache
def platform() -> PlatformSettings:
    return load_platform(ROOT / "stacks")


@functools.cache
def tenants() -> dict[str, ResolvedTenant]:
    reg = load_registry([ROOT / "tenants"], platform())
    assert reg.ok, [p.render() for p in reg.problems]
    return dict(reg.tenants)


def build(name: str, factory: Callable[[], Any]) -> list[Record]:
    """What ``factory`` declares, as ``tenantry plan`` sees it (tenantry.testing)."""
    return list(record(factory, stack=name, mocks=PreviewMocks()))


def by_name(records: list[Record]) -> dict[str, Record]:
    out = {r.name: r for r in records}
    assert len(out) == len(records), "logical names must be unique"
    return out


def parent_name(rec: Record) -> str | None:
    return rec.parent.rsplit("::", 1)[1] if rec.parent else None


@functools.cache
def isvc_schema() -> dict[str, Any]:
    """The v1beta1 openAPIV3Schema, made strict: every object schema that lists properties
    rejects others (unless it says x-kubernetes-preserve-unknown-fields)."""
    crd = yaml.safe_load(KSERVE_CRD.read_text("utf-8"))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]

    strict(schema)
    return schema


@functools.cache
def isvc_validator() -> Any:
    """A compiled validator for :func:`isvc_schema` (building one per call costs seconds)."""
    import jsonschema

    schema = isvc_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.cache
def _istio_crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the strict openAPIV3Schema of every Istio CRD version."""
    out = {}
    for crd in yaml.safe_load_all(ISTIO_CRDS.read_text("utf-8")):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            # the API server accepts these on every object (Istio's schemas leave them out;
            # metadata is checked as ObjectMeta by kubernetes-validate)
            schema["properties"].setdefault("apiVersion", {"type": "string"})
            schema["properties"].setdefault("kind", {"type": "string"})
            schema["properties"].setdefault("metadata", {"type": "object"})
            strict(schema)
            schema["properties"]["metadata"].pop("additionalProperties", None)
            out[(f"{group}/{version['name']}", kind)] = schema
    return out


def is_istio(obj: dict[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).split("/")[0].endswith(".istio.io")


@functools.cache
def istio_validator(api_version: str, kind: str) -> Any:
    """A compiled, strict validator for one Istio kind and version (unknown fields are errors,
    as the API server's strict field validation makes them); KeyError for an unknown one."""
    import jsonschema

    schema = _istio_crds()[(api_version, kind)]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
