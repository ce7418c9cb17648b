"""Snapshot diffs: added, removed and changed resources with field paths."""

from __future__ import annotations

from tenantry.plan.diff import FieldChange, diff_snapshots


def _r(type_: str, name: str, **inputs: object) -> dict[str, object]:
    return {"type": type_, "name": name, "parent": "p", "inputs": inputs}


def test_added_removed_changed() -> None:
    base = [_r("k:Ns", "a", labels={"tier": "shared"}, n=[1, 2]), _r("k:Q", "q", hard={"cpu": "8"})]
    head = [
        _r("k:Ns", "a", labels={"tier": "premium", "x": "y"}, n=[1, 3]),
        _r("k:Svc", "s", port=80),
    ]
    d = diff_snapshots(base, head)
    assert d.added == [("k:Svc", "s")]
    assert d.removed == [("k:Q", "q")]
    [change] = d.changed
    assert (change.type, change.name) == ("k:Ns", "a")
    assert change.fields == (
        FieldChange("inputs.labels.tier", "shared", "premium"),
        FieldChange("inputs.labels.x", None, "y"),
        FieldChange("inputs.n[1]", 2, 3),
    )


def test_identical_snapshots_give_an_empty_diff() -> None:
    snap = [_r("k:Ns", "a", labels={"tenant": "acme"})]
    assert diff_snapshots(snap, list(snap)).empty


def test_list_length_change_is_one_field_change() -> None:
    d = diff_snapshots([_r("t", "n", xs=[1])], [_r("t", "n", xs=[1, 2])])
    assert d.changed[0].fields == (FieldChange("inputs.xs", [1], [1, 2]),)
