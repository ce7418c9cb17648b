"""Where a tenant's models may run, by tier: shared pools or the tenant's own node groups."""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import gpu_models, instance_types
from .model import TenantSpec
from .platform import PlatformSettings
from .tiers import TIERS

WHOLE_GPU = "gpu"


@dataclass(frozen=True)
class Target:
    kind: str  # "shared-pool" | "node-group"
    name: str
    gpu_model: str
    offered: frozenset[str]  # profile names (and/or "gpu") a model may request here

    def describe(self) -> str:
        return f"{self.kind} {self.name!r} ({self.gpu_model})"


def gpu_targets(spec: TenantSpec, platform: PlatformSettings) -> list[Target]:
    """The GPU capacity a tenant's models may use, in preference order.

    shared/premium: the platform's shared pools (any profile of the pool's GPU model; the
    planner chooses layouts). dedicated: the tenant's node groups only. isolated: its node
    groups when it declares any, else shared-pool GPUs that it gets to itself.
    Node groups with an unknown instance type are skipped (a rule reports them).
    """
    tier = TIERS[spec.spec.tier]
    own = [ng for ng in spec.spec.node_groups if ng.instance_type in instance_types()]
    if tier.node_groups == "required" or (tier.node_groups == "allowed" and spec.spec.node_groups):
        out = []
        for ng in own:
            gpu = instance_types()[ng.instance_type].gpu_model
            offered = frozenset(ng.mig_layout) if ng.mig_layout else frozenset({WHOLE_GPU})
            out.append(Target("node-group", ng.name, gpu, offered))
        return out
    out = []
    for pool in platform.shared_pools:
        it = instance_types().get(pool.instance_type)
        if it is None:
            continue
        names = frozenset(gpu_models()[it.gpu_model].profile_names) | {WHOLE_GPU}
        out.append(Target("shared-pool", pool.name, it.gpu_model, names))
    return out


def target_for(gpu: str, targets: list[Target]) -> Target | None:
    return next((t for t in targets if gpu in t.offered), None)


def gpu_resource(gpu: str) -> str:
    """The Kubernetes extended resource (device plugin, ``mixed`` MIG strategy)."""
    return "nvidia.com/gpu" if gpu == WHOLE_GPU else f"nvidia.com/mig-{gpu}"
