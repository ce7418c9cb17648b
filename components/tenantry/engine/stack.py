"""Run a project's stack program for one tenant, or for the platform stack, under the
recorder. The program is the stacks directory's ``__main__.py`` (in this repository
``stacks/__main__.py``) unless the caller names another: the library never reaches for a
file of its own checkout, so an installed wheel plans a user's project the same way."""

from __future__ import annotations

import functools
import json
import sys
import types
from pathlib import Path
from types import CodeType
from typing import Any

import yaml

from ..loaded import checked, checked_registry, load_platform
from ..pipeline import check, errors_for
from ..spec import PLATFORM_STACK, Registry, ResolvedTenant, SpecError
from ..spec.platform import platform_config_path
from ..spec.yamlio import SAFE_LOADER
from ..stackconfig import stack_config_path, stack_config_values
from ..triton_admin import ADMIN_SECRET_CONFIG
from .recorder import Record, record

PROJECT = "tenantry"
PROGRAM_FILE = "__main__.py"  # the stack program, in the stacks directory (Pulumi.yaml's main)
# The platform's secret config, when the stack config does not hold it (offline renders):
# the recorder shows every secret as "<secret>", so the value never appears anyway.
PASSWORD_KEY = "tenantry:vectorDbPassword"
TRITON_ADMIN_KEY = ADMIN_SECRET_CONFIG
SALT_KEY = "tenantry:llmSaltKey"  # the LLM gateway's cache-salt key (with llmBaseModels)
REDIS_PASSWORD_KEY = "tenantry:llmRedisPassword"  # the LLM gateway replicas' Redis
SECRET_KEYS = (PASSWORD_KEY, TRITON_ADMIN_KEY, SALT_KEY, REDIS_PASSWORD_KEY)
PASSWORD_PLACEHOLDER = "offline-render-placeholder"
# Tells the platform program it runs offline: without ``tritonImageDigest`` it renders the
# runtime's image by tag (marked) instead of refusing, as ``pulumi up`` does.
OFFLINE_KEY = "tenantry:offlineRender"


class RenderError(ValueError):
    """Input that cannot be rendered (missing tenant, bad platform config); names the input."""


def stack_config(stacks_dir: Path, tenant: ResolvedTenant) -> dict[str, str]:
    """The stack's config as the Pulumi CLI would pass it: ``Pulumi.<tenant>.yaml`` when it
    exists, else the config ``tenantry stacks --write`` would generate. Objects become JSON."""
    path = stack_config_path(stacks_dir, tenant.name)
    if not path.exists():
        return _config_values(path, {"config": stack_config_values(tenant)})
    return _config_values(path)


def _config_values(path: Path, doc: Any = None) -> dict[str, str]:
    """A stack config file's ``config:`` as Pulumi passes it to the program: the file at
    ``path``, or ``doc`` when given (its parsed content)."""
    if doc is None:
        doc = yaml.load(path.read_text("utf-8"), Loader=SAFE_LOADER) or {}
    config = doc.get("config", {}) if isinstance(doc, dict) else {}
    if not isinstance(config, dict):
        raise RenderError(f"{path}: 'config' is not a mapping")
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, sort_keys=True)
        for k, v in config.items()
    }


def stack_program(stacks_dir: Path, program: Path | None = None) -> Path:
    """``program``, or the stacks directory's ``__main__.py``; RenderError when it is not a
    file."""
    path = program if program is not None else stacks_dir / PROGRAM_FILE
    if not path.is_file():
        raise RenderError(
            f"{path}: no stack program (the Pulumi program that builds each stack; "
            f"expected {PROGRAM_FILE} in the stacks directory {stacks_dir})"
        )
    return path


def load(
    name: str, tenants_dir: Path, stacks_dir: Path, verdict: Registry | None = None
) -> ResolvedTenant:
    """Validate before anything runs, with the one verdict (:func:`tenantry.pipeline.check`
    over ``tenants_dir``; ``verdict`` when the caller already has it): raises RenderError
    for a missing tenant, :class:`~tenantry.spec.platform.PlatformError` for a bad platform
    config, SpecError with the errors that keep this tenant from rendering."""
    if name == PLATFORM_STACK:
        raise RenderError(
            "'platform' is the platform stack, not a tenant (render it with record_platform)"
        )
    path = tenants_dir / f"{name}.yaml"
    if not path.is_file():
        raise RenderError(f"{path}: no such tenant file (tenant {name!r})")
    if verdict is None:
        platform = load_platform(stacks_dir)
        verdict = check([tenants_dir], platform, stacks_dir=stacks_dir, tenants_dir=tenants_dir)
    problems = errors_for(verdict, name)
    tenant = verdict.tenants.get(name)
    if problems or tenant is None:
        mine = [p for p in verdict.problems if p.file == str(path)]
        raise SpecError(problems or mine)
    if tenant.name != name:
        raise RenderError(f"{path}: metadata.name is {tenant.name!r}, expected {name!r}")
    return tenant


def record_tenant(
    name: str,
    tenants_dir: Path = Path("tenants"),
    stacks_dir: Path = Path("stacks"),
    program: Path | None = None,
    verdict: Registry | None = None,
) -> list[Record]:
    """Validate tenant ``name`` (the whole registry's verdict: ``verdict``, or computed)
    then run the stack program for it (``program``, default :func:`stack_program` of
    ``stacks_dir``); return its records."""
    tenant = load(name, tenants_dir, stacks_dir, verdict)
    path = stack_program(stacks_dir, program)
    config = stack_config(stacks_dir, tenant)
    if config.get("tenantry:tenant", name) != name:
        raise RenderError(
            f"{stack_config_path(stacks_dir, name)}: tenantry:tenant is "
            f"{config['tenantry:tenant']!r}, expected {name!r}"
        )
    tenant_file = tenants_dir / f"{name}.yaml"
    config.update(
        {
            "tenantry:tenant": name,
            "tenantry:tenantFile": str(tenant_file.resolve()),
            "tenantry:stacksDir": str(stacks_dir.resolve()),
            OFFLINE_KEY: "true",  # own LLMs without vllmImageDigest: vLLM by tag, annotated
        }
    )
    with checked(tenant_file, tenant):
        return _run(path, name, config)


@functools.lru_cache(maxsize=16)
def _compiled(path: str, mtime_ns: int, size: int) -> CodeType:
    """The program's code, compiled once per version of the file (a process that plans
    many tenants runs the same program for each)."""
    return compile(Path(path).read_bytes(), path, "exec")


def _run_main(program: Path) -> None:
    """``runpy.run_path(program, run_name="__main__")`` without compiling the file again:
    a fresh ``__main__`` module, in ``sys.modules`` while it runs."""
    st = program.stat()
    code = _compiled(str(program), st.st_mtime_ns, st.st_size)
    module = types.ModuleType("__main__")
    module.__file__ = str(program)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
        else:
            del sys.modules["__main__"]


def _run(program: Path, stack: str, config: dict[str, str]) -> list[Record]:
    """Run the stack program as ``stack`` under the recorder."""
    return record(lambda: _run_main(program), stack=stack, project=PROJECT, config=config)


def record_platform(
    tenants_dir: Path = Path("tenants"),
    stacks_dir: Path = Path("stacks"),
    program: Path | None = None,
    verdict: Registry | None = None,
) -> list[Record]:
    """Run the stack program (default :func:`stack_program` of ``stacks_dir``) as the
    platform stack (config ``Pulumi.platform.yaml``, the GPU plan over every tenant file in
    ``tenants_dir``); return its records. The whole registry must be valid (``verdict``, or
    computed): SpecError lists every error first. A secure config value (``secure:``)
    cannot be decrypted offline: it and a missing ``tenantry:vectorDbPassword`` or
    ``tenantry:tritonAdminSecret``, ``tenantry:llmSaltKey`` or ``tenantry:llmRedisPassword``
    (:data:`SECRET_KEYS`) are given a
    placeholder, which the records show masked. ``tenantry:offlineRender`` lets a platform
    without ``tritonImageDigest`` (or ``llmGatewayImage``) render (the image by tag, annotated
    ``tenantry.dev/unpinned-image``)."""
    path = platform_config_path(stacks_dir)
    platform = load_platform(stacks_dir)
    if verdict is None:
        verdict = check([tenants_dir], platform, stacks_dir=stacks_dir, tenants_dir=tenants_dir)
    problems = [p for p in verdict.problems if p.severity == "error"]
    if problems:
        raise SpecError(problems)
    try:
        config = _config_values(path)
    except (OSError, ValueError) as exc:
        raise RenderError(str(exc)) from exc
    main = stack_program(stacks_dir, program)
    config = {
        k: PASSWORD_PLACEHOLDER if v.startswith('{"secure":') else v for k, v in config.items()
    }
    for key in SECRET_KEYS:
        config.setdefault(key, PASSWORD_PLACEHOLDER)
    config.update(
        {
            "tenantry:tenantsDir": str(tenants_dir.resolve()),
            "tenantry:stacksDir": str(stacks_dir.resolve()),
            OFFLINE_KEY: "true",
        }
    )
    with checked_registry(tenants_dir, platform, verdict):
        return _run(main, PLATFORM_STACK, config)


def record_stack(
    name: str,
    tenants_dir: Path = Path("tenants"),
    stacks_dir: Path = Path("stacks"),
    verdict: Registry | None = None,
) -> list[Record]:
    """:func:`record_platform` for ``platform``, :func:`record_tenant` for a tenant."""
    if name == PLATFORM_STACK:
        return record_platform(tenants_dir, stacks_dir, verdict=verdict)
    return record_tenant(name, tenants_dir, stacks_dir, verdict=verdict)
