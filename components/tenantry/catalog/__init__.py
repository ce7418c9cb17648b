"""The GPU catalog: GPU models, MIG profiles and placements, EC2 instance types, prices."""

from .allocatable import NodeResources, cpu_m, memory_mib, node_allocatable
from .loader import general_instance_types, gpu_models, instance_types
from .models import GeneralInstanceType, GpuModel, InstanceType, MigProfile
from .placement import Placement, layout_name, layout_problems, place

__all__ = [
    "GeneralInstanceType",
    "GpuModel",
    "InstanceType",
    "MigProfile",
    "NodeResources",
    "Placement",
    "cpu_m",
    "general_instance_types",
    "gpu_models",
    "instance_types",
    "layout_name",
    "layout_problems",
    "memory_mib",
    "node_allocatable",
    "place",
]
