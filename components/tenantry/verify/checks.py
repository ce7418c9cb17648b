"""Post-deploy checks of one tenant against a live Triton endpoint (and its bucket).

For every model (and its canary version): ready; the artifact in the bucket has the
declared digest; metadata matches the declared signature; served queueing config matches
what Tenantry generated; the model's GPU memory fits its MIG slice; one inference with
inputs of the declared shape returns outputs of the declared shape; the model is warm (it
serves the generated warm-up, has executed before verify's first request, and that first
request is within the p99 target); latency over N requests against the model's
``p99LatencyMs``: p50/p95/p99 reported, the verdict from the count over the target
(:mod:`tenantry.verify.percentile`). Each failure names tenant, model, version and check; a
check that cannot be made here (no bucket access asked for, a backend that reports no memory,
too few requests to judge a p99) is reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ..spec import ResolvedModel, ResolvedTenant
from ..triton.config import QUEUE_DEADLINE_FACTOR, QUEUE_DEADLINE_MIN_US
from .endpoint import Array, Endpoint, EndpointError, TensorSpec
from .expected import (
    served_shape,
    settings_from_pbtxt,
    settings_from_served,
    warmup_from_pbtxt,
    warmup_from_served,
)
from .percentile import DEFAULT_REQUESTS, FALSE_FAIL, allowed_over

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
    skipped: bool = False  # not checked (``detail`` says why); counts neither way


BucketDigest = Callable[[str, str], str]  # (model, version) -> digest of what the bucket holds
GIB = 1 << 30


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
    requests: int = DEFAULT_REQUESTS,
    clock: Callable[[], float] = time.perf_counter,
    revisions: Revisions = "all",
    artifacts: BucketDigest | None = None,
) -> list[CheckResult]:
    """Run every check; ``generated`` maps (model, version) to its generated config.pbtxt.
    ``revisions`` picks the versions checked: while a canary runs, KServe serves the stable
    and the canary revision from separate pods, so each is verified at its own URL.
    ``artifacts`` reads the digest of a version's model directory from the tenant's bucket
    (:func:`tenantry.artifacts.bucket_digest`); without it the artifact check is skipped."""
    results: list[CheckResult] = []

    def record(
        model: str, version: str, check: str, ok: bool, detail: str, skipped: bool = False
    ) -> None:
        results.append(CheckResult(tenant.name, model, version, check, ok, detail, skipped))

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
                artifacts,
            )
    return results


Record = Callable[..., None]  # (check, ok, detail, skipped=False)


def _verify_version(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    pbtxt: str | None,
    requests: int,
    clock: Callable[[], float],
    record: Record,
    artifacts: BucketDigest | None,
) -> None:
    try:
        if not endpoint.model_ready(model.name, version):
            record("ready", False, "the model version is not ready")
            return
    except EndpointError as exc:
        record("ready", False, str(exc))
        return
    record("ready", True, "ready")
    _artifact(model, version, artifacts, record)
    try:
        _signature(model, version, endpoint, record)
        _config(model, version, endpoint, pbtxt, record)
        stats = endpoint.statistics(model.name, version)
        _memory(model, stats, endpoint, record)
        first_ms = _inference(model, version, endpoint, record, clock)
        _warm(model, version, endpoint, pbtxt, stats, first_ms, record)
        if first_ms is not None:
            _latency(model, version, endpoint, requests, clock, record)
    except EndpointError as exc:
        record("request", False, str(exc))


def _artifact(
    model: ResolvedModel, version: str, artifacts: BucketDigest | None, record: Record
) -> None:
    declared = model.artifact_of(version)
    if declared is None:
        record("artifact", True, "no artifact digest declared: not checked", True)
    elif declared.image is not None:
        record(
            "artifact",
            True,
            f"served from oci://{declared.image}: pinned by digest, the registry and the "
            "kubelet verify the image's content against it",
        )
    elif artifacts is None:
        record("artifact", True, "bucket not read (--skip-artifacts): not checked", True)
    else:
        try:
            got = artifacts(model.name, version)
        except Exception as exc:  # S3 errors, DigestError: a failed check, not a traceback
            record("artifact", False, f"cannot read the artifact: {exc}")
            return
        ok = got == declared.digest
        record(
            "artifact",
            ok,
            f"bucket holds {declared.digest}"
            if ok
            else f"declared {declared.digest}, bucket holds {got}: not the reviewed artifact",
        )


def slice_memory_bytes(model: ResolvedModel) -> int | None:
    """Usable memory of the MIG slice (or whole GPU) the model runs on, in bytes, from the
    catalog (``nvidia-smi mig -lgip`` where known, else the profile's nominal size); None
    for a CPU model."""
    if model.gpu is None or model.gpu_model is None:
        return None
    from ..catalog import gpu_models

    gpu = gpu_models()[model.gpu_model]
    if model.gpu == "gpu":
        return int(gpu.memory_gib * GIB)
    prof = gpu.profile(model.gpu)
    if prof is None:
        return None
    return int((prof.usable_memory_gib or prof.memory_gib) * GIB)


def _memory(
    model: ResolvedModel, stats: Mapping[str, Any], endpoint: Endpoint, record: Record
) -> None:
    limit = slice_memory_bytes(model)
    if limit is None:
        record("memory", True, "CPU model: no GPU memory to check", True)
        return
    where = f"the {model.gpu} slice" if model.gpu != "gpu" else "the GPU"
    gpu = [
        int(u.get("byte_size", 0)) for u in stats.get("memory_usage", []) if u.get("type") == "GPU"
    ]
    device = endpoint.device_memory()
    if not gpu and device is None:
        record(
            "memory",
            True,
            "the backend reports no GPU memory (Triton's memory_usage statistics; filled "
            "by the ONNX Runtime and TensorRT backends) and no GPU metrics were read: not "
            "checked",
            True,
        )
        return
    problems, seen = [], []
    if gpu:
        used = sum(gpu)
        seen.append(f"model {used / GIB:.2f} GiB")
        if used > limit:
            problems.append(f"the model holds {used / GIB:.2f} GiB")
    if device is not None:
        used_dev, total = device
        seen.append(f"device {used_dev / GIB:.2f} of {total / GIB:.2f} GiB")
        if used_dev > limit:
            problems.append(f"its device has {used_dev / GIB:.2f} GiB in use")
    record(
        "memory",
        not problems,
        f"{'; '.join(problems)}: over {where}'s {limit / GIB:.2f} GiB"
        if problems
        else f"{', '.join(seen)} within {where}'s {limit / GIB:.2f} GiB",
    )


def cold_threshold_ms(model: ResolvedModel) -> float:
    """A first request slower than this paid a cold start: ten times the p99 target, at
    least 1 s, the queue deadline of the generated config (by then its caller has given up;
    see :mod:`tenantry.triton.config`). Lazy initialisation on a GPU (CUDA context, engine
    deserialisation, kernel autotuning) costs seconds, far above it; one scheduling hiccup
    on a busy host does not."""
    return max(QUEUE_DEADLINE_FACTOR * model.p99_latency_ms, QUEUE_DEADLINE_MIN_US / 1000.0)


def _warm(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    pbtxt: str | None,
    stats: Mapping[str, Any],
    first_ms: float | None,
    record: Record,
) -> None:
    """Warm: the served config runs the generated warm-up, the model had executed before
    verify's first request (Triton counts warm-up executions in its statistics), and that
    first request was not a cold start (:func:`cold_threshold_ms`)."""
    problems = []
    if pbtxt is not None:
        want = warmup_from_pbtxt(pbtxt)
        got = warmup_from_served(endpoint.config(model.name, version))
        if want != got:
            problems.append(
                f"model_warmup: generated {[w[:2] for w in want]}, served {[w[:2] for w in got]}"
            )
    executions = int(stats.get("execution_count", 0))
    if executions == 0:
        problems.append("no execution before verify's first request (no warm-up ran)")
    cold_ms = cold_threshold_ms(model)
    if first_ms is not None and first_ms > cold_ms:
        problems.append(
            f"the first request took {first_ms:.1f} ms, over {cold_ms:g} ms (ten times the "
            f"p99 target, at least 1 s): the model was cold"
        )
    record(
        "warm",
        not problems,
        "; ".join(problems)
        or f"{executions} execution(s) before the first request, which took {first_ms or 0:.1f} ms",
    )


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
        or f"batch {got['max_batch_size']}, no priority levels, "
        f"queue {got['max_queue_size']} {got['timeout_action']}",
    )


def _inference(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    record: Record,
    clock: Callable[[], float],
) -> float | None:
    """One request; its latency in ms when the outputs have the declared shape, else None."""
    start = clock()
    shapes = endpoint.infer(model.name, version, _inputs(model), [t.name for t in model.outputs])
    elapsed = (clock() - start) * 1000.0
    problems = []
    for t in model.outputs:
        # batch of one; a declared -1 dim may come back with any size
        want = (*([1] if model.max_batch_size > 0 else []), *t.dims)
        if not _shape_ok(shapes[t.name], want):
            problems.append(f"{t.name}: expected {list(want)}, got {list(shapes[t.name])}")
    record("inference", not problems, "; ".join(problems) or "outputs have the declared shape")
    return None if problems else elapsed


def _latency(
    model: ResolvedModel,
    version: str,
    endpoint: Endpoint,
    requests: int,
    clock: Callable[[], float],
    record: Record,
) -> None:
    inputs = _inputs(model)
    names = [t.name for t in model.outputs]
    samples = []
    for _ in range(requests):
        start = clock()
        endpoint.infer(model.name, version, inputs, names)
        samples.append((clock() - start) * 1000.0)
    p50, p95, p99 = (float(np.percentile(samples, q)) for q in (50, 95, 99))
    # The verdict counts requests over the target against what a model that meets its p99
    # shows by chance (tenantry.verify.percentile): a rare stall (docs/local-servers.md, the
    # 500 ms dynamic-batcher wait) cannot fail a healthy model, many requests over do.
    over = sum(s > model.p99_latency_ms for s in samples)
    allowed = allowed_over(requests)
    detail = (
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms over {requests} requests "
        f"({over} over the target, slowest {max(samples):.1f} ms); target p99 <= "
        f"{model.p99_latency_ms:g} ms"
    )
    if allowed is None:
        record(
            "latency",
            True,
            f"{detail}; {requests} request(s) cannot show a p99 over its target "
            f"(use --requests {DEFAULT_REQUESTS})",
            True,
        )
        return
    record(
        "latency",
        over <= allowed,
        f"{detail}, at most {allowed} of {requests} over it "
        f"(a model meeting it shows more with p < {FALSE_FAIL:g})",
    )
