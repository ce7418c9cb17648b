"""``TenantMonitoring``: what Prometheus and Grafana need to watch one tenant
(``tenantry:k8s:TenantMonitoring``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.core.v1 import ConfigMap

from ..cost import ModelRates
from ..observability.dashboards import dashboard_config_map, tenant_dashboard
from ..observability.monitor import llm_pod_monitor, pod_monitor
from ..observability.rules import prometheus_rule, rates_for
from ..spec import PlatformSettings, ResolvedTenant
from ..tags import tenant_labels
from .manifests import custom_resource


@dataclass(frozen=True, kw_only=True)
class TenantMonitoringArgs:
    """``tenant``: the resolved tenant; ``rates``: each model's GPU share or vCPUs and unit
    prices (:func:`tenantry.observability.rules.rates_for`), which the GPU-seconds and cost
    rules multiply by; ``llm_runtime_tls``: the platform's ``llmRuntimeTls`` (vLLM serving
    TLS only: its metrics cannot be merged by the sidecar, so no LLM monitor)."""

    tenant: ResolvedTenant
    rates: Mapping[str, ModelRates]
    llm_runtime_tls: bool = False

    @classmethod
    def from_spec(cls, tenant: ResolvedTenant, platform: PlatformSettings) -> TenantMonitoringArgs:
        return cls(
            tenant=tenant,
            rates=rates_for(tenant, platform),
            llm_runtime_tls=platform.llm_runtime_tls,
        )


class TenantMonitoring(pulumi.ComponentResource):
    """Creates, in the tenant's namespace (objects named after the tenant, labelled with the
    tag policy's keys):

    - ``PodMonitor`` ``tenantry-<tenant>`` (``<name>-pod-monitor``): Triton, queue-proxy and
      sidecar metrics of the tenant's model pods, series labelled tenant, tier, cost_center,
      model and version (:func:`tenantry.observability.monitor.pod_monitor`);
    - with own LLMs (and ``llmRuntimeTls`` off), ``PodMonitor`` ``tenantry-<tenant>-llm``
      (``<name>-llm-pod-monitor``): their vLLM metrics, merged by the Istio sidecar
      (:func:`tenantry.observability.monitor.llm_pod_monitor`);
    - ``PrometheusRule`` ``tenantry-<tenant>`` (``<name>-rules``): usage recording rules,
      GPU-/vCPU-seconds and cost, SLO burn-rate alerts, the usage-shift and blind-SLO alerts
      (:func:`tenantry.observability.rules.prometheus_rule`);
    - ``ConfigMap`` ``grafana-dashboard-tenantry-<tenant>`` (``<name>-dashboard``): the
      tenant's Grafana dashboard, for Grafana's dashboard sidecar
      (:mod:`tenantry.observability.dashboards`).

    Needs the Prometheus Operator CRDs (the platform stack installs them) and a Prometheus
    that selects monitors and rules labelled ``managed-by: tenantry`` in tenant namespaces
    (a prerequisite; see docs/observability.md).
    """

    TYPE = "tenantry:k8s:TenantMonitoring"

    def __init__(
        self, name: str, args: TenantMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        t = args.tenant
        child = pulumi.ResourceOptions(parent=self)
        monitor = pod_monitor(t)
        rule = prometheus_rule(t, args.rates)
        self.pod_monitor = custom_resource(f"{name}-pod-monitor", monitor, child)
        llm_monitor = llm_pod_monitor(t, runtime_tls=args.llm_runtime_tls)
        self.llm_pod_monitor = (
            custom_resource(f"{name}-llm-pod-monitor", llm_monitor, child)
            if llm_monitor is not None
            else None
        )
        self.rules = custom_resource(f"{name}-rules", rule, child)
        board = dashboard_config_map(tenant_dashboard(t), t.name, tenant_labels(t))
        self.dashboard = ConfigMap(
            f"{name}-dashboard", metadata=board["metadata"], data=board["data"], opts=child
        )
        self.register_outputs(
            {
                "podMonitor": monitor["metadata"]["name"],
                "llmPodMonitor": llm_monitor["metadata"]["name"] if llm_monitor else None,
                "prometheusRule": rule["metadata"]["name"],
                "dashboard": board["metadata"]["name"],
            }
        )
