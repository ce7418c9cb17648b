"""Per tenant and served model: a token bucket (``tokensPerMinute``) and a concurrency limit
(``maxConcurrentRequests``), held in process or in Redis (shared by gateway replicas).

The bucket holds at most ``tokensPerMinute`` tokens and refills continuously at
``tokensPerMinute / 60`` per second. The cost of a request is known only from its response
(``usage.total_tokens``), so a request is admitted while the bucket holds more than zero
tokens and charged when it ends; the level may go below zero, and later requests wait until
it refills above zero. The overshoot past a minute's budget is therefore at most the tokens
of the requests in flight when it ran out: ``maxConcurrentRequests`` x (prompt +
``max_tokens``) per request.

Headers follow OpenAI's rate-limit headers
(https://platform.openai.com/docs/guides/rate-limits, "Rate limits in headers"):
``x-ratelimit-limit-tokens``, ``x-ratelimit-remaining-tokens``, ``x-ratelimit-reset-tokens``
(time until the bucket is full again, as ``1m30s`` / ``250ms``) and, on a refusal,
``retry-after`` (whole seconds until a request would be admitted, RFC 9110 10.2.3).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Clock = Callable[[], float]


@dataclass(frozen=True)
class BucketState:
    """A bucket after an operation: ``level`` in tokens (negative = in debt), ``capacity`` =
    tokensPerMinute."""

    capacity: int
    level: float

    @property
    def rate(self) -> float:  # tokens per second
        return self.capacity / 60.0

    @property
    def admits(self) -> bool:
        return self.level > 0

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.level))

    @property
    def reset_s(self) -> float:
        """Seconds until the bucket is full."""
        return max(0.0, (self.capacity - self.level) / self.rate)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until it admits again (at least 1 when it does not now)."""
        if self.admits:
            return 0
        return max(1, math.ceil((-self.level + 1e-9) / self.rate))

    def headers(self, refused: bool = False) -> dict[str, str]:
        h = {
            "x-ratelimit-limit-tokens": str(self.capacity),
            "x-ratelimit-remaining-tokens": str(self.remaining),
            "x-ratelimit-reset-tokens": duration(self.reset_s),
        }
        if refused:
            h["retry-after"] = str(max(1, self.retry_after_s))
        return h


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``6m0s``, ``1s``, ``250ms`` (``0s`` when full)."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    s = math.ceil(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def refill(level: float, last: float, now: float, capacity: int) -> float:
    """The level at ``now`` of a bucket that held ``level`` at ``last`` (pure)."""
    return min(float(capacity), level + max(0.0, now - last) * capacity / 60.0)


class Limits(Protocol):
    """Where the buckets and in-flight counts live. ``key`` is ``<tenant>/<served model>``."""

    async def peek(self, key: str, capacity: int) -> BucketState: ...

    async def charge(self, key: str, capacity: int, tokens: int) -> BucketState: ...

    async def acquire(self, key: str, limit: int) -> str | None:
        """A lease id if fewer than ``limit`` requests of ``key`` are in flight, else None."""
        ...

    async def release(self, key: str, lease: str) -> None: ...

    async def close(self) -> None: ...


class MemoryLimits:
    """In-process state (one gateway replica)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._inflight: dict[str, set[str]] = {}

    def _level(self, key: str, capacity: int) -> float:
        now = self._clock()
        level, last = self._buckets.get(key, (float(capacity), now))
        level = refill(level, last, now, capacity)
        self._buckets[key] = (level, now)
        return level

    async def peek(self, key: str, capacity: int) -> BucketState:
        return BucketState(capacity, self._level(key, capacity))

    async def charge(self, key: str, capacity: int, tokens: int) -> BucketState:
        level = self._level(key, capacity) - tokens
        self._buckets[key] = (level, self._buckets[key][1])
        return BucketState(capacity, level)

    async def acquire(self, key: str, limit: int) -> str | None:
        leases = self._inflight.setdefault(key, set())
        if len(leases) >= limit:
            return None
        lease = uuid.uuid4().hex
        leases.add(lease)
        return lease

    async def release(self, key: str, lease: str) -> None:
        self._inflight.get(key, set()).discard(lease)

    async def close(self) -> None:
        return None


# Redis: one hash per bucket {level, ts} and one sorted set of leases per in-flight key
# (score = the lease's expiry, so a crashed replica's leases lapse). Both scripts read the
# clock from the server (TIME), so replicas with skewed clocks share one timeline; Redis
# runs a script atomically (https://redis.io/docs/latest/develop/programmability/eval-intro/).
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level = tonumber(v[1]) or cap
local ts = tonumber(v[2]) or now
if now > ts then level = math.min(cap, level + (now - ts) * cap / 60) end
level = level - cost
redis.call('HSET', KEYS[1], 'level', tostring(level), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(level)
"""
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""


class RedisLimits:
    """State in Redis at ``url`` (``redis://host:port/db``), shared by every replica using
    the same ``prefix``. A lease lapses after ``lease_s`` (the longest a request may run).
    ``password``: Redis' ``requirepass`` (AUTH), kept out of the URL so that it appears in no
    command line."""

    def __init__(
        self,
        url: str,
        prefix: str = "tenantry:llm",
        lease_s: float = 900.0,
        password: str | None = None,
    ) -> None:
        import redis.asyncio as aioredis

        self._redis: Any = (
            aioredis.from_url(url, password=password) if password else aioredis.from_url(url)
        )
        self._prefix = prefix
        self._lease_s = lease_s
        self._bucket = self._redis.register_script(_BUCKET_LUA)
        self._acquire = self._redis.register_script(_ACQUIRE_LUA)

    async def ping(self) -> None:
        await self._redis.ping()

    async def peek(self, key: str, capacity: int) -> BucketState:
        return await self.charge(key, capacity, 0)

    async def charge(self, key: str, capacity: int, tokens: int) -> BucketState:
        level = await self._bucket(keys=[f"{self._prefix}:bucket:{key}"], args=[capacity, tokens])
        return BucketState(capacity, float(level))

    async def acquire(self, key: str, limit: int) -> str | None:
        lease = uuid.uuid4().hex
        ok = await self._acquire(
            keys=[f"{self._prefix}:inflight:{key}"], args=[limit, self._lease_s, lease]
        )
        return lease if int(ok) == 1 else None

    async def release(self, key: str, lease: str) -> None:
        await self._redis.zrem(f"{self._prefix}:inflight:{key}", lease)

    async def close(self) -> None:
        await self._redis.aclose()


__all__ = [
    "BucketState",
    "Limits",
    "MemoryLimits",
    "RedisLimits",
    "duration",
    "refill",
]
