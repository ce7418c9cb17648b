"""Post-deploy checks of one tenant against a live Triton endpoint.

For every model (and its canary version): ready; metadata matches the declared signature;
served queueing config matches what Tenantry generated; one inference with inputs of the
declared shape returns outputs of the declared shape; p50/p95/p99 latency over N requests
against the model's ``p99LatencyMs``. Each failure names tenant, model, version and check.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from ..spec import ResolvedModel, ResolvedTenant
from .endpoint import Array, Endpoint, EndpointError, TensorSpec
from .expected import served_shape, settings_from_pbtxt, settings_from_served

NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}


@dataclass(frozen=True)
class CheckResult:
    tenant: str
    model: str
    version: str
    check: str
    ok: bool
    detail: str


def _request_shape(model: ResolvedModel, dims: list[int]) -> list[int]:
    concrete = [1 if d == -1 else d for d in dims]
    return [1, *concrete] if model.max_batch_size > 0 else concrete


def _inputs(model: ResolvedModel) -> list[tuple[TensorSpec, Array]]:
    out = []
    for t in model.inputs:
        shape = _request_shape(model, list(t.dims))
        if t.data_type == "BF16":
            raise EndpointError(f"input {t.name}: BF16 inputs cannot be built from numpy")
        if t.data_type == "BYTES":
            data = np.full(shape, b"x", dtype=np.object_)
        else:
            data = np.zeros(shape, dtype=NUMPY[t.data_type])
        out.append((TensorSpec(t.name, t.data_type, tuple(shape)), data))
    return out


def _shape_ok(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return len(got) == len(want) and all(w == -1 or g == w for g, w in zip(got, want, strict=True))


Revisions = Literal["stable", "canary", "all"]


def verify_tenant(
    tenant: ResolvedTenant,
    endpoint: Endpoint,
    generated: Mapping[tuple[str, str], str],
    requests: int = 50,
    clock: Callable[[], float] = time.perf_counter,
    revisions: Revisions = "all",
) -> list[CheckResult]:
    """Run every check; ``generated`` maps (model, version) to its generated config.pbtxt.
    ``revisions`` picks the versions checked: while a canary runs, KServe serves the stable
    and the canary revision from separate pods, so each is verified at its own URL."""
    results: list[CheckResult] = []

    def record(model: str, version: str, check: str, ok: bool, detail: str) -> None:
        results.append(CheckResult(tenant.name, model, version, check, ok, detail))

    try:
        live, ready = endpoint.live(), endpoint.ready()
    except EndpointError as exc:
        record("-", "-", "server", False, str(exc))
        return results
    record("-", "-", "server", live and ready, f"live={live} ready={ready}")
    if not (live and ready):
        return results
    for model in tenant.models:
        versions = []
        if revisions in ("stable", "all"):
            versions.append(model.version)
        if revisions in ("canary", "all") and model.canary:
            versions.append(model.canary.version)
        for version in versions:
            _verify_version(
                model,
                version,
                endpoint,
                generated.get((model.name, version)),
                requests,
                clock,
                functools.partial(record, model.name, version),
            )
    return results


def _verify_version(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    pbtxt: str | None,
    requests: int,
    clock: Callable[[], float],
    record: Callable[[str, bool, str], None],
) -> None:
    try:
        if not endpoint.model_ready(model.name, version):
            record("ready", False, "the model version is not ready")
            return
    except EndpointError as exc:
        record("ready", False, str(exc))
        return
    record("ready", True, "ready")
    try:
        _signature(model, version, endpoint, record)
        _config(model, version, endpoint, pbtxt, record)
        if _inference(model, version, endpoint, record):
            _latency(model, version, endpoint, requests, clock, record)
    except EndpointError as exc:
        record("request", False, str(exc))


def _signature(
    model: ResolvedModel, version: str, endpoint: Endpoint, record: Callable[[str, bool, str], None]
) -> None:
    inputs, outputs = endpoint.metadata(model.name, version)
    want = [(t.name, t.data_type, served_shape(model, t.dims)) for t in model.inputs]
    want_out = [(t.name, t.data_type, served_shape(model, t.dims)) for t in model.outputs]
    got = [(t.name, t.datatype, t.shape) for t in inputs]
    got_out = [(t.name, t.datatype, t.shape) for t in outputs]
    problems = []
    for label, w, g in (("inputs", want, got), ("outputs", want_out, got_out)):
        if sorted(w) != sorted(g):
            problems.append(f"{label}: declared {sorted(w)}, served {sorted(g)}")
    record("signature", not problems, "; ".join(problems) or "inputs and outputs match")


def _config(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    pbtxt: str | None,
    record: Callable[[str, bool, str], None],
) -> None:
    if pbtxt is None:
        record("config", False, "no generated config.pbtxt to compare with")
        return
    want = asdict(settings_from_pbtxt(pbtxt))
    got = asdict(settings_from_served(endpoint.config(model.name, version)))
    drift = [f"{k}: generated {want[k]!r}, served {got[k]!r}" for k in want if want[k] != got[k]]
    record(
        "config",
        not drift,
        "; ".join(drift)
        or f"batch {got['max_batch_size']}, priority levels {got['priority_levels']}, "
        f"queue {got['max_queue_size']} {got['timeout_action']}",
    )


def _inference(
    model: ResolvedModel, version: str, endpoint: Endpoint, record: Callable[[str, bool, str], None]
) -> bool:
    shapes = endpoint.infer(model.name, version, _inputs(model), [t.name for t in model.outputs])
    problems = []
    for t in model.outputs:
        # batch of one; a declared -1 dim may come back with any size
        want = (*([1] if model.max_batch_size > 0 else []), *t.dims)
        if not _shape_ok(shapes[t.name], want):
            problems.append(f"{t.name}: expected {list(want)}, got {list(shapes[t.name])}")
    record("inference", not problems, "; ".join(problems) or "outputs have the declared shape")
    return not problems


def _latency(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    requests: int,
    clock: Callable[[], float],
    record: Callable[[str, bool, str], None],
) -> None:
    inputs = _inputs(model)
    names = [t.name for t in model.outputs]
    samples = []
    for _ in range(requests):
        start = clock()
        endpoint.infer(model.name, version, inputs, names)
        samples.append((clock() - start) * 1000.0)
    p50, p95, p99 = (float(np.percentile(samples, q)) for q in (50, 95, 99))
    ok = p99 <= model.p99_latency_ms
    record(
        "latency",
        ok,
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms over "
        f"{requests} requests; target p99 <= {model.p99_latency_ms:g} ms",
    )
