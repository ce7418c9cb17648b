"""Turn pydantic's errors into Problems that say what was given and what is accepted."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from . import model as m
from .errors import Problem, format_path

PATTERN_HELP = {
    m.DNS_LABEL: "a DNS-1123 label: lower-case letters, digits and '-', starting with a letter "
    "and ending with a letter or digit",
    r"^[a-z][a-z0-9_]*$": "lower-case letters, digits and '_', starting with a letter",
    r"^(gpu|\d+g\.\d+gb(\+me)?)$": "a MIG profile name such as '1g.10gb' or '3g.40gb', or 'gpu' "
    "for a whole GPU",
    r"^[1-9][0-9]{0,8}$": 'a positive integer version such as "12" (Triton version directory)',
    r"^[a-z]{2}(-gov)?-[a-z]+-\d$": "an AWS region such as 'us-east-1'",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an e-mail address",
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": "letters, digits, '.', '_' and '-', starting with a "
    "letter or digit",
    r"^\d{12}$": "a 12-digit AWS account id",
    r"^[A-Za-z_][A-Za-z0-9_.:-]*$": "a tensor name: letters, digits, '_', '.', ':' and '-', "
    "starting with a letter or '_'",
    r"^sha256:[0-9a-f]{64}$": "sha256: and 64 lower-case hex digits (tenantry digest DIR)",
    m.OCI_IMAGE_PATTERN: "an OCI image by digest: <registry>/<repository>@sha256:<64 hex>, "
    "lower-case",
    m.TOKEN_VALUE_PATTERN: "a token value compared literally: no '*', no leading or trailing "
    "white space, no control characters",
    m.SUBJECT_PATTERN: "a token subject: no '/', no '*', no leading or trailing white space, "
    "no control characters",
    m.CLAIM_NAME_PATTERN: "a claim name: letters, digits, '_', '.', ':', '/' and '-', "
    "starting with a letter, digit or '_'",
    m.BUCKET_PREFIX_PATTERN: "a relative key prefix of lower-case '/'-separated segments "
    "(letters, digits, '.', '_', '-'), ending in '/', such as 'adapters/support/v3/'",
}
IAM_HELP = (
    "an IAM role or user ARN such as 'arn:aws:iam::111122223333:role/name' "
    "(12-digit account, no wildcards; not a group, which no policy can name as a principal)"
)


def loc_to_path(loc: tuple[int | str, ...]) -> str:
    return format_path([p for p in loc if p != "[key]"])


def _model_at(
    loc: tuple[int | str, ...], root: type[BaseModel] = m.TenantSpec
) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (to list its accepted keys)."""
    current: Any = root
    for part in loc:
        if isinstance(part, int) or part == "[key]":
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = _field(current, part)
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """list[X] / X | None / Annotated[X, ...] -> X (the model class, if any)."""
    for _ in range(5):
        origin = typing.get_origin(tp)
        if origin is None:
            return tp
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        tp = models[0] if models else args[0] if args else tp
    return tp


def _fields_of(model: type[BaseModel]) -> str:
    return ", ".join(f.alias or n for n, f in model.model_fields.items())


def _field(model: type[BaseModel], key: int | str) -> FieldInfo | None:
    return next(
        (f for n, f in model.model_fields.items() if (f.alias or n) == key or n == key), None
    )


def _pattern_help(pattern: str) -> str:
    if pattern.startswith("^arn:"):
        return IAM_HELP
    if pattern.startswith("^[a-z0-9]([-a-z0-9_.]"):
        return "a label key: lower-case letters, digits, '-', '_' and '.'"
    if pattern.startswith("^([A-Za-z0-9]"):
        return "a label value: up to 63 letters, digits, '-', '_' and '.'"
    return PATTERN_HELP.get(pattern, f"text matching {pattern}")


def _one_of(options: list[str]) -> str:
    """'a', 'b' or 'c' (as pydantic's own literal errors put it)."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def _describe(tp: Any, metadata: Sequence[Any] = ()) -> str:
    """What a value of type ``tp`` (with pydantic ``metadata``) looks like, in the words the
    other messages use: what a required field that is missing would accept."""
    for meta in metadata:
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            return _pattern_help(pattern)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _describe(args[0], [*args[1:], *metadata])
    if origin is typing.Literal:
        return _one_of([repr(a) for a in args])
    if origin in (typing.Union, types.UnionType):
        return _one_of([_describe(a) for a in args if a is not type(None)])
    if origin is list:
        inner = _unwrap(args[0]) if args else None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return f"a list of mappings with {_fields_of(inner)}"
        return "a list"
    if origin is dict:
        return "a mapping"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"a mapping with {_fields_of(tp)}"
    return {int: "an integer", float: "a number", str: "text", bool: "true or false"}.get(
        tp, "a value"
    )


def _accepted(err: ErrorDetails, root: type[BaseModel]) -> str | None:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    loc = err["loc"]
    if isinstance(ctx.get("accepted"), str):  # a custom error says it itself
        return str(ctx["accepted"])
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1], root)
        return _fields_of(owner) if owner else None
    if kind == "missing":
        owner = _model_at(loc[:-1], root)
        field = _field(owner, loc[-1]) if owner else None
        return _describe(field.annotation, field.metadata) if field else None
    if kind == "literal_error":
        return str(ctx.get("expected"))
    if kind == "string_pattern_mismatch":
        return _pattern_help(str(ctx.get("pattern", "")))
    bounds = {
        "greater_than_equal": ">= {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "<= {le}",
        "less_than": "< {lt}",
        "string_too_short": "at least {min_length} character(s)",
        "string_too_long": "at most {max_length} character(s)",
        "too_short": "at least {min_length} item(s)",
        "too_long": "at most {max_length} item(s)",
    }
    if kind in bounds:
        return bounds[kind].format(**ctx)
    simple = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "dict_type": "a mapping",
        "list_type": "a list",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
    }
    return simple.get(kind)


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    msg = {
        "literal_error": "is not an accepted value",
        "string_pattern_mismatch": "does not have the accepted form",
    }.get(kind, err["msg"])
    if err["loc"] and err["loc"][-1] == "[key]":
        return "invalid key: " + msg
    return msg


def problems_from(
    exc: ValidationError, file: str, root: type[BaseModel] = m.TenantSpec, prefix: str = ""
) -> list[Problem]:
    """One Problem per pydantic error of a document validated as ``root`` (paths in the
    document's camelCase keys, after ``prefix``)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        value = None if err["type"] == "missing" else err.get("input")
        if err["type"] == "extra_forbidden" and loc:
            value = loc[-1]
        if isinstance(value, dict | list) and err["type"] not in ("dict_type", "list_type"):
            value = None if err["type"] in ("model_type",) else value
        out.append(
            Problem(
                file=file,
                path=prefix + loc_to_path(loc),
                code=err["type"],
                message=_message(err),
                value=value,
                accepted=_accepted(err, root),
            )
        )
    return out


def booleans_for_numbers(
    doc: object, file: str, root: type[BaseModel] = m.TenantSpec, prefix: str = ""
) -> list[Problem]:
    """A ``true``/``false`` where the document's model wants a number: pydantic's lax mode
    reads it as 1/0 (``minReplicas: true`` would be 1 replica, ``retentionDays: yes`` one
    day), so it is refused here, before the model sees it, with its own path."""
    out: dict[str, Problem] = {}

    def walk(tp: Any, value: Any, loc: tuple[int | str, ...]) -> None:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Annotated:
            walk(args[0], value, loc)
        elif origin in (typing.Union, types.UnionType):
            if not (isinstance(value, bool) and bool in args):
                for a in args:
                    walk(a, value, loc)
        elif origin is list and isinstance(value, list) and args:
            for i, v in enumerate(value):
                walk(args[0], v, (*loc, i))
        elif origin is dict and isinstance(value, dict) and len(args) == 2:
            for k, v in value.items():
                walk(args[1], v, (*loc, str(k)))
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(value, dict):
            for k, v in value.items():
                field = _field(tp, k)
                if field is not None:
                    walk(field.annotation, v, (*loc, k))
        elif isinstance(value, bool) and tp in (int, float):
            path = prefix + loc_to_path(loc)
            out[path] = Problem(
                file=file,
                path=path,
                code="bool_for_number",
                message="is true/false where a number belongs",
                value=value,
                accepted="an integer" if tp is int else "a number",
            )

    walk(root, doc, ())
    return list(out.values())
