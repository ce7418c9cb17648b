"""Open- and closed-loop gRPC load against a local tritonserver (bounded in count and time,
loopback only). Used by the noisy-neighbour benchmark."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient

from tenantry.verify.checks import NUMPY


@dataclass(frozen=True)
class Input:
    name: str
    datatype: str
    shape: tuple[int, ...]  # with the batch dim


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    seconds: float = 0.0

    def record_error(self, message: str) -> None:
        key = "queue full" if "maximum queue size" in message else message[:60]
        self.errors[key] = self.errors.get(key, 0) + 1

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def _tensors(inputs: Sequence[Input]) -> list[Any]:
    out = []
    for spec in inputs:
        t = grpcclient.InferInput(spec.name, list(spec.shape), spec.datatype)
        t.set_data_from_numpy(np.zeros(spec.shape, dtype=NUMPY[spec.datatype]))
        out.append(t)
    return out


class _Sink:
    def __init__(self, outcome: Outcome, *releases: threading.Semaphore | None) -> None:
        self.outcome, self.lock = outcome, threading.Lock()
        self.releases = [r for r in releases if r is not None]

    def send(self, client: Any, model: str, tensors: list[Any]) -> None:
        sent_at = time.perf_counter()

        def done(result: Any = None, error: Any = None) -> None:  # keyword args (tritonclient)
            with self.lock:
                if error is not None:
                    self.outcome.record_error(str(error))
                else:
                    self.outcome.latencies_ms.append((time.perf_counter() - sent_at) * 1000.0)
            for sem in self.releases:
                sem.release()

        client.async_infer(model, tensors, callback=done)
        self.outcome.sent += 1


def open_loop(
    url: str, model: str, inputs: Sequence[Input], rate: float, seconds: float, outcome: Outcome
) -> None:
    """Send ``rate`` requests per second for ``seconds``, whatever the replies."""
    client = grpcclient.InferenceServerClient(url)
    tensors, sink = _tensors(inputs), _Sink(outcome)
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sink.send(client, model, tensors)
    outcome.seconds = time.perf_counter() - start
    _drain(outcome, time.perf_counter() + 30.0)
    client.close()


@dataclass
class Gateway:
    """What sits in front of Triton in a Tenantry deployment, emulated in the client: the
    gateway's per-tenant token bucket (``rate`` requests per second, burst ``rate``) and
    Knative's per-pod ``containerConcurrency``. A request it refuses never reaches Triton
    (Envoy answers 429); ``refused`` counts those attempts."""

    rate: float
    concurrency: int
    refused: int = 0

    def __post_init__(self) -> None:
        self.tokens, self.last = self.rate, time.perf_counter()
        self.inflight = threading.Semaphore(self.concurrency)

    def admit(self) -> bool:
        now = time.perf_counter()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1 and self.inflight.acquire(blocking=False):
            self.tokens -= 1
            return True
        self.refused += 1
        return False


def closed_loop(
    url: str,
    model: str,
    inputs: Sequence[Input],
    window: int,
    stop: threading.Event,
    outcome: Outcome,
    max_requests: int = 100_000,
    gateway: Gateway | None = None,
) -> None:
    """Keep ``window`` requests in flight until ``stop``: a flood far past capacity. With a
    ``gateway``, each attempt must pass it first; a refused attempt is retried after 10 ms
    (the flooder's own back-off, which also bounds this emulation's CPU use)."""
    client = grpcclient.InferenceServerClient(url)
    tensors = _tensors(inputs)
    slots = threading.Semaphore(window)
    sink = _Sink(outcome, slots, gateway.inflight if gateway else None)
    start = time.perf_counter()
    while not stop.is_set() and outcome.sent < max_requests:
        if not slots.acquire(timeout=0.05):
            continue
        if gateway is not None and not gateway.admit():
            slots.release()
            time.sleep(0.01)
            continue
        sink.send(client, model, tensors)
    outcome.seconds = time.perf_counter() - start
    _drain(outcome, time.perf_counter() + 30.0)
    client.close()


def _drain(outcome: Outcome, deadline: float) -> None:
    while outcome.ok + outcome.failed < outcome.sent and time.perf_counter() < deadline:
        time.sleep(0.01)
