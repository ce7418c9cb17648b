"""The LLM token-metering rules (:mod:`tenantry.observability.llm_rules`) pass ``promtool
check rules`` with every lint fatal, and ``promtool test rules`` checks every record and
alert against values computed here from the synthetic rates fed in (the gateway's counters
for the shared base models, vLLM's own for initech's own LLM)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tenantry.cost import BaseModelRates
from tenantry.observability import llm_rules as L
from tenantry.observability import rules as r
from tenantry.observability import signals as s
from tests.components.helpers import platform, tenants
from tests.observability import promtool_cases as cases
from tests.observability.test_rules_promtool import _promtool_test, promtool

MINUTES = 40
EVAL = "30m"
IDLE = "mistral-7b"  # a second base model that serves no tokens


def _rates() -> dict[str, BaseModelRates]:
    rates = L.base_rates_for(platform())
    llama = rates["llama-3-8b"]
    rates[IDLE] = dataclasses.replace(llama, base_model=IDLE, replicas=1)
    return rates


def _write(tmp: Path, groups: list[dict[str, Any]]) -> Path:
    path = tmp / "llm.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), "utf-8")
    return path


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _counter(name: str, labels: dict[str, str], per_second: float) -> dict[str, str]:
    return {"series": _series(name, labels), "values": f"0+{per_second * 60:g}x{MINUTES}"}


def _gw(tenant: str, adapter: str) -> dict[str, str]:
    return {
        s.TENANT: tenant,
        s.MODEL: f"{tenant}-{adapter}",
        L.BASE_MODEL: "llama-3-8b",
        L.ADAPTER: adapter,
        "namespace": "tenantry-llm",
        "pod": "gw-1",
    }


# per second: (prompt, completion, 200s, 429s for the token budget)
TRAFFIC = {
    ("acme", "support-agent"): (30.0, 10.0, 1.0, 0.25),
    ("globex", "helper"): (6.0, 4.0, 0.5, 0.0),
    ("globex", "silent"): (0.0, 0.0, 0.2, 0.0),  # answered, but no usage metered
}


def _gateway_series() -> list[dict[str, str]]:
    out = []
    for (tenant, adapter), (prompt, completion, ok, refused) in TRAFFIC.items():
        labels = _gw(tenant, adapter)
        out += [
            _counter(L.GATEWAY_PROMPT_TOKENS, labels, prompt),
            _counter(L.GATEWAY_COMPLETION_TOKENS, labels, completion),
            _counter(L.GATEWAY_REQUESTS, {**labels, "code": "200"}, ok),
        ]
        if refused:
            out.append(_counter(L.GATEWAY_REQUESTS, {**labels, "code": "429"}, refused))
            out.append(
                _counter(
                    L.GATEWAY_REJECTED,
                    {
                        s.TENANT: tenant,
                        s.MODEL: labels[s.MODEL],
                        "reason": L.TOKEN_BUDGET,
                        "namespace": "tenantry-llm",
                        "pod": "gw-1",
                    },
                    refused,
                )
            )
    # a caller without identity: tenant "" is nobody's usage
    out.append(
        _counter(
            L.GATEWAY_REJECTED,
            {s.TENANT: "", s.MODEL: "", "reason": "no_identity", "namespace": "tenantry-llm"},
            3.0,
        )
    )
    # a tenant's own pod exporting the gateway's metric names, claiming tokens for globex:
    # outside the gateway's namespace, it counts for nobody
    forged = {**_gw("globex", "helper"), "namespace": "acme"}
    out.append(_counter(L.GATEWAY_PROMPT_TOKENS, forged, 1000.0))
    out.append(_counter(L.GATEWAY_REQUESTS, {**forged, "code": "200"}, 50.0))
    return out


def _expect(record: str, samples: list[tuple[dict[str, str], float]]) -> dict[str, Any]:
    return {
        "expr": cases.round_expr(record),
        "eval_time": EVAL,
        "exp_samples": sorted(
            (
                {"labels": _series("", labels), "value": cases.rounded(value)}
                for labels, value in samples
            ),
            key=lambda x: str(x["labels"]),
        ),
    }


def test_platform_rules_pass_promtool_check(tmp_path: Path) -> None:
    path = _write(tmp_path, L.platform_rule_groups(_rates()))
    proc = subprocess.run(
        [str(promtool()), "check", "rules", "--lint=all", "--lint-fatal", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_shared_base_records_split_gpu_seconds_and_cost_by_tokens(tmp_path: Path) -> None:
    """Three served adapters on llama-3-8b; acme 40 tokens/s, globex's helper 10, its
    silent one none: acme holds 80% of the base's GPU-seconds and cost, helper 20%; the idle
    base's cost is unattributed; acme's 20% token-budget refusals and the silent model's
    unmetered answers alert, with their values."""
    rates = _rates()
    llama = rates["llama-3-8b"]
    gpus = float(r._num(llama.gpus))
    usd = float(r._num(llama.usd_per_second))
    idle_usd = float(r._num(rates[IDLE].usd_per_second))
    keys = (s.TENANT, L.BASE_MODEL, L.ADAPTER, s.MODEL)

    def key(tenant: str, adapter: str) -> dict[str, str]:
        return {k: v for k, v in _gw(tenant, adapter).items() if k in keys}

    total = sum(p + c for p, c, _, _ in TRAFFIC.values())
    tokens, shares, gpu_s, cost = [], [], [], []
    prompt, completion, requests, rejections = [], [], [], []
    for (tenant, adapter), (p, c, ok, refused) in TRAFFIC.items():
        k = key(tenant, adapter)
        prompt.append((k, p))
        completion.append((k, c))
        tokens.append((k, p + c))
        share = (p + c) / total
        shares.append((k, share))
        gpu_s.append((k, share * gpus))
        cost.append((k, share * usd))
        requests.append(({**k, "code": "200"}, ok))
        if refused:
            requests.append(({**k, "code": "429"}, refused))
            rejections.append(
                ({s.TENANT: tenant, s.MODEL: k[s.MODEL], "reason": L.TOKEN_BUDGET}, refused)
            )
    assert [round(v, 6) for _, v in shares] == [0.8, 0.2, 0.0]
    base = {L.BASE_MODEL: "llama-3-8b"}
    budget_rule = next(a for a in L.shared_base_alerts() if a["alert"] == L.ALERT_TOKEN_BUDGET)
    missing_rule = next(a for a in L.shared_base_alerts() if a["alert"] == L.ALERT_TOKENS_MISSING)
    acme = {s.TENANT: "acme", s.MODEL: "acme-support-agent", "severity": "ticket"}
    silent = {s.TENANT: "globex", s.MODEL: "globex-silent", "severity": "ticket"}
    test = {
        "name": "shared base: two tenants, three adapters",
        "interval": "1m",
        "input_series": _gateway_series(),
        "promql_expr_test": [
            _expect(L.ADAPTER_PROMPT, prompt),
            _expect(L.ADAPTER_COMPLETION, completion),
            _expect(L.ADAPTER_TOKENS, tokens),
            _expect(L.ADAPTER_REQUESTS, requests),
            _expect(L.ADAPTER_REJECTIONS, rejections),
            _expect(L.BASE_TOKENS, [(base, total)]),
            _expect(L.ADAPTER_SHARE, shares),
            _expect(
                L.BASE_GPU_SECONDS,
                [(base, gpus), ({L.BASE_MODEL: IDLE}, float(r._num(rates[IDLE].gpus)))],
            ),
            _expect(L.BASE_COST, [(base, usd), ({L.BASE_MODEL: IDLE}, idle_usd)]),
            _expect(L.ADAPTER_GPU_SECONDS, gpu_s),
            _expect(L.ADAPTER_COST, cost),
            _expect(L.BASE_UNATTRIBUTED, [({L.BASE_MODEL: IDLE}, idle_usd)]),
        ],
        "alert_rule_test": [
            {
                "eval_time": EVAL,
                "alertname": L.ALERT_TOKEN_BUDGET,
                "exp_alerts": [
                    {
                        "exp_labels": acme,
                        "exp_annotations": cases.annotations(budget_rule, acme, 0.25 / 1.25),
                    }
                ],
            },
            {
                "eval_time": EVAL,
                "alertname": L.ALERT_TOKENS_MISSING,
                "exp_alerts": [
                    {
                        "exp_labels": silent,
                        "exp_annotations": cases.annotations(missing_rule, silent, 0.2),
                    }
                ],
            },
            # before the alerts' 15 minutes have passed: pending, not firing
            {"eval_time": "10m", "alertname": L.ALERT_TOKEN_BUDGET, "exp_alerts": []},
        ],
    }
    _promtool_test(tmp_path, _write(tmp_path, L.platform_rule_groups(rates)), [test], "1m")


def _own(namespace: str, pod: str, **extra: str) -> dict[str, str]:
    return {
        "namespace": namespace,
        L.VLLM_MODEL_NAME: "initech-clinical-llm",
        "engine": "0",
        "pod": pod,
        **extra,
    }


def test_own_llm_records_come_from_vllm_in_the_tenants_namespace(tmp_path: Path) -> None:
    """initech's clinical-llm on two pods: 100 prompt and 20 generation tokens/s each,
    1.5 requests/s; a pod in globex's namespace naming itself initech-clinical-llm is
    counted for nobody (the tenant is the namespace). The whole GPU each replica holds is
    initech's."""
    t = tenants()["initech"]
    p = platform()
    rates = r.rates_for(t, p)
    served = L.served_name(t, "clinical-llm")
    llm = rates[served]
    series: list[dict[str, str]] = []
    for pod in ("p1", "p2"):
        series += [
            _counter(L.VLLM_PROMPT_TOKENS, _own("initech", pod), 50.0),
            _counter(L.VLLM_GENERATION_TOKENS, _own("initech", pod), 10.0),
            _counter(L.VLLM_REQUEST_SUCCESS, _own("initech", pod, finished_reason="stop"), 0.5),
            _counter(L.VLLM_REQUEST_SUCCESS, _own("initech", pod, finished_reason="length"), 0.25),
            {"series": _series(L.VLLM_RUNNING, _own("initech", pod)), "values": f"1x{MINUTES}"},
        ]
    series += [
        _counter(L.VLLM_PROMPT_TOKENS, _own("globex", "x1"), 1000.0),
        {"series": _series(L.VLLM_RUNNING, _own("globex", "x1")), "values": f"1x{MINUTES}"},
    ]
    lab = {s.TENANT: "initech", s.MODEL: served, s.TIER: "isolated", s.COST_CENTER: "CC-3307"}
    test = {
        "name": "own LLM: vLLM's counters",
        "interval": "1m",
        "input_series": series,
        "promql_expr_test": [
            _expect(L.LLM_PROMPT, [(lab, 100.0)]),
            _expect(L.LLM_COMPLETION, [(lab, 20.0)]),
            _expect(L.LLM_TOKENS, [(lab, 120.0)]),
            _expect(L.LLM_REQUESTS, [(lab, 1.5)]),
            _expect(L.LLM_REPLICAS, [(lab, 2.0)]),
            _expect(L.LLM_GPU_SECONDS, [(lab, 2 * float(r._num(llm.gpu_share)))]),
            _expect(L.LLM_COST, [(lab, 2 * float(r._num(llm.usd_per_replica_second)))]),
        ],
        "alert_rule_test": [
            {"eval_time": EVAL, "alertname": L.ALERT_SIGNAL_MISSING, "exp_alerts": []},
        ],
    }
    assert llm.gpu_share == 1.0  # clinical-llm: one whole GPU per replica
    recorded = {rule["record"] for rule in L.own_llm_rules(t, rates) if "record" in rule}
    assert recorded == {
        e["expr"].split("(", 1)[1].split(",", 1)[0] for e in test["promql_expr_test"]
    }
    groups = r.rule_groups(t, rates)
    assert groups[-1]["name"] == "tenantry.initech.llm"
    _promtool_test(tmp_path, _write(tmp_path, groups), [test], "1m")


def test_a_silent_own_llm_is_an_alert(tmp_path: Path) -> None:
    """No vLLM series of clinical-llm at all: after 15 minutes, a ticket."""
    t = tenants()["initech"]
    rates = r.rates_for(t, platform())
    served = L.served_name(t, "clinical-llm")
    rule = next(a for a in L.own_llm_rules(t, rates) if a.get("alert"))
    labels = {
        "namespace": "initech",
        L.VLLM_MODEL_NAME: served,
        s.TENANT: "initech",
        s.MODEL: served,
        "severity": "ticket",
    }
    other = _own("initech", "p1")
    other[L.VLLM_MODEL_NAME] = "something-else"
    test = {
        "name": "own LLM silent",
        "interval": "1m",
        "input_series": [
            {"series": _series(L.VLLM_RUNNING, other), "values": f"1x{MINUTES}"},
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": L.ALERT_SIGNAL_MISSING, "exp_alerts": []},
            {
                "eval_time": "20m",
                "alertname": L.ALERT_SIGNAL_MISSING,
                "exp_alerts": [
                    {"exp_labels": labels, "exp_annotations": cases.annotations(rule, labels, 1)}
                ],
            },
        ],
    }
    _promtool_test(tmp_path, _write(tmp_path, r.rule_groups(t, rates)), [test], "1m")
