"""Build variants of the example tenants and collect (code, path) of the problems found."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml

from tenantry.spec import PlatformSettings, Problem, parse_text
from tests.conftest import example_text

Doc = dict[str, Any]


def doc(name: str) -> Doc:
    loaded: Doc = yaml.safe_load(example_text(name))
    return loaded


def problems_for(d: Doc, platform: PlatformSettings, stem: str | None = None) -> list[Problem]:
    text = yaml.safe_dump(d, sort_keys=False)
    _, problems = parse_text(text, "t.yaml", platform, stem=stem or d["metadata"]["name"])
    return problems


def variant(name: str, change: Callable[[Doc], None]) -> Doc:
    d = copy.deepcopy(doc(name))
    change(d)
    return d


def codes(problems: list[Problem], severity: str = "error") -> set[tuple[str, str]]:
    return {(p.code, p.path) for p in problems if p.severity == severity}
