"""Strict YAML reading: duplicate keys rejected, and a field path mapped back to its line."""

from __future__ import annotations

import contextlib
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .errors import Problem


class DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


# libyaml's parser when PyYAML was built with it (the wheels are): the same documents and
# node positions, about ten times faster than the pure-Python one.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """Safe loading that refuses duplicate mapping keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                duplicate = False
            if duplicate:
                raise DuplicateKeyError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            with contextlib.suppress(TypeError):
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def load_document(text: str) -> Any:
    """Parse exactly one YAML document with :class:`StrictLoader`."""
    docs = list(yaml.load_all(text, Loader=StrictLoader))
    if len(docs) > 1:
        raise ValueError(f"the file holds {len(docs)} YAML documents; one Tenant per file")
    return docs[0] if docs else None


def compose(text: str) -> Node | None:
    """The document's node tree (positions included), or None if it does not parse."""
    try:
        return yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return None


def line_of(root: Node | None, path: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node along ``path`` that exists (None without a tree)."""
    node = root
    line = None
    for part in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt: Node | None = None
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if k.value == part:
                    nxt = v
                    line = k.start_mark.line + 1
                    break
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        node = nxt
    if node is not None:
        line = node.start_mark.line + 1
    return line


def yaml_problem(exc: Exception, file: str, text: str, accepted: str) -> Problem:
    """``yaml_invalid`` for a document that does not parse: the line and column of the
    error, and as the value given the source line of the error or, for a flow collection
    (``[...]``, ``{...}``), the line where it opens (PyYAML's context mark: an unclosed
    ``[`` is only found where the next line begins)."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError):
        detail = " ".join(filter(None, [exc.context, exc.problem]))
    else:
        detail = str(exc).replace("\n", " ")
    lines = text.splitlines()
    given = None
    context_mark = getattr(exc, "context_mark", None)
    flow = "flow" in str(getattr(exc, "context", "") or "")
    for m in (context_mark, mark) if flow else (mark, context_mark):
        if m is not None and m.line < len(lines) and lines[m.line].strip():
            given = lines[m.line].strip()
            break
    if mark is not None:
        detail += f" (column {mark.column + 1})"
    return Problem(
        file,
        "",
        "yaml_invalid",
        f"not valid YAML: {detail or exc}",
        value=given,
        line=mark.line + 1 if mark is not None else None,
        accepted=accepted,
    )
