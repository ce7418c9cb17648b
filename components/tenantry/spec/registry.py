"""Load tenant files: parse, check structure, apply rules, resolve. Every problem at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import Problem, SpecError, Unparsed, errors, parse_path
from .model import TenantSpec
from .partial import partial
from .platform import PlatformSettings
from .pydantic_errors import booleans_for_numbers, problems_from
from .registry_rules import Entry, registry_problems
from .resolve import resolve
from .resolved import ResolvedTenant
from .rules import check
from .yamlio import compose, line_of, load_document, yaml_problem

MAX_FILE_BYTES = 1 << 20
SUFFIXES = (".yaml", ".yml")


@dataclass
class Registry:
    """The outcome of loading many tenant files: the valid tenants and every problem found.

    ``files`` maps each tenant name that parsed to its file; a tenant is valid (in
    ``tenants``) when no error is reported against its file. Problems about no tenant file
    (the platform config, the fleet's GPU plan) concern every tenant.
    :func:`tenantry.pipeline.check` adds the fleet checks and sets ``fleet`` (the GPU plan of
    the valid tenants)."""

    tenants: dict[str, ResolvedTenant] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)  # every tenant file read
    # file -> the spec of each tenant file with an error, as far as it parsed (a spec with
    # holes, tenantry.spec.partial, when it has structural errors): what the checks after
    # the files' own (fleet, rollouts) still judge
    unresolved: dict[str, Any] = field(default_factory=dict)
    fleet: Any = None  # tenantry.planner.FleetPlan, set by tenantry.pipeline.check

    @property
    def ok(self) -> bool:
        return not errors(self.problems)

    def problems_for(self, name: str) -> list[Problem]:
        """The problems that decide whether tenant ``name`` can be planned, rendered and
        deployed: those of its own file and those of no tenant file (platform, fleet)."""
        mine = self.files.get(name)
        return [p for p in self.problems if p.file == mine or p.file not in self.sources]

    def drop_invalid(self) -> None:
        """Remove every tenant whose own file has an error."""
        bad = {p.file for p in errors(self.problems)}
        for name in [n for n, f in self.files.items() if f in bad]:
            self.tenants.pop(name, None)


@dataclass(frozen=True)
class Parsed:
    """One tenant file: its text (None for a document built in code) and, when it is
    structurally valid, its spec; when it is not, ``partial``: the parts that parsed
    (:mod:`tenantry.spec.partial`), which the rules across files still read."""

    file: str
    text: str | None
    spec: TenantSpec | None
    tenant: ResolvedTenant | None
    problems: list[Problem]
    partial: Any = None


def _parse(text: str, file: str, platform: PlatformSettings, stem: str | None) -> Parsed:
    try:
        doc: Any = load_document(text)
    except (yaml.YAMLError, ValueError) as exc:
        problem = yaml_problem(exc, file, text, "one YAML mapping (a Tenant document)")
        return Parsed(file, text, None, None, [problem])
    if doc is None:
        problem = Problem(
            file,
            "",
            "empty",
            "the file is empty",
            accepted="a Tenant document (apiVersion, kind, metadata, spec)",
        )
        return Parsed(file, text, None, None, [problem])
    return _checked(doc, file, platform, stem, text)


def _checked(
    doc: object, file: str, platform: PlatformSettings, stem: str | None, text: str | None
) -> Parsed:
    if not isinstance(doc, dict):
        problem = Problem(
            file,
            "",
            "dict_type",
            "the document is not a mapping",
            value=type(doc).__name__,
            accepted="a Tenant document (apiVersion, kind, metadata, spec)",
        )
        return Parsed(file, text, None, None, [problem])
    wrong = booleans_for_numbers(doc, file)
    try:
        spec = TenantSpec.model_validate(doc)
    except ValidationError as exc:
        return _partly(doc, file, platform, stem, text, wrong + problems_from(exc, file))
    if wrong:
        return _partly(doc, file, platform, stem, text, wrong)
    problems = _with_lines(check(spec, platform, file, stem), text)
    if errors(problems):
        return Parsed(file, text, spec, None, problems)
    return Parsed(file, text, spec, resolve(spec, platform, file), problems)


def _partly(
    doc: dict[str, Any],
    file: str,
    platform: PlatformSettings,
    stem: str | None,
    text: str | None,
    structural: list[Problem],
) -> Parsed:
    """A document with structural errors: those, and what the rules find on the parts that
    parsed (:mod:`tenantry.spec.partial`), in one report; the tenant is not resolved."""
    try:
        built = partial(TenantSpec, doc, [parse_path(p.path) for p in structural])
    except Unparsed:
        return Parsed(file, text, None, None, _with_lines(structural, text))
    cross = built.error("TenantSpec")
    if cross is not None:
        structural = structural + problems_from(cross, file)
    found = check(built.value, platform, file, stem)
    return Parsed(file, text, None, None, _with_lines(structural + found, text), built.value)


def parse_text(
    text: str, file: str, platform: PlatformSettings, stem: str | None = None
) -> tuple[ResolvedTenant | None, list[Problem]]:
    """Parse one tenant document; returns the resolved tenant (if valid) and all problems."""
    parsed = _parse(text, file, platform, stem)
    return parsed.tenant, parsed.problems


def parse_document(
    doc: object, file: str, platform: PlatformSettings, stem: str | None = None
) -> tuple[ResolvedTenant | None, list[Problem]]:
    """One tenant document already parsed (a mapping built in code, or passed by another
    Pulumi language): the same checks and resolution as :func:`parse_text`, its problems
    named after ``file`` (there are no lines to give)."""
    parsed = _checked(doc, file, platform, stem, None)
    return parsed.tenant, parsed.problems


def _read(path: Path, platform: PlatformSettings) -> Parsed:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problem = Problem(file, "", "unreadable", f"cannot read the file: {exc.strerror}")
        return Parsed(file, "", None, None, [problem])
    if len(raw) > MAX_FILE_BYTES:
        problem = Problem(
            file,
            "",
            "too_large",
            f"the file has {len(raw)} bytes",
            accepted=f"at most {MAX_FILE_BYTES} bytes",
        )
        return Parsed(file, "", None, None, [problem])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(
            file,
            "",
            "not_text",
            f"not UTF-8 text (byte {exc.start})",
            accepted="a UTF-8 YAML file",
        )
        return Parsed(file, "", None, None, [problem])
    return _parse(text, file, platform, path.stem)


def load_file(
    path: Path, platform: PlatformSettings
) -> tuple[ResolvedTenant | None, list[Problem]]:
    parsed = _read(path, platform)
    return parsed.tenant, parsed.problems


def tenant_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their ``*.yaml``/``*.yml`` entries (sorted; anything but a
    directory, so that a broken link or an unreadable entry is reported, not skipped); keep
    files as given."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix in SUFFIXES and not f.is_dir()))
        else:
            out.append(p)
    return out


def load_registry(paths: Iterable[Path], platform: PlatformSettings) -> Registry:
    """Every tenant file under ``paths``: each file's own checks, then the checks across
    files (:mod:`tenantry.spec.registry_rules`: duplicate names, a tenant named like another
    tenant's allowed caller namespace, hosts two models share). Every problem at once.
    The whole verdict, the fleet's GPU plan and the platform's names included, is
    :func:`tenantry.check` (what every tenantry command runs)."""
    reg = Registry()
    parsed: list[Parsed] = []
    for path in tenant_files(paths):
        if not path.exists():
            what = (
                "a symbolic link to nothing (broken or looping)"
                if path.is_symlink()
                else "no such file or directory"
            )
            reg.problems.append(
                Problem(str(path), "", "not_found", what, accepted="a readable tenant file")
            )
            reg.sources.add(str(path))
            continue
        one = _read(path, platform)
        parsed.append(one)
        reg.sources.add(one.file)
        reg.problems.extend(one.problems)
        if one.spec is not None:
            reg.files.setdefault(one.spec.metadata.name, one.file)
        if one.tenant is not None:
            reg.tenants.setdefault(one.tenant.name, one.tenant)
        if one.partial is not None:
            reg.unresolved[one.file] = one.partial
        elif one.spec is not None and one.tenant is None:
            reg.unresolved[one.file] = one.spec
    entries = [Entry(p.file, p.text or "", p.spec) for p in parsed if p.spec is not None]
    entries += [
        Entry(p.file, p.text or "", p.partial, partial=True)
        for p in parsed
        if p.partial is not None
    ]
    reg.problems.extend(registry_problems(entries, platform))
    reg.drop_invalid()
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
