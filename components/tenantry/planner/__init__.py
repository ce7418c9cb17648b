"""Fleet GPU planner: MIG layouts and node counts from tenant demand (pure, no Pulumi).

``extract_demands(tenants, platform)`` -> per-pool demand; ``plan(demands, previous=...)`` ->
:class:`FleetPlan` (nodes, explicit per-GPU placements, who each slice is for, GPUs to
drain); ``mig_parted_config(plan)`` -> the GPU operator's mig-parted config.
"""

from .demand import (
    SHARED,
    WHOLE_GPU,
    DemandError,
    PoolDemand,
    Request,
    adhoc_demand,
    extract_demands,
)
from .fleet import plan, plan_pool
from .geometry import Geometry, geometry
from .migparted import mig_parted_config, node_config
from .model import FleetPlan, GpuPlan, PoolPlan, Slot
from .packer import pack, pack_vec

__all__ = [
    "SHARED",
    "WHOLE_GPU",
    "DemandError",
    "FleetPlan",
    "Geometry",
    "GpuPlan",
    "PoolDemand",
    "PoolPlan",
    "Request",
    "Slot",
    "adhoc_demand",
    "extract_demands",
    "geometry",
    "mig_parted_config",
    "node_config",
    "pack",
    "pack_vec",
    "plan",
    "plan_pool",
]
