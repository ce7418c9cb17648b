"""Every generated rule group passes ``promtool check rules`` (duplicate rules fatal), and
``promtool test rules`` unit tests, with synthetic series, cover every recording rule and
every alert of every example tenant (``promtool_cases`` computes the expectations in Python
from the rates it feeds). Debian's ``prometheus`` package ships promtool; CI installs it."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantry.devserver.prometheus import PrometheusUnavailable, binary
from tenantry.observability import rules as r
from tenantry.observability import signals as s
from tenantry.observability.slo import WINDOWS
from tenantry.spec import PlatformSettings, ResolvedTenant
from tests.components.helpers import EXAMPLES, platform, tenants
from tests.conftest import server_missing
from tests.observability import promtool_cases as cases


@functools.cache
def promtool() -> Path:
    try:
        return binary("promtool")
    except PrometheusUnavailable as exc:
        server_missing(str(exc))


def _write_rules(tmp: Path, t: ResolvedTenant, plat: PlatformSettings) -> Path:
    path = tmp / f"{t.name}.rules.yaml"
    doc = {"groups": r.rule_groups(t, r.rates_for(t, plat))}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    return path


def _promtool_test(tmp: Path, rules: Path, tests: list[dict[str, Any]], interval: str) -> str:
    path = tmp / "tests.yaml"
    doc = {"rule_files": [rules.name], "evaluation_interval": interval, "tests": tests}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    proc = subprocess.run(
        [str(promtool()), "test", "rules", path.name],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("name", EXAMPLES)
def test_rule_groups_pass_promtool_check(name: str, tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, tenants()[name], platform())
    proc = subprocess.run(
        [str(promtool()), "check", "rules", "--lint=all", "--lint-fatal", str(rules)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def _recorded(t: ResolvedTenant) -> set[str]:
    """The Triton-side records (the own-LLM group has its own promtool tests:
    test_llm_rules_promtool.py)."""
    return {
        rule["record"]
        for g in r.rule_groups(t, r.rates_for(t, platform()))
        if g["name"] != f"tenantry.{t.name}.llm"
        for rule in g["rules"]
        if "record" in rule
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_recording_rule_and_alert_at_constant_rates(name: str, tmp_path: Path) -> None:
    t = tenants()[name]
    test = cases.constant_rates_test(t, platform())
    covered = {e["expr"].split("(", 1)[1].split("{", 1)[0] for e in test["promql_expr_test"]}
    shift = {r.REQUESTS_1H, r.REQUESTS_1H_BASELINE, r.COST_1H, r.COST_1H_BASELINE}
    assert covered | shift == _recorded(t), "a recording rule has no unit test"
    alerts = {a["alertname"] for a in test["alert_rule_test"]}
    assert alerts == {r.ALERT_BURN_RATE, r.ALERT_SIGNAL_MISSING, r.ALERT_USAGE_SHIFT}
    fired = test["alert_rule_test"][0]["exp_alerts"]
    assert fired, "the constant-rate case must make some burn-rate alert fire"
    _promtool_test(tmp_path, _write_rules(tmp_path, t, platform()), [test], "1m")


def test_promtool_tests_can_fail(tmp_path: Path) -> None:
    """A wrong expectation fails: the harness is not vacuous."""
    t = tenants()["globex"]
    test = cases.constant_rates_test(t, platform())
    test["promql_expr_test"][0]["exp_samples"][0]["value"] += 0.5
    rules = _write_rules(tmp_path, t, platform())
    with pytest.raises(AssertionError, match="FAILED"):
        _promtool_test(tmp_path, rules, [test], "1m")


def _labels(t: ResolvedTenant, model: str, **extra: str) -> dict[str, str]:
    m = next(x for x in t.models if x.name == model)
    return {
        s.TENANT: t.name,
        s.TIER: t.tier.name,
        s.COST_CENTER: t.cost_center,
        s.MODEL: model,
        s.VERSION: m.version,
        **extra,
    }


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_short_window_resets_the_page_while_the_ticket_stays(tmp_path: Path) -> None:
    """Errors for 70 minutes, then none (globex, shared tier: budget 1%). During the burn the
    page fires; 31 minutes after it stopped both short windows (5m, 30m) are clean, so the
    page resolves, while the 2-hour window still holds errors and the ticket stays
    (SRE Workbook ch. 5, multiwindow alerts)."""
    t = tenants()["globex"]
    side = _labels(
        t,
        "intent-classifier",
        reporter="destination",
        connection_security_policy="mutual_tls",
        source_workload_namespace="apps",
    )
    ok = {**side, "response_code": "200", "response_flags": "-"}
    bad = {**side, "response_code": "500", "response_flags": "-"}
    test = {
        "name": "burn, then recovery",
        "interval": "1m",
        "input_series": [
            {"series": _series(s.ISTIO_REQUESTS, ok), "values": "0+60x110"},
            {"series": _series(s.ISTIO_REQUESTS, bad), "values": "0+60x70 4200+0x40"},
        ],
        "alert_rule_test": [],
    }
    alert = _labels(t, "intent-classifier", slo="availability")
    # the long window's ratio is the value: at 60m the hour held errors for 60 of 60
    # minutes (1/2 of requests), at 101m the day held 70 of 101 minutes of errors
    for at, severities, value in (
        ("60m", ["page", "ticket"], 0.5),
        ("101m", ["ticket"], 70 / (101 + 70)),
    ):
        test["alert_rule_test"].append(
            {
                "eval_time": at,
                "alertname": r.ALERT_BURN_RATE,
                "exp_alerts": [
                    {
                        "exp_labels": {**alert, "severity": sev},
                        "exp_annotations": cases.annotations(
                            cases.burn_rule(t, "intent-classifier", "availability", sev),
                            {**alert, "severity": sev},
                            value,
                        ),
                    }
                    for sev in severities
                ],
            }
        )
    _promtool_test(tmp_path, _write_rules(tmp_path, t, platform()), [test], "1m")


def test_blind_slo_is_an_alert(tmp_path: Path) -> None:
    """Triton serves, the sidecar reports nothing: after 15 minutes, a ticket."""
    t = tenants()["globex"]
    labels = _labels(t, "language-id", pod="p1")
    test = {
        "name": "no sidecar",
        "interval": "1m",
        "input_series": [{"series": _series(s.TRITON_SUCCESS, labels), "values": "0+60x60"}],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": r.ALERT_SIGNAL_MISSING, "exp_alerts": []},
            {
                "eval_time": "40m",
                "alertname": r.ALERT_SIGNAL_MISSING,
                "exp_alerts": [
                    {
                        "exp_labels": {**_labels(t, "language-id"), "severity": "ticket"},
                        "exp_annotations": {
                            "summary": "globex/language-id serves requests but its sidecar "
                            "reports none: its SLO alerts cannot fire",
                            "description": "Triton answered requests in the last 15 minutes "
                            "but the pod's Istio sidecar (reporter=destination, scraped on "
                            "port http-envoy-prom) reported none. Check sidecar injection "
                            "and the PodMonitor's envoy endpoint.",
                            "runbook_url": f"{r.DOCS}#slo-signal-missing",
                        },
                    }
                ],
            },
        ],
    }
    _promtool_test(tmp_path, _write_rules(tmp_path, t, platform()), [test], "1m")


STEP = 300  # seconds between samples and evaluations in the week-long case
WEEK_STEPS = 7 * 24 * 12  # 2016 five-minute steps
AFTER_STEPS = 36  # 3 hours


def _rate(samples: dict[int, float], step: int, window_steps: int) -> float | None:
    """PromQL ``rate(x[window])`` at ``step`` over samples {step: value} (every STEP
    seconds): the samples in [step - window, step] (both ends, Prometheus 2.x), extrapolated
    to the window's edges as promql/functions.go ``extrapolatedRate`` does."""
    pts = [(i, samples[i]) for i in range(step - window_steps, step + 1) if i in samples]
    if len(pts) < 2:
        return None
    result = pts[-1][1] - pts[0][1]
    to_start = float((pts[0][0] - (step - window_steps)) * STEP)
    to_end = float((step - pts[-1][0]) * STEP)
    sampled = float((pts[-1][0] - pts[0][0]) * STEP)
    average = sampled / (len(pts) - 1)
    if result > 0 and pts[0][1] >= 0:
        to_start = min(to_start, sampled * (pts[0][1] / result))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled) / (window_steps * STEP)


def test_usage_shift_against_the_models_own_week(tmp_path: Path) -> None:
    """globex for a week: intent-classifier serves 1 request/s on one pod, then 10/s on four
    pods for 3 hours (requests and cost both shift up); language-id serves 1/s, then stops
    (its requests vanish). Every usage-shift record is checked against a value computed
    here, and the alert fires for exactly those three shifts, with their values."""
    t = tenants()["globex"]
    steps = WEEK_STEPS + AFTER_STEPS
    rising = {i: float(STEP * i) for i in range(WEEK_STEPS + 1)}
    for i in range(WEEK_STEPS + 1, steps + 1):
        rising[i] = rising[i - 1] + 10 * STEP
    stopped = {i: float(STEP * i) for i in range(WEEK_STEPS + 1)}
    ic, li = _labels(t, "intent-classifier", pod="p1"), _labels(t, "language-id", pod="p1")
    after = rising[WEEK_STEPS + 1]
    series = [
        {
            "series": _series(s.TRITON_SUCCESS, ic),
            "values": f"0+{STEP}x{WEEK_STEPS} {after:g}+{10 * STEP}x{AFTER_STEPS - 1}",
        },
        {
            "series": _series(s.TRITON_SUCCESS, li),
            "values": f"0+{STEP}x{WEEK_STEPS} _x{AFTER_STEPS}",
        },
        {"series": _series(s.TRITON_PENDING, ic), "values": f"0x{steps}"},
    ]
    for pod in ("p2", "p3", "p4"):
        labels = _labels(t, "intent-classifier", pod=pod)
        series.append(
            {
                "series": _series(s.TRITON_PENDING, labels),
                "values": f"_x{WEEK_STEPS + 1} 0x{AFTER_STEPS - 1}",
            }
        )
    from tenantry.cost import model_rates

    ic_model = next(m for m in t.models if m.name == "intent-classifier")
    price = float(r._num(model_rates(t, ic_model, platform()).usd_per_replica_second))
    cost = {i: (1.0 if i <= WEEK_STEPS else 4.0) * price for i in range(steps + 1)}
    # The records, evaluation by evaluation (one group: each rule sees the values the rules
    # before it recorded in this evaluation; both ends of a range are included).
    first = steps - WEEK_STEPS

    def baseline(record: dict[int, float]) -> float:
        kept = [record[i] for i in range(first, steps + 1) if i in record]
        return sum(kept) / len(kept)

    req1h = {i: v for i in range(steps + 1) if (v := _rate(rising, i, 12)) is not None}
    lang1h = {i: v for i in range(steps + 1) if (v := _rate(stopped, i, 12)) is not None}
    cost1h = {i: sum(cost[j] for j in range(i - 12, i + 1)) / 13 for i in range(12, steps + 1)}
    shift = {k: v for k, v in _labels(t, "intent-classifier").items() if k != s.VERSION}
    lang = {k: v for k, v in _labels(t, "language-id").items() if k != s.VERSION}
    at = f"{steps * STEP}s"

    def expr(record: str, value: float) -> dict[str, Any]:
        return {
            "expr": cases.round_expr(f'{record}{{model="intent-classifier"}}'),
            "eval_time": at,
            "exp_samples": [{"labels": _series("", shift), "value": cases.rounded(value)}],
        }

    def fired(labels: dict[str, str], signal: str, value: float) -> dict[str, Any]:
        rule = next(
            a for a in r.alert_rules(t) if "alert" in a and a["labels"].get("signal") == signal
        )
        full = {**labels, "severity": "ticket", "signal": signal}
        return {"exp_labels": full, "exp_annotations": cases.annotations(rule, full, value)}

    test = {
        "name": "a week, then a shift",
        "interval": f"{STEP}s",
        "input_series": series,
        "promql_expr_test": [
            expr(r.REQUESTS_1H, req1h[steps]),
            expr(r.REQUESTS_1H_BASELINE, baseline(req1h)),
            expr(r.COST_1H, cost1h[steps]),
            expr(r.COST_1H_BASELINE, baseline(cost1h)),
        ],
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": r.ALERT_USAGE_SHIFT,
                "exp_alerts": [
                    fired(shift, "cost", cost1h[steps]),
                    fired(shift, "requests", req1h[steps]),
                    fired(lang, "requests", baseline(lang1h)),
                ],
            },
            {
                "eval_time": f"{WEEK_STEPS * STEP}s",
                "alertname": r.ALERT_USAGE_SHIFT,
                "exp_alerts": [],
            },
        ],
    }
    assert req1h[steps] == 10 and 1 < baseline(req1h) < 10 / r.SHIFT_FACTOR
    _promtool_test(tmp_path, _write_rules(tmp_path, t, platform()), [test], f"{STEP}s")


def test_windows_are_the_workbooks() -> None:
    assert WINDOWS == ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
