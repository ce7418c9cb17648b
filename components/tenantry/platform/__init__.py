"""The platform stack's components: cluster, shared GPU pools, GPU operator, KServe,
PriorityClasses, vector database, platform key, cost-allocation tags.

Re-exports only. The Pulumi components are imported lazily, so that the pure modules
(:mod:`.names`, :mod:`.charts`, :mod:`.runtime`) can be used without loading Pulumi (as
validation does).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cluster import PlatformCluster
    from .cost_tags import CostAllocationTags
    from .gpu_operator import GpuOperator
    from .gpu_pool import PoolPlanError, SharedGpuPool, TenantGpuNodes
    from .key import PlatformKey
    from .kserve import KServe
    from .node_role import NodeRole
    from .platform import Platform
    from .priority import PriorityClasses
    from .program import PlatformProgramError, fleet_plan_for
    from .vector_db import VectorDatabase

_EXPORTS = {
    "CostAllocationTags": "cost_tags",
    "GpuOperator": "gpu_operator",
    "KServe": "kserve",
    "NodeRole": "node_role",
    "Platform": "platform",
    "PlatformCluster": "cluster",
    "PlatformKey": "key",
    "PlatformProgramError": "program",
    "PoolPlanError": "gpu_pool",
    "PriorityClasses": "priority",
    "SharedGpuPool": "gpu_pool",
    "TenantGpuNodes": "gpu_pool",
    "VectorDatabase": "vector_db",
    "fleet_plan_for": "program",
}
__all__ = [
    "CostAllocationTags",
    "GpuOperator",
    "KServe",
    "NodeRole",
    "Platform",
    "PlatformCluster",
    "PlatformKey",
    "PlatformProgramError",
    "PoolPlanError",
    "PriorityClasses",
    "SharedGpuPool",
    "TenantGpuNodes",
    "VectorDatabase",
    "fleet_plan_for",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
