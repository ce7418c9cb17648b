"""The resolved tenant: tier defaults applied, placements decided. Every component consumes
this, never raw YAML; tier defaults are applied once (:func:`tenantry.spec.resolve.quotas_of`,
which the quota rules use too) and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

from pydantic import BaseModel

from .model import (
    Access,
    Artifact,
    Canary,
    Storage,
    TenantSpec,
    Tensor,
    VectorNamespace,
    revisions,
)
from .tiers import TierPolicy, VectorDbLimits

TargetKind = Literal["shared-pool", "node-group", "cpu-nodes"]


@dataclass(frozen=True)
class ResolvedQuotas:
    cpu: float
    memory_gib: float
    gpus: dict[str, int]
    max_concurrent_requests: int
    requests_per_second: int
    max_queue_depth: int
    vector_db: VectorDbLimits


@dataclass(frozen=True)
class ResolvedNodeGroup:
    name: str
    instance_type: str
    gpu_model: str
    gpus_per_node: int
    min_size: int
    max_size: int
    capacity_type: str
    mig_layout: dict[str, int] | None
    mig_config: str  # value of the nvidia.com/mig.config label


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    format: str
    version: str
    gpu: str | None  # MIG profile, "gpu", or None (CPU only)
    gpu_resource: str | None  # nvidia.com/mig-<profile> or nvidia.com/gpu
    gpu_model: str | None  # catalog GPU model that serves it
    target_kind: TargetKind
    target: str  # shared pool name, node group name, or "cpu"
    cpu: float
    memory_gib: float
    min_replicas: int
    max_replicas: int
    max_batch_size: int
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    p99_latency_ms: float
    canary: Canary | None
    artifact: Artifact | None = None  # the stable version's; the canary's is on ``canary``

    @property
    def revisions(self) -> int:
        """Revisions that run at once: 2 while a canary splits traffic."""
        return revisions(self.canary)

    def artifact_of(self, version: str) -> Artifact | None:
        """The declared artifact of ``version`` (the stable one or the canary's)."""
        if self.canary is not None and version == self.canary.version:
            return self.canary.artifact
        return self.artifact if version == self.version else None


@dataclass(frozen=True)
class ResolvedLlmAdapter:
    """A tenant's LoRA adapter on a shared base model, limits resolved (tier defaults)."""

    name: str
    served_name: str  # the OpenAI "model" callers send: <tenant>-<name>
    base_model: str
    path: str  # key prefix in the tenant's bucket, ending in '/'
    digest: str
    rank: int
    tokens_per_minute: int
    max_concurrent_requests: int


@dataclass(frozen=True)
class ResolvedLlm:
    """The tenant's own LLM deployment, placed (shared pool or own node group)."""

    name: str
    served_name: str  # <tenant>-<name>: KServe's spec.model.name, vLLM's --served-model-name
    path: str  # key prefix in the tenant's bucket (under models/), ending in '/'
    digest: str
    gpu: str
    gpu_resource: str  # nvidia.com/mig-<profile> or nvidia.com/gpu
    gpus: int  # devices per replica (tensor parallelism for whole GPUs)
    gpu_model: str
    target_kind: TargetKind
    target: str
    replicas: int
    max_model_len: int
    cpu: float  # cores per replica, requests = limits (tenantry.spec.llm_sizing)
    memory_gib: float  # GiB per replica, requests = limits

    @property
    def devices(self) -> int:
        """Devices one replica asks for: ``gpus`` whole GPUs, or one MIG slice."""
        return self.gpus if self.gpu == "gpu" else 1


@dataclass(frozen=True)
class ResolvedTenant:
    name: str
    display_name: str
    cost_center: str
    owner: str | None
    labels: dict[str, str]
    tier: TierPolicy
    region: str
    environment: str
    quotas: ResolvedQuotas
    node_groups: tuple[ResolvedNodeGroup, ...]
    models: tuple[ResolvedModel, ...]
    storage: Storage
    vector_namespaces: tuple[VectorNamespace, ...]
    access: Access
    early_access: bool = False  # spec.rollout.earlyAccess: joins the early rollout waves
    llm_adapters: tuple[ResolvedLlmAdapter, ...] = ()
    llms: tuple[ResolvedLlm, ...] = ()
    source: str = ""
    spec: TenantSpec | None = field(default=None, compare=False, repr=False)


def to_data(value: Any) -> Any:
    """Plain JSON/YAML data for a resolved object (camelCase for spec parts, as in the file)."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in fields(value) if f.name != "spec"}
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    return value
