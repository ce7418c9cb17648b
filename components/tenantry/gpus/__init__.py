"""Local GPU inventory through NVML (``nvidia-ml-py``) and its comparison with the catalog."""

from .compare import catalog_entry, differences
from .inventory import GpuInfo, InstanceInfo, NoDriverError, ProfileInfo, inventory, load_nvml

__all__ = [
    "GpuInfo",
    "InstanceInfo",
    "NoDriverError",
    "ProfileInfo",
    "catalog_entry",
    "differences",
    "inventory",
    "load_nvml",
]
