"""``GpuOperator``: the NVIDIA GPU operator with the planner's MIG configs
(``tenantry:platform:GpuOperator``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml
from pulumi_kubernetes.core.v1 import ConfigMap, Namespace

from .charts import GPU_OPERATOR, MIG_CONFIG_KEY, MIG_CONFIG_MAP, gpu_operator_values
from .helm import helm_release


def mig_config_text(config: Mapping[str, Any]) -> str:
    """The mig-parted config as the ConfigMap carries it (YAML, keys sorted)."""
    return yaml.safe_dump(dict(config), sort_keys=True, default_flow_style=False)


@dataclass(frozen=True, kw_only=True)
class GpuOperatorArgs:
    """``mig_config``: the mig-parted config (:func:`tenantry.planner.mig_parted_config`).
    ``labels``: the platform's tags as labels."""

    mig_config: Mapping[str, Any]
    labels: Mapping[str, str]


class GpuOperator(pulumi.ComponentResource):
    """Creates ``<name>-namespace`` (``gpu-operator``; pod security ``privileged``: the
    operator's daemonsets manage the host's GPUs), ``<name>-mig-config`` (ConfigMap
    ``tenantry-mig-parted-config`` with key ``config.yaml`` = ``mig_config``, the
    planner's :func:`~tenantry.planner.mig_parted_config`) and ``<name>-release`` (Helm
    release of the pinned ``gpu-operator`` chart with :func:`.charts.gpu_operator_values`:
    driver and toolkit from the AMI, ``mixed`` strategy, ``WITH_REBOOT=true``, mig-manager
    reading that ConfigMap, default ``all-disabled``)."""

    TYPE = "tenantry:platform:GpuOperator"

    def __init__(
        self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        mig_config, labels = args.mig_config, args.labels
        chart = GPU_OPERATOR
        ns_labels = {
            **labels,
            "pod-security.kubernetes.io/enforce": "privileged",
        }
        self.namespace = Namespace(
            f"{name}-namespace",
            metadata={"name": chart.namespace, "labels": ns_labels},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.config_map = ConfigMap(
            f"{name}-mig-config",
            metadata={"name": MIG_CONFIG_MAP, "namespace": chart.namespace, "labels": dict(labels)},
            data={MIG_CONFIG_KEY: mig_config_text(mig_config)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.release = helm_release(
            f"{name}-release",
            chart,
            gpu_operator_values(),
            parent=self,
            depends_on=[self.config_map],
            timeout=900,
        )
        self.register_outputs({"configMap": MIG_CONFIG_MAP, "chartVersion": chart.version})
