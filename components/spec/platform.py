"""Settings of the shared platform that tenant validation and planning need.

They live in the platform stack's config (``stacks/Pulumi.platform.yaml``, key
``tenantry:platform``) so that one file is the source of truth for the shared pools.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field

from .model import CapacityType, ChildName, IamArn, Strict

PLATFORM_STACK = "platform"
CONFIG_KEY = "tenantry:platform"


class SharedPool(Strict):
    """A shared GPU node pool; the planner sizes it and chooses its MIG layouts."""

    name: ChildName
    instance_type: str
    min_nodes: Annotated[int, Field(ge=0, le=1000)] = 0
    max_nodes: Annotated[int, Field(ge=1, le=1000)]
    capacity_type: CapacityType = "on-demand"


class Cluster(Strict):
    name: ChildName
    create: bool = Field(default=False, description="false: adopt an existing EKS cluster.")


class PlatformSettings(Strict):
    environment: ChildName = "prod"
    region: str = "us-east-1"
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] = Field(
        description="The AWS account the platform and every tenant stack deploy into."
    )
    cluster: Cluster
    shared_pools: Annotated[list[SharedPool], Field(min_length=1)]
    overflow_headroom: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.25,
        description="Share of each tenant's burst (maxReplicas - minReplicas) the shared pools "
        "reserve on top of guaranteed demand.",
    )
    gateway_namespace: ChildName = "istio-system"
    stack_reference: str = Field(
        default="organization/tenantry/platform",
        description="How tenant stacks name the platform stack (StackReference).",
    )
    admins: list[IamArn] = Field(
        default_factory=list, description="Platform administrators (manage every tenant key)."
    )

    def pool(self, name: str) -> SharedPool | None:
        return next((p for p in self.shared_pools if p.name == name), None)


def platform_config_path(stacks_dir: Path) -> Path:
    return stacks_dir / f"Pulumi.{PLATFORM_STACK}.yaml"


def load_platform(stacks_dir: Path) -> PlatformSettings:
    """Read the platform stack's config; raises ValueError naming the file when it is bad."""
    path = platform_config_path(stacks_dir)
    try:
        doc: Any = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the platform stack config: {exc}") from exc
    config = (doc or {}).get("config", {}) if isinstance(doc, dict) else {}
    if CONFIG_KEY not in config:
        raise ValueError(f"{path}: missing config key {CONFIG_KEY!r}")
    settings = dict(config[CONFIG_KEY])
    settings.setdefault("region", config.get("aws:region", "us-east-1"))
    try:
        return PlatformSettings.model_validate(settings)
    except Exception as exc:
        raise ValueError(f"{path}: invalid {CONFIG_KEY}: {exc}") from exc
