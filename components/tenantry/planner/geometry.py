"""Per-GPU-model MIG geometry for packing: feasible per-GPU multisets and lower bounds.

Profiles are indexed in catalog order, and a per-GPU layout or a demand is a vector of counts
(one entry per profile). The feasible multisets are enumerated once per GPU model from the
catalog's placement table (legal starts, memory-slice runs that never overlap, at most the
GPU's compute slices), so they agree with :func:`tenantry.catalog.place` by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from ..catalog import GpuModel, gpu_models

Vec = tuple[int, ...]


@dataclass(frozen=True)
class Geometry:
    gpu: GpuModel
    names: tuple[str, ...]
    compute: Vec
    memory: Vec
    max_count: Vec
    feasible: frozenset[Vec]
    maximal: tuple[Vec, ...]
    start0_only: tuple[int, ...]  # profiles that can only start at slice 0 (4g, 7g)
    halves: tuple[int, ...]  # profiles using half the memory slices (3g, 4g; A30 2g)
    fulls: tuple[int, ...]  # profiles using every memory slice (7g; A30 4g)
    two_g: int | None  # index of the 2g profile on 7x8 parts (starts 0, 2, 4)
    four_g: int | None  # index of the 4g profile on 7x8 parts (start 0, memory 0-3)

    def vec(self, counts: Mapping[str, int]) -> Vec:
        """Counts by profile name -> vector (KeyError on a profile the GPU lacks)."""
        index = {n: i for i, n in enumerate(self.names)}
        out = [0] * len(self.names)
        for name, n in counts.items():
            out[index[name]] += n
        return tuple(out)

    def counts(self, vec: Vec) -> dict[str, int]:
        return {self.names[i]: n for i, n in enumerate(vec) if n}

    def lower_bound(self, vec: Vec) -> int:
        """LB+ of mig.md §5, generalised and slightly tightened: a full-memory instance (7g;
        4g on A30) holds its GPU alone, and on the other GPUs the slice sums, the
        start-0-only profiles (4g), the two memory halves (3g, 4g) and each profile's maximum
        count per GPU (one for the +me profiles) all bound the GPU count."""
        g = self.gpu
        full = sum(vec[i] for i in self.fulls)
        rest = [0 if i in self.fulls else n for i, n in enumerate(vec)]
        c = sum(n * k for n, k in zip(rest, self.compute, strict=True))
        m = sum(n * k for n, k in zip(rest, self.memory, strict=True))
        lb = max(-(-c // g.compute_slices), -(-m // g.memory_slices))
        for n, mx in zip(rest, self.max_count, strict=True):
            if n:
                lb = max(lb, -(-n // mx))
        lb = max(lb, sum(rest[i] for i in self.start0_only))
        half = sum(rest[i] for i in self.halves)
        lb = max(lb, -(-half // 2))
        if self.two_g is not None and self.four_g is not None:
            # 2g starts at 0, 2 or 4: a GPU holding a 4g (slices 0-3) fits one 2g, others three
            n2, n4 = rest[self.two_g], rest[self.four_g]
            if n2 > n4:
                lb = max(lb, n4 + -(-(n2 - n4) // 3))
        return full + lb

    def plain_lower_bound(self, vec: Vec) -> int:
        """LB+ exactly as mig.md §5 states it (for comparison in reports)."""
        g = self.gpu
        c = sum(n * k for n, k in zip(vec, self.compute, strict=True))
        m = sum(n * k for n, k in zip(vec, self.memory, strict=True))
        lb = max(-(-c // g.compute_slices), -(-m // g.memory_slices))
        full = sum(vec[i] for i in self.fulls)
        s0 = sum(vec[i] for i in self.start0_only if i not in self.fulls)
        half = sum(vec[i] for i in self.halves)
        return max(lb, full + s0, full + -(-half // 2))


def _enumerate(gpu: GpuModel) -> frozenset[Vec]:
    profs = gpu.profiles
    found: set[Vec] = set()
    counts = [0] * len(profs)

    def walk(slot: int, used: int, compute: int) -> None:
        if slot >= gpu.memory_slices:
            found.add(tuple(counts))
            return
        walk(slot + 1, used, compute)  # leave this memory slice empty
        for i, p in enumerate(profs):
            mask = ((1 << p.memory_slices) - 1) << slot
            if (
                slot in p.starts
                and slot + p.memory_slices <= gpu.memory_slices
                and not used & mask
                and compute + p.compute_slices <= gpu.compute_slices
                and counts[i] < p.max_count
            ):
                counts[i] += 1
                walk(slot + 1, used | mask, compute + p.compute_slices)
                counts[i] -= 1

    walk(0, 0, 0)
    found.discard(tuple(counts))  # the empty layout
    return frozenset(found)


def _dominated(a: Vec, b: Vec) -> bool:
    return a != b and all(x <= y for x, y in zip(a, b, strict=True))


@cache
def geometry(gpu_model: str) -> Geometry:
    """The packing geometry of a catalog GPU model (KeyError when it is unknown)."""
    gpu = gpu_models()[gpu_model]
    feasible = _enumerate(gpu)
    maximal = tuple(sorted(v for v in feasible if not any(_dominated(v, w) for w in feasible)))
    profs = gpu.profiles
    return Geometry(
        gpu=gpu,
        names=tuple(p.name for p in profs),
        compute=tuple(p.compute_slices for p in profs),
        memory=tuple(p.memory_slices for p in profs),
        max_count=tuple(p.max_count for p in profs),
        feasible=feasible,
        maximal=maximal,
        start0_only=tuple(i for i, p in enumerate(profs) if p.starts == (0,)),
        halves=tuple(i for i, p in enumerate(profs) if 2 * p.memory_slices == gpu.memory_slices),
        fulls=tuple(i for i, p in enumerate(profs) if p.memory_slices == gpu.memory_slices),
        two_g=_kind_index(gpu, "2g", (0, 2, 4)),
        four_g=_kind_index(gpu, "4g", (0,)),
    )


def _kind_index(gpu: GpuModel, kind: str, starts: tuple[int, ...]) -> int | None:
    if gpu.memory_slices != 8:
        return None
    for i, p in enumerate(gpu.profiles):
        if p.kind == kind and p.starts == starts and p.memory_slices == (2 if kind == "2g" else 4):
            return i
    return None
