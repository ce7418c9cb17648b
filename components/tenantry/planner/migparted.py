"""GPU operator output: the mig-parted config (``version: v1``) and each node's label value.

A node whose GPUs all carry the same MIG layout gets the catalog's ``layout_name`` (the name
tenant node groups already use), a node with no MIG GPU gets mig-parted's ``all-disabled``,
and a node with different layouts per GPU gets ``tenantry-mixed-<digest>`` whose digest is
taken over its per-device entries, so equal node layouts share one config.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..catalog import layout_name

if TYPE_CHECKING:
    from .model import FleetPlan, GpuPlan

MAX_LABEL = 63  # Kubernetes label values


NodeKey = tuple[tuple[int, tuple[tuple[str, int], ...] | None], ...]


def _node_key(gpus: Sequence[GpuPlan]) -> NodeKey:
    """What a node's config depends on: per GPU index, its MIG layout (None: MIG off)."""
    return tuple((g.index, g.layout if g.mig else None) for g in sorted(gpus, key=_index))


def _index(g: GpuPlan) -> int:
    return g.index


def _counts(layout: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    out: dict[str, int] = {}
    for profile, _ in layout:
        out[profile] = out.get(profile, 0) + 1
    return tuple(sorted(out.items()))


def _entries(key: NodeKey) -> list[dict[str, Any]]:
    by_layout: dict[tuple[tuple[str, int], ...] | None, list[int]] = {}
    for index, layout in key:
        by_layout.setdefault(None if layout is None else _counts(layout), []).append(index)
    entries: list[dict[str, Any]] = []
    for counts, devices in sorted(by_layout.items(), key=lambda kv: kv[1][0]):
        entry: dict[str, Any] = {"devices": devices, "mig-enabled": counts is not None}
        if counts is not None:
            entry["mig-devices"] = dict(counts)
        entries.append(entry)
    return entries


def _config(key: NodeKey) -> tuple[str, list[dict[str, Any]]]:
    entries = _entries(key)
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


def node_config(gpus: Sequence[GpuPlan]) -> tuple[str, list[dict[str, Any]]]:
    """(label value, mig-parted entries) of one node."""
    return _config(_node_key(gpus))


@lru_cache(maxsize=4096)
def _label(key: NodeKey) -> str:
    return _config(key)[0]


def node_label(gpus: Sequence[GpuPlan]) -> str:
    """The ``nvidia.com/mig.config`` label value of one node (memoised by its layouts)."""
    return _label(_node_key(gpus))


def mig_parted_config(plan: FleetPlan) -> dict[str, Any]:
    """One named config per distinct node layout, across every pool of the plan."""
    configs: dict[str, list[dict[str, Any]]] = {
        "all-disabled": [{"devices": "all", "mig-enabled": False}],
    }
    for pool in plan.pools:
        by_node: dict[int, list[GpuPlan]] = defaultdict(list)
        for g in pool.gpus:
            by_node[g.node].append(g)
        for node in range(pool.nodes):
            name, entries = node_config(by_node[node])
            configs.setdefault(name, entries)
    return {"version": "v1", "mig-configs": dict(sorted(configs.items()))}
