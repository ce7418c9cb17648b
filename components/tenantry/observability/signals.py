"""What is measured, from which metric, with which labels: the one definition of every usage
signal, used by the recording rules, the showback and the cost events (pure, no Pulumi).

Every series Tenantry records carries :data:`SERIES_LABELS` (tenant, tier, cost_center,
model, version). ``tenant``, ``tier`` and ``cost_center`` are *target* labels: the PodMonitor
copies them from the model pod's own labels (the tag policy's ``tenant``/``tier``/
``cost-center``, set by Tenantry) with ``honorLabels: false``, so a label a pod exposes in its
metrics can never claim another tenant (Prometheus renames a clashing scraped label to
``exported_<name>``). ``model`` and ``version`` come from Triton's own series (it labels
every per-model series with the model and version it served; the monitor keeps only the
tenant's declared model names) and, for the sidecar's and queue-proxy's series, from the
pod's ``tenantry.dev/model`` and ``tenantry.dev/model-version`` labels.

Sources of the metric names and labels:

- Triton (``nv_inference_*``): read off ``/metrics`` of the ``tritonserver`` 2.51.0 that the
  ``nvidia-pytriton`` 0.7.0 wheel ships (the e2e test scrapes it), and Triton's
  ``docs/user_guide/metrics.md``. Counters per model and version; durations in microseconds,
  summed per request (a batched execution counts once per request in it).
  ``nv_inference_request_failure{reason}``: ``REJECTED`` counts requests that timed out in
  the scheduler queue ("request timeout in the scheduler", metrics.md), ``CANCELED``,
  ``BACKEND``, ``OTHER``. **Requests refused because the queue is full
  (``max_queue_size``, "Exceeds maximum queue size", HTTP 503 / gRPC UNAVAILABLE) are not
  counted in any Triton metric or statistic** (measured: 64 of 100 concurrent requests
  refused, every failure counter stayed 0), so they are counted where the response passes:
  the pod's Istio sidecar.
- Istio standard metrics (``istio_requests_total``, ``istio_request_duration_milliseconds``,
  reporter ``destination`` = the model pod's own sidecar; labels ``response_code``,
  ``grpc_response_status``, ``response_flags``, ``source_workload_namespace``): Istio docs,
  "Istio Standard Metrics"; emitted by istio/proxy's ``istio_stats`` filter. The gateway
  rate limit (``EnvoyFilter <tenant>-rate-limit``, Envoy ``local_ratelimit`` on the inbound
  sidecar) answers 429 (Envoy docs, "Local rate limit"). A 503 whose ``response_flags`` is
  ``-`` came from upstream (queue-proxy or Triton), not from Envoy itself (Envoy docs,
  access-log ``%RESPONSE_FLAGS%``). Histogram buckets are Envoy's defaults unless the pod
  annotation ``sidecar.istio.io/statsHistogramBuckets`` (Istio 1.18 release notes) sets
  others: Tenantry adds each model's ``p99LatencyMs`` there (:func:`latency_buckets`), so
  "requests at or under the objective" is an exact bucket.
- Knative queue-proxy (port ``http-usermetric``, 9091): ``kn_serving_queue_depth`` (Knative
  >= 1.19, OpenTelemetry; knative/docs ``serving-metrics.md``, knative/serving#16290) or
  ``revision_queue_depth`` (older releases, OpenCensus; Knative docs "Service metrics").

Requests that Prometheus itself sends are excluded from the Istio-based signals: it scrapes
Triton's 8002 and queue-proxy's 9091 in plaintext through the sidecar (the tenant's
PeerAuthentication leaves those two ports PERMISSIVE, :mod:`tenantry.k8s.gateway`), so its
requests carry ``connection_security_policy="none"``, while every request to a model arrives
over mutual TLS (STRICT on the serving ports); a Prometheus with a mesh identity is
excluded by its namespace, ``monitoring``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..k8s.labels import MODEL_LABEL, MODEL_VERSION_LABEL, MONITORING_NAMESPACE
from ..tags import MANDATORY_KEYS

# -- the labels of every series -------------------------------------------------------------
TENANT, TIER, COST_CENTER, MODEL, VERSION = "tenant", "tier", "cost_center", "model", "version"
SERIES_LABELS = (TENANT, TIER, COST_CENTER, MODEL, VERSION)
BY = ", ".join(SERIES_LABELS)
# Kubernetes pod label each series label is copied from (the tag policy's keys, tenantry.tags)
_TENANT_KEY, _COST_CENTER_KEY, _TIER_KEY = MANDATORY_KEYS[0], MANDATORY_KEYS[1], MANDATORY_KEYS[2]
POD_LABEL = {
    TENANT: _TENANT_KEY,
    TIER: _TIER_KEY,
    COST_CENTER: _COST_CENTER_KEY,
    MODEL: MODEL_LABEL,
    VERSION: MODEL_VERSION_LABEL,
}

# -- metric names (see the module docstring for the sources) -----------------------------------
TRITON_SUCCESS = "nv_inference_request_success"
TRITON_FAILURE = "nv_inference_request_failure"
TRITON_QUEUE_US = "nv_inference_queue_duration_us"
TRITON_COMPUTE_US = (
    "nv_inference_compute_input_duration_us",
    "nv_inference_compute_infer_duration_us",
    "nv_inference_compute_output_duration_us",
)
TRITON_PENDING = "nv_inference_pending_request_count"
TRITON_CACHE_HITS = "nv_cache_num_hits_per_model"  # only with Triton's response cache on
ISTIO_REQUESTS = "istio_requests_total"
ISTIO_DURATION_MS = "istio_request_duration_milliseconds"
KNATIVE_QUEUE_DEPTH = ("kn_serving_queue_depth", "revision_queue_depth")

TRITON_METRICS_PORT = 8002  # Triton's --metrics-port default (KServe's Triton runtime)
QUEUE_PROXY_METRICS_PORT_NAME = "http-usermetric"  # Knative queue-proxy, 9091
ENVOY_METRICS_PORT_NAME = "http-envoy-prom"  # Istio sidecar, 15090, /stats/prometheus
ENVOY_METRICS_PORT = 15090

# Envoy's default histogram buckets (ms), which istio_request_duration_milliseconds uses
# unless the pod says otherwise (Envoy: Stats::HistogramSettingsImpl::defaultBuckets).
ENVOY_DEFAULT_BUCKETS_MS = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
)
ISTIO_BUCKETS_ANNOTATION = "sidecar.istio.io/statsHistogramBuckets"


def latency_buckets(p99_latency_ms: float) -> list[float]:
    """Envoy's default buckets plus the model's objective: the value of the pod annotation
    ``sidecar.istio.io/statsHistogramBuckets`` (``{"istiocustom": [...]}``)."""
    return sorted({float(b) for b in ENVOY_DEFAULT_BUCKETS_MS} | {float(p99_latency_ms)})


def le_matcher(bound_ms: float) -> str:
    """A matcher for one bucket's ``le`` label, as Envoy writes it (``120``, ``0.5``) and as
    Prometheus 3 normalises it (``120.0``)."""
    text = f"{bound_ms:g}"
    if "e" in text:
        raise ValueError(f"latency objective {bound_ms} ms cannot be written as a bucket bound")
    pattern = text.replace(".", "\\\\.")
    if "." not in text:
        pattern += "(\\\\.0)?"
    return f'le=~"{pattern}"'


# -- selectors -------------------------------------------------------------------------------
def selector(*matchers: str) -> str:
    """``{a="b", c=~"d"}`` from matchers (empty matchers dropped); ``""`` for none."""
    kept = [m for m in matchers if m]
    return "{" + ", ".join(kept) + "}" if kept else ""


def tenant_matcher(tenant: str | None) -> str:
    """Restrict to one tenant, or to series that carry any tenant at all."""
    return f'{TENANT}="{tenant}"' if tenant else f'{TENANT}!=""'


ISTIO_SERVED = (
    'reporter="destination", connection_security_policy="mutual_tls", '
    f'source_workload_namespace!="{MONITORING_NAMESPACE}"'
)
# Envoy sets the RL response flag on what a rate limit refused (HTTP: 429; gRPC: a
# trailers-only reply whose grpc-status is mapped from 429), RLSE when the rate-limit
# service failed (Envoy docs, access-log %RESPONSE_FLAGS%).
RATE_LIMITED_FLAG = 'response_flags=~".*RL.*"'
NOT_RATE_LIMITED = ('response_code!="429"', 'response_flags!~".*RL.*"')


@dataclass(frozen=True)
class Counter:
    """A usage signal that is a sum of counters: ``metrics`` (summed), extra ``matchers``, a
    ``scale`` (e.g. 1e-6 for microseconds), and alternative ``union`` matcher sets that add
    more series of the same metrics (joined with ``or``, so a series that matches two sets
    is counted once)."""

    name: str
    metrics: tuple[str, ...]
    matchers: tuple[str, ...] = ()
    scale: float = 1.0
    union: tuple[tuple[str, ...], ...] = ()
    extra_by: tuple[str, ...] = ()
    help: str = ""

    def _series(self, fn: str, window: str, tenant: str | None) -> str:
        """The per-series ``fn`` of every metric and matcher set, joined with ``or``. Series
        of different metrics are told apart by a ``signal`` label (``rate()`` drops the
        name, and two metrics with the same labels would collide); series one metric
        matches through two matcher sets are one series, counted once."""
        parts = []
        for metric in self.metrics:
            for matchers in (self.matchers, *self.union):
                part = f"{fn}({metric}{selector(tenant_matcher(tenant), *matchers)}[{window}])"
                if len(self.metrics) > 1:
                    part = f'label_replace({part}, "signal", "{metric}", "", "")'
                parts.append(part)
        return " or ".join(parts)

    def expr(self, fn: str, window: str, tenant: str | None = None) -> str:
        """``sum by (<series labels>) (<fn>(<metric>[<window>]))`` (x scale), for ``fn``
        ``rate`` or ``increase``; one tenant or all."""
        by = ", ".join((*SERIES_LABELS, *self.extra_by))
        body = f"sum by ({by}) ({self._series(fn, window, tenant)})"
        return body if self.scale == 1.0 else f"{body} * {self.scale:g}"


REQUESTS = Counter(
    "requests",
    (TRITON_SUCCESS, TRITON_FAILURE),
    help="inference requests Triton answered (successes and failures)",
)
SUCCESSES = Counter("successes", (TRITON_SUCCESS,), help="requests Triton answered successfully")
FAILURES = Counter(
    "failures",
    (TRITON_FAILURE,),
    extra_by=("reason",),
    help="requests Triton failed, by reason (REJECTED = timed out in its queue)",
)
RATE_LIMITED = Counter(
    "rejections_rate_limited",
    (ISTIO_REQUESTS,),
    (ISTIO_SERVED, 'response_code="429"'),
    union=((ISTIO_SERVED, RATE_LIMITED_FLAG),),
    help="requests the tenant's rate limit refused at the pod's sidecar (429 or flag RL)",
)
QUEUE_FULL = Counter(
    "rejections_queue_full",
    (ISTIO_REQUESTS,),
    (ISTIO_SERVED, 'response_code="503"', 'response_flags="-"'),
    union=((ISTIO_SERVED, 'grpc_response_status="14"', 'response_flags="-"'),),
    help="requests refused upstream of the sidecar with HTTP 503 / gRPC UNAVAILABLE: Triton's "
    "max_queue_size or queue timeout, Knative queue-proxy overflow (and a model not ready)",
)
QUEUE_SECONDS = Counter(
    "queue_seconds",
    (TRITON_QUEUE_US,),
    scale=1e-6,
    help="seconds requests waited in Triton's scheduler queue",
)
COMPUTE_SECONDS = Counter(
    "compute_seconds",
    TRITON_COMPUTE_US,
    scale=1e-6,
    help="seconds of Triton compute (input + infer + output) per request, summed",
)
CACHE_HITS = Counter(
    "cache_hits", (TRITON_CACHE_HITS,), help="requests answered from Triton's response cache"
)
SERVED = Counter(
    "istio_requests",
    (ISTIO_REQUESTS,),
    (ISTIO_SERVED, *NOT_RATE_LIMITED),
    help="requests the pod's sidecar answered, what the tenant's rate limit refused excluded "
    "(the availability SLI's total)",
)
SERVER_ERRORS = Counter(
    "istio_server_errors",
    (ISTIO_REQUESTS,),
    (ISTIO_SERVED, *NOT_RATE_LIMITED, 'response_code=~"5.."'),
    union=((ISTIO_SERVED, *NOT_RATE_LIMITED, 'grpc_response_status=~"2|4|12|13|14|15"'),),
    help="requests answered with a server error: HTTP 5xx or gRPC UNKNOWN, DEADLINE_EXCEEDED, "
    "UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS (the availability SLI's bad events)",
)

USAGE_COUNTERS: tuple[Counter, ...] = (
    REQUESTS,
    SUCCESSES,
    RATE_LIMITED,
    QUEUE_FULL,
    QUEUE_SECONDS,
    COMPUTE_SECONDS,
)


def latency_total(window: str, tenant: str | None, model: str | None = None) -> str:
    """Requests with a duration (the latency SLI's total), rate-limited ones excluded."""
    sel = selector(
        tenant_matcher(tenant),
        f'{MODEL}="{model}"' if model else "",
        ISTIO_SERVED,
        *NOT_RATE_LIMITED,
    )
    return f"sum by ({BY}) (rate({ISTIO_DURATION_MS}_count{sel}[{window}]))"


def latency_fast(window: str, bound_ms: float, tenant: str | None, model: str | None) -> str:
    """Requests answered within ``bound_ms`` (the bucket at the objective)."""
    sel = selector(
        tenant_matcher(tenant),
        f'{MODEL}="{model}"' if model else "",
        ISTIO_SERVED,
        *NOT_RATE_LIMITED,
        le_matcher(bound_ms),
    )
    return f"sum by ({BY}) (rate({ISTIO_DURATION_MS}_bucket{sel}[{window}]))"


def metric_names(counters: Sequence[Counter]) -> set[str]:
    return {m for c in counters for m in c.metrics}
