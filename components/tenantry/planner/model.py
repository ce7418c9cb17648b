"""The plan: per pool, nodes and every GPU's explicit layout, with who each slice is for.

Plain frozen dataclasses; :meth:`FleetPlan.to_dict` gives JSON-ready data and
:meth:`FleetPlan.from_dict` reads it back (a saved plan is the ``previous`` of a re-plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import NodeResources
from .demand import WHOLE_GPU


@dataclass(frozen=True, order=True)
class Slot:
    """One GPU instance at ``start`` (or the whole GPU: profile "gpu", start 0)."""

    start: int
    profile: str
    tenant: str = ""  # "" = pooled headroom or unassigned
    model: str = ""
    role: str = "spare"  # guaranteed | overflow | spare


@dataclass(frozen=True)
class GpuPlan:
    node: int
    index: int
    group: str  # isolation group that owns the GPU; "" when free
    slots: tuple[Slot, ...]  # empty: free GPU (MIG disabled)

    @property
    def mig(self) -> bool:
        return bool(self.slots) and self.slots[0].profile != WHOLE_GPU

    @property
    def used(self) -> bool:
        return bool(self.slots)

    @property
    def layout(self) -> tuple[tuple[str, int], ...]:
        """(profile, start) of every instance, by start: what mig-parted configures."""
        return tuple((s.profile, s.start) for s in self.slots)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.slots:
            out[s.profile] = out.get(s.profile, 0) + 1
        return dict(sorted(out.items()))


@dataclass(frozen=True)
class PoolPlan:
    name: str
    kind: str
    gpu_model: str
    instance_type: str | None
    gpus_per_node: int
    nodes: int
    gpus: tuple[GpuPlan, ...]  # every GPU of every node, by (node, index)
    lower_bound: int  # GPUs: sum over isolation groups of the tightened LB+ (see geometry)
    lb_plus: int  # the same with mig.md's LB+ formula as stated
    node_configs: tuple[str, ...]  # nvidia.com/mig.config label value of each node
    reconfigured: tuple[tuple[int, int], ...] = ()  # (node, gpu) to drain, then reconfigure
    removed_nodes: tuple[int, ...] = ()
    # (node, gpu, tenants): every previously used GPU that is reconfigured or loses its node,
    # with the tenants whose guaranteed or headroom slices it held (pooled headroom: no tenant)
    disturbed: tuple[tuple[int, int, tuple[str, ...]], ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # the node limit (maxNodes of a shared pool, maxSize of a node group) and how many nodes
    # the plan needs to stay within it: a shared pool runs every planned node (guaranteed
    # demand, overflow headroom, replicas spread over two nodes); a node group must hold
    # its guaranteed demand at maxSize (the autoscaler adds burst nodes up to it)
    max_nodes: int | None = None
    needed_nodes: int = 0
    # tenant-nodes: the shared pool they are carved from; node-group and tenant-nodes: the
    # tenant whose nodes they are (its label and taint, ``tenantry.dev/tenant=<tenant>``)
    shared_pool: str | None = None
    tenant: str | None = None
    # what each node offers the pool's pods (allocatable less the node agents' DaemonSets,
    # see tenantry.catalog.allocatable; None: instance type unknown, only GPUs packed),
    # what the planned pods request on each node, the nodes the GPU slices alone would
    # need, and what set ``nodes``: "gpu", or "cpu" / "memory" / "pods" where a node's
    # allocatable holds fewer replicas than its GPUs' slices
    allocatable: NodeResources | None = None
    node_requests: tuple[NodeResources, ...] = ()
    gpu_nodes: int = 0
    bound_by: str = "gpu"

    @property
    def used_gpus(self) -> int:
        return sum(1 for g in self.gpus if g.used)

    def to_dict(self) -> dict[str, Any]:
        used = [g for g in self.gpus if g.used]
        return {
            "name": self.name,
            "kind": self.kind,
            "gpu_model": self.gpu_model,
            "instance_type": self.instance_type,
            "gpus_per_node": self.gpus_per_node,
            "nodes": self.nodes,
            "gpus": len(used),
            "lower_bound": self.lower_bound,
            "lb_plus": self.lb_plus,
            "ratio": round(len(used) / self.lower_bound, 4) if self.lower_bound else None,
            "layouts": [[{"profile": p, "start": s} for p, s in g.layout] for g in used],
            "gpu_slots": [
                {
                    "node": g.node,
                    "gpu": g.index,
                    "group": g.group,
                    "mig_enabled": g.mig,
                    "slots": [
                        {
                            "profile": s.profile,
                            "start": s.start,
                            "tenant": s.tenant,
                            "model": s.model,
                            "role": s.role,
                        }
                        for s in g.slots
                    ],
                }
                for g in self.gpus
            ],
            "node_labels": [
                {"node": i, "nvidia.com/mig.config": c} for i, c in enumerate(self.node_configs)
            ],
            "reconfigured": [{"node": n, "gpu": i} for n, i in self.reconfigured],
            "removed_nodes": list(self.removed_nodes),
            "disturbed": [{"node": n, "gpu": i, "tenants": list(t)} for n, i, t in self.disturbed],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "max_nodes": self.max_nodes,
            "needed_nodes": self.needed_nodes,
            "shared_pool": self.shared_pool,
            "tenant": self.tenant,
            "gpu_nodes": self.gpu_nodes,
            "bound_by": self.bound_by,
            "node_allocatable": self.allocatable.to_dict() if self.allocatable else None,
            "node_requests": [{"node": i, **r.to_dict()} for i, r in enumerate(self.node_requests)],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolPlan:
        gpus = tuple(
            GpuPlan(
                node=int(g["node"]),
                index=int(g["gpu"]),
                group=str(g["group"]),
                slots=tuple(
                    Slot(
                        int(s["start"]),
                        str(s["profile"]),
                        str(s.get("tenant", "")),
                        str(s.get("model", "")),
                        str(s.get("role", "spare")),
                    )
                    for s in g["slots"]
                ),
            )
            for g in d["gpu_slots"]
        )
        return cls(
            name=d["name"],
            kind=d["kind"],
            gpu_model=d["gpu_model"],
            instance_type=d.get("instance_type"),
            gpus_per_node=int(d["gpus_per_node"]),
            nodes=int(d["nodes"]),
            gpus=gpus,
            lower_bound=int(d["lower_bound"]),
            lb_plus=int(d.get("lb_plus", d["lower_bound"])),
            node_configs=tuple(x["nvidia.com/mig.config"] for x in d.get("node_labels", [])),
            reconfigured=tuple((int(x["node"]), int(x["gpu"])) for x in d.get("reconfigured", [])),
            removed_nodes=tuple(int(x) for x in d.get("removed_nodes", [])),
            disturbed=tuple(
                (int(x["node"]), int(x["gpu"]), tuple(str(t) for t in x.get("tenants", [])))
                for x in d.get("disturbed", [])
            ),
            errors=tuple(d.get("errors", [])),
            warnings=tuple(d.get("warnings", [])),
            max_nodes=d.get("max_nodes"),
            needed_nodes=int(d.get("needed_nodes", 0)),
            shared_pool=d.get("shared_pool"),
            tenant=d.get("tenant"),
            allocatable=_resources(d["node_allocatable"]) if d.get("node_allocatable") else None,
            node_requests=tuple(_resources(x) for x in d.get("node_requests", [])),
            gpu_nodes=int(d.get("gpu_nodes", d["nodes"])),
            bound_by=str(d.get("bound_by", "gpu")),
        )


def _resources(d: dict[str, Any]) -> NodeResources:
    return NodeResources(int(d["cpu_millicores"]), int(d["memory_mib"]), int(d["pods"]))


@dataclass(frozen=True)
class FleetPlan:
    pools: tuple[PoolPlan, ...]

    def pool(self, name: str) -> PoolPlan | None:
        return next((p for p in self.pools if p.name == name), None)

    def tenant_nodes(self, pool: str) -> tuple[PoolPlan, ...]:
        """The tenants' own nodes carved from shared pool ``pool``, by tenant."""
        return tuple(p for p in self.pools if p.kind == "tenant-nodes" and p.shared_pool == pool)

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(f"{p.name}: {e}" for p in self.pools for e in p.errors)

    def to_dict(self) -> dict[str, Any]:
        from .migparted import mig_parted_config

        return {
            "pools": [p.to_dict() for p in self.pools],
            "mig_parted": mig_parted_config(self),
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FleetPlan:
        return cls(tuple(PoolPlan.from_dict(p) for p in d["pools"]))
