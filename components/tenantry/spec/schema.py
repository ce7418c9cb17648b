"""JSON Schema of the tenant file, for editors (yaml-language-server) and tooling."""

from __future__ import annotations

import json
from typing import Any

from .model import TenantSpec

SCHEMA_ID = "https://tenantry.dev/schemas/tenant.v1alpha1.json"
SCHEMA_FILE = "tenant.schema.json"  # committed in tenants/, kept in sync by a test


def json_schema() -> dict[str, Any]:
    schema = TenantSpec.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
