"""Diff two desired-state snapshots (recorded resources), field by field. Pure.

A snapshot is a list of resource records, each a mapping with at least ``type``, ``name``
and ``inputs``; resources are matched by (type, name), as Pulumi matches them by URN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..spec.errors import format_path

Key = tuple[str, str]  # (type, name)


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    type: str
    name: str
    fields: tuple[FieldChange, ...]


@dataclass
class SnapshotDiff:
    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


_MISSING = object()


def _walk(before: Any, after: Any, path: tuple[str | int, ...], out: list[FieldChange]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            _walk(before.get(key, _MISSING), after.get(key, _MISSING), (*path, str(key)), out)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            _walk(b, a, (*path, i), out)
        return
    if before != after:
        out.append(
            FieldChange(
                format_path(path),
                None if before is _MISSING else before,
                None if after is _MISSING else after,
            )
        )


def diff_snapshots(
    base: Iterable[Mapping[str, Any]], head: Iterable[Mapping[str, Any]]
) -> SnapshotDiff:
    old = {(r["type"], r["name"]): r for r in base}
    new = {(r["type"], r["name"]): r for r in head}
    result = SnapshotDiff(
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
    )
    for key in sorted(set(old) & set(new)):
        changes: list[FieldChange] = []
        _walk(
            {"inputs": old[key].get("inputs"), "parent": old[key].get("parent")},
            {"inputs": new[key].get("inputs"), "parent": new[key].get("parent")},
            (),
            changes,
        )
        if changes:
            result.changed.append(ResourceChange(key[0], key[1], tuple(changes)))
    return result
