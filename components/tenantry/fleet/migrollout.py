"""Roll the planner's MIG layouts onto real nodes, draining each node that changes.

Runs between the platform stack's ``up`` (which publishes the mig-parted ConfigMap holding
every planned config) and the tenant stacks. Nodes are found by the labels the platform and
node-group components put on them: ``tenantry.dev/pool=<pool>,!tenantry.dev/tenant`` for a
shared pool's own nodes, ``tenantry.dev/pool=<pool>,tenantry.dev/tenant=<t>`` for a tenant's
nodes carved from it, ``tenantry.dev/tenant=<t>,tenantry.dev/node-group=<ng>`` for a tenant's
node group (``!key``: Kubernetes label selectors, "Set-based requirement").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..planner import FleetPlan, mig_parted_config
from .drain import (
    MIG_CONFIG,
    NodeChange,
    NodeDevices,
    NodeOps,
    PodOps,
    ReconfigureError,
    assign,
    reconfigure,
)


class PoolNodes(Protocol):
    def nodes(self, selector: str) -> dict[str, str | None]:
        """Node name -> its current ``nvidia.com/mig.config`` label, for a label selector."""
        ...


def selector(pool_name: str, kind: str) -> str:
    if kind == "node-group":
        tenant, group = pool_name.split("/", 1)
        return f"tenantry.dev/tenant={tenant},tenantry.dev/node-group={group}"
    if kind == "tenant-nodes":
        pool, tenant = pool_name.split("@", 1)
        return f"tenantry.dev/pool={pool},tenantry.dev/tenant={tenant}"
    return f"tenantry.dev/pool={pool_name},!tenantry.dev/tenant"


def device_configs(*plans: FleetPlan) -> dict[str, NodeDevices]:
    """Config name -> per-GPU (MIG enabled, counts) for every node config of ``plans``
    (mig-parted entries expanded over each pool's GPU indices)."""
    out: dict[str, NodeDevices] = {}
    for fleet in plans:
        configs: dict[str, list[dict[str, Any]]] = mig_parted_config(fleet)["mig-configs"]
        for pool in fleet.pools:
            for name in pool.node_configs:
                if name in out or name not in configs:
                    continue
                per: dict[int, tuple[bool, tuple[tuple[str, int], ...]]] = {}
                for entry in configs[name]:
                    devices = entry["devices"]
                    indices = range(pool.gpus_per_node) if devices == "all" else devices
                    counts = tuple(sorted(entry.get("mig-devices", {}).items()))
                    for i in indices:
                        per[int(i)] = (bool(entry["mig-enabled"]), counts)
                out[name] = per
    return out


def planned_changes(
    plan: FleetPlan, cluster: PoolNodes, previous: FleetPlan | None = None
) -> list[NodeChange]:
    """Every node whose config changes, with the GPUs that change where the node's current
    config is one of ``plan``'s or ``previous``'s (the plan the cluster was rolled to)."""
    devices = device_configs(plan, *([previous] if previous is not None else []))
    changes: list[NodeChange] = []
    for pool in plan.pools:
        current = cluster.nodes(selector(pool.name, pool.kind))
        planned = list(pool.node_configs)[: len(current)]  # nodes not up yet get it at boot
        changes += assign(current, planned, devices)
    return changes


def rollout(
    plan: FleetPlan,
    cluster: PoolNodes,
    ops: NodeOps,
    log: Callable[[str], None] = print,
    *,
    previous: FleetPlan | None = None,
    pods: PodOps | None = None,
) -> str | None:
    """Apply every node's planned config; returns an error message, or None when done.
    With ``pods`` (who holds which GPU) and the configs known, only the pods on the GPUs
    that change are evicted; otherwise each changing node is drained."""
    try:
        changes = planned_changes(plan, cluster, previous)
        if not changes:
            log("MIG layouts: every node already carries its planned config")
        reconfigure(changes, ops, pods=pods, log=log)
    except ReconfigureError as exc:
        return str(exc)
    return None


__all__ = [
    "MIG_CONFIG",
    "PoolNodes",
    "device_configs",
    "planned_changes",
    "rollout",
    "selector",
]
