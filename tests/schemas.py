"""Schema helpers shared by the render tests."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml


def strict(node: Any) -> None:
    """Every object schema that lists properties rejects others (unless it preserves
    unknown fields): what the API server does under strict field validation."""
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for v in node.values():
            strict(v)
    elif isinstance(node, list):
        for v in node:
            strict(v)


PROMETHEUS_OPERATOR_CRDS = Path(__file__).resolve().parent / "data" / "prometheus-operator"


@functools.cache
def prometheus_operator_validator(kind: str) -> Any:
    """A strict validator for a Prometheus Operator kind (``PodMonitor``,
    ``PrometheusRule``) from the vendored CRDs. Go regexes with a leading ``^(?i)`` become
    ``(?i)^`` (Python wants inline flags first; same meaning)."""
    import jsonschema

    path = PROMETHEUS_OPERATOR_CRDS / f"monitoring.coreos.com_{kind.lower()}s.yaml"
    crd = yaml.safe_load(path.read_text("utf-8"))
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]
    body = json.loads(json.dumps(schema["openAPIV3Schema"]).replace('"^(?i)', '"(?i)^'))
    strict(body)
    cls = jsonschema.validators.validator_for(body)
    cls.check_schema(body)
    return cls(body)
