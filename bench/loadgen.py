"""Open- and closed-loop gRPC load against a local tritonserver (bounded in count and time,
loopback only). Used by the noisy-neighbour benchmark."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0

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


def _inputs(shape: list[int]) -> list[Any]:
    t = grpcclient.InferInput("x", shape, "FP32")
    t.set_data_from_numpy(np.zeros(shape, dtype=np.float32))
    return [t]


def open_loop(
    url: str,
    model: str,
    rate: float,
    seconds: float,
    outcome: Outcome,
    stop: threading.Event,
    priority: int = 0,
) -> None:
    """Send ``rate`` requests per second for ``seconds`` regardless of replies."""
    client = grpcclient.InferenceServerClient(url)
    lock = threading.Lock()
    inputs = _inputs([1, 4])
    interval = 1.0 / rate
    start = time.perf_counter()
    n = 0
    while not stop.is_set() and n < int(rate * seconds):
        due = start + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent_at = time.perf_counter()

        def done(result: Any = None, error: Any = None, sent_at: float = sent_at) -> None:
            with lock:
                if error is not None:
                    outcome.record_error(str(error))
                else:
                    outcome.latencies_ms.append((time.perf_counter() - sent_at) * 1000.0)

        client.async_infer(model, inputs, callback=done, priority=priority)
        outcome.sent += 1
        n += 1
    _drain(outcome, deadline=time.perf_counter() + 15.0)
    client.close()


def closed_loop(
    url: str,
    model: str,
    window: int,
    stop: threading.Event,
    outcome: Outcome,
    max_requests: int = 200_000,
    priority: int = 0,
) -> None:
    """Keep ``window`` requests in flight until ``stop`` (a flood far past capacity)."""
    client = grpcclient.InferenceServerClient(url)
    lock = threading.Lock()
    inputs = _inputs([1, 4])
    slots = threading.Semaphore(window)
    while not stop.is_set() and outcome.sent < max_requests:
        if not slots.acquire(timeout=0.1):
            continue
        sent_at = time.perf_counter()

        def done(result: Any = None, error: Any = None, sent_at: float = sent_at) -> None:
            with lock:
                if error is not None:
                    outcome.record_error(str(error))
                else:
                    outcome.latencies_ms.append((time.perf_counter() - sent_at) * 1000.0)
            slots.release()

        client.async_infer(model, inputs, callback=done, priority=priority)
        outcome.sent += 1
    _drain(outcome, deadline=time.perf_counter() + 15.0)
    client.close()


def _drain(outcome: Outcome, deadline: float) -> None:
    while outcome.ok + outcome.failed < outcome.sent and time.perf_counter() < deadline:
        time.sleep(0.01)
