"""The tenant file, ``tenantry.dev/v1alpha1`` ``Tenant``: pydantic models (pure, no Pulumi).

YAML keys are camelCase, Python attributes snake_case; unknown keys are rejected. These
models check each field on its own; rules that relate fields to each other, to the tier or
to the platform (quotas, MIG placement, node groups) live in :mod:`tenantry.spec.rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from .errors import Unparsed

API_VERSION = "tenantry.dev/v1alpha1"
KIND = "Tenant"

OCI_IMAGE_PATTERN = (
    r"^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]{1,5})?"
    r"(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)+@sha256:[0-9a-f]{64}$"
)
TOKEN_VALUE_PATTERN = r"^[^*\s\x00-\x1f](?:[^*\x00-\x1f]*[^*\s\x00-\x1f])?$"
SUBJECT_PATTERN = r"^[^*/\s\x00-\x1f](?:[^*/\x00-\x1f]*[^*/\s\x00-\x1f])?$"
CLAIM_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$"
BUCKET_PREFIX_PATTERN = r"^([a-z0-9][a-z0-9._-]*/)+$"

Tier = Literal["shared", "premium", "isolated", "dedicated"]
ModelFormat = Literal["onnx", "pytorch", "tensorflow", "tensorrt", "python"]
Metric = Literal["cosine", "l2", "inner_product"]
CapacityType = Literal["on-demand", "spot"]
DataType = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BF16",
    "BYTES",
]  # Triton / KServe v2 protocol tensor types

# DNS-1123 label: lower-case alphanumerics and '-', starting with a letter, ending alnum.
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
TenantName = Annotated[str, StringConstraints(min_length=3, max_length=40, pattern=DNS_LABEL)]
ChildName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=DNS_LABEL)]
# Vector namespaces become SQL identifiers: lower-case letters, digits, underscores.
VectorName = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
]
# Words that stand for "no cost center yet": a tag with one of them looks like a value to
# finance (AWS Cost Explorer groups by it) while allocating the cost to nobody. Compared
# without case and without the separators '.', '_', '-' and spaces ("N/A", "to-do", "TBD").
COST_CENTER_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "costcenter",
        "default",
        "dummy",
        "example",
        "fixme",
        "na",
        "nil",
        "none",
        "notset",
        "null",
        "placeholder",
        "sample",
        "tba",
        "tbc",
        "tbd",
        "todo",
        "unallocated",
        "unassigned",
        "undefined",
        "unknown",
        "unset",
    }
)
COST_CENTER_ACCEPTED = (
    "the finance cost center this tenant's spend is charged to (e.g. CC-1042): letters, "
    "digits, '.', '_' and '-', starting with a letter or digit; not a placeholder such as "
    + ", ".join(repr(w) for w in ("unassigned", "none", "tbd", "todo", "changeme", "000"))
)


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` is a placeholder rather than a cost center (None when it is not one):
    a word of :data:`COST_CENTER_PLACEHOLDERS`, or only zeros or only x's after an optional
    ``cc`` prefix (``000``, ``CC-0000``, ``xxx``)."""
    word = "".join(c for c in value.lower() if c.isalnum())
    if word in COST_CENTER_PLACEHOLDERS:
        return f"{value!r} is a placeholder, not a cost center"
    digits = word.removeprefix("cc")
    if digits and (set(digits) == {"0"} or set(digits) == {"x"}):
        return f"{value!r} is a filler value (only zeros or x's), not a cost center"
    return None


def not_a_placeholder(code: str, tag: str, accepted: str) -> Callable[[str], str]:
    """A pydantic after-validator refusing a :func:`placeholder_reason` value for the
    cost-allocation tag ``tag`` (error ``code``, saying what is ``accepted``)."""

    def check(value: str) -> str:
        why = placeholder_reason(value)
        if why is not None:
            raise PydanticCustomError(
                code,
                "{why}: the {tag} tag on every resource would allocate this spend to nobody "
                "while looking like a real value to finance",
                {"why": why, "tag": tag, "accepted": accepted},
            )
        return value

    return check


real_cost_center = not_a_placeholder("cost_center_placeholder", "cost center", COST_CENTER_ACCEPTED)


CostCenter = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
    AfterValidator(real_cost_center),
]
LabelKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$"),
]
LabelValue = Annotated[
    str, StringConstraints(max_length=63, pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
]
# A MIG profile name (``1g.10gb``, ``1g.10gb+me``) or ``gpu`` for a whole GPU. Whether the
# profile exists on the GPU that will run it is a rule (it depends on the pool).
GpuRequest = Annotated[str, StringConstraints(pattern=r"^(gpu|\d+g\.\d+gb(\+me)?)$")]
Version = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,8}$")]
TensorName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")
]
PositiveInt = Annotated[int, Field(ge=1)]


class Strict(BaseModel):
    """Base: camelCase aliases, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        coerce_numbers_to_str=True,  # `version: 12` in YAML means "12"
    )

    if not TYPE_CHECKING:  # mypy keeps checking every attribute name

        def __getattr__(self, item: str) -> Any:
            # A field missing from a constructed instance is a hole of a partial spec
            # (tenantry.spec.partial): a value of the file that did not parse.
            if item in type(self).model_fields:
                raise Unparsed(f"{type(self).__name__}.{item}")
            return super().__getattr__(item)


class Metadata(Strict):
    name: TenantName = Field(
        description="DNS-1123 label, 3-40 chars; equals the file and stack name."
    )
    display_name: str | None = Field(default=None, max_length=100)
    cost_center: CostCenter = Field(description="Finance cost center; mandatory on every resource.")
    owner: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Owning team's e-mail."
    )
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        description="Extra tags/labels. They can never override the mandatory keys.",
    )


class VectorDbQuotas(Strict):
    """Limits the shared vector database enforces on the tenant's login role. A field left
    out takes the tier's default (see `tiers`)."""

    connection_limit: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="Concurrent sessions of the tenant's database role."
    )
    statement_timeout_seconds: Annotated[int, Field(ge=1, le=86_400)] | None = Field(
        default=None, description="A statement running longer is cancelled."
    )
    lock_timeout_seconds: Annotated[int, Field(ge=1, le=86_400)] | None = Field(
        default=None, description="A statement waiting longer for a lock is cancelled."
    )
    idle_in_transaction_timeout_seconds: Annotated[int, Field(ge=1, le=86_400)] | None = Field(
        default=None,
        description="A session idle inside an open transaction longer is terminated.",
    )


class Quotas(Strict):
    """Per-tenant caps. A field left out takes the tier's default (see `tiers`)."""

    cpu: Annotated[float, Field(gt=0, le=4096)] | None = Field(default=None, description="Cores.")
    memory_gib: Annotated[float, Field(gt=0, le=65536)] | None = Field(
        default=None, alias="memoryGiB"
    )
    gpus: dict[GpuRequest, Annotated[int, Field(ge=0, le=4096)]] | None = Field(
        default=None, description='MIG profile name or "gpu" (whole GPU) -> count.'
    )
    max_concurrent_requests: Annotated[int, Field(ge=1, le=100_000)] | None = None
    requests_per_second: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_queue_depth: Annotated[int, Field(ge=1, le=100_000)] | None = None
    vector_db: VectorDbQuotas = Field(default_factory=VectorDbQuotas)


class NodeGroup(Strict):
    """A dedicated EKS managed node group (isolated and dedicated tiers)."""

    name: ChildName
    instance_type: str = Field(
        description="A GPU instance type from the catalog, e.g. p5.48xlarge."
    )
    min_size: Annotated[int, Field(ge=0, le=1000)]
    max_size: Annotated[int, Field(ge=1, le=1000)]
    capacity_type: CapacityType = "on-demand"
    mig_layout: dict[str, PositiveInt] | None = Field(
        default=None, description="Per-GPU MIG layout {profile: count}; omitted = whole GPUs."
    )


DIM_ACCEPTED = "-1 (a variable-size dimension) or an integer 1..1000000"


def _dimension(value: int) -> int:
    """Triton refuses a 0 dimension: "dimension must be integer >= 1, or -1 to indicate a
    variable-size dimension" (triton-inference-server/core src/model_config_utils.cc,
    ValidateIOShape), so the model would not load."""
    if value == 0:
        raise PydanticCustomError(
            "dimension_zero",
            "a tensor dimension cannot be 0: Triton refuses the model's config",
            {"accepted": DIM_ACCEPTED},
        )
    return value


Dimension = Annotated[
    int,
    Field(ge=-1, le=1_000_000, json_schema_extra={"not": {"const": 0}}),
    AfterValidator(_dimension),
]


class Tensor(Strict):
    name: TensorName
    data_type: DataType
    dims: Annotated[list[Dimension], Field(min_length=1, max_length=8)]


Sha256Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
# An OCI image pinned by digest: [registry[:port]/]repository@sha256:<64 hex> (OCI
# distribution spec: lower-case path components separated by '.', '_', '__' or '-').
OciImage = Annotated[
    str,
    StringConstraints(
        max_length=512,
        pattern=OCI_IMAGE_PATTERN,
    ),
]


class Artifact(Strict):
    """What a model version serves, pinned by content: exactly one of ``digest`` (the
    model directory uploaded to the tenant's bucket; computed with ``tenantry digest DIR``,
    defined in docs/operations.md) or ``image`` (an OCI image by digest, served through
    KServe's OCI storage, ``oci://``)."""

    digest: Sha256Digest | None = Field(
        default=None,
        description="sha256:<hex> over the version's model directory (tenantry digest DIR).",
    )
    image: OciImage | None = Field(
        default=None,
        description="registry/repository@sha256:<hex>: served from this OCI image (KServe "
        "modelcar) instead of the bucket.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Artifact:
        if (self.digest is None) == (self.image is None):
            raise PydanticCustomError(
                "artifact_one_of",
                "must give exactly one of digest or image (it gives both or neither)",
                {
                    "accepted": "exactly one of digest: sha256:<64 hex> (the model directory "
                    "in the bucket: tenantry digest DIR) or image: "
                    "<registry>/<repository>@sha256:<64 hex> (an OCI image)"
                },
            )
        return self


class Canary(Strict):
    version: Version
    traffic_percent: Annotated[int, Field(ge=1, le=99)]
    artifact: Artifact | None = Field(
        default=None, description="The canary version's artifact (see the model's artifact)."
    )


class Model(Strict):
    name: ChildName
    format: ModelFormat
    version: Version
    gpu: GpuRequest | None = Field(
        default=None, description='MIG profile, "gpu" for a whole GPU, or omitted for CPU-only.'
    )
    cpu: Annotated[float, Field(gt=0, le=512)] = 1
    memory_gib: Annotated[float, Field(gt=0, le=4096)] = Field(default=4, alias="memoryGiB")
    min_replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    max_batch_size: Annotated[int, Field(ge=0, le=4096)] = 8
    inputs: Annotated[list[Tensor], Field(min_length=1)]
    outputs: Annotated[list[Tensor], Field(min_length=1)]
    p99_latency_ms: Annotated[float, Field(gt=0, le=600_000)] = 100
    artifact: Artifact | None = Field(
        default=None,
        description="The version's artifact, pinned by digest; required above the shared tier "
        "(platform setting onboarding.requireArtifactDigest).",
    )
    canary: Canary | None = None

    @property
    def revisions(self) -> int:
        """Revisions that run at once: 2 while a canary splits traffic."""
        return revisions(self.canary)


def revisions(canary: Canary | None) -> int:
    """How many revisions of a model run at once: 2 while a canary splits traffic, else 1.
    Quotas, the GPU planner and the cost model all count replicas x this."""
    return 2 if canary else 1


class Storage(Strict):
    retention_days: Annotated[int, Field(ge=1, le=36500)] = 365
    versioning: bool = True
    encryption: Literal["tenant-key", "platform-key"] = Field(
        default="tenant-key",
        description="tenant-key: the tenant's own KMS key (required above the shared tier).",
    )
    force_destroy: bool = Field(
        default=False, description="Allow deleting a non-empty bucket. Default: refused."
    )


class VectorNamespace(Strict):
    name: VectorName
    dimension: Annotated[int, Field(ge=1, le=16000)]
    metric: Metric = "cosine"
    retain_on_delete: bool = Field(default=True, description="Keep the data when removed.")


# An IAM role or user: these ARNs become policy principals (the admin role's trust policy,
# the bucket and key policies), and a group cannot be one ("You cannot identify a user
# group as a principal in a policy": IAM User Guide, "AWS JSON policy elements: Principal",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html),
# so IAM would refuse the policy at deploy time.
IamArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)(/[A-Za-z0-9+=,.@_-]+)+$"
    ),
]


# A token value Istio compares literally: no '*' (Istio reads a leading or trailing '*' as a
# wildcard), no surrounding white space, no control characters.
TokenValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, pattern=TOKEN_VALUE_PATTERN),
]
# A subject is the part of Istio's request principal after the issuer's last '/', so it
# cannot contain one (pilot/pkg/security/authz/model/generator.go splits at the last '/').
Subject = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=256,
        pattern=SUBJECT_PATTERN,
    ),
]
# A top-level claim name as Istio's `request.auth.claims[<name>]` takes it.
ClaimName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=CLAIM_NAME_PATTERN)
]


class Client(Strict):
    """A caller from outside the cluster, identified by a JSON Web Token from one of the
    platform's token issuers (``tokenIssuers`` in the platform settings): its subjects, its
    required claims, or both must match. A request without a valid token that matches some
    client of the tenant is refused at the ingress gateway."""

    name: ChildName = Field(description="A name for this client (shown in plans).")
    issuer: ChildName = Field(description="The `name` of a platform token issuer.")
    subjects: list[Subject] = Field(
        default_factory=list,
        description="Accepted `sub` values (e.g. OAuth client ids); empty: any subject, "
        "then `claims` must say which tokens are this tenant's.",
    )
    claims: dict[ClaimName, Annotated[list[TokenValue], Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Required claims: each named claim must hold one of the listed values "
        "(e.g. {tenant_id: [acme]}).",
    )


class Access(Strict):
    admins: list[IamArn] = Field(
        default_factory=list, description="IAM principals that administer."
    )
    allowed_namespaces: list[ChildName] = Field(
        default_factory=list,
        description="Kubernetes namespaces whose workloads (by their mesh identity) may call "
        "this tenant's models.",
    )
    clients: list[Client] = Field(
        default_factory=list,
        description="Callers from outside the cluster, admitted at the ingress gateway by "
        "their token (see Client).",
    )


class Rollout(Strict):
    early_access: bool = Field(
        default=False,
        description="Take part in the early rollout waves (the platform's canary cohort) "
        "and experiments.",
    )


# Prefixes of the tenant's bucket (tenantry.aws.names re-exports them):
# models/ is read by the tenant's own inference role, adapters/ by the shared LLM runtime.
MODELS_PREFIX = "models/"
ADAPTERS_PREFIX = "adapters/"
Digest = Sha256Digest
# An object-key prefix inside the tenant's own bucket: relative, '/'-separated DNS-ish
# segments, ending in '/'. No '..', no leading '/', no wildcard (it becomes an IAM resource).
BucketPrefix = Annotated[
    str,
    StringConstraints(min_length=2, max_length=200, pattern=BUCKET_PREFIX_PATTERN),
]
LoraRank = Annotated[int, Field(ge=1, le=512)]
# An LLM replica's CPU and memory (requests = limits); None: tenantry.spec.llm_sizing's default
LlmCpu = Annotated[float, Field(gt=0, le=512)] | None
LlmMemoryGiB = Annotated[float, Field(gt=0, le=8192)] | None


class LlmAdapter(Strict):
    """A LoRA adapter of the tenant on a shared base model (platform ``llmBaseModels``).

    The artifact lives in the tenant's own bucket under ``path``; declaring the adapter
    grants the shared runtime of ``baseModel`` read access to exactly that prefix."""

    name: ChildName = Field(
        description="Adapter name; callers name it as the OpenAI 'model' "
        "(served as <tenant>-<name>)."
    )
    base_model: ChildName = Field(description="A shared base model of the platform.")
    path: BucketPrefix = Field(
        description="Key prefix of the PEFT adapter (adapter_config.json, "
        "adapter_model.safetensors) in the tenant's own bucket, under adapters/, ending in '/'."
    )
    digest: Digest = Field(description="sha256 of the adapter artifact (sha256:<64 hex>).")
    rank: LoraRank = Field(description="LoRA rank r; at most the base model's maxLoraRank.")
    tokens_per_minute: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = Field(
        default=None,
        description="Token budget (prompt + completion) per minute; omitted: the tier's default.",
    )
    max_concurrent_requests: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None,
        description="In-flight requests to this adapter; omitted: the tier's default.",
    )


class Llm(Strict):
    """The tenant's own LLM deployment: its own vLLM runtime (LLMInferenceService) in the
    tenant's namespace, sharing no runtime, cache or scheduler with another tenant."""

    name: ChildName
    path: BucketPrefix = Field(
        description="Key prefix of the model (Hugging Face layout) in the tenant's own bucket, "
        "under models/ (what the tenant's inference role reads), ending in '/'."
    )
    digest: Digest = Field(description="sha256 of the model artifact (sha256:<64 hex>).")
    gpu: GpuRequest = Field(description='MIG profile or "gpu" (whole GPUs) per replica.')
    gpus: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1, description='Whole GPUs per replica (gpu: "gpu" only); tensor parallelism.'
    )
    replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    max_model_len: Annotated[int, Field(ge=16, le=1_048_576)] = 8192
    cpu: LlmCpu = Field(
        default=None,
        description="Cores per replica (requests = limits). Default: 2 x (2 + devices), "
        "vLLM's minimum of 2 + N physical cores (see docs/llm.md).",
    )
    memory_gib: LlmMemoryGiB = Field(
        default=None,
        alias="memoryGiB",
        description="Host memory (GiB) per replica (requests = limits). Default: the "
        "replica's GPU memory + 8 (/dev/shm) + 2 per vLLM process (see docs/llm.md).",
    )
    # No tokensPerMinute / maxConcurrentRequests: those are the LLM gateway's per-tenant
    # limits on a shared runtime (llmAdapters). An own LLM serves its tenant alone, its
    # callers reach vLLM directly (no gateway in the path), so nothing would enforce them.


class TenantBody(Strict):
    tier: Tier
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    quotas: Quotas = Field(default_factory=Quotas)
    node_groups: list[NodeGroup] = Field(default_factory=list)
    models: list[Model] = Field(default_factory=list)
    storage: Storage = Field(default_factory=Storage)
    vector_namespaces: list[VectorNamespace] = Field(default_factory=list)
    llm_adapters: list[LlmAdapter] = Field(
        default_factory=list,
        description="LoRA adapters on the platform's shared base models (llmBaseModels).",
    )
    llms: list[Llm] = Field(
        default_factory=list, description="The tenant's own LLM deployments (own runtime)."
    )
    access: Access = Field(default_factory=Access)
    rollout: Rollout = Field(default_factory=Rollout)


class TenantSpec(Strict):
    """One tenant file (``tenants/<name>.yaml``)."""

    model_config = ConfigDict(json_schema_extra={"title": "Tenantry tenant (v1alpha1)"})

    api_version: Literal["tenantry.dev/v1alpha1"]
    kind: Literal["Tenant"]
    metadata: Metadata
    spec: TenantBody
