"""The subset of Go's ``text/template`` that Knative's host templates use (pure).

Knative Serving renders ``config-network``'s ``domain-template`` and ``tag-template`` with
Go's ``text/template`` (knative/networking ``pkg/config/config.go``; knative/serving
``pkg/reconciler/route/domains/domains.go``). Tenantry must predict those hosts before
anything is deployed, so it accepts the part of the language whose output it can compute
exactly: literal text and field references ``{{.Field}}`` (spaces inside the braces
allowed, as in ``{{ .Name }}``). Anything else (pipelines, functions, ``.Annotations``,
``.Labels``, trim markers) is refused with the reason, rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD = re.compile(r"^\s*\.([A-Za-z][A-Za-z0-9]*)\s*$")
_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SAMPLE = {"Name": "foo", "Namespace": "bar", "Domain": "baz.com", "Tag": "v2"}


class TemplateError(ValueError):
    """A template Tenantry cannot evaluate, or whose output is no valid name."""


def fields_of(template: str) -> list[str]:
    """The fields a template references, in order; raises :class:`TemplateError` for any
    action that is not a plain field reference, or for stray braces."""
    out = []
    for action in _ACTION.findall(template):
        m = _FIELD.match(action)
        if m is None:
            raise TemplateError(
                f"{{{{{action}}}}} is not supported: only field references such as "
                "{{.Name}} are (no pipelines, functions or trim markers)"
            )
        out.append(m.group(1))
    if "{{" in _ACTION.sub("", template) or "}}" in _ACTION.sub("", template):
        raise TemplateError("unbalanced '{{' or '}}'")
    return out


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every ``{{.Field}}`` replaced by ``values[Field]``."""

    def field(m: re.Match[str]) -> str:
        f = _FIELD.match(m.group(1))
        if f is None or f.group(1) not in values:
            raise TemplateError(f"cannot evaluate {{{{{m.group(1)}}}}}")
        return values[f.group(1)]

    return _ACTION.sub(field, template)


def check_template(
    name: str,
    template: str,
    *,
    fields: Sequence[str],
    required: Sequence[str],
    kind: Literal["host", "label"],
) -> None:
    """Raise :class:`TemplateError` (naming ``name``) unless ``template`` uses only
    ``fields``, names every one of ``required``, and renders the sample values into a valid
    host name (``kind="host"``: dot-separated RFC 1123 labels, as Knative's own check
    parses the result as a URL host) or a DNS-1035 label (``kind="label"``: a tag's route
    name becomes a Kubernetes Service name)."""
    try:
        used = fields_of(template)
    except TemplateError as exc:
        raise TemplateError(f"{name} {template!r}: {exc}") from None
    unknown = sorted(set(used) - set(fields))
    if unknown:
        raise TemplateError(
            f"{name} {template!r}: .{', .'.join(unknown)} is not supported; accepted fields: "
            + ", ".join("." + f for f in fields)
        )
    missing = [f for f in required if f not in used]
    if missing:
        raise TemplateError(
            f"{name} {template!r}: must use {', '.join('{{.' + f + '}}' for f in missing)} "
            "(every model's hosts must stay unique)"
        )
    out = render(template, SAMPLE)
    ok = (
        bool(_LABEL.match(out))
        if kind == "label"
        else all(_HOST_LABEL.match(p) for p in out.split("."))
    )
    if not ok:
        what = "a DNS-1035 label" if kind == "label" else "a host name"
        raise TemplateError(
            f"{name} {template!r}: renders {out!r} for the sample values {SAMPLE}, "
            f"which is not {what}"
        )
