"""Per-tenant Pulumi stack config (``stacks/Pulumi.<tenant>.yaml``), generated from the tenant
file so that the two can never disagree. Pure: no Pulumi import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .spec import ResolvedTenant
from .tags import tenant_tags

HEADER = (
    "# Generated from {source} by `tenantry stacks --write`. Do not edit: change the tenant\n"
    "# file and regenerate (a test fails when the two disagree).\n"
)


def stack_config_values(t: ResolvedTenant, tenants_dir: str = "tenants") -> dict[str, Any]:
    """The ``config:`` mapping of the tenant's stack config file."""
    return {
        "aws:region": t.region,
        "aws:defaultTags": {"tags": tenant_tags(t)},
        "tenantry:tenant": t.name,
        "tenantry:tenantFile": f"{tenants_dir}/{t.name}.yaml",
    }


def stack_config_text(t: ResolvedTenant, tenants_dir: str = "tenants") -> str:
    config = {"config": stack_config_values(t, tenants_dir)}
    source = f"{tenants_dir}/{t.name}.yaml"
    return HEADER.format(source=source) + yaml.safe_dump(config, sort_keys=True)


def tenants_ref(tenants_dir: Path, stacks_dir: Path) -> str:
    """``tenants_dir`` as the stack program finds it: relative to the project root (the
    stacks directory's parent, against which ``stacks/__main__.py`` resolves
    ``tenantry:tenantFile``), absolute when it lies outside. The same directory gives the
    same config however it was spelled on the command line or from where."""
    root = stacks_dir.resolve().parent
    target = tenants_dir.resolve()
    try:
        return target.relative_to(root).as_posix()
    except ValueError:
        return target.as_posix()


def stack_config_path(stacks_dir: Path, name: str) -> Path:
    return stacks_dir / f"Pulumi.{name}.yaml"
