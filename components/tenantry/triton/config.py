"""``config.pbtxt`` for one model revision, generated from the resolved spec (pure).

What it sets and why:

- ``platform`` (or ``backend`` for Python models) from the model's format;
- ``max_batch_size`` and typed ``input``/``output`` tensors (dims exclude the batch dimension);
- ``version_policy`` pinned to the revision's version, so a repository never serves another;
- one instance group: ``KIND_GPU`` when the model has a GPU (a MIG slice appears to the
  container as GPU 0), else ``KIND_CPU``. GPU instances carry a ``rate_limiter`` asking for one
  ``tenantry_device`` slot at the tier's priority: with ``--rate-limit=execution_count`` (the
  InferenceService passes it for GPU models) executions on the device never overlap and, when
  more than one model instance shares the device, the higher tier is scheduled first.
  CPU instances get no rate limiter (the CPU quota already bounds them);
- ``dynamic_batching`` with a ``default_queue_policy`` whose ``max_queue_size`` is the
  tenant's ``maxQueueDepth`` with ``timeout_action: REJECT`` (an unbounded queue makes latency
  meaningless). ``max_queue_delay_microseconds`` is always set (5% of the model's p99 budget,
  100 us to 100 ms): measured on tritonserver 2.51, a capped queue *without* it stalls the
  batcher far worse once the cap rejects. The cap is a backstop: the gateway rate limit and
  Knative's ``containerConcurrency`` shed load before it (see :mod:`tenantry.triton.caps`).
  A queued request is shed once it has waited ten times the model's p99 target (at least
  1 s): by then its caller has given up. A deadline at the target itself turned transient
  slowness into errors (measured: ``[503] Request timeout expired`` for a 20 ms target on a
  busy 2-core host while p99 was otherwise within target).
  No ``priority_levels`` / ``default_priority_level``: they order requests only within the
  model's own queue (``ModelDynamicBatching`` in triton-inference-server/common
  ``protobuf/model_config.proto``; one ``PriorityQueue`` per ``DynamicBatchScheduler`` in
  triton-inference-server/core ``src/dynamic_batch_scheduler.cc``), and every request of a
  Tenantry model is one tenant's, at one default level, so they ordered nothing. Priority
  across tenants sharing a device is the instance group's ``rate_limiter`` priority above.
  A model with ``maxBatchSize: 0`` cannot batch, so Triton has no dynamic batcher or queue
  policy for it; only the outer layers limit it.
  Known cost (docs/local-servers.md): a queue policy with a cap or a deadline, like priority
  levels, turns off Triton's payload prefetching (``PriorityQueue`` in
  triton-inference-server/core ``src/scheduler_utils.cc``), which exposes a missed wakeup in
  the batcher (``WaitForPayloadSlotAvailable`` in ``src/dynamic_batch_scheduler.cc``): a
  request can wait the batcher's 500 ms timeout. Measured on tritonserver 2.51, 5000
  sequential gRPC requests per config to acme's ``fraud-detector`` (``bench/batcher_stall.py``,
  two runs on a loaded 2-core host, 2026-11-30): this config 24 and 46 stalls (0.48%, 0.92%),
  the same with the former priority levels 48 and 28, no queue policy 0 and 0. Dropping the
  priority levels removes dead config, not stalls: once the queue policy turns prefetching
  off, they add nothing measurable (the variant measured first in each run stalled about
  twice as often as the second, whichever it was). Earlier, quieter runs: 0.08-0.10%.
  The queue policy is kept although it costs that tail: the outer layers bound the requests
  *in flight at the queue-proxy*, not those in Triton's queue. A caller that gives up over
  HTTP frees its ``containerConcurrency`` slot (knative/serving ``pkg/queue/handler.go``: the
  slot is held only while the proxied call runs, and that call ends with the caller's
  request context) while Triton keeps its request (Triton cancels only gRPC and C-API
  requests: its user guide, "Request Cancellation"), so under a
  slowdown with impatient callers only the cap and the deadline keep Triton from queueing,
  and then executing, work nobody awaits. Measured (``bench/abandoned_requests.py``: 16
  queue-proxy slots, callers giving up after 0.2 s, a model slow for 10 s): without the
  policy Triton executed all 797 abandoned requests and a new request then waited 11.4 s;
  with it, 398 were shed and a new request waited 0.89 s.
- ``model_warmup`` built from the declared inputs (``zero_data``, ``-1`` dims as 1): one
  sample at batch size 1 and, for a batching model, one at ``max_batch_size``, so lazy
  initialisation (CUDA context, kernel selection, allocator growth) happens during load,
  the largest batch's memory is allocated before traffic arrives, and the model reports
  ready only once the samples have run (Triton runs warm-up while loading the model; with
  a real ``tritonserver`` here, a stand-in's warm-up executions are recorded before the
  server reports ready: ``tests/integration/test_triton_configs.py``). Fields per
  ``ModelWarmup`` in triton-inference-server/common ``protobuf/model_config.proto``:
  ``batch_size`` must be 1 for models that do not batch; a ``TYPE_STRING`` input gets zero
  data (empty strings).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog.runtimes import FORMATS
from ..spec import ResolvedModel, TierPolicy
from .caps import ServingCaps

# format -> ("platform" | "backend", value) in config.pbtxt
BACKEND_BY_FORMAT: dict[str, tuple[str, str]] = {n: f.config for n, f in FORMATS.items()}
DEVICE_RESOURCE = "tenantry_device"
QUEUE_DELAY_SHARE = 0.05
QUEUE_DEADLINE_FACTOR, QUEUE_DEADLINE_MIN_US = 10, 1_000_000
QUEUE_DELAY_MIN_US, QUEUE_DELAY_MAX_US = 100, 100_000
HEADER = (
    "# Generated by tenantry from tenant {tenant!r}, model {model!r}, version {version}.\n"
    "# Do not edit: change the tenant file.\n"
)


class ConfigError(ValueError):
    """A model the generator cannot express (names the field and what is accepted)."""


@dataclass(frozen=True)
class BatchingSettings:
    max_queue_delay_us: int
    max_queue_size: int
    default_timeout_us: int


def batching_settings(m: ResolvedModel, caps: ServingCaps) -> BatchingSettings:
    budget_us = int(m.p99_latency_ms * 1000)
    delay = min(QUEUE_DELAY_MAX_US, max(QUEUE_DELAY_MIN_US, int(budget_us * QUEUE_DELAY_SHARE)))
    return BatchingSettings(
        max_queue_delay_us=delay,
        max_queue_size=caps.max_queue_size,
        default_timeout_us=max(QUEUE_DEADLINE_FACTOR * budget_us, QUEUE_DEADLINE_MIN_US),
    )


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dtype(dt: str) -> str:
    return "TYPE_STRING" if dt == "BYTES" else f"TYPE_{dt}"


def _tensors(section: str, tensors: tuple[object, ...]) -> list[str]:
    out = [f"{section} ["]
    for i, t in enumerate(tensors):
        name, dt, dims = t.name, t.data_type, t.dims  # type: ignore[attr-defined]
        sep = "," if i < len(tensors) - 1 else ""
        out += [
            "  {",
            f"    name: {_q(name)}",
            f"    data_type: {_dtype(dt)}",
            f"    dims: [ {', '.join(str(d) for d in dims)} ]",
            "  }" + sep,
        ]
    out.append("]")
    return out


@dataclass(frozen=True)
class WarmupSample:
    name: str
    batch_size: int
    inputs: tuple[tuple[str, str, tuple[int, ...]], ...]  # (name, TYPE_..., dims)


def warmup_samples(m: ResolvedModel) -> tuple[WarmupSample, ...]:
    """The warm-up requests of ``m``: zero data of every declared input (``-1`` dims as 1),
    at batch size 1 and, when the model batches, at ``max_batch_size``."""
    inputs = tuple(
        (t.name, _dtype(t.data_type), tuple(1 if d == -1 else d for d in t.dims)) for t in m.inputs
    )
    sizes = [1] if m.max_batch_size <= 1 else [1, m.max_batch_size]
    return tuple(WarmupSample(f"zero-batch-{n}", n, inputs) for n in sizes)


def _warmup(m: ResolvedModel) -> list[str]:
    out = ["model_warmup ["]
    samples = warmup_samples(m)
    for i, w in enumerate(samples):
        out += ["  {", f"    name: {_q(w.name)}", f"    batch_size: {w.batch_size}"]
        for name, dtype, dims in w.inputs:
            out += [
                "    inputs {",
                f"      key: {_q(name)}",
                "      value {",
                f"        data_type: {dtype}",
                f"        dims: [ {', '.join(str(d) for d in dims)} ]",
                "        zero_data: true",
                "      }",
                "    }",
            ]
        out.append("  }" + ("," if i < len(samples) - 1 else ""))
    out.append("]")
    return out


def model_config(
    m: ResolvedModel, tier: TierPolicy, caps: ServingCaps, version: str, tenant: str
) -> str:
    """The ``config.pbtxt`` text of revision ``version`` of model ``m``."""
    if m.format not in BACKEND_BY_FORMAT:
        raise ConfigError(
            f"model {m.name!r}: format {m.format!r} is not supported; accepted: "
            f"{', '.join(sorted(BACKEND_BY_FORMAT))}"
        )
    if not version.isdigit():
        raise ConfigError(f"model {m.name!r}: version {version!r} is not a positive integer")
    key, value = BACKEND_BY_FORMAT[m.format]
    lines = [
        f"name: {_q(m.name)}",
        f"{key}: {_q(value)}",
        f"max_batch_size: {m.max_batch_size}",
        f"version_policy: {{ specific: {{ versions: [ {int(version)} ] }} }}",
        *_tensors("input", m.inputs),
        *_tensors("output", m.outputs),
        "instance_group [",
        "  {",
        f"    name: {_q(m.name + ('-gpu' if m.gpu else '-cpu'))}",
        "    count: 1",
        f"    kind: {'KIND_GPU' if m.gpu else 'KIND_CPU'}",
    ]
    if m.gpu:
        lines += [
            "    rate_limiter {",
            f"      resources [ {{ name: {_q(DEVICE_RESOURCE)} count: 1 }} ]",
            f"      priority: {tier.queue_priority}",
            "    }",
        ]
    lines += ["  }", "]"]
    lines += _warmup(m)
    if m.max_batch_size > 0:
        b = batching_settings(m, caps)
        lines += [
            "dynamic_batching {",
            f"  max_queue_delay_microseconds: {b.max_queue_delay_us}",
            "  default_queue_policy {",
            "    timeout_action: REJECT",
            f"    default_timeout_microseconds: {b.default_timeout_us}",
            "    allow_timeout_override: true",
            f"    max_queue_size: {b.max_queue_size}",
            "  }",
            "}",
        ]
    header = HEADER.format(tenant=tenant, model=m.name, version=version)
    return header + "\n".join(lines) + "\n"
