"""Component args from the mapping Pulumi's component provider host passes.

A component used from another Pulumi language (``pulumi package add``) is built by the SDK's
provider host (``pulumi.provider.experimental``), which calls ``Component(name, args,
opts)`` with ``args`` as a dict keyed by the Python field names, nested types as nested
dicts and enums by value (``component.py``, ``map_inputs``). :func:`args_of` turns that into
the component's frozen Args dataclass, so the component has one code path. Pure: no Pulumi.
"""

import dataclasses
import inspect
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


def args_of(cls: type[T], value: T | Mapping[str, Any]) -> T:
    """``value`` when it is a ``cls`` already, else the ``cls`` built from the mapping
    (nested dataclasses and enums converted, ``None`` and absent keys left to the field's
    default). Raises ``TypeError`` naming unknown or missing fields."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(
            f"args: expected {cls.__name__} or a mapping of its fields, got {type(value).__name__}"
        )
    return _build(cls, value, cls.__name__)


def _build(cls: type[T], value: Mapping[str, Any], where: str) -> T:
    assert dataclasses.is_dataclass(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise TypeError(f"{where}: unknown field(s) {unknown}; accepted: {sorted(fields)}")
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):  # as the schema analyzer reads them
        hints.update(inspect.get_annotations(base, eval_str=True))
    kwargs = {
        name: _convert(hints[name], value[name], f"{where}.{name}")
        for name in fields
        if value.get(name) is not None
    }
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise TypeError(f"{where}: {exc}") from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, where)
        return value
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            return _build(hint, value, where)
        if issubclass(hint, Enum) and not isinstance(value, hint):
            return hint(value)
    return value
