"""Tiers as data: what each tier means at every layer of isolation.

One table, consumed everywhere (components, planner, policies, docs). Explicit values in a
tenant file win over a tier's default quotas; every other column is the tier's contract and
cannot be overridden per tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Requirement = Literal["forbidden", "allowed", "required"]


@dataclass(frozen=True)
class VectorDbLimits:
    """What the shared vector database enforces on the tenant's login role (see
    :class:`tenantry.data.backend.RoleLimits`): concurrent sessions, and the seconds after
    which a statement is cancelled, a lock wait is cancelled, and a session idle inside an
    open transaction is terminated."""

    connection_limit: int
    statement_timeout_seconds: int
    lock_timeout_seconds: int
    idle_in_transaction_timeout_seconds: int


@dataclass(frozen=True)
class DefaultQuotas:
    cpu: float
    memory_gib: float
    max_concurrent_requests: int
    requests_per_second: int
    max_queue_depth: int
    vector_db: VectorDbLimits
    # Tokens (prompt + completion) per minute of one LLM adapter or own LLM, when the
    # tenant file leaves tokensPerMinute out.
    llm_tokens_per_minute: int
    # GPUs have no default: GPU spend is always declared in the tenant file.


@dataclass(frozen=True)
class TierPolicy:
    name: str
    description: str
    priority_class: str  # Kubernetes PriorityClass (owned by the platform stack)
    priority_value: int
    # Triton rate_limiter priority of a GPU instance (1 gets the most scheduling chances on a
    # shared device) and the vLLM request priority (lower first): tenantry.triton.config
    queue_priority: int
    gpu_sharing: Literal["shared-gpus", "exclusive-gpus", "dedicated-nodes"]
    node_groups: Requirement  # dedicated EKS node groups in the tenant file
    tenant_kms_key: Literal["allowed", "required"]  # own key; "allowed" = may use the platform key
    network_isolation: Literal["standard", "strict"]
    # Availability SLO of every model of the tier: the share of requests (gateway 429s for
    # exceeding the tenant's own rate excluded) answered without a server error, over 30
    # days. Multi-window burn-rate alerts (tenantry.observability.slo) are derived from it.
    availability_objective: float
    defaults: DefaultQuotas


TIERS: dict[str, TierPolicy] = {
    "shared": TierPolicy(
        name="shared",
        description="MIG slices on shared-pool GPUs that other tenants' slices share.",
        priority_class="tenantry-shared",
        priority_value=1000,
        queue_priority=2,
        gpu_sharing="shared-gpus",
        node_groups="forbidden",
        tenant_kms_key="allowed",
        network_isolation="standard",
        availability_objective=0.99,
        defaults=DefaultQuotas(
            cpu=8,
            memory_gib=32,
            max_concurrent_requests=16,
            requests_per_second=50,
            max_queue_depth=32,
            llm_tokens_per_minute=20_000,
            vector_db=VectorDbLimits(
                connection_limit=10,
                statement_timeout_seconds=30,
                lock_timeout_seconds=5,
                idle_in_transaction_timeout_seconds=60,
            ),
        ),
    ),
    "premium": TierPolicy(
        name="premium",
        description="Shared pool, higher scheduling and queue priority, own KMS key.",
        priority_class="tenantry-premium",
        priority_value=10000,
        queue_priority=1,
        gpu_sharing="shared-gpus",
        node_groups="forbidden",
        tenant_kms_key="required",
        network_isolation="standard",
        availability_objective=0.999,
        defaults=DefaultQuotas(
            cpu=32,
            memory_gib=128,
            max_concurrent_requests=64,
            requests_per_second=200,
            max_queue_depth=128,
            llm_tokens_per_minute=100_000,
            vector_db=VectorDbLimits(
                connection_limit=30,
                statement_timeout_seconds=60,
                lock_timeout_seconds=10,
                idle_in_transaction_timeout_seconds=60,
            ),
        ),
    ),
    "isolated": TierPolicy(
        name="isolated",
        description="Whole GPUs never shared with another tenant (shared-pool nodes or own "
        "node groups), strict network isolation.",
        priority_class="tenantry-isolated",
        priority_value=20000,
        queue_priority=1,
        gpu_sharing="exclusive-gpus",
        node_groups="allowed",
        tenant_kms_key="required",
        network_isolation="strict",
        availability_objective=0.999,
        defaults=DefaultQuotas(
            cpu=64,
            memory_gib=256,
            max_concurrent_requests=128,
            requests_per_second=500,
            max_queue_depth=256,
            llm_tokens_per_minute=200_000,
            vector_db=VectorDbLimits(
                connection_limit=60,
                statement_timeout_seconds=120,
                lock_timeout_seconds=10,
                idle_in_transaction_timeout_seconds=120,
            ),
        ),
    ),
    "dedicated": TierPolicy(
        name="dedicated",
        description="Own GPU node groups only; nothing of the tenant runs on shared nodes.",
        priority_class="tenantry-dedicated",
        priority_value=50000,
        queue_priority=1,
        gpu_sharing="dedicated-nodes",
        node_groups="required",
        tenant_kms_key="required",
        network_isolation="strict",
        availability_objective=0.9995,
        defaults=DefaultQuotas(
            cpu=192,
            memory_gib=1024,
            max_concurrent_requests=256,
            requests_per_second=1000,
            max_queue_depth=512,
            llm_tokens_per_minute=500_000,
            vector_db=VectorDbLimits(
                connection_limit=100,
                statement_timeout_seconds=300,
                lock_timeout_seconds=30,
                idle_in_transaction_timeout_seconds=300,
            ),
        ),
    ),
}
