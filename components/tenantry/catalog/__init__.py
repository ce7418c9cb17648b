"""The GPU catalog: GPU models, MIG profiles and placements, EC2 instance types, prices."""

from .loader import gpu_models, instance_types
from .models import GpuModel, InstanceType, MigProfile
from .placement import Placement, layout_name, layout_problems, place

__all__ = [
    "GpuModel",
    "InstanceType",
    "MigProfile",
    "Placement",
    "gpu_models",
    "instance_types",
    "layout_name",
    "layout_problems",
    "place",
]
