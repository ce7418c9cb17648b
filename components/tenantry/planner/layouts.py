"""Per-GPU layout helpers: explicit placements of a count vector, adding one instance."""

from __future__ import annotations

from functools import lru_cache

from ..catalog import gpu_models, place
from .geometry import Vec, geometry

Layout = tuple[tuple[str, int], ...]  # (profile, start), by start


@lru_cache(maxsize=8192)
def placements(gpu_model: str, vec: Vec) -> Layout:
    """The catalog's deterministic placement of a feasible count vector."""
    geo = geometry(gpu_model)
    placed = place(geo.gpu, geo.counts(vec))
    if placed is None:  # the packer only emits feasible vectors
        raise AssertionError(f"{gpu_model}: layout {geo.counts(vec)} is not placeable")
    return tuple((p.profile, p.start) for p in placed)


def add_instance(gpu_model: str, layout: Layout, profile: str) -> Layout | None:
    """``layout`` plus one ``profile`` at its lowest free legal start, existing instances left
    where they are; None when it does not fit."""
    gpu = gpu_models()[gpu_model]
    prof = gpu.profile(profile)
    if prof is None:
        return None
    used = compute = same = 0
    for name, start in layout:
        p = gpu.profile(name)
        assert p is not None
        used |= ((1 << p.memory_slices) - 1) << start
        compute += p.compute_slices
        same += name == profile
    if compute + prof.compute_slices > gpu.compute_slices or same >= prof.max_count:
        return None
    for start in prof.starts:
        mask = ((1 << prof.memory_slices) - 1) << start
        if start + prof.memory_slices <= gpu.memory_slices and not used & mask:
            return tuple(sorted([*layout, (profile, start)], key=lambda x: x[1]))
    return None


def layout_problems_of(gpu_model: str, layout: Layout) -> list[str]:
    """Overlaps, illegal starts, too many compute slices or instances (empty when valid)."""
    gpu = gpu_models()[gpu_model]
    out: list[str] = []
    used = compute = 0
    seen: dict[str, int] = {}
    for name, start in layout:
        p = gpu.profile(name)
        if p is None:
            out.append(f"{name!r} is not a profile of {gpu_model}")
            continue
        mask = ((1 << p.memory_slices) - 1) << start
        if start not in p.starts or start + p.memory_slices > gpu.memory_slices:
            out.append(f"{name} cannot start at {start} (legal: {list(p.starts)})")
        if used & mask:
            out.append(f"{name}@{start} overlaps another instance")
        used |= mask
        compute += p.compute_slices
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > p.max_count:
            out.append(f"more than {p.max_count} x {name}")
    if compute > gpu.compute_slices:
        out.append(f"{compute} compute slices > {gpu.compute_slices}")
    return out
