"""Shared helpers of the platform tests: the platform render, the plan it is built from, and
strict validators for the KServe CRDs."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import yaml

from tenantry import Platform, PlatformArgs
from tenantry.engine import Record, record, record_platform
from tenantry.planner import FleetPlan, extract_demands, plan
from tenantry.spec import PlatformSettings
from tests.components.helpers import ROOT, platform, tenants
from tests.schemas import strict

# An llmGatewayImage for tests that build a deployable platform (the example file sets none:
# no image of the gateway is published; .ci/llm-gateway.Dockerfile builds one).
GATEWAY_IMAGE = "registry.example.com/tenantry/llm-gateway@sha256:" + "ab" * 32
SALT_KEY = "test-salt-key"
VLLM_DIGEST = "sha256:" + "cd" * 32  # a vllmImageDigest for the same tests
REDIS_DIGEST = "sha256:" + "ef" * 32  # an llmRedisImageDigest for the same tests
REDIS_PASSWORD = "test-redis-password"
RUNTIME_CRD = ROOT / "tests" / "data" / "kserve" / "serving.kserve.io_clusterservingruntimes.yaml"


@functools.cache
def platform_records() -> tuple[Record, ...]:
    return tuple(record_platform(ROOT / "tenants", ROOT / "stacks"))


@functools.cache
def example_plan() -> FleetPlan:
    return plan(extract_demands(list(tenants().values()), platform()))


def by_name(records: tuple[Record, ...] | list[Record]) -> dict[str, Record]:
    out = {r.name: r for r in records}
    assert len(out) == len(records), "logical names must be unique"
    return out


STORAGE_CRD = ROOT / "tests" / "data" / "kserve" / "serving.kserve.io_clusterstoragecontainers.yaml"


@functools.cache
def crd_validator(path: Path, version: str = "v1alpha1") -> Any:
    """A strict validator for one version of the CRD at ``path`` (unknown fields rejected)."""
    import jsonschema

    crd = yaml.safe_load(path.read_text("utf-8"))
    found = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = found["schema"]["openAPIV3Schema"]
    strict(schema)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def runtime_validator() -> Any:
    return crd_validator(RUNTIME_CRD)


def aws_class(type_token: str) -> type:
    """``aws:eks/nodeGroup:NodeGroup`` -> ``pulumi_aws.eks.NodeGroup``."""
    import importlib

    _, module, cls = type_token.split(":")
    mod = importlib.import_module(f"pulumi_aws.{module.split('/')[0]}")
    found: type = getattr(mod, cls)
    return found


def taggable(type_token: str) -> bool:
    cls = aws_class(type_token)
    return "tags" in inspect.signature(cls._internal_init).parameters  # type: ignore[attr-defined]


def platform_with(settings: PlatformSettings, **kw: Any) -> list[Record]:
    """The platform stack of ``settings`` recorded over the example plan, with the secret
    arguments the tests use (``kw`` adds or overrides ``PlatformArgs.from_spec``'s)."""

    def program() -> None:
        args = PlatformArgs.from_spec(
            settings,
            example_plan(),
            vector_db_password="pw",
            triton_admin_secret="triton-secret",
            llm_salt_key=SALT_KEY,
            llm_redis_password=REDIS_PASSWORD,
            **kw,
        )
        Platform("platform", args)

    return record(program, stack="platform")
