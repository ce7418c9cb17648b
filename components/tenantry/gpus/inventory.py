"""Reads the local GPUs through NVML. The NVML module is a parameter (``pynvml`` by default)
so that tests run against a fake with the same names and ctypes conventions."""

from __future__ import annotations

from ctypes import byref, c_uint
from dataclasses import dataclass
from types import ModuleType
from typing import Any

MAX_PLACEMENTS = 16  # more than any GPU's memory slices


class NoDriverError(RuntimeError):
    """NVML cannot be loaded or initialised: no NVIDIA driver on this machine."""


@dataclass(frozen=True)
class ProfileInfo:
    name: str  # "3g.40gb" (NVML's "MIG " prefix removed)
    nvml_profile: str  # NVML_GPU_INSTANCE_PROFILE_* constant
    profile_id: int
    compute_slices: int
    memory_slices: int | None  # placement size; None when the driver reports no placement
    memory_mib: int
    instance_count: int
    multiprocessors: int
    starts: tuple[int, ...]


@dataclass(frozen=True)
class InstanceInfo:
    id: int
    profile: str
    start: int
    size: int


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    uuid: str
    pci_device_id: str  # "0x233010DE", as mig-parted device filters write it
    memory_mib: int
    mig_current: bool | None  # None: MIG not supported
    mig_pending: bool | None
    profiles: tuple[ProfileInfo, ...]
    instances: tuple[InstanceInfo, ...]


def load_nvml() -> ModuleType:
    try:
        import pynvml
    except ImportError as exc:  # pragma: no cover - nvidia-ml-py is a dependency
        raise NoDriverError("the nvidia-ml-py package (module pynvml) is not installed") from exc
    module: ModuleType = pynvml
    return module


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _profile_constants(nvml: Any) -> dict[int, str]:
    count = nvml.NVML_GPU_INSTANCE_PROFILE_COUNT
    out: dict[int, str] = {}
    for attr in sorted(dir(nvml)):
        if (
            attr.startswith("NVML_GPU_INSTANCE_PROFILE_")
            and attr != "NVML_GPU_INSTANCE_PROFILE_COUNT"
        ):
            value = getattr(nvml, attr)
            if isinstance(value, int) and 0 <= value < count:
                out.setdefault(value, attr)
    return out


def _profiles(nvml: Any, handle: Any) -> tuple[list[ProfileInfo], dict[int, str]]:
    profiles: list[ProfileInfo] = []
    names: dict[int, str] = {}
    for index, constant in sorted(_profile_constants(nvml).items()):
        try:
            info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, index)
        except nvml.NVMLError:
            continue  # profile absent on this GPU or driver
        # a +me profile has one instance but a placement per memory slice: size for both
        n = max(int(info.instanceCount), MAX_PLACEMENTS)
        arr = (nvml.c_nvmlGpuInstancePlacement_t * n)()
        cnt = c_uint(n)
        try:
            nvml.nvmlDeviceGetGpuInstancePossiblePlacements(handle, info.id, arr, byref(cnt))
            placed = [arr[k] for k in range(cnt.value)]
        except nvml.NVMLError:
            placed = []
        name = _text(info.name).removeprefix("MIG ").strip()
        names[int(info.id)] = name
        profiles.append(
            ProfileInfo(
                name=name,
                nvml_profile=constant,
                profile_id=int(info.id),
                compute_slices=int(info.sliceCount),
                memory_slices=int(placed[0].size) if placed else None,
                memory_mib=int(info.memorySizeMB),
                instance_count=int(info.instanceCount),
                multiprocessors=int(info.multiprocessorCount),
                starts=tuple(sorted(int(p.start) for p in placed)),
            )
        )
    return profiles, names


def _instances(nvml: Any, handle: Any, profiles: list[ProfileInfo]) -> list[InstanceInfo]:
    out: list[InstanceInfo] = []
    for p in profiles:
        n = max(p.instance_count, 1)
        arr = (nvml.c_nvmlGpuInstance_t * n)()
        cnt = c_uint(n)
        try:
            nvml.nvmlDeviceGetGpuInstances(handle, p.profile_id, arr, byref(cnt))
        except nvml.NVMLError:
            continue
        for k in range(cnt.value):
            info = nvml.nvmlGpuInstanceGetInfo(arr[k])
            out.append(
                InstanceInfo(
                    int(info.id), p.name, int(info.placement.start), int(info.placement.size)
                )
            )
    return sorted(out, key=lambda i: (i.start, i.profile, i.id))


def inventory(nvml: Any | None = None) -> list[GpuInfo]:
    """Every GPU NVML sees; raises NoDriverError when NVML cannot initialise."""
    nvml = nvml if nvml is not None else load_nvml()
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise NoDriverError(f"no NVIDIA driver: NVML could not initialise ({exc})") from exc
    try:
        gpus = []
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            try:
                current, pending = nvml.nvmlDeviceGetMigMode(h)
                mig: tuple[bool | None, bool | None] = (bool(current), bool(pending))
            except nvml.NVMLError:
                mig = (None, None)
            profiles, _ = _profiles(nvml, h) if mig[0] is not None else ([], {})
            instances = _instances(nvml, h, profiles) if mig[0] else []
            gpus.append(
                GpuInfo(
                    index=i,
                    name=_text(nvml.nvmlDeviceGetName(h)),
                    uuid=_text(nvml.nvmlDeviceGetUUID(h)),
                    pci_device_id=f"0x{int(nvml.nvmlDeviceGetPciInfo(h).pciDeviceId):08X}",
                    memory_mib=int(nvml.nvmlDeviceGetMemoryInfo(h).total) // (1024 * 1024),
                    mig_current=mig[0],
                    mig_pending=mig[1],
                    profiles=tuple(profiles),
                    instances=tuple(instances),
                )
            )
        return gpus
    finally:
        nvml.nvmlShutdown()
