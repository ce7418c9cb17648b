"""The platform stack's components: cluster, shared GPU pools, GPU operator, KServe,
PriorityClasses, vector database, platform key, cost-allocation tags."""

from .cluster import PlatformCluster
from .cost_tags import CostAllocationTags
from .gpu_operator import GpuOperator
from .gpu_pool import PoolPlanError, SharedGpuPool
from .key import PlatformKey
from .kserve import KServe
from .node_role import NodeRole
from .platform import Platform
from .priority import PriorityClasses
from .program import PlatformProgramError, fleet_plan_for
from .vector_db import VectorDatabase

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
    "VectorDatabase",
    "fleet_plan_for",
]
