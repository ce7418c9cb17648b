"""Packs a multiset of MIG instances onto as few GPUs as possible.

1. LB+-guided greedy: at each step take the per-GPU layout (a maximal feasible geometry cut
   down to what is still needed) after which the lower bound drops by one, preferring the
   layout that uses the most slices; a layout that keeps the bound on track is repeated in
   one batch (the bound is monotone, so the batch size is found by bisection).
2. When the greedy ends above the lower bound, a bounded exact search (iterative deepening,
   branching only on layouts that hold the hardest remaining instance, failures memoised)
   re-packs the whole demand when it is small, or the greedy's last GPUs otherwise.

Deterministic: every choice is broken by the layout vector itself.
"""

from __future__ import annotations

from functools import lru_cache

from .geometry import Geometry, Vec, geometry

EXACT_WHOLE = 24  # exact re-pack of the whole demand when its bound is at most this
TAIL = 10  # otherwise the greedy's last TAIL GPUs are re-packed exactly
BUDGET = 4000  # search nodes per exact attempt


def _sub(a: Vec, b: Vec, k: int = 1) -> Vec:
    return tuple(x - k * y for x, y in zip(a, b, strict=True))


def _cut(g: Vec, rem: Vec) -> Vec:
    return tuple(min(x, y) for x, y in zip(g, rem, strict=True))


def _score(geo: Geometry, v: Vec) -> tuple[int, int]:
    used = sum(
        n * (c * geo.gpu.memory_slices + m * geo.gpu.compute_slices)
        for n, c, m in zip(v, geo.compute, geo.memory, strict=True)
    )
    big = sum(n * m * m for n, m in zip(v, geo.memory, strict=True))
    return used, big


def _candidates(geo: Geometry, rem: Vec) -> list[Vec]:
    cands = {_cut(g, rem) for g in geo.maximal}
    cands.discard(tuple(0 for _ in rem))
    return sorted(cands)


def _greedy(geo: Geometry, demand: Vec) -> list[Vec]:
    out: list[Vec] = []
    rem = demand
    while any(rem):
        lb = geo.lower_bound(rem)
        best: tuple[tuple[int, int, int, Vec], Vec] | None = None
        for c in _candidates(geo, rem):
            used, big = _score(geo, c)
            key = (geo.lower_bound(_sub(rem, c)), -used, -big, c)
            if best is None or key < best[0]:
                best = (key, c)
        assert best is not None
        c = best[1]
        k = 1
        if best[0][0] == lb - 1:
            hi = min(r // n for r, n in zip(rem, c, strict=True) if n)
            lo = 1
            while lo < hi:  # largest k with LB(rem - k c) == lb - k (monotone in k)
                mid = (lo + hi + 1) // 2
                if geo.lower_bound(_sub(rem, c, mid)) == lb - mid:
                    lo = mid
                else:
                    hi = mid - 1
            k = lo
        out.extend([c] * k)
        rem = _sub(rem, c, k)
    return out


def _hardest(geo: Geometry, rem: Vec) -> int:
    return max(
        (i for i, n in enumerate(rem) if n),
        key=lambda i: (geo.memory[i], geo.compute[i], -geo.max_count[i], -i),
    )


def _exact(geo: Geometry, demand: Vec, limit: int) -> list[Vec] | None:
    """A packing into at most ``limit`` GPUs, or None (none exists or the budget ran out)."""
    failed: set[tuple[Vec, int]] = set()
    budget = [BUDGET]

    def solve(rem: Vec, left: int) -> list[Vec] | None:
        if not any(rem):
            return []
        if geo.lower_bound(rem) > left or (rem, left) in failed or budget[0] <= 0:
            return None
        budget[0] -= 1
        h = _hardest(geo, rem)
        options = []
        for c in _candidates(geo, rem):
            if c[h]:
                after = _sub(rem, c)
                options.append((geo.lower_bound(after), tuple(-x for x in _score(geo, c)), c))
        for _, _, c in sorted(options):
            sub = solve(_sub(rem, c), left - 1)
            if sub is not None:
                return [c, *sub]
        if budget[0] > 0:
            failed.add((rem, left))
        return None

    return solve(demand, limit)


def _improve(geo: Geometry, demand: Vec, layouts: list[Vec]) -> list[Vec]:
    lb = geo.lower_bound(demand)
    if len(layouts) <= lb:
        return layouts
    if lb <= EXACT_WHOLE:
        for target in range(lb, len(layouts)):
            found = _exact(geo, demand, target)
            if found is not None:
                return found
        return layouts
    head, tail = layouts[:-TAIL], layouts[-TAIL:]
    need = tuple(sum(col) for col in zip(*tail, strict=True))
    for target in range(geo.lower_bound(need), len(tail)):
        found = _exact(geo, need, target)
        if found is not None:
            return head + found
    return layouts


@lru_cache(maxsize=8192)
def pack_vec(gpu_model: str, demand: Vec) -> tuple[Vec, ...]:
    """Per-GPU layouts (count vectors) that together hold ``demand``, largest first."""
    geo = geometry(gpu_model)
    if not any(demand):
        return ()
    layouts = _improve(geo, demand, _greedy(geo, demand))
    return tuple(sorted(layouts, key=lambda v: (_score(geo, v), v), reverse=True))


def pack(gpu_model: str, demand: dict[str, int]) -> list[dict[str, int]]:
    """Per-GPU layouts ({profile: count}) for a demand by profile name."""
    geo = geometry(gpu_model)
    return [geo.counts(v) for v in pack_vec(gpu_model, geo.vec(demand))]
