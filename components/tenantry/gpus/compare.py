"""Maps a GPU NVML reports to its catalog entry and lists every difference between the two."""

from __future__ import annotations

from ..catalog import GpuModel, gpu_models
from .inventory import GpuInfo

MEMORY_TOLERANCE_GIB = 0.01  # rounding of the catalog's two-decimal GiB figures


def catalog_entry(gpu: GpuInfo) -> GpuModel | None:
    """By PCI device id first, then by the name NVML reports."""
    models = gpu_models().values()
    for m in models:
        if gpu.pci_device_id.upper() in (p.upper() for p in m.pci_device_ids):
            return m
    for m in models:
        if gpu.name in m.nvml_names:
            return m
    return None


def differences(gpu: GpuInfo, model: GpuModel | None) -> list[str]:
    """Every fact where the catalog and the hardware disagree (empty when they agree)."""
    if model is None:
        return [
            f"{gpu.name} (PCI {gpu.pci_device_id}) matches no catalog GPU model; "
            f"known: {', '.join(sorted(gpu_models()))}"
        ]
    out: list[str] = []
    if gpu.pci_device_id.upper() not in (p.upper() for p in model.pci_device_ids):
        out.append(
            f"PCI device id {gpu.pci_device_id} is not among the catalog's "
            f"{list(model.pci_device_ids)} for {model.name}"
        )
    if gpu.name not in model.nvml_names:
        out.append(f"name {gpu.name!r} is not among the catalog's {list(model.nvml_names)}")
    if gpu.mig_current is None:
        out.append(
            f"the driver reports no MIG support; the catalog lists {model.name} as MIG-capable"
        )
        return out
    hw = {p.name: p for p in gpu.profiles}
    for cp in model.profiles:
        p = hw.get(cp.name)
        if p is None:
            out.append(f"profile {cp.name}: in the catalog, not reported by the driver")
            continue
        checks = [
            ("compute slices", cp.compute_slices, p.compute_slices),
            ("memory slices", cp.memory_slices, p.memory_slices),
            ("max count", cp.max_count, p.instance_count),
            ("starts", list(cp.starts), list(p.starts)),
        ]
        for what, cat, real in checks:
            if cat != real:
                out.append(f"profile {cp.name}: {what} catalog {cat}, hardware {real}")
        real_gib = round(p.memory_mib / 1024, 2)
        if cp.usable_memory_gib is None:
            out.append(
                f"profile {cp.name}: usable memory missing in the catalog, hardware {real_gib} GiB"
            )
        elif abs(cp.usable_memory_gib - p.memory_mib / 1024) > MEMORY_TOLERANCE_GIB:
            out.append(
                f"profile {cp.name}: usable memory catalog {cp.usable_memory_gib} GiB, "
                f"hardware {real_gib} GiB"
            )
    for name in sorted(set(hw) - set(model.profile_names)):
        out.append(f"profile {name}: reported by the driver, not in the catalog")
    return out
