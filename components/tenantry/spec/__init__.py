"""The tenant spec: typed model, tiers, platform settings, rules, resolution, registry."""

from .errors import Problem, SpecError, format_path, parse_path
from .model import API_VERSION, KIND, TenantSpec
from .platform import PLATFORM_STACK, PlatformSettings, SharedPool, load_platform
from .registry import (
    Registry,
    load_file,
    load_registry,
    load_tenant,
    parse_document,
    parse_text,
    tenant_files,
)
from .resolved import ResolvedModel, ResolvedNodeGroup, ResolvedQuotas, ResolvedTenant, to_data
from .schema import json_schema, json_schema_text
from .tiers import TIERS, TierPolicy

__all__ = [
    "API_VERSION",
    "KIND",
    "PLATFORM_STACK",
    "TIERS",
    "PlatformSettings",
    "Problem",
    "Registry",
    "ResolvedModel",
    "ResolvedNodeGroup",
    "ResolvedQuotas",
    "ResolvedTenant",
    "SharedPool",
    "SpecError",
    "TenantSpec",
    "TierPolicy",
    "format_path",
    "json_schema",
    "json_schema_text",
    "load_file",
    "load_platform",
    "load_registry",
    "load_tenant",
    "parse_document",
    "parse_path",
    "parse_text",
    "tenant_files",
    "to_data",
]
