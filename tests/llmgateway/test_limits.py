"""Token buckets and concurrency leases (:mod:`tenantry.llmgateway.limits`): the pure bucket
arithmetic and headers, the in-process store on a controlled clock, and the Redis store
against a real redis-server (Debian's; ``.ci/run`` installs it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from tenantry.devserver.llm import RedisUnavailable, running_redis
from tenantry.llmgateway.limits import BucketState, MemoryLimits, RedisLimits, duration, refill
from tests.conftest import server_missing


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` on a loop of its own (asyncio.run would leave the thread without a
    current loop, which Pulumi's engine in later tests needs)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coro)
    finally:
        loop.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refill_is_continuous_and_capped() -> None:
    assert refill(0, 10, 40, 600) == 300  # 600/min = 10/s for 30 s
    assert refill(500, 10, 40, 600) == 600
    assert refill(-100, 10, 20, 600) == 0
    assert refill(5, 10, 5, 600) == 5  # a clock going back adds nothing


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.25, "250ms"), (1, "1s"), (59.2, "1m0s"), (90, "1m30s"), (3661, "1h1m1s")],
)
def test_openai_reset_format(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_headers_of_a_full_a_spent_and_an_indebted_bucket() -> None:
    full = BucketState(600, 600)
    assert full.headers() == {
        "x-ratelimit-limit-tokens": "600",
        "x-ratelimit-remaining-tokens": "600",
        "x-ratelimit-reset-tokens": "0s",
    }
    debt = BucketState(600, -25)  # 10 tokens/s: 2.5 s to zero, 62.5 s to full
    assert not debt.admits
    assert debt.headers(refused=True) == {
        "x-ratelimit-limit-tokens": "600",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1m3s",
        "retry-after": "3",
    }
    assert BucketState(600, 0).retry_after_s == 1


def test_memory_bucket_admits_until_spent_then_refills() -> None:
    clock = Clock()
    limits = MemoryLimits(clock)

    async def run() -> None:
        assert (await limits.peek("a/m", 600)).level == 600
        after = await limits.charge("a/m", 600, 650)
        assert after.level == -50 and not after.admits
        assert (await limits.peek("b/m", 600)).admits  # another key is untouched
        clock.now += 5  # +50 tokens: back to zero, still not admitted
        assert (await limits.peek("a/m", 600)).level == pytest.approx(0)
        clock.now += 0.5
        assert (await limits.peek("a/m", 600)).admits

    _run(run())


def test_memory_concurrency_leases() -> None:
    limits = MemoryLimits()

    async def run() -> None:
        a = await limits.acquire("t/m", 2)
        b = await limits.acquire("t/m", 2)
        assert a and b and a != b
        assert await limits.acquire("t/m", 2) is None
        assert await limits.acquire("u/m", 2) is not None
        await limits.release("t/m", a)
        assert await limits.acquire("t/m", 2) is not None

    _run(run())


# -- Redis -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with running_redis() as url:
            yield url
    except RedisUnavailable as exc:
        server_missing(str(exc))


@pytest.mark.server
def test_redis_buckets_and_leases_are_shared_between_clients(redis_url: str) -> None:
    async def run() -> None:
        one, two = RedisLimits(redis_url, prefix="t1"), RedisLimits(redis_url, prefix="t1")
        try:
            assert (await one.peek("a/m", 600)).level == pytest.approx(600, abs=1)
            t0 = time.monotonic()
            spent = await one.charge("a/m", 600, 700)
            assert not spent.admits
            seen = await two.peek("a/m", 600)  # the other replica sees the debt
            refill = 10 * (time.monotonic() - t0)  # 600/min = 10/s
            assert not seen.admits and -101 <= seen.level <= -100 + refill + 1
            assert (await two.peek("b/m", 600)).admits
            lease = await one.acquire("a/m", 1)
            assert lease is not None
            assert await two.acquire("a/m", 1) is None
            await two.release("a/m", lease)
            assert await two.acquire("a/m", 1) is not None
        finally:
            await one.close()
            await two.close()

    _run(run())


@pytest.mark.server
def test_a_redis_lease_lapses(redis_url: str) -> None:
    async def run() -> None:
        limits = RedisLimits(redis_url, prefix="t2", lease_s=0.3)
        try:
            assert await limits.acquire("a/m", 1) is not None
            assert await limits.acquire("a/m", 1) is None
            await asyncio.sleep(0.4)  # a crashed replica's lease ends by itself
            assert await limits.acquire("a/m", 1) is not None
            # the bucket refills on the server's clock: 6000/min = 100/s
            t0 = time.monotonic()
            await limits.charge("b/m", 6000, 6000)
            await asyncio.sleep(0.3)
            level = (await limits.peek("b/m", 6000)).level
            assert 30 - 1 <= level <= 100 * (time.monotonic() - t0) + 1
        finally:
            await limits.close()

    _run(run())
