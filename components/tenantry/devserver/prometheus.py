"""Run a real Prometheus server (Debian's ``prometheus`` package) on 127.0.0.1 with
Tenantry's generated monitoring objects, for tests and for trying them without a cluster.

There is no Kubernetes API here, so :func:`pod_monitor_scrape_configs` does what the
Prometheus Operator does with a ``PodMonitor`` (prometheus-operator
``pkg/prometheus/promcfg.go``, ``generatePodMonitorConfig``, at commit 6adcebc5, the commit
of the vendored CRDs): one scrape job per endpoint whose relabelling first applies the
operator's own rules (drop finished pods, keep the selected pods and port, set
``namespace``/``container``/``pod``/``job``/``endpoint``) and then the monitor's. The pods
are :class:`LocalPod` s: their labels and ports become the ``__meta_kubernetes_pod_*`` labels
Kubernetes service discovery would give them, through a ``static_configs`` target each.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .process import free_port, serving


class PrometheusUnavailable(RuntimeError):
    """The prometheus or promtool binary (Debian package ``prometheus``) is not installed."""


def binary(name: str) -> Path:
    """``prometheus`` or ``promtool`` from PATH (Debian installs both in /usr/bin)."""
    found = shutil.which(name)
    if found is None:
        raise PrometheusUnavailable(
            f"{name} is not installed (Debian: apt-get install -y prometheus)"
        )
    return Path(found)


@dataclass(frozen=True)
class PrometheusServer:
    url: str  # http://127.0.0.1:<port>
    directory: Path
    log: Path
    process: subprocess.Popen[bytes]


@dataclass(frozen=True)
class ContainerPort:
    container: str
    name: str
    address: str  # host:port the port is reachable at


@dataclass(frozen=True)
class LocalPod:
    """A pod as Kubernetes service discovery would describe it (role ``pod``)."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: Sequence[ContainerPort]
    phase: str = "Running"
    ip: str = "127.0.0.1"
    extra: Mapping[str, str] = field(default_factory=dict)


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _meta(pod: LocalPod, port: ContainerPort) -> dict[str, str]:
    labels = {
        "__meta_kubernetes_namespace": pod.namespace,
        "__meta_kubernetes_pod_name": pod.name,
        "__meta_kubernetes_pod_ip": pod.ip,
        "__meta_kubernetes_pod_phase": pod.phase,
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_container_name": port.container,
        "__meta_kubernetes_pod_container_port_name": port.name,
        "__meta_kubernetes_pod_container_port_number": port.address.rsplit(":", 1)[1],
        "__meta_kubernetes_pod_container_port_protocol": "TCP",
    }
    for key, value in pod.labels.items():
        labels[f"__meta_kubernetes_pod_label_{_sanitize(key)}"] = value
        labels[f"__meta_kubernetes_pod_labelpresent_{_sanitize(key)}"] = "true"
    labels.update(pod.extra)
    return labels


def _relabel(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A PodMonitor RelabelConfig (camelCase) as Prometheus config (snake_case), the way
    the operator's ``generateRelabelConfig`` writes it."""
    keys = {
        "sourceLabels": "source_labels",
        "separator": "separator",
        "targetLabel": "target_label",
        "regex": "regex",
        "modulus": "modulus",
        "replacement": "replacement",
        "action": "action",
    }
    out = {keys[k]: v for k, v in rule.items()}
    if "action" in out:
        out["action"] = str(out["action"]).lower()
    return out


def _operator_rules(pm: Mapping[str, Any], ep: Mapping[str, Any]) -> list[dict[str, Any]]:
    meta, spec = pm["metadata"], pm["spec"]
    rules: list[dict[str, Any]] = [
        {"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"},
    ]
    if ep.get("filterRunning", True):
        rules.append(
            {
                "action": "drop",
                "source_labels": ["__meta_kubernetes_pod_phase"],
                "regex": "(Failed|Succeeded)",
            }
        )
    sel = spec.get("selector", {})
    for key in sorted(sel.get("matchLabels", {})):
        k = _sanitize(key)
        rules.append(
            {
                "action": "keep",
                "source_labels": [
                    f"__meta_kubernetes_pod_label_{k}",
                    f"__meta_kubernetes_pod_labelpresent_{k}",
                ],
                "regex": f"({sel['matchLabels'][key]});true",
            }
        )
    for exp in sel.get("matchExpressions", []):
        k = _sanitize(exp["key"])
        if exp["operator"] in ("In", "NotIn"):
            rules.append(
                {
                    "action": "keep" if exp["operator"] == "In" else "drop",
                    "source_labels": [
                        f"__meta_kubernetes_pod_label_{k}",
                        f"__meta_kubernetes_pod_labelpresent_{k}",
                    ],
                    "regex": f"({'|'.join(exp['values'])});true",
                }
            )
        else:
            rules.append(
                {
                    "action": "keep" if exp["operator"] == "Exists" else "drop",
                    "source_labels": [f"__meta_kubernetes_pod_labelpresent_{k}"],
                    "regex": "true",
                }
            )
    if ep.get("port"):
        rules.append(
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "regex": ep["port"],
            }
        )
    elif ep.get("portNumber"):
        rules.append(
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                "regex": str(ep["portNumber"]),
            }
        )
    rules += [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"target_label": "job", "replacement": f"{meta['namespace']}/{meta['name']}"},
    ]
    if ep.get("port"):
        rules.append({"target_label": "endpoint", "replacement": ep["port"]})
    return rules


def pod_monitor_scrape_configs(
    pod_monitor: Mapping[str, Any], pods: Sequence[LocalPod]
) -> list[dict[str, Any]]:
    """The scrape configs the operator would generate for ``pod_monitor`` (see the module
    docstring), over ``pods`` instead of the Kubernetes API."""
    meta, spec = pod_monitor["metadata"], pod_monitor["spec"]
    namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [meta["namespace"]]
    visible = [p for p in pods if p.namespace in namespaces]
    jobs = []
    for i, ep in enumerate(spec["podMetricsEndpoints"]):
        job: dict[str, Any] = {
            "job_name": f"podMonitor/{meta['namespace']}/{meta['name']}/{i}",
            "honor_labels": bool(ep.get("honorLabels", False)),
            "static_configs": [
                {"targets": [port.address], "labels": _meta(pod, port)}
                for pod in visible
                for port in pod.ports
            ],
            "relabel_configs": _operator_rules(pod_monitor, ep)
            + [_relabel(r) for r in ep.get("relabelings", [])],
        }
        for key, target in (
            ("interval", "scrape_interval"),
            ("scrapeTimeout", "scrape_timeout"),
            ("path", "metrics_path"),
            ("scheme", "scheme"),
        ):
            if key in ep:
                job[target] = ep[key]
        if ep.get("metricRelabelings"):
            job["metric_relabel_configs"] = [_relabel(r) for r in ep["metricRelabelings"]]
        jobs.append(job)
    return jobs


@contextlib.contextmanager
def running_prometheus(
    scrape_configs: Sequence[Mapping[str, Any]],
    rule_groups: Sequence[Mapping[str, Any]] = (),
    *,
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    startup_timeout: float = 60.0,
) -> Iterator[PrometheusServer]:
    """Run ``prometheus`` with these scrape configs and rule groups until the ``with`` block
    ends (a temporary TSDB, 127.0.0.1 on a free port). Raises
    :class:`PrometheusUnavailable` when the binary is missing, RuntimeError (with the log's
    tail) when it exits early or is not ready in time."""
    prometheus = binary("prometheus")
    with tempfile.TemporaryDirectory(prefix="tenantry-prometheus-") as tmp:
        work = Path(tmp)
        rules = work / "rules.yaml"
        rules.write_text(yaml.safe_dump({"groups": list(rule_groups)}, sort_keys=False), "utf-8")
        config = {
            "global": {
                "scrape_interval": scrape_interval,
                "evaluation_interval": evaluation_interval,
            },
            "rule_files": [str(rules)],
            "scrape_configs": list(scrape_configs),
        }
        config_path = work / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
        port = free_port()
        log = work / "prometheus.log"
        args = [
            str(prometheus),
            f"--config.file={config_path}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        url = f"http://127.0.0.1:{port}"
        with serving(
            args,
            log,
            f"{url}/-/ready",
            startup_timeout,
            keep_log_env="TENANTRY_KEEP_PROMETHEUS_LOG",
        ) as proc:
            yield PrometheusServer(url, work, log, proc)
