"""What a process that runs many stack programs (``tenantry plan``, ``render``) checks once.

* The platform config: :func:`load_platform` behaves exactly like
  :func:`tenantry.spec.load_platform` (same result, same errors) but remembers each
  successful result keyed by the file's bytes, so every stack program of the command reuses
  the settings the command parsed; a changed file is a different key, so nothing is ever
  stale, and failures are not remembered.
* The tenant files: the command's one verdict (:func:`tenantry.pipeline.check`) is handed to
  each stack program it runs, so the program does not check again: a tenant stack's
  :func:`program_tenant` gets its tenant (:func:`checked`), the platform stack's
  :func:`program_registry` the whole registry (:func:`checked_registry`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from threading import Lock
from typing import TypeVar

from .spec import PlatformSettings, Registry, ResolvedTenant, SpecError
from .spec import load_platform as _load_platform
from .spec.platform import platform_config_path

MAX_ENTRIES = 4096
K = TypeVar("K")
V = TypeVar("V")


class _Memo(OrderedDict[K, V]):
    """A small LRU map (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = Lock()

    def get_recent(self, key: K) -> V | None:
        with self.lock:
            value = self.get(key)
            if value is not None:
                self.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self.lock:
            self[key] = value
            while len(self) > MAX_ENTRIES:
                self.popitem(last=False)


_PLATFORMS: _Memo[bytes, PlatformSettings] = _Memo()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def load_platform(stacks_dir: Path) -> PlatformSettings:
    """:func:`tenantry.spec.load_platform`, once per distinct ``Pulumi.platform.yaml``."""
    path = platform_config_path(stacks_dir)
    raw = _read(path)
    if raw is not None and (hit := _PLATFORMS.get_recent(raw)) is not None:
        return hit
    platform = _load_platform(stacks_dir)
    if raw is not None and _read(path) == raw:  # unchanged while it was parsed
        _PLATFORMS.put(raw, platform)
    return platform


def clear() -> None:
    """Forget every remembered result."""
    _PLATFORMS.clear()


# The tenant a tenantry command already checked (with its whole registry) while it runs that
# tenant's stack program: (resolved tenant file, tenant).
_CHECKED: ContextVar[tuple[str, ResolvedTenant] | None] = ContextVar("checked", default=None)


@contextmanager
def checked(tenant_file: Path, tenant: ResolvedTenant) -> Iterator[None]:
    """While this runs, :func:`program_tenant` of ``tenant_file`` returns ``tenant`` (which
    the caller got from :func:`tenantry.pipeline.check`) without checking again."""
    token = _CHECKED.set((str(tenant_file.resolve()), tenant))
    try:
        yield
    finally:
        _CHECKED.reset(token)


def program_tenant(tenant_file: Path, stacks_dir: Path) -> ResolvedTenant:
    """The tenant a stack program deploys, with the verdict every tenantry command gives:
    :func:`tenantry.pipeline.check` over the tenant file's directory (the registry it belongs
    to), the platform settings in ``stacks_dir``. Raises :class:`SpecError` with the errors
    that keep this tenant from deploying. Under ``tenantry plan``/``render`` the tenant the
    command already checked is returned as is (:func:`checked`)."""
    hit = _CHECKED.get()
    if hit is not None and hit[0] == str(tenant_file.resolve()):
        return hit[1]
    from .pipeline import check, errors_for

    platform = load_platform(stacks_dir)
    name = tenant_file.stem
    reg = check([tenant_file.parent], platform, stacks_dir=stacks_dir)
    problems = errors_for(reg, name)
    if problems or name not in reg.tenants:
        raise SpecError(problems or reg.problems)
    return reg.tenants[name]


# The registry a tenantry command (or the platform program itself) already checked, while the
# platform stack's program runs: (resolved tenants directory, the platform settings object it
# was checked against, the verdict).
_REGISTRY: ContextVar[tuple[str, PlatformSettings, Registry] | None] = ContextVar(
    "registry", default=None
)


@contextmanager
def checked_registry(
    tenants_dir: Path, platform: PlatformSettings, reg: Registry
) -> Iterator[None]:
    """While this runs, :func:`program_registry` of ``tenants_dir`` against the same
    ``platform`` object returns ``reg`` (the caller's :func:`tenantry.pipeline.check`)
    without checking again."""
    token = _REGISTRY.set((str(tenants_dir.resolve()), platform, reg))
    try:
        yield
    finally:
        _REGISTRY.reset(token)


def program_registry(
    tenants_dir: Path, platform: PlatformSettings, stacks_dir: Path | None
) -> Registry:
    """The verdict the platform stack's program deploys from: :func:`tenantry.pipeline.check`
    over ``tenants_dir`` against ``platform`` (``stacks_dir``: where ``Pulumi.platform.yaml``
    is, for the lines of its problems), or, under :func:`checked_registry` of the same
    directory and settings (``tenantry render platform``), the registry already checked (when
    it is a whole verdict, with its fleet plan)."""
    hit = _REGISTRY.get()
    # only a whole verdict (pipeline.check sets the fleet plan; load_registry alone does not)
    if (
        hit is not None
        and hit[0] == str(tenants_dir.resolve())
        and hit[1] is platform
        and hit[2].fleet is not None
    ):
        return hit[2]
    from .pipeline import check

    return check([tenants_dir], platform, stacks_dir=stacks_dir)
