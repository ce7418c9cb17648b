"""The p99 verdict over a finite sample and the default sample size (pure)."""

from __future__ import annotations

import argparse
from fractions import Fraction
from math import comb

import pytest

from tenantry.cli import fleet
from tenantry.cli import verify as verify_cli
from tenantry.verify.percentile import (
    DEFAULT_REQUESTS,
    FALSE_FAIL,
    TARGET_SHARE,
    allowed_over,
    at_least,
    fail_probability,
)


def _exact_at_least(k: int, n: int, q: Fraction) -> Fraction:
    return sum((comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k, n + 1)), Fraction(0))


@pytest.mark.parametrize(
    ("k", "n", "q"),
    [
        (1, 1, "1/100"),
        (3, 20, "1/100"),
        (14, 500, "1/100"),
        (2, 50, "9/5000"),
        (0, 7, "1/2"),
        (8, 7, "1/2"),
    ],
)
def test_binomial_tail_matches_exact_arithmetic(k: int, n: int, q: str) -> None:
    want = float(_exact_at_least(k, n, Fraction(q)))
    assert at_least(k, n, float(Fraction(q))) == pytest.approx(want, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("n", [2, 5, 20, 50, 100, 451, 500, 1000])
def test_allowance_is_the_largest_count_a_model_at_its_target_reaches_by_chance(n: int) -> None:
    k = allowed_over(n)
    assert k is not None
    q = Fraction(TARGET_SHARE).limit_denominator(1000)
    # one more over the target is rarer than FALSE_FAIL; k itself is not
    assert float(_exact_at_least(k + 1, n, q)) < FALSE_FAIL <= float(_exact_at_least(k, n, q))


def test_the_figures_the_docs_state() -> None:
    assert [allowed_over(n) for n in (2, 5, 20, 50, 100, 451, 500, 1000)] == [
        1,
        1,
        3,
        4,
        5,
        12,
        13,
        21,
    ]
    assert fail_probability(500, 0.01) == pytest.approx(0.00065, abs=0.000005)
    assert fail_probability(500, 0.0018) < 1e-11
    assert fail_probability(500, 0.05) == pytest.approx(0.9945, abs=0.00005)
    assert fail_probability(500, 0.03) == pytest.approx(0.640, abs=0.0005)
    assert fail_probability(500, 0.02) == pytest.approx(0.133, abs=0.0005)
    assert fail_probability(20, 0.05) == pytest.approx(0.0159, abs=0.00005)


def test_the_default_sample_catches_a_model_five_times_over_its_share() -> None:
    def catches(n: int) -> bool:
        return fail_probability(n, 5 * TARGET_SHARE) >= 0.99

    smallest = next(n for n in range(1, DEFAULT_REQUESTS + 1) if catches(n))
    assert smallest == 451
    assert catches(DEFAULT_REQUESTS) and DEFAULT_REQUESTS % 100 == 0
    assert DEFAULT_REQUESTS - smallest < 100  # the smallest round number, not any larger one


def test_a_healthy_model_with_the_measured_stall_rate_is_not_rolled_back() -> None:
    # tritonserver 2.51's batcher stall: up to 0.18% of sequential requests (docs/verify.md)
    assert fail_probability(DEFAULT_REQUESTS, 0.0018) < 1e-9
    # the former rule (the p99 of 20 requests is, in effect, their slowest) failed 3.5% of gates
    assert at_least(1, 20, 0.0018) == pytest.approx(0.0354, abs=0.0001)


def test_one_request_cannot_judge_a_p99_and_none_is_refused() -> None:
    assert allowed_over(1) is None
    assert fail_probability(1, 1.0) == 0.0
    with pytest.raises(ValueError, match="requests: expected at least 1, got 0"):
        allowed_over(0)


def test_the_cli_defaults_are_the_sound_sample() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    verify_cli.add(sub)
    fleet.add(sub)
    assert p.parse_args(["verify", "acme", "--url", "x:1"]).requests == DEFAULT_REQUESTS
    up = p.parse_args(["fleet", "up", "--waves", "--verify-url", "x:1"])
    assert up.verify_requests == DEFAULT_REQUESTS


class _Served:
    """An endpoint whose every inference answers; the clock below decides how long it took."""

    def infer(self, *args: object, **kwargs: object) -> dict[str, tuple[int, ...]]:
        return {}


def _latency_check(latencies_ms: list[float]) -> tuple[bool, bool, str]:
    from tenantry.verify import checks
    from tests.components.helpers import tenants

    model = next(m for m in tenants()["globex"].models if m.name == "intent-classifier")
    times = iter([t for ms in latencies_ms for t in (0.0, ms / 1000.0)])
    got: list[tuple[bool, bool, str]] = []

    def record(check: str, ok: bool, detail: str, skipped: bool = False) -> None:
        assert check == "latency"
        got.append((ok, skipped, detail))

    checks._latency(model, "7", _Served(), len(latencies_ms), lambda: next(times), record)  # type: ignore[arg-type]
    [result] = got
    return result


def test_the_latency_check_counts_requests_over_the_target() -> None:
    # intent-classifier's target: p99 <= 40 ms; one 501 ms batcher stall in 20 requests passes
    ok, skipped, detail = _latency_check([5.0] * 19 + [501.0])
    assert ok and not skipped
    assert detail.endswith(
        "over 20 requests (1 over the target, slowest 501.0 ms); target p99 <= 40 ms, "
        "at most 3 of 20 over it (a model meeting it shows more with p < 0.001)"
    )
    ok, _, detail = _latency_check([5.0] * 16 + [60.0] * 4)
    assert not ok and "(4 over the target, slowest 60.0 ms)" in detail
    ok, _, _ = _latency_check([5.0] * 487 + [501.0] * 13)
    assert ok
    ok, _, _ = _latency_check([5.0] * 486 + [501.0] * 14)
    assert not ok


def test_one_request_is_reported_as_not_judged() -> None:
    ok, skipped, detail = _latency_check([501.0])
    assert ok  # a skipped check counts neither way
    assert skipped
    assert detail.endswith("1 request(s) cannot show a p99 over its target (use --requests 500)")
