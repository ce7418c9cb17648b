"""MIG reconfiguration: drain before relabel, wait for mig-manager, uncordon after."""

from __future__ import annotations

import pytest

from tenantry.fleet import NodeChange, ReconfigureError, assign, reconfigure
from tenantry.fleet.drain import MIG_CONFIG, MIG_STATE


class FakeNodes:
    def __init__(self, outcome: str = "success", settle_polls: int = 2) -> None:
        self.events: list[tuple[str, ...]] = []
        self.labels: dict[str, dict[str, str]] = {}
        self.outcome, self.settle = outcome, settle_polls
        self.polls = 0

    def cordon(self, node: str) -> None:
        self.events.append(("cordon", node))

    def drain(self, node: str) -> None:
        self.events.append(("drain", node))

    def label(self, node: str, key: str, value: str) -> None:
        self.events.append(("label", node, value))
        self.labels.setdefault(node, {})[key] = value
        self.labels[node][MIG_STATE] = "pending"
        self.polls = 0

    def label_value(self, node: str, key: str) -> str | None:
        if key == MIG_STATE:
            self.polls += 1
            if self.polls > self.settle:
                self.labels[node][MIG_STATE] = self.outcome
        return self.labels.get(node, {}).get(key)

    def uncordon(self, node: str) -> None:
        self.events.append(("uncordon", node))


def test_assign_keeps_nodes_whose_layout_is_still_planned() -> None:
    current = {"n1": "tenantry-7x1g.10gb", "n2": "tenantry-2x3g.40gb", "n3": None}
    planned = ["tenantry-2x3g.40gb", "tenantry-1x4g.40gb-1x3g.40gb", "tenantry-2x3g.40gb"]
    assert assign(current, planned) == [
        NodeChange("n1", "tenantry-7x1g.10gb", "tenantry-1x4g.40gb-1x3g.40gb"),
        NodeChange("n3", None, "tenantry-2x3g.40gb"),
    ]
    assert assign(current, ["tenantry-2x3g.40gb"]) == []


def test_assign_refuses_more_nodes_than_the_pool_has() -> None:
    with pytest.raises(ReconfigureError, match="the pool has 1"):
        assign({"n1": None}, ["a", "b"])


def test_each_node_drained_before_relabel_and_uncordoned_after_success() -> None:
    nodes = FakeNodes()
    reconfigure(
        [NodeChange("n1", "a", "b"), NodeChange("n2", None, "c")], nodes, sleep=lambda s: None
    )
    assert nodes.events == [
        ("cordon", "n1"),
        ("drain", "n1"),
        ("label", "n1", "b"),
        ("uncordon", "n1"),
        ("cordon", "n2"),
        ("drain", "n2"),
        ("label", "n2", "c"),
        ("uncordon", "n2"),
    ]
    assert nodes.labels["n1"][MIG_CONFIG] == "b"


def test_failed_reconfiguration_stops_and_leaves_node_cordoned() -> None:
    nodes = FakeNodes(outcome="failed")
    with pytest.raises(ReconfigureError, match="n1: mig-manager reports failed"):
        reconfigure(
            [NodeChange("n1", "a", "b"), NodeChange("n2", "a", "b")], nodes, sleep=lambda s: None
        )
    assert ("uncordon", "n1") not in nodes.events
    assert all(e[1] == "n1" for e in nodes.events)


def test_timeout_stops_the_rollout() -> None:
    nodes = FakeNodes(settle_polls=10**9)
    now = [0.0]

    def clock() -> float:
        now[0] += 100.0
        return now[0]

    with pytest.raises(ReconfigureError, match=r"no nvidia\.com/mig\.config\.state=success"):
        reconfigure(
            [NodeChange("n1", "a", "b")], nodes, timeout_s=300, clock=clock, sleep=lambda s: None
        )
