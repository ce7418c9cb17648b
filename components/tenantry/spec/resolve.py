"""TenantSpec + platform settings -> ResolvedTenant (tier defaults, placements). Pure."""

from __future__ import annotations

from ..catalog import instance_types, layout_name
from .llm_sizing import replica_resources
from .model import TenantSpec
from .platform import PlatformSettings
from .resolved import (
    ResolvedLlm,
    ResolvedLlmAdapter,
    ResolvedModel,
    ResolvedNodeGroup,
    ResolvedQuotas,
    ResolvedTenant,
    TargetKind,
)
from .targets import Target, gpu_resource, gpu_targets, target_for
from .tiers import TIERS, VectorDbLimits


def quotas_of(spec: TenantSpec) -> ResolvedQuotas:
    """The tenant's quotas: what its file sets, else its tier's defaults
    (:data:`tenantry.spec.tiers.TIERS`). GPUs have no default (none unless declared)."""
    d = TIERS[spec.spec.tier].defaults
    q = spec.spec.quotas
    return ResolvedQuotas(
        cpu=q.cpu if q.cpu is not None else d.cpu,
        memory_gib=q.memory_gib if q.memory_gib is not None else d.memory_gib,
        gpus=dict(sorted((q.gpus or {}).items())),
        max_concurrent_requests=q.max_concurrent_requests or d.max_concurrent_requests,
        requests_per_second=q.requests_per_second or d.requests_per_second,
        max_queue_depth=q.max_queue_depth or d.max_queue_depth,
        vector_db=VectorDbLimits(
            connection_limit=q.vector_db.connection_limit or d.vector_db.connection_limit,
            statement_timeout_seconds=q.vector_db.statement_timeout_seconds
            or d.vector_db.statement_timeout_seconds,
            lock_timeout_seconds=q.vector_db.lock_timeout_seconds
            or d.vector_db.lock_timeout_seconds,
            idle_in_transaction_timeout_seconds=q.vector_db.idle_in_transaction_timeout_seconds
            or d.vector_db.idle_in_transaction_timeout_seconds,
        ),
    )


def _own_pool(gpus: list[str], targets: list[Target]) -> str | None:
    """The shared pool of the first of ``gpus`` a target offers (where an isolated tenant
    without node groups has nodes of its own), or None."""
    found = (target_for(g, targets) for g in gpus)
    return next((t.name for t in found if t is not None and t.kind == "shared-pool"), None)


def cpu_place(spec: TenantSpec, targets: list[Target]) -> tuple[TargetKind, str]:
    """Where the CPU-only models of ``spec`` run (one place for all of them): every pod of
    an isolated or dedicated tenant runs on its own nodes, its first node group, else its
    nodes of the shared pool of its first GPU model or LLM; the shared tiers' run on the
    cluster's general nodes (``("cpu-nodes", "cpu")``). ``targets``: :func:`gpu_targets`."""
    s = spec.spec
    tier = TIERS[s.tier]
    if s.node_groups and tier.gpu_sharing != "shared-gpus":
        return "node-group", s.node_groups[0].name
    if tier.gpu_sharing == "exclusive-gpus":
        own = _own_pool([x.gpu for x in s.models if x.gpu] + [x.gpu for x in s.llms], targets)
        if own is not None:
            return "shared-pool", own
    return "cpu-nodes", "cpu"


def resolve(spec: TenantSpec, platform: PlatformSettings, source: str = "") -> ResolvedTenant:
    """Apply tier defaults and decide where each model runs. Assumes :func:`rules.check`
    found no errors (it raises ValueError on a model with no GPU target)."""
    s = spec.spec
    tier = TIERS[s.tier]
    quotas = quotas_of(spec)
    node_groups = []
    for ng in s.node_groups:
        it = instance_types()[ng.instance_type]
        node_groups.append(
            ResolvedNodeGroup(
                name=ng.name,
                instance_type=it.name,
                gpu_model=it.gpu_model,
                gpus_per_node=it.gpus,
                min_size=ng.min_size,
                max_size=ng.max_size,
                capacity_type=ng.capacity_type,
                mig_layout=dict(ng.mig_layout) if ng.mig_layout else None,
                mig_config=layout_name(ng.mig_layout),
            )
        )
    targets = gpu_targets(spec, platform)
    models = []
    for m in s.models:
        kind: TargetKind
        if m.gpu is None:
            (kind, target_name), gpu_model = cpu_place(spec, targets), None
        else:
            target = target_for(m.gpu, targets)
            if target is None:
                raise ValueError(f"model {m.name!r}: no GPU target offers {m.gpu!r}")
            kind = "shared-pool" if target.kind == "shared-pool" else "node-group"
            target_name, gpu_model = target.name, target.gpu_model
        models.append(
            ResolvedModel(
                name=m.name,
                format=m.format,
                version=m.version,
                gpu=m.gpu,
                gpu_resource=gpu_resource(m.gpu) if m.gpu else None,
                gpu_model=gpu_model,
                target_kind=kind,
                target=target_name,
                cpu=m.cpu,
                memory_gib=m.memory_gib,
                min_replicas=m.min_replicas,
                max_replicas=m.max_replicas,
                max_batch_size=m.max_batch_size,
                inputs=tuple(m.inputs),
                outputs=tuple(m.outputs),
                p99_latency_ms=m.p99_latency_ms,
                canary=m.canary,
                artifact=m.artifact,
            )
        )
    tpm = tier.defaults.llm_tokens_per_minute
    adapters = tuple(
        ResolvedLlmAdapter(
            name=a.name,
            served_name=f"{spec.metadata.name}-{a.name}",
            base_model=a.base_model,
            path=a.path,
            digest=a.digest,
            rank=a.rank,
            tokens_per_minute=a.tokens_per_minute or tpm,
            max_concurrent_requests=a.max_concurrent_requests or quotas.max_concurrent_requests,
        )
        for a in s.llm_adapters
    )
    llms = []
    for llm in s.llms:
        target = target_for(llm.gpu, targets)
        if target is None:
            raise ValueError(f"llm {llm.name!r}: no GPU target offers {llm.gpu!r}")
        cpu, memory_gib = replica_resources(
            target.gpu_model, llm.gpu, llm.gpus, llm.cpu, llm.memory_gib
        )
        llms.append(
            ResolvedLlm(
                name=llm.name,
                served_name=f"{spec.metadata.name}-{llm.name}",
                path=llm.path,
                digest=llm.digest,
                gpu=llm.gpu,
                gpu_resource=gpu_resource(llm.gpu),
                gpus=llm.gpus,
                gpu_model=target.gpu_model,
                target_kind="shared-pool" if target.kind == "shared-pool" else "node-group",
                target=target.name,
                replicas=llm.replicas,
                max_model_len=llm.max_model_len,
                cpu=cpu,
                memory_gib=memory_gib,
            )
        )
    md = spec.metadata
    return ResolvedTenant(
        name=md.name,
        display_name=md.display_name or md.name,
        cost_center=md.cost_center,
        owner=md.owner,
        labels=dict(md.labels),
        tier=tier,
        region=s.region,
        environment=platform.environment,
        quotas=quotas,
        node_groups=tuple(node_groups),
        models=tuple(models),
        storage=s.storage,
        vector_namespaces=tuple(s.vector_namespaces),
        access=s.access,
        early_access=s.rollout.early_access,
        llm_adapters=adapters,
        llms=tuple(llms),
        source=source,
        spec=spec,
    )
