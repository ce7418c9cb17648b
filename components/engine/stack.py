"""Run the real stack program (``stacks/__main__.py``) for one tenant under the recorder."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import yaml

from ..loaded import load_platform, load_tenant
from ..spec import PLATFORM_STACK, ResolvedTenant
from ..stackconfig import stack_config_path, stack_config_text
from .recorder import Record, record

PROJECT = "tenantry"
PROGRAM = Path(__file__).resolve().parents[2] / "stacks" / "__main__.py"
# libyaml's parser when PyYAML has it (same documents, same safe constructors, faster)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RenderError(ValueError):
    """Input that cannot be rendered (missing tenant, bad platform config); names the input."""


def stack_config(stacks_dir: Path, tenant: ResolvedTenant) -> dict[str, str]:
    """The stack's config as the Pulumi CLI would pass it: ``Pulumi.<tenant>.yaml`` when it
    exists, else the config ``tenantry stacks --write`` would generate. Objects become JSON."""
    path = stack_config_path(stacks_dir, tenant.name)
    text = path.read_text("utf-8") if path.exists() else stack_config_text(tenant)
    doc: Any = yaml.load(text, Loader=SAFE_LOADER) or {}
    config = doc.get("config", {}) if isinstance(doc, dict) else {}
    if not isinstance(config, dict):
        raise RenderError(f"{path}: 'config' is not a mapping")
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, sort_keys=True)
        for k, v in config.items()
    }


def load(name: str, tenants_dir: Path, stacks_dir: Path) -> ResolvedTenant:
    """Validate before anything runs: raises RenderError or SpecError (every problem)."""
    if name == PLATFORM_STACK:
        raise RenderError("'platform' is the platform stack, not a tenant (issue 9)")
    path = tenants_dir / f"{name}.yaml"
    if not path.is_file():
        raise RenderError(f"{path}: no such tenant file (tenant {name!r})")
    try:
        platform = load_platform(stacks_dir)
    except ValueError as exc:
        raise RenderError(str(exc)) from exc
    tenant = load_tenant(path, platform)
    if tenant.name != name:
        raise RenderError(f"{path}: metadata.name is {tenant.name!r}, expected {name!r}")
    return tenant


def record_tenant(
    name: str,
    tenants_dir: Path = Path("tenants"),
    stacks_dir: Path = Path("stacks"),
    program: Path = PROGRAM,
) -> list[Record]:
    """Validate tenant ``name`` then run the stack program for it; return its records."""
    tenant = load(name, tenants_dir, stacks_dir)
    config = stack_config(stacks_dir, tenant)
    if config.get("tenantry:tenant", name) != name:
        raise RenderError(
            f"{stack_config_path(stacks_dir, name)}: tenantry:tenant is "
            f"{config['tenantry:tenant']!r}, expected {name!r}"
        )
    config.update(
        {
            "tenantry:tenant": name,
            "tenantry:tenantFile": str((tenants_dir / f"{name}.yaml").resolve()),
            "tenantry:stacksDir": str(stacks_dir.resolve()),
        }
    )
    return record(
        lambda: runpy.run_path(str(program), run_name="__main__"),
        stack=name,
        project=PROJECT,
        config=config,
    )
