"""GPU operator output: the mig-parted config (``version: v1``) and each node's label value.

A node whose GPUs all carry the same MIG layout gets the catalog's ``layout_name`` (the name
tenant node groups already use), a node with no MIG GPU gets mig-parted's ``all-disabled``,
and a node with different layouts per GPU gets ``tenantry-mixed-<digest>`` whose digest is
taken over its per-device entries, so equal node layouts share one config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..catalog import layout_name

if TYPE_CHECKING:
    from .model import FleetPlan, GpuPlan

MAX_LABEL = 63  # Kubernetes label values


def node_entries(gpus: Sequence[GpuPlan]) -> list[dict[str, Any]]:
    """Per-device mig-parted entries of one node (devices with equal layouts grouped)."""
    by_layout: dict[str, tuple[dict[str, int] | None, list[int]]] = {}
    for g in sorted(gpus, key=lambda g: g.index):
        counts = g.counts() if g.mig else None
        key = json.dumps(counts, sort_keys=True)
        by_layout.setdefault(key, (counts, []))[1].append(g.index)
    entries: list[dict[str, Any]] = []
    for counts, devices in sorted(by_layout.values(), key=lambda v: v[1][0]):
        entry: dict[str, Any] = {"devices": devices, "mig-enabled": counts is not None}
        if counts is not None:
            entry["mig-devices"] = counts
        entries.append(entry)
    return entries


def node_config(gpus: Sequence[GpuPlan]) -> tuple[str, list[dict[str, Any]]]:
    """(label value, mig-parted entries) of one node."""
    entries = node_entries(gpus)
    if len(entries) == 1:
        e = entries[0]
        name = layout_name(e.get("mig-devices"))
        if len(name) <= MAX_LABEL:
            uniform: dict[str, Any] = {"devices": "all", "mig-enabled": e["mig-enabled"]}
            if "mig-devices" in e:
                uniform["mig-devices"] = e["mig-devices"]
            return name, [uniform]
    digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:12]
    return f"tenantry-mixed-{digest}", entries


def mig_parted_config(plan: FleetPlan) -> dict[str, Any]:
    """One named config per distinct node layout, across every pool of the plan."""
    configs: dict[str, list[dict[str, Any]]] = {
        "all-disabled": [{"devices": "all", "mig-enabled": False}],
    }
    for pool in plan.pools:
        for node in range(pool.nodes):
            gpus = [g for g in pool.gpus if g.node == node]
            name, entries = node_config(gpus)
            configs.setdefault(name, entries)
    return {"version": "v1", "mig-configs": dict(sorted(configs.items()))}
