"""Every field of a resolved tenant is read by something outside the spec package.

A field the tenant file accepts, that resolves, and that nothing renders, plans, prices or
checks is a promise kept by nobody (own LLMs once took ``tokensPerMinute`` that no gateway
enforced; ``metadata.owner`` went nowhere). This finds such fields by name: an attribute
access ``.<field>`` somewhere in ``components/tenantry`` outside ``spec/``. Tier policies
are excluded: the spec's own rules are what read them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tenantry.spec import resolved

ROOT = Path(__file__).resolve().parents[2] / "components" / "tenantry"
READERS = "\n".join(
    p.read_text("utf-8") for p in ROOT.rglob("*.py") if "spec" not in p.relative_to(ROOT).parts
)
CLASSES = [
    c
    for c in vars(resolved).values()
    if isinstance(c, type)
    and dataclasses.is_dataclass(c)
    and c.__module__ == resolved.__name__
    and c.__name__.startswith("Resolved")
]


def test_the_resolved_classes_are_found() -> None:
    assert {"ResolvedTenant", "ResolvedLlm", "ResolvedLlmAdapter"} <= {c.__name__ for c in CLASSES}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_resolved_field_has_a_reader(cls: type) -> None:
    unread = [
        f.name
        for f in dataclasses.fields(cls)
        if not re.search(rf"\.{re.escape(f.name)}\b", READERS)
    ]
    assert not unread, f"{cls.__name__}: fields read by nothing outside spec/: {unread}"
