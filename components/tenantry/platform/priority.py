"""``PriorityClasses``: one PriorityClass per tier (``tenantry:platform:PriorityClasses``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.scheduling.v1 import PriorityClass

from .runtime import priority_class_manifests


@dataclass(frozen=True, kw_only=True)
class PriorityClassesArgs:
    """``labels``: the platform's tags as labels."""

    labels: Mapping[str, str]


class PriorityClasses(pulumi.ComponentResource):
    """Creates ``<name>-<tier>`` (``scheduling.k8s.io/v1`` PriorityClass) for every tier of
    :data:`tenantry.spec.tiers.TIERS`: its ``priority_class`` name and ``priority_value``,
    ``globalDefault: false``, ``PreemptLowerPriority``; the tenants' InferenceServices and
    ResourceQuotas name them."""

    TYPE = "tenantry:platform:PriorityClasses"

    def __init__(
        self, name: str, args: PriorityClassesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        labels = args.labels
        self.classes: dict[str, PriorityClass] = {}
        manifests = priority_class_manifests(labels)
        for m in manifests:
            tier = m["metadata"]["labels"]["tenantry.dev/tier"]
            self.classes[tier] = PriorityClass(
                f"{name}-{tier}",
                metadata=m["metadata"],
                value=m["value"],
                global_default=m["globalDefault"],
                preemption_policy=m["preemptionPolicy"],
                description=m["description"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"classes": sorted(m["metadata"]["name"] for m in manifests)})
