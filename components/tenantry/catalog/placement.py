"""MIG placement: can a per-GPU layout ({profile: count}) be placed on one GPU?

A GPU instance occupies a run of memory slices ``[start, start + size)``; ``start`` must be
one of the profile's legal starts, runs must not overlap, counts must not exceed the
profile's maximum and compute slices must not exceed the GPU's. This is NVIDIA's placement
model (MIG User Guide; NVML ``nvmlDeviceGetGpuInstancePossiblePlacements``), not a slice sum:
``{"4g.40gb": 2}`` fits the slice sum of nothing but fails because 4g starts only at 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .models import GpuModel, MigProfile


@dataclass(frozen=True, order=True)
class Placement:
    """One GPU instance at an explicit position: ``start`` is the first memory slice."""

    start: int
    profile: str
    size: int


def layout_problems(gpu: GpuModel, layout: Mapping[str, int]) -> list[str]:
    """Why ``layout`` cannot be placed on one ``gpu`` (empty when it can)."""
    problems: list[str] = []
    for name, count in layout.items():
        prof = gpu.profile(name)
        if prof is None:
            problems.append(
                f"{name!r} is not a MIG profile of {gpu.name}; "
                f"accepted: {', '.join(gpu.profile_names)}"
            )
        elif count < 1:
            problems.append(f"{name!r} count must be at least 1, got {count}")
        elif count > prof.max_count:
            problems.append(
                f"{name!r} fits at most {prof.max_count} time(s) on one {gpu.name}, got {count}"
            )
    if problems:
        return problems
    profs = {p.name: p for p in gpu.profiles if p.name in layout}
    compute = sum(profs[n].compute_slices * c for n, c in layout.items())
    memory = sum(profs[n].memory_slices * c for n, c in layout.items())
    if compute > gpu.compute_slices:
        problems.append(f"needs {compute} compute slices; a {gpu.name} has {gpu.compute_slices}")
    if memory > gpu.memory_slices:
        problems.append(f"needs {memory} memory slices; a {gpu.name} has {gpu.memory_slices}")
    if not problems and place(gpu, layout) is None:
        problems.append(
            "the slices add up but no non-overlapping placement exists at the legal start "
            "positions ("
            + "; ".join(f"{n} starts at {list(profs[n].starts)}" for n in sorted(layout))
            + ")"
        )
    return problems


def place(gpu: GpuModel, layout: Mapping[str, int]) -> tuple[Placement, ...] | None:
    """A concrete placement for ``layout`` on one GPU, or None if none exists.

    Deterministic: the same layout always gets the same placement. Larger instances are
    placed first (NVIDIA's own advice for creation order), each at its lowest legal start.
    """
    items: list[MigProfile] = []
    for name, count in layout.items():
        prof = gpu.profile(name)
        if prof is None or count < 0 or count > prof.max_count:
            return None
        items.extend([prof] * count)
    if sum(p.compute_slices for p in items) > gpu.compute_slices:
        return None
    items.sort(key=lambda p: (-p.memory_slices, len(p.starts), p.name))
    chosen: list[Placement] = []

    def solve(i: int, used: int, min_start: int) -> bool:
        if i == len(items):
            return True
        prof = items[i]
        for start in prof.starts:
            if start < min_start:
                continue  # identical profiles are placed in increasing order
            mask = ((1 << prof.memory_slices) - 1) << start
            if start + prof.memory_slices > gpu.memory_slices or used & mask:
                continue
            chosen.append(Placement(start, prof.name, prof.memory_slices))
            nxt = items[i + 1] if i + 1 < len(items) else None
            if solve(i + 1, used | mask, start + 1 if nxt is prof else 0):
                return True
            chosen.pop()
        return False

    if not solve(0, 0, 0):
        return None
    return tuple(sorted(chosen))


def layout_name(layout: Mapping[str, int] | None) -> str:
    """Stable name of a per-GPU layout, used as the mig-parted config name and the
    ``nvidia.com/mig.config`` node label: ``tenantry-1x4g.40gb-1x3g.40gb``; whole GPUs
    (no MIG) are mig-parted's own ``all-disabled``."""
    if not layout:
        return "all-disabled"
    parts = sorted(layout.items(), key=lambda kv: (-int(kv[0].split("g", 1)[0]), kv[0]))
    return "tenantry-" + "-".join(f"{count}x{name.replace('+', '.')}" for name, count in parts)
