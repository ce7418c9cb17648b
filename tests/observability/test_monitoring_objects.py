"""The rendered monitoring objects: strictly valid against the Prometheus Operator CRDs
(tests/data/prometheus-operator, copied from ../shared/schemas/prometheus-operator; unknown
fields rejected), and the properties that make their numbers trustworthy, pinned."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest

from tenantry.catalog import gpu_models
from tenantry.k8s.inference_service import METRICS_PORT, model_labels
from tenantry.observability import rules as r
from tenantry.observability import signals as s
from tenantry.observability.monitor import meta_label, pod_monitor
from tenantry.observability.rules import prometheus_rule
from tests.components.helpers import EXAMPLES, platform, tenants
from tests.schemas import prometheus_operator_validator


def validator(kind: str) -> Any:
    return prometheus_operator_validator({"podmonitors": "PodMonitor"}.get(kind, "PrometheusRule"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_monitor_and_rules_validate_strictly(name: str) -> None:
    t = tenants()[name]
    validator("podmonitors").validate(pod_monitor(t))
    validator("prometheusrules").validate(prometheus_rule(t, r.rates_for(t, platform())))


def test_unknown_fields_are_rejected() -> None:
    monitor = pod_monitor(tenants()["acme"])
    bad = copy.deepcopy(monitor)
    bad["spec"]["podMetricsEndpoints"][0]["portName"] = "triton"
    with pytest.raises(jsonschema.ValidationError, match="portName"):
        validator("podmonitors").validate(bad)
    rule = prometheus_rule(tenants()["acme"], r.rates_for(tenants()["acme"], platform()))
    rule["spec"]["groups"][0]["rules"][0]["recordd"] = "x"
    with pytest.raises(jsonschema.ValidationError, match="recordd"):
        validator("prometheusrules").validate(rule)


def _copied(endpoint: dict[str, Any]) -> dict[str, list[str]]:
    return {
        x["targetLabel"]: x["sourceLabels"]
        for x in endpoint["relabelings"]
        if x.get("targetLabel") in s.SERIES_LABELS and "sourceLabels" in x
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_monitor_scrapes_only_the_tenant_and_labels_come_from_the_pod(name: str) -> None:
    t = tenants()[name]
    spec = pod_monitor(t)["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [t.name]}
    assert spec["selector"]["matchLabels"] == {"tenant": t.name, "managed-by": "tenantry"}
    triton, queue_proxy, envoy = spec["podMetricsEndpoints"]
    for ep in (triton, queue_proxy, envoy):
        assert ep["honorLabels"] is False  # a scraped label never overrides a target label
        keep = ep["relabelings"][0]
        assert keep == {
            "action": "keep",
            "sourceLabels": ["__meta_kubernetes_pod_label_tenant"],
            "regex": t.name,
        }
        copied = _copied(ep)
        assert copied[s.TENANT] == [meta_label("tenant")]
        assert copied[s.COST_CENTER] == ["__meta_kubernetes_pod_label_cost_center"]
    # sidecar and queue-proxy series do not name the model: the pod does
    assert s.MODEL not in _copied(triton) and s.VERSION not in _copied(triton)
    for ep in (queue_proxy, envoy):
        copied = _copied(ep)
        assert copied[s.MODEL] == ["__meta_kubernetes_pod_label_tenantry_dev_model"]
        assert copied[s.VERSION] == ["__meta_kubernetes_pod_label_tenantry_dev_model_version"]
    # Triton names its models; only the tenant's declared ones are kept
    address = next(x for x in triton["relabelings"] if x.get("targetLabel") == "__address__")
    assert address["replacement"] == f"${{1}}:{METRICS_PORT}"
    assert re.fullmatch(address["regex"], "10.0.3.7:9091")
    assert re.fullmatch(address["regex"], "[fd00::7]:9091")
    [model_filter] = triton["metricRelabelings"]
    names = "|".join(sorted(m.name for m in t.models))
    assert model_filter["regex"] == f"nv_.+;({names})"
    assert re.fullmatch(model_filter["regex"], f"nv_inference_count;{t.models[0].name}")
    assert not re.fullmatch(model_filter["regex"], "nv_inference_count;someone-elses-model")
    assert (envoy["port"], envoy["path"]) == ("http-envoy-prom", "/stats/prometheus")
    assert triton["port"] == queue_proxy["port"] == "http-usermetric"


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_pod_carries_what_the_monitor_selects(name: str) -> None:
    t = tenants()[name]
    spec = pod_monitor(t)["spec"]
    for m in t.models:
        labels = model_labels(t, m)
        for key, value in spec["selector"]["matchLabels"].items():
            assert labels[key] == value
        for label in s.SERIES_LABELS:
            assert s.POD_LABEL[label] in labels


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_series_carries_the_five_labels(name: str) -> None:
    t = tenants()[name]
    shift = {r.REQUESTS_1H, r.REQUESTS_1H_BASELINE, r.COST_1H, r.COST_1H_BASELINE}
    for group in r.rule_groups(t, r.rates_for(t, platform())):
        if group["name"] == f"tenantry.{t.name}.llm":  # vLLM's series: the next test
            continue
        for rule in group["rules"]:
            expr = rule["expr"]
            groupings = re.findall(r"\b(?:sum|count|max|avg) by \(([^)]*)\)", expr)
            for i, by in enumerate(groupings):
                labels = {x.strip() for x in by.split(",")}
                if rule.get("record") in shift and i == 0:  # the outer aggregation
                    assert labels == {s.TENANT, s.TIER, s.COST_CENTER, s.MODEL}
                else:
                    assert set(s.SERIES_LABELS) <= labels, (rule.get("record"), by)
            assert f'tenant="{t.name}"' in expr  # never another tenant's series


def test_own_llm_rules_read_the_tenants_namespace_only() -> None:
    """vLLM's series carry no tenant label: each own-LLM rule reads the tenant's namespace
    (a target label) or records already restricted to the tenant, and every record carries
    tenant, tier, cost_center and model."""
    t = tenants()["initech"]
    (group,) = [g for g in r.rule_groups(t, r.rates_for(t, platform())) if "llm" in g["name"]]
    for rule in group["rules"]:
        expr = rule["expr"]
        assert f'namespace="{t.name}"' in expr or f'tenant="{t.name}"' in expr, expr
        assert "namespace!=" not in expr and 'namespace=~"' not in expr
        if "record" in rule:
            by = re.findall(r"\b(?:sum|count) by \(([^)]*)\)", expr)
            assert not by or {x.strip() for x in by[0].split(",")} == {s.TENANT, s.MODEL}
            assert rule["labels"][s.TIER] == "isolated"
            assert rule["labels"][s.COST_CENTER] == t.cost_center


def test_gpu_seconds_weigh_replicas_by_the_slice_share_from_the_catalog() -> None:
    t = tenants()["acme"]
    usage = r.usage_rules(t, r.rates_for(t, platform()))
    gpu = {x["labels"][s.MODEL]: x["expr"] for x in usage if x["record"] == r.GPU_SECONDS}
    h100 = gpu_models()["H100-80GB"]
    for m in t.models:
        profile = h100.profile(m.gpu or "")
        assert profile is not None
        share = profile.compute_slices / h100.compute_slices
        assert gpu[m.name].endswith(f"* {share:.10g}")
    globex = tenants()["globex"]
    cpu = [
        x
        for x in r.usage_rules(globex, r.rates_for(globex, platform()))
        if x["record"] == r.CPU_SECONDS
    ]
    assert [x["labels"][s.MODEL] for x in cpu] == ["language-id"]


@pytest.mark.parametrize(
    ("bound", "matches", "misses"),
    [
        (120.0, ["120", "120.0"], ["1200", "12", "120.5"]),
        (0.5, ["0.5"], ["0x5", "5"]),
        (12.5, ["12.5"], ["1205", "12.50x"]),
    ],
)
def test_le_matcher_is_the_objective_bucket(
    bound: float, matches: list[str], misses: list[str]
) -> None:
    matcher = s.le_matcher(bound)
    pattern = matcher.split('"', 1)[1].rsplit('"', 1)[0].replace("\\\\", "\\")
    for le in matches:
        assert re.fullmatch(pattern, le), (matcher, le)  # PromQL regexes are anchored
    for le in misses:
        assert not re.fullmatch(pattern, le), (matcher, le)
    assert bound in s.latency_buckets(bound)


def test_objective_becomes_a_sidecar_bucket() -> None:
    for t in tenants().values():
        for m in t.models:
            buckets = s.latency_buckets(m.p99_latency_ms)
            assert m.p99_latency_ms in buckets and buckets == sorted(buckets)
            assert set(s.ENVOY_DEFAULT_BUCKETS_MS) <= set(buckets)


def test_own_llm_monitor_validates_and_scrapes_the_merged_metrics_only() -> None:
    """The own-LLM PodMonitor is strictly valid, selects KServe's workload pods of the
    tenant's declared LLMs in its namespace only, and scrapes the istio-agent's merged
    metrics on 15020 (never vLLM's port 8000, which stays STRICT mTLS) keeping vllm:*."""
    from tenantry.k8s.labels import LLM_NAME_LABEL
    from tenantry.k8s.llm_inference_service import OWN_LLM_SCRAPE_ANNOTATIONS
    from tenantry.k8s.mesh import ISTIO_AGENT_STATUS_PORT
    from tenantry.observability.monitor import llm_pod_monitor

    t = tenants()["initech"]
    assert t.llms
    monitor = llm_pod_monitor(t)
    assert monitor is not None
    validator("podmonitors").validate(monitor)
    spec = monitor["spec"]
    names = sorted(llm.name for llm in t.llms)
    assert spec["namespaceSelector"] == {"matchNames": [t.name]}
    assert spec["selector"]["matchLabels"] == {
        "app.kubernetes.io/part-of": "llminferenceservice",
        "app.kubernetes.io/component": "llminferenceservice-workload",
    }
    assert spec["selector"]["matchExpressions"] == [
        {"key": LLM_NAME_LABEL, "operator": "In", "values": names}
    ]
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["port"] == s.ENVOY_METRICS_PORT_NAME
    assert endpoint["path"] == "/stats/prometheus" and endpoint["scheme"] == "http"
    assert endpoint["honorLabels"] is False
    (address,) = [x for x in endpoint["relabelings"] if x.get("targetLabel") == "__address__"]
    assert re.sub(
        address["regex"], address["replacement"].replace("${1}", r"\1"), "10.0.0.7:15090"
    ) == (f"10.0.0.7:{ISTIO_AGENT_STATUS_PORT}")
    assert "8000" not in str(endpoint)
    assert endpoint["metricRelabelings"] == [
        {"action": "keep", "sourceLabels": ["__name__"], "regex": "vllm:.+"}
    ]
    # the pods tell the agent where vLLM's metrics are
    assert OWN_LLM_SCRAPE_ANNOTATIONS["prometheus.io/port"] == "8000"
    # no own LLMs, or vLLM serving TLS only (the agent fetches plain http): no monitor
    assert llm_pod_monitor(t, runtime_tls=True) is None
    assert llm_pod_monitor(tenants()["acme"]) is None


@pytest.mark.parametrize("name", sorted(tenants()))
def test_the_merged_metrics_port_is_open_on_the_scraped_llm_pods_only(name: str) -> None:
    """Port 15020 (the istio-agent's status port: merged metrics, but also its health and
    debug handlers, on every injected pod) is admitted to the monitoring namespace only on the
    pods the own-LLM PodMonitor scrapes, by the same selector; never on all of a tenant's pods,
    and not at all for a tenant without own LLMs."""
    from tenantry.k8s.mesh import ISTIO_AGENT_STATUS_PORT
    from tenantry.k8s.namespace import network_policy_specs
    from tenantry.observability.monitor import llm_pod_monitor

    t = tenants()[name]
    opened = [
        (pol, spec["podSelector"])
        for pol, spec in network_policy_specs(t, platform()).items()
        for rule in spec.get("ingress", [])
        if any(p.get("port") == ISTIO_AGENT_STATUS_PORT for p in rule.get("ports", []))
    ]
    monitor = llm_pod_monitor(t)
    if monitor is None:
        assert opened == []
    else:
        assert opened == [("allow-llm-metrics", monitor["spec"]["selector"])]
