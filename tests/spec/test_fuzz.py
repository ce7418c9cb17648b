"""Arbitrary mutations of valid tenant files only ever yield clean validation results."""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.cli.main import main
from tenantry.spec import PlatformSettings, load_file, load_platform, parse_text
from tests.conftest import EXAMPLES, STACKS, example_text

PLATFORM: PlatformSettings = load_platform(STACKS)
DOCS = {name: yaml.safe_load(example_text(name)) for name in EXAMPLES}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["gpu", "1g.10gb", "3g.40gb", "p5.48xlarge", "-1", "", "shared", "*"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated_docs(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(EXAMPLES))
    doc = copy.deepcopy(DOCS[name])
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(values) if draw(st.integers(0, 9)) == 0 else doc
            continue
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add_key", "duplicate"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "add_key" and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=10))] = draw(values)
        elif action == "duplicate" and isinstance(parent[key], list) and parent[key]:
            parent[key].append(copy.deepcopy(parent[key][0]))
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_docs())
def test_mutated_documents_give_clean_results(doc: Any) -> None:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    tenant, problems = parse_text(text, "t.yaml", PLATFORM, stem="acme")
    assert tenant is not None or any(p.severity == "error" for p in problems)
    for p in problems:
        assert isinstance(p.path, str) and p.message and p.code
        p.render()
        p.to_dict()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.integers(0, 4000), st.integers(0, 40), st.binary(max_size=40))
def test_byte_level_corruption_through_the_cli(name: str, at: int, cut: int, junk: bytes) -> None:
    raw = example_text(name).encode()
    at = min(at, len(raw))
    corrupted = raw[:at] + junk + raw[at + cut :]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"{name}.yaml"
        f.write_bytes(corrupted)
        tenant, problems = load_file(f, PLATFORM)
        assert tenant is not None or problems
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(f), "--stacks", str(STACKS)])
        assert code in (0, 1)
        assert "Traceback" not in out.getvalue() + err.getvalue()
        assert (code == 0) == (tenant is not None)
