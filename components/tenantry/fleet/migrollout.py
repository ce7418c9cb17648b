"""Roll the planner's MIG layouts onto real nodes, draining each node that changes.

Runs between the platform stack's ``up`` (which publishes the mig-parted ConfigMap holding
every planned config) and the tenant stacks. Nodes are found by the labels the platform and
node-group components put on them: ``tenantry.dev/pool=<pool>`` for a shared pool,
``tenantry.dev/tenant=<t>,tenantry.dev/node-group=<ng>`` for a dedicated node group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..planner import FleetPlan
from .drain import MIG_CONFIG, NodeChange, NodeOps, ReconfigureError, assign, reconfigure


class PoolNodes(Protocol):
    def nodes(self, selector: str) -> dict[str, str | None]:
        """Node name -> its current ``nvidia.com/mig.config`` label, for a label selector."""
        ...


def selector(pool_name: str, kind: str) -> str:
    if kind == "node-group":
        tenant, group = pool_name.split("/", 1)
        return f"tenantry.dev/tenant={tenant},tenantry.dev/node-group={group}"
    return f"tenantry.dev/pool={pool_name}"


def planned_changes(plan: FleetPlan, cluster: PoolNodes) -> list[NodeChange]:
    changes: list[NodeChange] = []
    for pool in plan.pools:
        current = cluster.nodes(selector(pool.name, pool.kind))
        planned = list(pool.node_configs)[: len(current)]  # nodes not up yet get it at boot
        changes += assign(current, planned)
    return changes


def rollout(
    plan: FleetPlan, cluster: PoolNodes, ops: NodeOps, log: Callable[[str], None] = print
) -> str | None:
    """Apply every node's planned config; returns an error message, or None when done."""
    try:
        changes = planned_changes(plan, cluster)
        if not changes:
            log("MIG layouts: every node already carries its planned config")
        reconfigure(changes, ops, log=log)
    except ReconfigureError as exc:
        return str(exc)
    return None


__all__ = ["MIG_CONFIG", "PoolNodes", "planned_changes", "rollout", "selector"]
