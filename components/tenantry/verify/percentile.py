"""Judging a p99 latency target from a finite sample (pure).

A model meets ``p99LatencyMs`` when at most 1% of its requests take longer. ``tenantry verify``
sees N requests, not the model's distribution, so it judges the *count* of requests over the
target, a Binomial(N, q) draw where q is the model's true share over the target:

- **verdict**: fail only when the count is too high for a model that meets its target, i.e.
  when a model with exactly 1% over (q = 0.01, the worst model that still meets a p99) would
  show that many or more with probability below ``FALSE_FAIL`` (0.1%). So a model that meets
  its target is rolled back by chance at most once per thousand gates, and one whose share
  over is lower (healthy models, tritonserver 2.51's 0.1-0.2% batcher stalls included,
  docs/local-servers.md) far less often.
- **default sample**: :data:`DEFAULT_REQUESTS` is the smallest round number of requests at
  which that verdict also fails, with probability at least 99%, a model with 5% of its
  requests over the target (five times the p99's share: its p95 is at the target). The
  smallest such N is 451 (allowance 12); 500 allows 13 (2.6%).

At N = 500 (exact binomial sums, :func:`fail_probability`): a model with exactly 1% over fails
with probability 0.065%, one with 0.18% over 1e-12; one with 5% over fails 99.45%, 3% 64%, 2%
13%. At the former defaults the p99 of 20 or 50 requests was, in effect, their slowest request:
one 500 ms stall failed a healthy model (at 0.18% per request, 3.5% of gates over 20 requests,
8.6% over 50), and a model with 5% over still passed 36% of 20-request gates. With this rule,
20 requests allow 3 over the target and catch a 5%-over model 1.6% of the time: 20 requests
cannot show a p99, whichever rule reads them. One request can never fail (1% > 0.1%), so
:func:`allowed_over` reports that N is too small to judge (``None``).
"""

from __future__ import annotations

from math import exp, lgamma, log, log1p

TARGET_SHARE = 0.01  # a p99 target: at most 1% of requests over it
FALSE_FAIL = 0.001  # chance a model exactly at its target fails the check
DEFAULT_REQUESTS = 500


def _pmf(i: int, n: int, q: float) -> float:
    if q <= 0.0:
        return 1.0 if i == 0 else 0.0
    if q >= 1.0:
        return 1.0 if i == n else 0.0
    return exp(lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) + i * log(q) + (n - i) * log1p(-q))


def at_least(k: int, n: int, q: float) -> float:
    """P(X >= k) for X ~ Binomial(n, q); 1.0 for k <= 0, 0.0 for k > n."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return max(0.0, 1.0 - sum(_pmf(i, n, q) for i in range(k)))


def allowed_over(n: int, share: float = TARGET_SHARE, false_fail: float = FALSE_FAIL) -> int | None:
    """The most of ``n`` requests that may exceed the target and still pass: the largest k with
    P(X >= k + 1) >= ``false_fail`` for X ~ Binomial(n, ``share``). ``None`` when even n of n
    over the target would pass (n too small to judge). Raises ValueError for n < 1."""
    if n < 1:
        raise ValueError(f"requests: expected at least 1, got {n}")
    k = 0
    while k < n and at_least(k + 1, n, share) >= false_fail:
        k += 1
    return None if k >= n else k


def fail_probability(n: int, q: float) -> float:
    """The chance that a model with share ``q`` of its requests over the target fails the
    check over ``n`` requests (0.0 when ``n`` is too small to judge)."""
    k = allowed_over(n)
    return 0.0 if k is None else at_least(k + 1, n, q)
