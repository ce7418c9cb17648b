"""Typed, immutable views of the GPU catalog (pure data, no Pulumi)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MigProfile:
    """One GPU-instance profile of one GPU model, e.g. ``3g.40gb`` on H100-80GB."""

    name: str
    kind: str  # geometry kind: 1g, 1g+me, 1g.2x, 2g, 3g, 4g, 7g
    compute_slices: int
    memory_slices: int
    max_count: int
    starts: tuple[int, ...]
    nvml_profile: str  # NVML constant name; ids differ between products, names do not
    memory_gib: float  # nominal, from the name
    usable_memory_gib: float | None  # as `nvidia-smi mig -lgip` reports it, where known


@dataclass(frozen=True)
class GpuModel:
    """A MIG-capable GPU model and its profiles."""

    name: str
    compute_slices: int
    memory_slices: int
    memory_gib: int
    placements_verified: bool
    pci_device_ids: tuple[str, ...]
    nvml_names: tuple[str, ...]
    profiles: tuple[MigProfile, ...]

    def profile(self, name: str) -> MigProfile | None:
        for p in self.profiles:
            if p.name == name:
                return p
        return None

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)


@dataclass(frozen=True)
class InstanceType:
    """An EC2 instance type carrying GPUs, with a dated on-demand price."""

    name: str
    gpu_model: str
    gpus: int
    vcpu: int
    memory_gib: int
    on_demand_hourly_usd: float
    price_date: str
    price_region: str


@dataclass(frozen=True)
class GeneralInstanceType:
    """A general-purpose (CPU) EC2 instance type with a dated on-demand price."""

    name: str
    vcpu: int
    memory_gib: int
    on_demand_hourly_usd: float
    price_date: str
    price_region: str

    @property
    def vcpu_hourly_usd(self) -> float:
        """One vCPU-hour: the instance's price / its vCPUs (its memory included)."""
        return self.on_demand_hourly_usd / self.vcpu
