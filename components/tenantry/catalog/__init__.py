"""The GPU catalog: GPU models, MIG profiles and placements, EC2 instance types, prices."""

from .loader import general_instance_types, gpu_models, instance_types
from .models import GeneralInstanceType, GpuModel, InstanceType, MigProfile
from .placement import Placement, layout_name, layout_problems, place

__all__ = [
    "GeneralInstanceType",
    "GpuModel",
    "InstanceType",
    "MigProfile",
    "Placement",
    "general_instance_types",
    "gpu_models",
    "instance_types",
    "layout_name",
    "layout_problems",
    "place",
]
