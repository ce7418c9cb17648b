"""The MIG placement check against NVIDIA's published placement tables (mig.md §1, §5)."""

from __future__ import annotations

import itertools

import pytest

from tenantry.catalog import gpu_models, layout_name, layout_problems, place

H100 = gpu_models()["H100-80GB"]


@pytest.mark.parametrize(
    "layout",
    [
        {"3g.40gb": 2},
        {"4g.40gb": 1, "3g.40gb": 1},
        {"1g.10gb": 7},
        {"7g.80gb": 1},
        {"1g.20gb": 4},
        {"2g.20gb": 3, "1g.10gb": 1},
        {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1},
    ],
)
def test_placeable_on_h100(layout: dict[str, int]) -> None:
    assert layout_problems(H100, layout) == []
    placements = place(H100, layout)
    assert placements is not None
    used = 0
    for p in placements:
        prof = H100.profile(p.profile)
        assert prof is not None and p.start in prof.starts
        mask = ((1 << p.size) - 1) << p.start
        assert used & mask == 0
        used |= mask


@pytest.mark.parametrize(
    ("layout", "why"),
    [
        ({"4g.40gb": 2}, "fits at most 1"),
        ({"3g.40gb": 1, "2g.20gb": 3}, "compute slices"),
        ({"1g.20gb": 4, "1g.10gb": 1}, "memory slices"),
        ({"1g.10gb": 8}, "fits at most 7"),
        ({"4g.40gb": 1, "2g.20gb": 2}, "compute slices"),
        ({"1g.5gb": 1}, "not a MIG profile of H100-80GB"),
    ],
)
def test_not_placeable_on_h100(layout: dict[str, int], why: str) -> None:
    assert place(H100, layout) is None
    problems = layout_problems(H100, layout)
    assert problems and why in problems[0]


def test_slice_sums_are_not_enough() -> None:
    """A layout whose slices add up can still have no legal placement: here a made-up part
    whose 2-slice profile may only start at 0 or 4 cannot hold three of them in 8 slices."""
    from dataclasses import replace

    two = replace(H100.profile("2g.20gb"), starts=(0, 4))  # type: ignore[type-var]
    odd = replace(H100, profiles=(two, H100.profile("1g.10gb")))  # type: ignore[arg-type]
    assert place(odd, {"2g.20gb": 3}) is None
    assert "no non-overlapping placement" in layout_problems(odd, {"2g.20gb": 3})[0]
    assert place(odd, {"2g.20gb": 2, "1g.10gb": 3}) is not None


def _feasible_multisets(gpu_name: str) -> tuple[int, int]:
    """Count feasible and maximal profile multisets (excluding the +me variant)."""
    gpu = gpu_models()[gpu_name]
    profs = [p for p in gpu.profiles if "+me" not in p.name]
    feasible = []
    ranges = [range(p.max_count + 1) for p in profs]
    for counts in itertools.product(*ranges):
        layout = {p.name: c for p, c in zip(profs, counts, strict=True) if c}
        if layout and place(gpu, layout) is not None:
            feasible.append(counts)
    feasible_set = set(feasible)
    maximal = 0
    for counts in feasible:
        bigger = any(
            tuple(c + (i == j) for j, c in enumerate(counts)) in feasible_set
            for i in range(len(counts))
        )
        maximal += not bigger
    return len(feasible), maximal


@pytest.mark.parametrize(
    "gpu_name", ["A100-40GB", "A100-80GB", "H100-80GB", "H100-94GB", "H200-141GB"]
)
def test_feasible_geometries_match_published_enumeration(gpu_name: str) -> None:
    # mig.md §5: exhaustive enumeration of the 7-slice placement table gives 77 feasible
    # multisets, 28 of them maximal.
    assert _feasible_multisets(gpu_name) == (77, 28)


def test_zero_waste_geometries() -> None:
    # mig.md §5 lists the 11 layouts that use 7/7 compute and 8/8 memory slices.
    kinds = {p.kind: p.name for p in H100.profiles}
    zero_waste = [
        {"1g": 6, "1g.2x": 1},
        {"1g": 4, "1g.2x": 1, "2g": 1},
        {"1g": 4, "3g": 1},
        {"1g": 2, "1g.2x": 1, "2g": 2},
        {"1g": 2, "1g.2x": 1, "4g": 1},
        {"1g": 2, "2g": 1, "3g": 1},
        {"1g.2x": 1, "2g": 3},
        {"1g.2x": 1, "2g": 1, "4g": 1},
        {"2g": 2, "3g": 1},
        {"3g": 1, "4g": 1},
        {"7g": 1},
    ]
    for geometry in zero_waste:
        layout = {kinds[k]: n for k, n in geometry.items()}
        placements = place(H100, layout)
        assert placements is not None, layout
        assert sum(p.size for p in placements) == 8


def test_a30_geometry() -> None:
    a30 = gpu_models()["A30-24GB"]
    assert place(a30, {"2g.12gb": 2}) is not None
    assert place(a30, {"1g.6gb": 4}) is not None
    assert place(a30, {"4g.24gb": 1, "1g.6gb": 1}) is None
    assert "compute slices" in layout_problems(a30, {"2g.12gb": 1, "1g.6gb": 3})[0]


def test_placement_is_deterministic_and_largest_first() -> None:
    layout = {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}
    first = place(H100, layout)
    assert first == place(H100, dict(reversed(list(layout.items()))))
    assert first is not None
    assert [(p.profile, p.start) for p in first] == [
        ("2g.20gb", 0),
        ("1g.10gb", 2),
        ("1g.10gb", 3),
        ("3g.40gb", 4),
    ]


def test_layout_names() -> None:
    assert layout_name(None) == "all-disabled"
    assert layout_name({"3g.40gb": 2}) == "tenantry-2x3g.40gb"
    assert layout_name({"1g.10gb": 1, "4g.40gb": 1, "1g.10gb+me": 1}) == (
        "tenantry-1x4g.40gb-1x1g.10gb-1x1g.10gb.me"
    )
