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
ADMIN_KEY = "test-triton-admin-key"  # the platform-derived header value (a test stand-in)
KSERVE_CRD = ROOT / "tests" / "data" / "kserve" / "serving.kserve.io_inferenceservices.yaml"
LLMISVC_CRD = ROOT / "tests" / "data" / "kserve" / "serving.kserve.io_llminferenceservices.yaml"
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
def llmisvc_validator() -> Any:
    """A strict validator for the LLMInferenceService CRD's ``v1alpha2`` schema (unknown
    fields rejected, except under ``x-kubernetes-preserve-unknown-fields``)."""
    import jsonschema

    crd = yaml.safe_load(LLMISVC_CRD.read_text("utf-8"))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha2")
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    strict(schema)
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


# Istio's validating webhook refuses some objects the CRD schema admits. The checks below are
# those of istio/istio pkg/config/validation/validation.go (ValidateAuthorizationPolicy,
# ValidatePeerAuthentication, ValidateRequestAuthentication) and pkg/config/security
# (ValidateAttribute, CheckEmptyValues) that Tenantry's objects could trip.
SOURCE_KEYS = (
    "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
    "notNamespaces", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks",
    "serviceAccounts", "notServiceAccounts", "trustDomains", "notTrustDomains",
)  # fmt: skip
OPERATION_KEYS = ("ports", "notPorts", "methods", "notMethods", "paths", "notPaths", "hosts",
                  "notHosts")  # fmt: skip
WHEN_KEYS = ("source.ip", "remote.ip", "source.namespace", "source.principal",
             "source.serviceAccount", "request.auth.principal", "request.auth.audiences",
             "request.auth.presenter", "destination.ip", "destination.port",
             "connection.sni")  # fmt: skip
WHEN_PREFIXES = ("request.headers[", "request.auth.claims[", "experimental.")


def istio_webhook_errors(obj: dict[str, Any]) -> list[str]:
    """What Istio's validating webhook would refuse in one object (empty when admitted)."""
    kind, spec = obj["kind"], obj.get("spec") or {}
    errs: list[str] = []
    if kind == "AuthorizationPolicy":
        scoped = [k for k in ("selector", "targetRef", "targetRefs") if k in spec]
        if len(scoped) > 1:
            errs.append("only one of targetRefs or selector can be set")
        action = spec.get("action", "ALLOW")
        if action in ("DENY", "CUSTOM") and spec.get("rules") is None:
            errs.append(f"{action} action without rules is meaningless")
        if spec.get("provider") and action != "CUSTOM":
            errs.append("provider must not be with non CUSTOM action")
        for i, rule in enumerate(spec.get("rules") or []):
            if "from" in rule and not rule["from"]:
                errs.append(f"rule {i}: from must not be empty")
            for f in rule.get("from") or []:
                src = f.get("source")
                if not src or not any(src.get(k) for k in SOURCE_KEYS):
                    errs.append(f"rule {i}: from.source must not be empty")
                    continue
                if (src.get("serviceAccounts") or src.get("notServiceAccounts")) and any(
                    src.get(k)
                    for k in ("principals", "notPrincipals", "namespaces", "notNamespaces")
                ):
                    errs.append(
                        f"rule {i}: cannot set serviceAccounts with namespaces or principals"
                    )
                errs += [
                    f"rule {i}: empty value in {k}" for k in SOURCE_KEYS if "" in src.get(k, [])
                ]
            if "to" in rule and not rule["to"]:
                errs.append(f"rule {i}: to must not be empty")
            for t in rule.get("to") or []:
                op = t.get("operation")
                if not op or not any(op.get(k) for k in OPERATION_KEYS):
                    errs.append(f"rule {i}: to.operation must not be empty")
                    continue
                errs += [
                    f"rule {i}: empty value in {k}" for k in OPERATION_KEYS if "" in op.get(k, [])
                ]
                for port in [*op.get("ports", []), *op.get("notPorts", [])]:
                    if not str(port).isdigit() or not 0 < int(port) < 65536:
                        errs.append(f"rule {i}: invalid port {port!r}")
            for w in rule.get("when") or []:
                key = w.get("key", "")
                if not key:
                    errs.append(f"rule {i}: when key must not be empty")
                elif key not in WHEN_KEYS and not key.startswith(WHEN_PREFIXES):
                    errs.append(f"rule {i}: unknown attribute {key}")
                if not w.get("values") and not w.get("notValues"):
                    errs.append(f"rule {i}: at least one of values or notValues for {key}")
                if "" in [*w.get("values", []), *w.get("notValues", [])]:
                    errs.append(f"rule {i}: empty value for {key}")
    elif kind == "PeerAuthentication":
        selector = (spec.get("selector") or {}).get("matchLabels")
        if "portLevelMtls" in spec:
            if not selector:
                errs.append("mesh/namespace peer authentication cannot have port level mTLS")
            if not spec["portLevelMtls"]:
                errs.append("port level mTLS, if defined, must have at least one element")
            errs += [
                f"port {p} out of range" for p in spec["portLevelMtls"] if not 0 < int(p) < 65536
            ]
    elif kind == "RequestAuthentication":
        for rule in spec.get("jwtRules") or []:
            if not rule.get("issuer"):
                errs.append("issuer must be set")
            uri = rule.get("jwksUri")
            if uri is not None and not str(uri).startswith(("https://", "http://")):
                errs.append(f"invalid jwksUri {uri!r}")
    return errs
