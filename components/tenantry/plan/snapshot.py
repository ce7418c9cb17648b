"""One tenant's plan: the desired state its real stack program declares (recorded, no cloud),
the key facts a reviewer needs, the guardrail results and the cost estimate. Deterministic:
the same files give byte-identical JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..cost import estimate
from ..planner import FleetPlan
from ..policy import Context, PolicyResource, evaluate
from ..spec import PlatformSettings, Problem, ResolvedTenant

# 2: problems (per tenant, invalid tenants, general); cost lines not priced and unreachable
SCHEMA_VERSION = 2


def facts(t: ResolvedTenant, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a reviewer checks first, from the resolved spec and the recorded resources."""
    gpus: Counter[str] = Counter()
    for m in t.models:
        if m.gpu:
            gpus[f"{m.gpu} ({m.gpu_model})"] += m.min_replicas * m.revisions

    def names(*prefixes: str) -> list[str]:
        return sorted(
            str(r["inputs"].get("bucket") or r["inputs"].get("name") or r["name"])
            for r in records
            if str(r["type"]).startswith(prefixes)
        )

    return {
        "tier": t.tier.name,
        "costCenter": t.cost_center,
        "gpusAtMinReplicas": dict(sorted(gpus.items())),
        "nodeGroups": [
            f"{ng.name}: {ng.min_size}-{ng.max_size} x {ng.instance_type} ({ng.mig_config})"
            for ng in t.node_groups
        ],
        "buckets": names("aws:s3/bucket:", "aws:s3/bucketV2:"),
        "kmsKeys": names("aws:kms/alias:"),
        "roles": names("aws:iam/role:"),
        "models": [
            f"{m.name} v{m.version}"
            + (f" (canary v{m.canary.version} at {m.canary.traffic_percent}%)" if m.canary else "")
            + f" on {m.target}"
            for m in t.models
        ],
        "vectorNamespaces": [f"{v.name} ({v.dimension}d {v.metric})" for v in t.vector_namespaces],
        "llmAdapters": [
            f"{a.served_name} on shared {a.base_model} (rank {a.rank}, "
            f"{a.tokens_per_minute} tokens/min, {a.max_concurrent_requests} concurrent)"
            for a in t.llm_adapters
        ],
        "llms": [
            f"{llm.name} (own runtime, {llm.replicas} x {llm.gpus} x {llm.gpu}) on {llm.target}"
            for llm in t.llms
        ],
        "quotas": {
            "cpu": t.quotas.cpu,
            "memoryGiB": t.quotas.memory_gib,
            "gpus": dict(t.quotas.gpus),
            "maxConcurrentRequests": t.quotas.max_concurrent_requests,
            "requestsPerSecond": t.quotas.requests_per_second,
            "maxQueueDepth": t.quotas.max_queue_depth,
            "vectorDb": {
                "connectionLimit": t.quotas.vector_db.connection_limit,
                "statementTimeoutSeconds": t.quotas.vector_db.statement_timeout_seconds,
                "lockTimeoutSeconds": t.quotas.vector_db.lock_timeout_seconds,
                "idleInTransactionTimeoutSeconds": (
                    t.quotas.vector_db.idle_in_transaction_timeout_seconds
                ),
            },
        },
    }


def policy_resources(records: Sequence[Mapping[str, Any]]) -> list[PolicyResource]:
    return [
        PolicyResource(
            str(r["type"]),
            str(r["name"]),
            r["inputs"],
            str(r.get("urn", "")),
            str(r.get("provider", "")),
        )
        for r in records
        if r.get("custom", True)
    ]


def tenant_plan(
    t: ResolvedTenant,
    platform: PlatformSettings,
    records: Sequence[Mapping[str, Any]],
    tenants: frozenset[str],
    problems: Sequence[Problem] = (),
    *,
    fleet: FleetPlan | None = None,
) -> dict[str, Any]:
    """``problems``: what validation found in the tenant's file (warnings; a tenant with
    errors is not planned). ``fleet``: the fleet plan its own nodes are priced from
    (:func:`tenantry.cost.estimate`)."""
    cost = estimate(t, platform, fleet=fleet)
    violations = evaluate(policy_resources(records), Context(tenants=tenants))
    counts = Counter(str(r["type"]) for r in records)
    return {
        "tenant": t.name,
        "resources": {"total": len(records), "byType": dict(sorted(counts.items()))},
        "facts": facts(t, records),
        "guardrails": {
            "passed": not violations,
            "violations": [
                {"rule": v.rule, "resource": v.resource, "message": v.message} for v in violations
            ],
        },
        "problems": [p.to_dict() for p in problems],
        "cost": {
            "monthlyUsdMin": cost.monthly_usd_min,
            "monthlyUsdMax": cost.monthly_usd_max,
            "unreachableUsd": cost.unreachable_usd,
            "notPriced": list(cost.not_priced),
            "priceDate": cost.price_date,
            "lines": [
                {
                    "item": line.item,
                    "detail": line.detail,
                    "monthlyUsdMin": line.monthly_usd_min,
                    "monthlyUsdMax": line.monthly_usd_max,
                    "priced": line.priced,
                    "unreachableUsd": line.unreachable_usd,
                }
                for line in cost.lines
            ],
        },
        "records": [dict(r) for r in records],
    }
