"""Synthetic series and expected results for ``promtool test rules``, computed here in Python
from the rates chosen, independently of the PromQL under test.

For every model of a tenant (index i, stable version), per second:

- Triton: successes ``a = i + 1``, failures BACKEND 0.125, REJECTED 0.0625, CANCELED 0;
  queue time 0.002 a s; compute 0.202 s (input 0.001, infer 0.2, output 0.001); two pods;
- the pod's sidecar (reporter=destination): a requests answered 200, 0.125 refused 429 with
  flag RL, 0.0625 gRPC refused by the rate limit (status 14, flag RL), 0.0625 answered 503
  from upstream (flag "-"), 0.125 gRPC UNAVAILABLE from upstream, and 10 scrapes from the
  ``monitoring`` namespace and 10 plaintext scrapes (never counted); of the a 200s, a share
  ``fast_i`` within the model's p99LatencyMs;
- queue-proxy depth 3 and 5 on the two pods.

promtool compares floats exactly, and Go and Python may round a sum differently in the last
bit, so every expectation reads ``round(<series>, 1e-10)``, computed here the way
Prometheus's ``round()`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tenantry.cost import model_rates
from tenantry.observability import rules as r
from tenantry.observability import signals as s
from tenantry.observability.slo import BURN_RATE_WINDOWS, WINDOWS, model_slos
from tenantry.spec import PlatformSettings, ResolvedModel, ResolvedTenant

MINUTES = 30  # samples: one a minute, 0..30 min
EVAL = "10m"


def _labels(t: ResolvedTenant, m: ResolvedModel, **extra: str) -> dict[str, str]:
    return {
        s.TENANT: t.name,
        s.TIER: t.tier.name,
        s.COST_CENTER: t.cost_center,
        s.MODEL: m.name,
        s.VERSION: m.version,
        **extra,
    }


def _series(name: str, labels: dict[str, str]) -> str:
    body = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


def _counter(
    name: str, labels: dict[str, str], per_second: float, n: int = MINUTES
) -> dict[str, str]:
    return {"series": _series(name, labels), "values": f"0+{per_second * 60:g}x{n}"}


@dataclass(frozen=True)
class ModelCase:
    model: ResolvedModel
    success: float
    fast: float  # share of the 200s within the objective

    @property
    def served(self) -> float:  # availability SLI total: 200s + upstream 503 + upstream gRPC 14
        return self.success + 0.0625 + 0.125

    @property
    def errors(self) -> float:
        return 0.0625 + 0.125


def cases(t: ResolvedTenant) -> list[ModelCase]:
    return [ModelCase(m, float(i + 1), 0.995 - 0.02 * i) for i, m in enumerate(t.models)]


def input_series(t: ResolvedTenant) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for c in cases(t):
        m, a = c.model, c.success
        pod = {"pod": f"{m.name}-p1"}
        base = _labels(t, m, **pod)
        out += [
            _counter(s.TRITON_SUCCESS, base, a),
            _counter(s.TRITON_FAILURE, {**base, "reason": "BACKEND"}, 0.125),
            _counter(s.TRITON_FAILURE, {**base, "reason": "REJECTED"}, 0.0625),
            _counter(s.TRITON_FAILURE, {**base, "reason": "CANCELED"}, 0),
            _counter(s.TRITON_QUEUE_US, base, 0.002 * a * 1e6),
            _counter(s.TRITON_COMPUTE_US[0], base, 1000),
            _counter(s.TRITON_COMPUTE_US[1], base, 200000),
            _counter(s.TRITON_COMPUTE_US[2], base, 1000),
        ]
        for pod_name, depth in ((f"{m.name}-p1", 3), (f"{m.name}-p2", 5)):
            labels = _labels(t, m, pod=pod_name)
            out.append({"series": _series(s.TRITON_PENDING, labels), "values": f"0x{MINUTES}"})
            out.append(
                {
                    "series": _series(s.KNATIVE_QUEUE_DEPTH[0], labels),
                    "values": f"{depth}x{MINUTES}",
                }
            )
        sidecar = {
            **base,
            "reporter": "destination",
            "connection_security_policy": "mutual_tls",
            "source_workload_namespace": "apps",
        }
        ok = {**sidecar, "response_code": "200", "response_flags": "-"}
        out += [
            _counter(s.ISTIO_REQUESTS, ok, a),
            _counter(
                s.ISTIO_REQUESTS, {**sidecar, "response_code": "429", "response_flags": "RL"}, 0.125
            ),
            _counter(
                s.ISTIO_REQUESTS,
                {
                    **sidecar,
                    "response_code": "200",
                    "grpc_response_status": "14",
                    "response_flags": "RL",
                },
                0.0625,
            ),
            _counter(
                s.ISTIO_REQUESTS, {**sidecar, "response_code": "503", "response_flags": "-"}, 0.0625
            ),
            _counter(
                s.ISTIO_REQUESTS,
                {
                    **sidecar,
                    "response_code": "200",
                    "grpc_response_status": "14",
                    "response_flags": "-",
                },
                0.125,
            ),
            _counter(  # Prometheus with a mesh identity
                s.ISTIO_REQUESTS,
                {
                    **sidecar,
                    "source_workload_namespace": "monitoring",
                    "response_code": "200",
                    "response_flags": "-",
                },
                10,
            ),
            _counter(  # Prometheus scraping 8002/9091 in plaintext (PERMISSIVE there)
                s.ISTIO_REQUESTS,
                {
                    **sidecar,
                    "connection_security_policy": "none",
                    "source_workload_namespace": "unknown",
                    "response_code": "200",
                    "response_flags": "-",
                },
                10,
            ),
            _counter(f"{s.ISTIO_DURATION_MS}_count", ok, a),
            _counter(
                f"{s.ISTIO_DURATION_MS}_bucket", {**ok, "le": f"{m.p99_latency_ms:g}"}, a * c.fast
            ),
            _counter(f"{s.ISTIO_DURATION_MS}_bucket", {**ok, "le": "+Inf"}, a),
        ]
    return out


ROUND_TO = 1e-10


def rounded(value: float) -> float:
    """What PromQL's ``round(v, 1e-10)`` gives (promql/functions.go, funcRound)."""
    inverse = 1.0 / ROUND_TO
    return math.floor(value * inverse + 0.5) / inverse


def _sample(labels: dict[str, str], value: float) -> dict[str, Any]:
    return {"labels": _series("", labels), "value": rounded(value)}


def humanize(v: float) -> str:
    """Prometheus's template function ``humanize`` (template/template.go)."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return f"{v:.4g}{prefix}"


def render(template: str, labels: dict[str, str], value: float) -> str:
    """The few Go-template forms the generated annotations use."""
    out = template.replace("{{ $value | humanizePercentage }}", f"{value * 100:.4g}%")
    out = out.replace("{{ $value | humanize }}", humanize(value))
    for key, val in labels.items():
        out = out.replace("{{ $labels." + key + " }}", val)
    assert "{{" not in out, out
    return out


def annotations(alert_rule: dict[str, Any], labels: dict[str, str], value: float) -> dict[str, str]:
    return {k: render(v, labels, value) for k, v in alert_rule["annotations"].items()}


def round_expr(expr: str) -> str:
    return f"round({expr}, {ROUND_TO:g})"


def expected_records(t: ResolvedTenant, platform: PlatformSettings) -> list[dict[str, Any]]:
    """promql_expr_test entries: every recording rule of the tenant, at EVAL."""
    tests: dict[str, list[dict[str, Any]]] = {}

    def add(record: str, labels: dict[str, str], value: float) -> None:
        tests.setdefault(record, []).append(_sample(labels, value))

    for c in cases(t):
        m, a = c.model, c.success
        lab = _labels(t, m)
        add(r.REQUESTS, lab, a + 0.125 + 0.0625)
        add(r.SUCCESSES, lab, a)
        for reason, value in (("BACKEND", 0.125), ("CANCELED", 0.0), ("REJECTED", 0.0625)):
            add(r.FAILURES, {**lab, "reason": reason}, value)
        add(r.REJECTIONS, {**lab, "reason": "queue_full"}, 0.0625 + 0.125)
        add(r.REJECTIONS, {**lab, "reason": "rate_limited"}, 0.125 + 0.0625)
        add(r.QUEUE_SECONDS, lab, 0.002 * a)
        add(r.COMPUTE_SECONDS, lab, 0.202)
        add(r.REPLICAS, lab, 2)
        rates = model_rates(t, m, platform)
        if rates.gpu_share:
            add(r.GPU_SECONDS, lab, 2 * float(r._num(rates.gpu_share)))
        else:
            add(r.CPU_SECONDS, lab, 2 * rates.vcpus)
        add(r.COST_USD, lab, 2 * float(r._num(rates.usd_per_replica_second)))
        add(r.QUEUE_PROXY_DEPTH, lab, 5)
        for w in WINDOWS:
            add(r.sli_record("availability", w), lab, c.errors / c.served)
            add(r.sli_record("latency", w), lab, 1 - c.fast)
    out = []
    for record, samples in sorted(tests.items()):
        out.append(
            {
                "expr": round_expr(f'{record}{{tenant="{t.name}"}}'),
                "eval_time": EVAL,
                "exp_samples": sorted(samples, key=lambda x: str(x["labels"])),
            }
        )
    return out


def burn_rule(t: ResolvedTenant, model: str, sli: str, severity: str) -> dict[str, Any]:
    return next(
        a
        for a in r.alert_rules(t)
        if a.get("alert") == r.ALERT_BURN_RATE
        and a["labels"] == {"severity": severity, "slo": sli, s.MODEL: model}
    )


def expected_alerts(t: ResolvedTenant) -> list[dict[str, Any]]:
    """alert_rule_test entries at EVAL: which burn-rate alerts fire for the constant ratios
    (every window sees the same ratio), judged here against the workbook's thresholds."""
    fired: list[dict[str, Any]] = []
    for c in cases(t):
        for slo in model_slos(t, c.model):
            ratio = c.errors / c.served if slo.sli == "availability" else 1 - c.fast
            for severity in ("page", "ticket"):
                rows = [w for w in BURN_RATE_WINDOWS if w.severity == severity]
                if any(ratio > w.burn_rate * slo.error_budget for w in rows):
                    labels = _labels(t, c.model)
                    labels.update({"severity": severity, "slo": slo.sli})
                    rule = burn_rule(t, c.model.name, slo.sli, severity)
                    fired.append(
                        {"exp_labels": labels, "exp_annotations": annotations(rule, labels, ratio)}
                    )
    return [
        {"eval_time": EVAL, "alertname": r.ALERT_BURN_RATE, "exp_alerts": fired},
        {"eval_time": EVAL, "alertname": r.ALERT_SIGNAL_MISSING, "exp_alerts": []},
        {"eval_time": EVAL, "alertname": r.ALERT_USAGE_SHIFT, "exp_alerts": []},
    ]


def constant_rates_test(t: ResolvedTenant, platform: PlatformSettings) -> dict[str, Any]:
    return {
        "name": f"{t.name}: constant rates",
        "interval": "1m",
        "input_series": input_series(t),
        "promql_expr_test": expected_records(t, platform),
        "alert_rule_test": expected_alerts(t),
    }
