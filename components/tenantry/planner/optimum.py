"""Proven minimum GPU count of a demand: the yardstick the packer is measured against.

``optimum(gpu_model, demand, upper)`` returns the least number of GPUs that can hold
``demand`` when it can prove it, else None. A packing with ``upper`` GPUs is known (the
planner's own), so only "no packing with fewer GPUs exists" must be shown: for each smaller
count, an exhaustive search places the largest remaining instance on a GPU in every
distinct way (every feasible per-GPU multiset, cut to what is left, none dominated by
another), prunes with the lower bound and remembers the states that failed. It uses the
feasible multisets, not the packer's candidates, so it is an independent check.
"""

from __future__ import annotations

from .geometry import Geometry, Vec, geometry

SEARCH_BUDGET = 200_000  # search nodes per proof; beyond that the optimum stays unknown


def _options(geo: Geometry, rem: Vec, h: int) -> list[Vec]:
    """Every distinct, undominated way to fill one GPU holding instance ``h`` from ``rem``."""
    cuts = {tuple(min(x, r) for x, r in zip(f, rem, strict=True)) for f in geo.feasible if f[h]}
    return [
        c
        for c in cuts
        if not any(o != c and all(a <= b for a, b in zip(c, o, strict=True)) for o in cuts)
    ]


def _hardest(geo: Geometry, rem: Vec) -> int:
    return max(
        (i for i, n in enumerate(rem) if n), key=lambda i: (geo.memory[i], geo.compute[i], -i)
    )


def fits(gpu_model: str, demand: Vec, gpus: int, budget: int = SEARCH_BUDGET) -> bool | None:
    """Whether ``demand`` fits on ``gpus`` GPUs; None when the search budget runs out."""
    geo = geometry(gpu_model)
    failed: dict[Vec, int] = {}  # state -> most GPUs with which it was shown not to fit
    left = [budget]

    def solve(rem: Vec, k: int) -> bool | None:
        if not any(rem):
            return True
        if geo.lower_bound(rem) > k or failed.get(rem, -1) >= k:
            return False
        if left[0] <= 0:
            return None
        left[0] -= 1
        h = _hardest(geo, rem)
        after = [tuple(r - x for r, x in zip(rem, c, strict=True)) for c in _options(geo, rem, h)]
        unknown = False
        for nxt in sorted(after, key=geo.lower_bound):
            got = solve(nxt, k - 1)
            if got:
                return True
            unknown = unknown or got is None
        if unknown:
            return None
        failed[rem] = k
        return False

    return solve(demand, gpus)


def optimum(gpu_model: str, demand: Vec, upper: int, budget: int = SEARCH_BUDGET) -> int | None:
    """The least GPU count for ``demand``, given that ``upper`` GPUs suffice; None when a
    proof needs more than ``budget`` search nodes."""
    geo = geometry(gpu_model)
    for k in range(geo.lower_bound(demand), upper):
        got = fits(gpu_model, demand, k, budget)
        if got is None:
            return None
        if got:
            return k
    return upper
