"""Geometries, lower bounds and the packer against mig.md §5."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.catalog import gpu_models, place
from tenantry.planner import geometry, pack, pack_vec
from tenantry.planner.geometry import _dominated


def test_geometry_counts_match_the_reference() -> None:
    geo = geometry("A100-40GB")
    me = geo.names.index("1g.5gb+me")
    plain = [v for v in geo.feasible if v[me] == 0]
    assert len(plain) == 77  # mig.md §5: 77 feasible multisets, 28 maximal
    assert len([v for v in plain if not any(_dominated(v, w) for w in plain)]) == 28
    for v in geo.feasible:
        assert place(geo.gpu, geo.counts(v)) is not None


@pytest.mark.parametrize(
    ("demand", "lb", "lb_plus"),
    [
        ({"1g.10gb": 13, "3g.40gb": 5}, 5, 5),
        ({"4g.40gb": 4, "1g.10gb": 3, "2g.20gb": 1}, 4, 4),  # mig.md's worst LB case
        ({"7g.80gb": 2, "1g.10gb": 1}, 3, 3),
        ({"3g.40gb": 3}, 2, 2),
        ({"1g.20gb": 7, "2g.20gb": 27, "4g.40gb": 21}, 23, 21),  # 4g leaves room for one 2g
    ],
)
def test_lower_bounds(demand: dict[str, int], lb: int, lb_plus: int) -> None:
    geo = geometry("H100-80GB")
    v = geo.vec(demand)
    assert geo.lower_bound(v) == lb
    assert geo.plain_lower_bound(v) == lb_plus
    assert len(pack("H100-80GB", demand)) == lb


def test_issue_example() -> None:
    layouts = pack("H100-80GB", {"1g.10gb": 13, "3g.40gb": 5})
    assert len(layouts) == 5
    assert sum(lay.get("1g.10gb", 0) for lay in layouts) == 13
    assert sum(lay.get("3g.40gb", 0) for lay in layouts) == 5


def test_a30_geometry() -> None:
    assert len(pack("A30-24GB", {"2g.12gb": 3, "1g.6gb": 3, "4g.24gb": 1})) == 4


MODELS = ["H100-80GB", "A100-40GB", "A30-24GB", "H200-141GB"]


@st.composite
def demands(draw: st.DrawFn) -> tuple[str, tuple[int, ...]]:
    model = draw(st.sampled_from(MODELS))
    geo = geometry(model)
    vec = tuple(draw(st.integers(0, 2 if "+me" in n else 9)) for n in geo.names)
    return model, vec


@settings(max_examples=150, deadline=None)
@given(demands())
def test_pack_is_placeable_covers_and_near_bound(case: tuple[str, tuple[int, ...]]) -> None:
    model, vec = case
    geo = geometry(model)
    layouts = pack_vec(model, vec)
    for v in layouts:
        assert v in geo.feasible  # placeable on one GPU
        assert place(gpu_models()[model], geo.counts(v)) is not None
    assert tuple(sum(c) for c in zip(*layouts, strict=True)) == vec if layouts else not any(vec)
    assert len(layouts) >= geo.lower_bound(vec)
    assert pack_vec(model, vec) == layouts  # deterministic


@settings(max_examples=100, deadline=None)
@given(demands())
def test_pack_hits_the_bound_without_me_profiles(case: tuple[str, tuple[int, ...]]) -> None:
    model, vec = case
    geo = geometry(model)
    vec = tuple(0 if "+me" in n else x for n, x in zip(geo.names, vec, strict=True))
    if any(vec):
        assert len(pack_vec(model, vec)) <= geo.lower_bound(vec) + 1
