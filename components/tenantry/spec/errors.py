"""Validation problems: each names the file, field path, value given and what is accepted."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about one field of one tenant file.

    ``code`` is a stable machine-readable type (tests and tools match on it); ``path`` uses
    the YAML (camelCase) names, e.g. ``spec.models[0].gpu``.
    """

    file: str
    path: str
    code: str
    message: str
    value: Any = None
    accepted: str | None = None
    severity: Severity = "error"
    line: int | None = None

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.severity}: {self.path or '<document>'}: {self.message}"
        if self.value is not None:
            text += f" (given: {_short(self.value)})"
        if self.accepted:
            text += f"; accepted: {self.accepted}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "value": _jsonable(self.value),
            "accepted": self.accepted,
        }


@dataclass
class SpecError(Exception):
    """Raised when one or more tenant files are invalid; carries every problem at once."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.render() for p in self.problems if p.severity == "error")


class Unparsed(Exception):
    """A rule read a field of a tenant file that did not parse (a hole of
    :func:`tenantry.spec.partial.partial_spec`): what the rule would decide from it cannot
    be established, so the rule stops; its structural error is already reported."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} did not parse")
        self.path = path


T = TypeVar("T")


def each(items: Sequence[T]) -> Iterator[tuple[int, T]]:
    """``enumerate(items)`` without the entries that did not parse (:class:`Unparsed`), for
    a rule that judges each entry on its own or reports conflicts between entries that are
    there: leaving an entry out loses findings, never makes one. (A rule that needs every
    entry, a sum or an "is there any", iterates the list itself and stops at a hole.)"""
    for i in range(len(items)):
        try:
            item = items[i]
        except Unparsed:
            continue
        yield i, item


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def format_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """``("spec", "models", 0, "gpu")`` -> ``spec.models[0].gpu``; keys that are not plain
    identifiers are quoted: ``spec.quotas.gpus["1g.10gb"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += ("." if out else "") + part
        else:
            out += '["' + part.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out


def parse_path(path: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for name, index, key in _TOKEN.findall(path):
        if name:
            parts.append(name)
        elif index:
            parts.append(int(index))
        else:
            parts.append(key.replace('\\"', '"').replace("\\\\", "\\"))
    return tuple(parts)
