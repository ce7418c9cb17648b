"""Schema helpers shared by the render tests."""

from __future__ import annotations

from typing import Any


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
