"""Per-pod serving caps derived from the tenant's tenant-wide caps (pure).

Load is shed in three layers, outermost first, so that Triton's own queue cap is a backstop
that rarely fires (see docs/gateway.md and the "measured trap" in the Triton notes: a REJECT
queue cap that fires stalls the capped model's dynamic batcher and starves its own goodput):

1. the gateway's per-tenant token bucket (``requests_per_second``) answers 429 first;
2. Knative's queue-proxy lets at most ``container_concurrency`` requests into each pod at once
   (the rest wait in the queue-proxy, not in Triton);
3. Triton's ``default_queue_policy.max_queue_size`` (= the tenant's ``maxQueueDepth``) rejects
   only what got past both. ``container_concurrency`` is never above it, so in steady state
   Triton's queue holds at most ``container_concurrency`` requests and the cap does not fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import ResolvedTenant

SCALE_TARGET_SHARE = 0.7  # autoscale before a pod's concurrency limit is reached


@dataclass(frozen=True)
class ServingCaps:
    container_concurrency: int  # per pod (Knative hard limit)
    scale_target: int  # per pod, concurrency the autoscaler aims for
    max_queue_size: int  # per Triton model (REJECT beyond it)
    requests_per_second: int  # per gateway token bucket
    max_pods: int  # every model's maxReplicas x revisions running at once


def serving_caps(t: ResolvedTenant) -> ServingCaps:
    """``container_concurrency`` splits ``maxConcurrentRequests`` over the most pods the tenant can
    run at once (``maxReplicas`` x revisions, summed over models), so that the tenant's
    in-flight total never exceeds its cap even at full scale-out; at least 1 and never above
    ``maxQueueDepth``."""
    q = t.quotas
    max_pods = max(1, sum(m.max_replicas * m.revisions for m in t.models))
    cc = max(1, min(q.max_concurrent_requests // max_pods, q.max_queue_depth))
    return ServingCaps(
        container_concurrency=cc,
        scale_target=max(1, int(cc * SCALE_TARGET_SHARE)),
        max_queue_size=q.max_queue_depth,
        requests_per_second=q.requests_per_second,
        max_pods=max_pods,
    )
