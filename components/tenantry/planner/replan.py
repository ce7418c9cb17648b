"""Which previous GPUs a re-plan keeps as they are, so that a change leaves other tenants alone.

One isolation group's previous GPUs, each described by its layout and the *other* tenants it
holds (tenants whose demand did not change but who have running slices on it), are split into
kept GPUs (layout untouched, nobody drained) and reconfigured ones; what the kept GPUs' spare
slots cannot hold is packed fresh (:func:`~tenantry.planner.packer.pack_vec`). The choice
minimises, in this order:

1. the other tenants disturbed (tenants with slices on a reconfigured GPU);
2. the GPUs used, which must stay within ``budget`` (the caller's from-scratch packing plus
   the allowed extra GPUs);
3. the GPUs reconfigured.

Search (greedy, deterministic): keep everything; then reconfigure GPUs that disturb nobody
(spare slots, pooled headroom, the changing tenants' own slices) whenever that saves a GPU;
then, only while the group is over ``budget``, reconfigure the GPU adding the fewest newly
disturbed tenants (one whose removal saves a GPU first, then the one with the most spare
slices: only spare room lets a set of GPUs be re-packed onto fewer), and after each such step
again every GPU that now disturbs nobody new. ``None`` when the budget cannot be met that way; the
caller then re-plans for the fewest GPUs instead.

Whole (non-MIG) GPUs: the previous ones holding other tenants are kept first, idle ones last;
the surplus is released and any shortfall gets new whole GPUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .geometry import Vec
from .packer import pack_vec

CANDIDATES = 64  # GPUs holding other tenants considered per step when over budget


@dataclass(frozen=True)
class Held:
    """A GPU the group held in the previous plan."""

    vec: Vec | None  # its MIG layout as counts per profile; None: a whole (non-MIG) GPU
    others: frozenset[str]  # tenants with running slices on it whose demand did not change
    busy: int  # slots on it that served a request (guaranteed or headroom)
    spare: int = 0  # compute + memory slices of its unassigned slots


@dataclass(frozen=True)
class Choice:
    keep: tuple[int, ...]  # indices into the held GPUs kept exactly as they are
    new: tuple[Vec, ...]  # MIG layouts packed for what the kept GPUs cannot hold
    new_whole: int  # whole GPUs to add
    disturbed: frozenset[str]  # other tenants on the reconfigured GPUs

    @property
    def gpus(self) -> int:
        return len(self.keep) + len(self.new) + self.new_whole


def _deficit(demand: Vec, cap: Sequence[int]) -> Vec:
    return tuple(max(d - c, 0) for d, c in zip(demand, cap, strict=True))


def choose(
    gpu_model: str, demand: Vec, whole: int, held: Sequence[Held], budget: int
) -> Choice | None:
    """The least disruptive split of ``held`` for ``demand`` (MIG counts) plus ``whole``
    whole GPUs, using at most ``budget`` GPUs; None when no split found stays within it."""
    wholes = sorted(
        (i for i, h in enumerate(held) if h.vec is None),
        key=lambda i: (not held[i].others, -held[i].busy, i),
    )
    keep_whole = wholes[:whole]
    released: set[str] = set()
    for i in wholes[whole:]:
        released |= held[i].others
    disturbed = set(released)
    new_whole = whole - len(keep_whole)

    migs = [i for i, h in enumerate(held) if h.vec is not None]
    keep = set(migs)
    dropped: list[int] = []
    cap = [0] * len(demand)
    for i in migs:
        for k, n in enumerate(held[i].vec or ()):
            cap[k] += n

    def total(without: int | None = None, adding: int | None = None) -> int:
        trial, n = list(cap), len(keep)
        for i, sign in ((without, -1), (adding, 1)):
            if i is not None:
                trial = [c + sign * x for c, x in zip(trial, held[i].vec or (), strict=True)]
                n += sign
        return n + len(pack_vec(gpu_model, _deficit(demand, trial)))

    def move(i: int, sign: int) -> None:
        (keep.add if sign > 0 else keep.discard)(i)
        for k, n in enumerate(held[i].vec or ()):
            cap[k] += sign * n
        if sign < 0:
            dropped.append(i)
            disturbed.update(held[i].others)
        else:
            dropped.remove(i)

    def free_passes(current: int) -> int:
        """Reconfigure every kept GPU that disturbs nobody new when that saves a GPU."""
        for _ in range(2):
            changed = False
            for i in sorted(
                (i for i in keep if held[i].others <= disturbed),
                key=lambda i: (held[i].busy, -held[i].spare, i),
            ):
                t = total(without=i)
                if t < current:
                    move(i, -1)
                    current, changed = t, True
            if not changed:
                break
        return current

    limit = budget - len(keep_whole) - new_whole
    current = free_passes(total())
    steps = 0
    while current > limit:
        steps += 1
        cands = sorted(
            keep, key=lambda i: (len(held[i].others - disturbed), -held[i].spare, held[i].busy, i)
        )[:CANDIDATES]
        if not cands or steps > 4 * len(held) + 8:
            return None
        scored = [
            (t >= current, len(held[i].others - disturbed), -held[i].spare, i, t)
            for i in cands
            for t in (total(without=i),)
        ]
        best = min(scored)
        move(best[3], -1)
        current = free_passes(best[4])
    for i in reversed(list(dropped)):  # give back what the budget did not need
        t = total(adding=i)
        if t <= limit:
            move(i, 1)
            current = t
    disturbed = set(released)
    for i in dropped:
        disturbed |= held[i].others
    new = pack_vec(gpu_model, _deficit(demand, cap))
    return Choice(
        keep=tuple(sorted([*keep, *keep_whole])),
        new=new,
        new_whole=new_whole,
        disturbed=frozenset(disturbed),
    )
