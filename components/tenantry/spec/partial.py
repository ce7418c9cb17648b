"""A tenant file with structural errors, kept for the rules: every part that parsed, typed as
the model types it, and a *hole* wherever pydantic refused a value.

``tenantry validate`` reports in one run every error it can establish: the structural ones
and every finding of the rules (:mod:`tenantry.spec.rules`, :mod:`tenantry.spec.downstream`,
:mod:`tenantry.spec.registry_rules`) on the parts of the file that are valid. A rule that
reads a hole raises :class:`~tenantry.spec.errors.Unparsed`; the rule stops there, what it
reported before stands (it was decided by valid fields only) and the stop is no error of its
own (the structural error at the hole already says what to fix).

Holes: a field whose value pydantic refused, a required field that is missing, a whole
mapping (``metadata.labels``, ``quotas.gpus``, ``migLayout``, a client's ``claims``) with a
refused key or value, and a list entry that is not what the list holds. Reading a field that
is a hole, or the entry of a list at a hole (iteration included), raises ``Unparsed``; the
length of a list, and every other field, read as given.

Pure; the same models, constraints and coercions as :meth:`TenantSpec.model_validate` (each
valid part is validated by pydantic with its field's own type).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from functools import partial as bind
from typing import Any, overload

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from .errors import Unparsed, format_path
from .model import TenantSpec

Loc = tuple[int | str, ...]


class HoledList(Sequence[Any]):
    """A list field with entries that did not parse: its length is known, reading an entry
    at a hole (directly, or by iterating up to it) raises :class:`Unparsed`."""

    def __init__(self, items: list[Any], holes: set[int], path: str) -> None:
        self._items = items
        self._holes = holes
        self._path = path

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            picked = range(len(self._items))[index]
            return HoledList(
                [self._items[i] for i in picked],
                {n for n, i in enumerate(picked) if i in self._holes},
                self._path,
            )
        i = index + len(self._items) if index < 0 else index
        if i in self._holes:
            raise Unparsed(f"{self._path}[{i}]")
        return self._items[index]

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self._items)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"HoledList({self._path}, holes={sorted(self._holes)})"


class _Hole:
    """Marks a refused value while a partial model is built (never reaches a rule)."""


HOLE = _Hole()


@dataclass
class Partial:
    """What :func:`partial` built: the value (holes included) and the errors of the checks
    across fields (``@model_validator(mode="after")``) of the models with a hole somewhere
    inside, run on what parsed: pydantic runs those only when every field of the model
    parsed, so without this a cross-field error surfaced only in a second run."""

    value: Any
    line_errors: list[InitErrorDetails] = field(default_factory=list)

    def error(self, title: str) -> ValidationError | None:
        """The cross-field errors as one ``ValidationError`` (None when there are none)."""
        if not self.line_errors:
            return None
        return ValidationError.from_exception_data(title, self.line_errors)


def refused(exc: ValidationError) -> list[Loc]:
    """The locations (in the document's keys) of pydantic's errors."""
    return [tuple(p for p in e["loc"] if p != "[key]") for e in exc.errors()]


def partial_spec(doc: dict[str, Any], bad: Sequence[Loc]) -> Any:
    """``doc`` as a :class:`TenantSpec` with a hole at each location of ``bad`` (pydantic's
    errors, :func:`refused`, and values refused before pydantic saw them, e.g. a boolean
    for a number). Typed as ``Any``: a TenantSpec to read, not a validated one (never
    resolve or render it). Raises :class:`Unparsed` when the document itself is refused."""
    return partial(TenantSpec, doc, bad).value


def partial(root: type[BaseModel], doc: dict[str, Any], bad: Sequence[Loc]) -> Partial:
    """``doc`` as a ``root`` with a hole at each location of ``bad``, and the errors of the
    cross-field checks that could run (see :class:`Partial`). Raises :class:`Unparsed`
    when the document itself is refused."""
    out = Partial(None)
    built = _value(root, doc, [tuple(b) for b in bad], (), out.line_errors)
    if built is HOLE:
        raise Unparsed("<document>")
    out.value = built
    return out


def _under(bad: list[Loc], part: int | str) -> list[Loc]:
    return [loc[1:] for loc in bad if loc and loc[0] == part]


def _model_of(tp: Any) -> type[BaseModel] | None:
    """The model class of ``tp`` when it is ``M`` or ``M | None``; else None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _model_of(args[0])
    return None


def _list_item(tp: Any) -> Any:
    """``X`` of ``list[X]`` (also inside ``Annotated`` or ``| None``); None otherwise."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _list_item(typing.get_args(tp)[0])
    if origin is list:
        return typing.get_args(tp)[0]
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _list_item(args[0]) if len(args) == 1 else None
    return None


def _new_adapter(tp: Any) -> TypeAdapter[Any]:
    if _model_of(tp) is not None and typing.get_origin(tp) is None:
        return TypeAdapter(tp)  # a model brings its own config
    # the models' own setting (Strict): `version: 12` in YAML means "12"
    return TypeAdapter(tp, config=ConfigDict(coerce_numbers_to_str=True))


_cached_adapter = cache(_new_adapter)


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        return _cached_adapter(tp)
    except TypeError:  # an annotation that cannot be hashed: built each time
        return _new_adapter(tp)


def _validated(tp: Any, value: Any) -> Any:
    try:
        return _adapter(tp).validate_python(value)
    except ValidationError:  # refused alone although no error named it: keep it a hole
        return HOLE


def _value(tp: Any, value: Any, bad: list[Loc], loc: Loc, found: list[InitErrorDetails]) -> Any:
    """``value`` validated as ``tp``; HOLE when refused at its own location; a partial
    model or :class:`HoledList` when refused somewhere inside."""
    if not bad:
        return _validated(tp, value)
    if () in bad:
        return HOLE
    model = _model_of(tp)
    if model is not None and isinstance(value, dict):
        return _model(model, value, bad, loc, found)
    item = _list_item(tp)
    if item is not None and isinstance(value, list):
        items: list[Any] = []
        holes: set[int] = set()
        for i, v in enumerate(value):
            built = _value(item, v, _under(bad, i), (*loc, i), found)
            if built is HOLE:
                holes.add(i)
            items.append(built)
        return HoledList(items, holes, format_path(loc)) if holes else items
    return HOLE  # a mapping or a scalar with an error inside: refused as a whole


def _model(
    model: type[BaseModel],
    data: dict[str, Any],
    bad: list[Loc],
    loc: Loc,
    found: list[InitErrorDetails],
) -> Any:
    """``model.model_construct`` of the parts of ``data`` that parsed; a field that did not
    is left out of the instance, so reading it raises :class:`Unparsed` (``Strict``)."""
    values: dict[str, Any] = {}
    holes: list[str] = []
    keys = {k for n, f in model.model_fields.items() for k in (n, f.alias or n)}
    # an unknown key may be a misspelt field (`gpus:` for `gpu:`): then no field left out
    # takes its default, which could be what the file did not mean
    typo = any(len(b) == 1 and b[0] not in keys for b in bad)
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in data and name not in data:
            if info.is_required() or typo:
                holes.append(name)
            continue  # model_construct fills the default
        key = key if key in data else name
        tp: Any = info.annotation
        if info.metadata:
            tp = typing.Annotated[(tp, *info.metadata)]
        under = _under(bad, key)
        built = _value(tp, data[key], under, (*loc, key), found)
        if built is HOLE:
            holes.append(name)
        else:
            values[name] = built
            if under:  # built in part: its own after-validators did not run
                _field_checks(info.metadata, built, data[key], (*loc, key), found)
    instance = model.model_construct(**values)
    for name in holes:
        instance.__dict__.pop(name, None)  # a hole: Strict.__getattr__ raises Unparsed
    _cross_field(model, instance, data, loc, found)
    return instance


def _field_checks(
    metadata: list[Any], value: Any, given: Any, loc: Loc, found: list[InitErrorDetails]
) -> None:
    """The field's own after-validators (e.g. a list's names are unique) on its value built
    in part; each that reads no hole and refuses adds the error pydantic would report."""
    for meta in metadata:
        if isinstance(meta, AfterValidator):
            _run(bind(meta.func, value), loc, given, found)


def _run(check: Callable[[], Any], loc: Loc, given: Any, found: list[InitErrorDetails]) -> None:
    """Run one check on partial data: nothing when it reads a hole, else its error (as
    pydantic would report it at ``loc``)."""
    try:
        check()
    except Unparsed:
        return
    except PydanticCustomError as exc:
        found.append({"type": exc, "loc": loc, "input": given})
    except ValueError as exc:
        found.append({"type": "value_error", "loc": loc, "input": given, "ctx": {"error": exc}})
    except AssertionError as exc:
        found.append({"type": "assertion_error", "loc": loc, "input": given, "ctx": {"error": exc}})


def _cross_field(
    model: type[BaseModel], instance: Any, data: Any, loc: Loc, found: list[InitErrorDetails]
) -> None:
    """Run ``model``'s after-validators on the partial ``instance``; each that reads no hole
    and refuses adds the error pydantic would have reported at ``loc``."""
    for dec in model.__pydantic_decorators__.model_validators.values():
        if dec.info.mode == "after":
            _run(bind(dec.func, instance), loc, data, found)


def readable(value: Any) -> bool:
    """Whether ``value`` (a model, a list, or a plain value) has no hole anywhere inside."""
    if isinstance(value, HoledList):
        return False
    if isinstance(value, BaseModel):
        return all(
            name in value.__dict__ and readable(value.__dict__[name])
            for name in type(value).model_fields
        )
    if isinstance(value, list | tuple):
        return all(readable(v) for v in value)
    if isinstance(value, dict):
        return all(readable(v) for v in value.values())
    return True


def planning_view(spec: Any) -> Any:
    """A partial tenant spec reduced to what the fleet's GPU plan reads through
    :func:`tenantry.spec.resolve.resolve`: its name, tier, node groups, models and own LLMs
    as they parsed (a hole there still raises :class:`Unparsed`); every other part that did
    not parse in full is replaced by its default, so a typo in ``owner`` or ``storage``
    does not keep the tenant's GPU demand out of the fleet's checks. For planning only:
    never render, price or deploy it."""
    md, s = spec.metadata, spec.spec
    metadata = _reduced(md, ("name",), {"cost_center": ""})
    body = _reduced(s, ("tier", "node_groups", "models", "llms"), {"region": ""})
    return type(spec).model_construct(metadata=metadata, spec=body)


def _reduced(model: BaseModel, plan: tuple[str, ...], fill: dict[str, Any]) -> Any:
    """A copy of ``model`` with the fields of ``plan`` as they are (holes included), the
    other fields that parsed in full kept, and the rest filled from ``fill`` or defaulted."""
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name in model.__dict__ and (name in plan or readable(model.__dict__[name])):
            values[name] = model.__dict__[name]
        elif name not in plan and name in fill:
            values[name] = fill[name]
    built = type(model).model_construct(**values)
    for name in plan:
        if name not in model.__dict__:
            built.__dict__.pop(name, None)  # a hole the plan reads stays a hole
    return built
