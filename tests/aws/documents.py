"""Find every IAM policy document in a recording by walking the recorded inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .mocks import Recording

KEY_POLICY_TYPES = {"aws:kms/key:Key"}
TRUST_INPUT = "assumeRolePolicy"


@dataclass(frozen=True)
class Doc:
    resource: str  # recorded resource name
    typ: str
    field: str  # input that holds it
    doc: dict[str, Any]
    role_arn: str | None  # for trust policies: the role they belong to

    @property
    def kind(self) -> str:
        if self.field == TRUST_INPUT:
            return "trust"
        if self.typ in KEY_POLICY_TYPES:
            return "key"
        if self.typ == "aws:s3/bucketPolicy:BucketPolicy":
            return "bucket"
        return "identity"

    @property
    def file_name(self) -> str:
        return f"{self.resource}.{self.field}.json"


def _as_policy(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str) or '"Statement"' not in value:
        return None
    parsed = json.loads(value)
    return parsed if isinstance(parsed, dict) and "Statement" in parsed else None


def documents(rec: Recording, account: str) -> list[Doc]:
    out = []
    for r in rec.resources:
        for field, value in sorted(r.inputs.items()):
            doc = _as_policy(value)
            if doc is None:
                continue
            role_arn = None
            if field == TRUST_INPUT:
                role_arn = (
                    f"arn:aws:iam::{account}:role{r.inputs.get('path', '/')}{r.inputs['name']}"
                )
            out.append(Doc(r.name, r.typ, field, doc, role_arn))
    return out


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]
