"""Reading IAM policy documents wherever they appear (identity, bucket, key, trust)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

# Actions that read or write tenant data: never on Resource "*".
DATA_ACTION = re.compile(
    r"^(s3:(Get|Put|Delete|List|Abort|Restore)\w*|s3:\*|"
    r"kms:(Decrypt|Encrypt|GenerateDataKey\w*|ReEncrypt\w*)|kms:\*|\*)$"
)
ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:[^\s\"',]+")
POLICY_PROPS = ("policy", "assumeRolePolicy", "inlinePolicies")


def documents(props: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every policy document among a resource's properties (JSON strings or objects)."""
    for key in POLICY_PROPS:
        value = props.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Mapping) and "policy" in item:  # inline policy blocks
                item = item["policy"]
            doc = _load(item)
            if doc is not None:
                yield doc


def _load(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) and "Statement" in value else None


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    st = doc.get("Statement", [])
    return [st] if isinstance(st, Mapping) else [s for s in st if isinstance(s, Mapping)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def principals(statement: Mapping[str, Any]) -> list[str]:
    p = statement.get("Principal")
    if p == "*":
        return ["*"]
    if isinstance(p, Mapping):
        return [str(v) for vals in p.values() for v in as_list(vals)]
    return []


def arns(value: Any) -> list[str]:
    """Every ARN mentioned anywhere inside ``value`` (documents, conditions, strings)."""
    return ARN.findall(json.dumps(value, sort_keys=True, default=str))
