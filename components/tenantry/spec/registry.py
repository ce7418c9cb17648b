"""Load tenant files: parse, check structure, apply rules, resolve. Every problem at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import Problem, SpecError, errors, parse_path
from .model import TenantSpec
from .platform import PlatformSettings
from .pydantic_errors import problems_from
from .resolve import resolve
from .resolved import ResolvedTenant
from .rules import check
from .yamlio import compose, line_of, load_document

MAX_FILE_BYTES = 1 << 20
SUFFIXES = (".yaml", ".yml")


@dataclass
class Registry:
    """The outcome of loading many tenant files: valid tenants and every problem found."""

    tenants: dict[str, ResolvedTenant] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not errors(self.problems)


def parse_text(
    text: str, file: str, platform: PlatformSettings, stem: str | None = None
) -> tuple[ResolvedTenant | None, list[Problem]]:
    """Parse one tenant document; returns the resolved tenant (if valid) and all problems."""
    try:
        doc: Any = load_document(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        if isinstance(exc, yaml.MarkedYAMLError):
            detail = " ".join(filter(None, [exc.context, exc.problem]))
        else:
            detail = str(exc).replace("\n", " ")
        return None, [
            Problem(
                file,
                "",
                "yaml_invalid",
                f"not valid YAML: {detail}",
                line=line,
                accepted="one YAML mapping (a Tenant document)",
            )
        ]
    if doc is None:
        return None, [
            Problem(
                file,
                "",
                "empty",
                "the file is empty",
                accepted="a Tenant document (apiVersion, kind, metadata, spec)",
            )
        ]
    return _checked(doc, file, platform, stem, text)


def parse_document(
    doc: object, file: str, platform: PlatformSettings, stem: str | None = None
) -> tuple[ResolvedTenant | None, list[Problem]]:
    """One tenant document already parsed (a mapping built in code, or passed by another
    Pulumi language): the same checks and resolution as :func:`parse_text`, its problems
    named after ``file`` (there are no lines to give)."""
    return _checked(doc, file, platform, stem, None)


def _checked(
    doc: object, file: str, platform: PlatformSettings, stem: str | None, text: str | None
) -> tuple[ResolvedTenant | None, list[Problem]]:
    if not isinstance(doc, dict):
        return None, [
            Problem(
                file,
                "",
                "dict_type",
                "the document is not a mapping",
                value=type(doc).__name__,
                accepted="a Tenant document (apiVersion, kind, metadata, spec)",
            )
        ]
    try:
        spec = TenantSpec.model_validate(doc)
    except ValidationError as exc:
        return None, _with_lines(problems_from(exc, file), text)
    problems = _with_lines(check(spec, platform, file, stem), text)
    if errors(problems):
        return None, problems
    return resolve(spec, platform, file), problems


def load_file(
    path: Path, platform: PlatformSettings
) -> tuple[ResolvedTenant | None, list[Problem]]:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file, "", "unreadable", f"cannot read the file: {exc.strerror}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            Problem(
                file,
                "",
                "too_large",
                f"the file has {len(raw)} bytes",
                accepted=f"at most {MAX_FILE_BYTES} bytes",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [
            Problem(
                file,
                "",
                "not_text",
                f"not UTF-8 text (byte {exc.start})",
                accepted="a UTF-8 YAML file",
            )
        ]
    return parse_text(text, file, platform, stem=path.stem)


def tenant_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their ``*.yaml``/``*.yml`` files (sorted); keep files as given."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix in SUFFIXES and f.is_file()))
        else:
            out.append(p)
    return out


def load_registry(paths: Iterable[Path], platform: PlatformSettings) -> Registry:
    reg = Registry()
    files = tenant_files(paths)
    for path in files:
        if not path.exists():
            reg.problems.append(Problem(str(path), "", "not_found", "no such file or directory"))
            continue
        tenant, problems = load_file(path, platform)
        reg.problems.extend(problems)
        if tenant is not None:
            reg.tenants.setdefault(tenant.name, tenant)
    seen: dict[str, str] = {}
    for path in files:
        name = path.stem
        if name in seen and name in reg.tenants:
            reg.problems.append(
                Problem(
                    str(path),
                    "metadata.name",
                    "name_duplicate",
                    f"tenant name is also used by {seen[name]}",
                    name,
                    "a name unique across the registry",
                )
            )
            reg.tenants.pop(name, None)
        seen.setdefault(name, str(path))
    return reg


def load_tenant(path: Path, platform: PlatformSettings) -> ResolvedTenant:
    """One tenant or :class:`SpecError` with every problem (warnings included)."""
    tenant, problems = load_file(path, platform)
    if tenant is None:
        raise SpecError(problems)
    return tenant


def _with_lines(problems: list[Problem], text: str | None) -> list[Problem]:
    """Each problem with the line of its field (the file is composed once, and only when
    there is something to report); as they are when there is no text."""
    if not problems or text is None:
        return problems
    root = compose(text)
    return [replace(p, line=line_of(root, parse_path(p.path))) for p in problems]
