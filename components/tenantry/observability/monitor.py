"""One tenant's ``PodMonitor``: what Prometheus scrapes from the tenant's model pods (pure).

Three endpoints per model pod (a KServe Serverless predictor pod: Triton in
``kserve-container``, Knative's ``queue-proxy``, Istio's ``istio-proxy``):

- ``triton``: Triton's ``/metrics`` on port 8002. Knative lets the serving container declare
  one port only (the serving port), so 8002 is no named port; the endpoint takes the pod's
  ``http-usermetric`` target (queue-proxy's port, present on every Knative pod) and rewrites
  the port of ``__address__`` to 8002 (Prometheus relabelling; works for IPv4 and bracketed
  IPv6 addresses). Triton labels its series with the model and version it served, so this
  endpoint keeps those and takes only tenant, tier and cost_center from the pod; it keeps
  ``nv_*`` series of the tenant's declared models only (a series of any other model name is
  dropped at the scrape).
- ``queue-proxy``: Knative's queue-proxy user metrics on ``http-usermetric`` (9091): only its
  queue depth is kept.
- ``envoy``: the Istio sidecar's ``/stats/prometheus`` on ``http-envoy-prom`` (15090): only
  ``istio_requests_total`` and ``istio_request_duration_milliseconds_*`` are kept (the
  sidecar exports thousands of ``envoy_*`` series per pod otherwise).

Every target gets the series labels of :mod:`.signals` copied from the pod's own labels
(``honorLabels: false``, so a scraped label can never overwrite them). Pods are selected by
``tenant=<tenant>``, ``managed-by=tenantry`` and the presence of ``tenantry.dev/model``, in the
tenant's namespace only. The Prometheus Operator generates a scrape job per endpoint from
this (prometheus-operator ``pkg/prometheus/promcfg.go``, ``generatePodMonitorConfig``: its
own relabellings keep the selected pods and port, set ``namespace``, ``container``, ``pod``,
``job`` and ``endpoint``, then apply these).

A tenant's own LLMs (``spec.llms``) get a second PodMonitor, ``tenantry-<tenant>-llm``
(:func:`llm_pod_monitor`): vLLM serves ``/metrics`` on its API port 8000 (vLLM
``vllm/entrypoints/openai/api_server.py``), which is STRICT mTLS like every port of the
namespace. Leaving 8000 PERMISSIVE for Prometheus, as 8002 and 9091 are, would admit
plaintext callers to the model's API on the same port (only an L7 ``GET /metrics`` rule would
stand in between, and with ``llmRuntimeTls`` Istio sees no HTTP there at all), so it is not
done: vLLM's metrics are scraped through Istio's metrics merging instead. The LLM's pods carry
``prometheus.io/port: "8000"`` and ``path: /metrics``
(:data:`tenantry.k8s.llm_inference_service.OWN_LLM_SCRAPE_ANNOTATIONS`); the istio-agent
fetches them from ``http://localhost:8000/metrics`` inside the pod and serves them, after its
own and Envoy's, on its status port 15020 ``/stats/prometheus`` (istio/istio
``pilot/cmd/pilot-agent/status/server.go``, ``handleStats``), which the inbound capture
excludes. The monitor takes the sidecar's ``http-envoy-prom`` target (a named port on every
injected pod) and rewrites its port to 15020, as the Triton endpoint does, and keeps only
``vllm:*`` series. Pods are KServe's workload pods of the tenant's declared LLMs:
``app.kubernetes.io/part-of: llminferenceservice``, ``app.kubernetes.io/component:
llminferenceservice-workload``, ``app.kubernetes.io/name: <llm>`` (kserve v0.20.0
``pkg/controller/v1alpha2/llmisvc/workload_single_node.go``). The agent fetches the
application over plain http only, so with ``llmRuntimeTls`` (vLLM serving TLS only) there is
no scrape and no monitor: :func:`llm_pod_monitor` returns None and
``TenantryLlmSignalMissing`` says so (docs/llm.md, "The gaps").
"""

from __future__ import annotations

import re
from typing import Any

from ..k8s.labels import LLM_NAME_LABEL, LLM_WORKLOAD_LABELS, MODEL_LABEL, own_llm_pod_selector
from ..k8s.mesh import ISTIO_AGENT_STATUS_PORT
from ..spec import ResolvedTenant
from ..tags import MANDATORY_KEYS, tenant_labels
from . import signals as s

SCRAPE_INTERVAL = "30s"
VLLM_CONTAINER = "main"  # the container KServe's LLMInferenceServiceConfig fills in
TRITON_CONTAINER = "kserve-container"  # KServe's name for the predictor's serving container


def meta_label(pod_label: str) -> str:
    """The Kubernetes service-discovery meta label of a pod label (Prometheus replaces every
    character outside ``[a-zA-Z0-9_]`` with ``_``)."""
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", pod_label)


def series_relabelings(t: ResolvedTenant, *, model_from_pod: bool) -> list[dict[str, Any]]:
    """Keep the tenant's own pods (again: a selector is not a security boundary when a
    monitor is edited) and copy the series labels from the pod's labels (``model`` and
    ``version`` only when ``model_from_pod``: the series themselves do not say). Tenant and
    model names are DNS-1123 labels (the spec's pattern), so they are literal in a regex."""
    rules: list[dict[str, Any]] = [
        {
            "action": "keep",
            "sourceLabels": [meta_label(s.POD_LABEL[s.TENANT])],
            "regex": t.name,
        }
    ]
    for label in s.SERIES_LABELS if model_from_pod else (s.TENANT, s.TIER, s.COST_CENTER):
        rules.append(
            {
                "action": "replace",
                "sourceLabels": [meta_label(s.POD_LABEL[label])],
                "targetLabel": label,
            }
        )
    return rules


def selected_by(t: ResolvedTenant) -> dict[str, str]:
    """The labels a model pod of ``t`` carries that the monitor selects on: the tag policy's
    tenant and managed-by keys."""
    labels = tenant_labels(t)
    keys = (MANDATORY_KEYS[0], MANDATORY_KEYS[-1])  # tenant, managed-by
    return {k: labels[k] for k in keys}


def _keep(pattern: str) -> list[dict[str, Any]]:
    return [{"action": "keep", "sourceLabels": ["__name__"], "regex": pattern}]


def pod_monitor(
    t: ResolvedTenant,
    *,
    triton_metrics_port: int = s.TRITON_METRICS_PORT,
    interval: str = SCRAPE_INTERVAL,
) -> dict[str, Any]:
    """The ``monitoring.coreos.com/v1`` PodMonitor ``tenantry-<tenant>`` in the tenant's
    namespace (see the module docstring). ``triton_metrics_port``: Triton's metrics port
    (8002, ``--metrics-port``'s default in KServe's runtime)."""
    labels = series_relabelings(t, model_from_pod=True)
    triton = [
        *series_relabelings(t, model_from_pod=False),
        _port_to(triton_metrics_port),
        {"action": "replace", "targetLabel": "container", "replacement": TRITON_CONTAINER},
        {"action": "replace", "targetLabel": "endpoint", "replacement": "triton"},
    ]
    queue_proxy = [
        *labels,
        {"action": "replace", "targetLabel": "endpoint", "replacement": "queue-proxy"},
    ]
    envoy = [*labels, {"action": "replace", "targetLabel": "endpoint", "replacement": "envoy"}]
    common: dict[str, Any] = {"interval": interval, "honorLabels": False, "scheme": "http"}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": f"tenantry-{t.name}",
            "namespace": t.name,
            "labels": tenant_labels(t),
        },
        "spec": {
            "selector": {
                "matchLabels": selected_by(t),
                "matchExpressions": [{"key": MODEL_LABEL, "operator": "Exists"}],
            },
            "namespaceSelector": {"matchNames": [t.name]},
            "podMetricsEndpoints": [
                {
                    **common,
                    "port": s.QUEUE_PROXY_METRICS_PORT_NAME,
                    "path": "/metrics",
                    "relabelings": triton,
                    "metricRelabelings": [
                        {
                            "action": "keep",
                            "sourceLabels": ["__name__", s.MODEL],
                            "regex": f"nv_.+;({'|'.join(sorted(m.name for m in t.models))})",
                        }
                    ],
                },
                {
                    **common,
                    "port": s.QUEUE_PROXY_METRICS_PORT_NAME,
                    "path": "/metrics",
                    "relabelings": queue_proxy,
                    "metricRelabelings": _keep("|".join(s.KNATIVE_QUEUE_DEPTH)),
                },
                {
                    **common,
                    "port": s.ENVOY_METRICS_PORT_NAME,
                    "path": "/stats/prometheus",
                    "relabelings": envoy,
                    "metricRelabelings": _keep(
                        f"{s.ISTIO_REQUESTS}|{s.ISTIO_DURATION_MS}_(bucket|count|sum)"
                    ),
                },
            ],
        },
    }


def _port_to(port: int) -> dict[str, Any]:
    """Rewrite the port of ``__address__`` (IPv4 and bracketed IPv6 addresses)."""
    return {
        "action": "replace",
        "sourceLabels": ["__address__"],
        "regex": r"(.+):\d+",
        "targetLabel": "__address__",
        "replacement": f"${{1}}:{port}",
    }


def llm_pod_monitor(
    t: ResolvedTenant, *, runtime_tls: bool = False, interval: str = SCRAPE_INTERVAL
) -> dict[str, Any] | None:
    """The PodMonitor ``tenantry-<tenant>-llm`` of the tenant's own LLMs' vLLM metrics,
    through the istio-agent's metrics merging (module docstring); None without own LLMs or
    with ``runtime_tls`` (platform ``llmRuntimeTls``: the agent cannot fetch a TLS-only
    vLLM). Series keep vLLM's ``model_name``; the Prometheus Operator adds ``namespace``,
    which :mod:`.llm_rules` reads as the tenant."""
    if not t.llms or runtime_tls:
        return None
    names = sorted(llm.name for llm in t.llms)
    relabelings: list[dict[str, Any]] = [
        *(
            {"action": "keep", "sourceLabels": [meta_label(k)], "regex": v}
            for k, v in LLM_WORKLOAD_LABELS.items()
        ),
        {"action": "keep", "sourceLabels": [meta_label(LLM_NAME_LABEL)], "regex": "|".join(names)},
        _port_to(ISTIO_AGENT_STATUS_PORT),
        {"action": "replace", "targetLabel": "container", "replacement": VLLM_CONTAINER},
        {"action": "replace", "targetLabel": "endpoint", "replacement": "vllm"},
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": f"tenantry-{t.name}-llm",
            "namespace": t.name,
            "labels": tenant_labels(t),
        },
        "spec": {
            "selector": own_llm_pod_selector(t),
            "namespaceSelector": {"matchNames": [t.name]},
            "podMetricsEndpoints": [
                {
                    "interval": interval,
                    "honorLabels": False,
                    "scheme": "http",
                    "port": s.ENVOY_METRICS_PORT_NAME,
                    "path": "/stats/prometheus",
                    "relabelings": relabelings,
                    "metricRelabelings": _keep("vllm:.+"),
                }
            ],
        },
    }
