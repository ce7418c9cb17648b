"""Settings of the shared platform that tenant validation and planning need.

They live in the platform stack's config (``stacks/Pulumi.platform.yaml``, key
``tenantry:platform``) so that one file is the source of truth for the shared pools.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, model_validator

from ..catalog import cpu_m, instance_types, memory_mib, node_allocatable
from .errors import Problem, Severity, Unparsed, format_path, parse_path
from .llm_sizing import replica_resources
from .model import (
    CapacityType,
    ChildName,
    Digest,
    GpuRequest,
    IamArn,
    LlmCpu,
    LlmMemoryGiB,
    LoraRank,
    Strict,
    TenantName,
    Tier,
    not_a_placeholder,
    real_cost_center,
)
from .partial import partial
from .pydantic_errors import booleans_for_numbers, problems_from
from .templates import TemplateError, check_template
from .tiers import TIERS
from .yamlio import SAFE_LOADER, compose, line_of, yaml_problem


def _unique_names(items: list[Any]) -> list[Any]:
    """A list of named entries (shared pools, token issuers, cohorts, base models) takes each
    name once: the name is what the platform's resources, a tenant's references and the
    planner key them by, so a repeated one would collide (duplicate Pulumi URNs) or be read
    as the first entry only."""
    names = [x.name for x in items]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        where = ", ".join(
            f"{n!r} at [{', '.join(str(i) for i, m in enumerate(names) if m == n)}]" for n in dups
        )
        raise ValueError(f"names must be unique; repeated: {where}")
    return items


UniqueNames = AfterValidator(_unique_names)

PLATFORM_STACK = "platform"
# vLLM's OpenAI-compatible server image (docs.vllm.ai, "Using Docker"); pin a digest to deploy.
DEFAULT_VLLM_IMAGE = "vllm/vllm-openai:v0.11.0"
# The LLM gateway's shared token buckets (llmGatewayReplicas > 1): Redis 7.2, the last line
# under the BSD-3-Clause licence (Redis 7.4 moved to RSALv2/SSPLv1: redis.io/legal/licenses);
# the official image (hub.docker.com/_/redis). Pin a digest to deploy.
DEFAULT_REDIS_IMAGE = "docker.io/library/redis:7.2.5-alpine"
# An image reference pinned by digest (OCI distribution spec: <name>@<algorithm>:<hex>).
IMAGE_BY_DIGEST = (
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*@sha256:[0-9a-f]{64}$"
)
CONFIG_KEY = "tenantry:platform"
PREVIOUS_PLAN_KEY = "tenantry:previousPlan"  # platform stack config: the GPU plan running now


class SharedPool(Strict):
    """A shared GPU node pool; the planner sizes it and chooses its MIG layouts."""

    name: ChildName
    instance_type: str
    min_nodes: Annotated[int, Field(ge=0, le=1000)] = 0
    max_nodes: Annotated[int, Field(ge=1, le=1000)]
    capacity_type: CapacityType = "on-demand"


class LlmBaseModel(Strict):
    """A base LLM the platform serves once (one vLLM LLMInferenceService in the platform
    namespace, LoRA enabled) for every tenant of an allowed tier, each with its adapters."""

    name: ChildName = Field(description="What tenants name as an adapter's baseModel.")
    uri: Annotated[str, Field(pattern=r"^(s3|hf|pvc|oci)://[^\s]+$", max_length=1024)] = Field(
        description="Artifact URI of the base model (KServe storage URI: s3://, hf://, "
        "pvc://, oci://)."
    )
    digest: Digest = Field(description="sha256 of the artifact (sha256:<64 hex>).")
    pool: ChildName = Field(description="The shared pool (sharedPools) whose GPUs serve it.")
    gpu: GpuRequest = Field(description='MIG profile or "gpu" (whole GPUs) per replica.')
    gpus: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1, description='Whole GPUs per replica (gpu: "gpu" only); tensor parallelism.'
    )
    replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    tiers: Annotated[list[Tier], Field(min_length=1)] = Field(
        description="Tiers whose tenants may put adapters on it."
    )
    max_lora_rank: LoraRank = Field(
        default=16, description="vLLM --max-lora-rank: the largest adapter rank accepted."
    )
    max_loras: Annotated[int, Field(ge=1, le=256)] = Field(
        default=8, description="vLLM --max-loras: adapters active in one batch."
    )
    max_cpu_loras: Annotated[int, Field(ge=1, le=4096)] = Field(
        default=64, description="vLLM --max-cpu-loras: adapters cached in host memory."
    )
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
        "replica's GPU memory + 8 (/dev/shm) + 2 per vLLM process (see docs/llm.md); "
        "raise it for many large adapters in the host cache (maxCpuLoras).",
    )

    @model_validator(mode="after")
    def _whole_gpus(self) -> LlmBaseModel:
        if self.gpus > 1 and self.gpu != "gpu":
            raise ValueError(
                f"llmBaseModels[{self.name}].gpus: {self.gpus} GPUs per replica needs "
                f'gpu: "gpu" (whole GPUs); a MIG slice ({self.gpu}) is one device'
            )
        return self


SubnetId = Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]
Cidr = Annotated[str, Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")]


class Cluster(Strict):
    """The EKS cluster: adopted by name (default) or created by the platform stack."""

    name: ChildName
    create: bool = Field(default=False, description="false: adopt an existing EKS cluster.")
    # The fields below exist for the platform stack (issue 9); their defaults keep every
    # existing platform config valid.
    version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = Field(
        default="1.33", description="Kubernetes version of a created cluster (create: true)."
    )
    subnet_ids: list[SubnetId] = Field(
        default_factory=list,
        description="Private subnets of the cluster, the shared GPU node groups and the RDS "
        "vector database. Required to create a cluster (at least two, in two availability "
        "zones); when adopting, the default is the cluster's own subnets (its vpcConfig).",
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="A created cluster's public API endpoint is open to these CIDRs only; "
        "empty (default): private endpoint only (deploy from inside the VPC).",
    )
    system_instance_type: str = Field(
        default="m7i.xlarge",
        description="Instance type of the cluster's general (CPU) nodes, where KServe, "
        "Knative, cert-manager, the GPU operator's controllers and the shared tiers' CPU-only "
        "models run: a created cluster's system node group; for an adopted cluster, set it to "
        "the type of its general nodes (validate checks each CPU-only replica fits one, cost "
        "prices their cores at it).",
    )
    system_min_nodes: Annotated[int, Field(ge=1, le=100)] = 2
    system_max_nodes: Annotated[int, Field(ge=1, le=100)] = 4

    @model_validator(mode="after")
    def _create_needs_subnets(self) -> Cluster:
        if self.create and len(self.subnet_ids) < 2:
            raise ValueError(
                "cluster.subnetIds: creating a cluster (create: true) needs at least two "
                "private subnet ids (subnet-...) in two availability zones"
            )
        if self.system_min_nodes > self.system_max_nodes:
            raise ValueError("cluster.systemMinNodes must not exceed cluster.systemMaxNodes")
        return self


class ExistingVectorDb(Strict):
    """A PostgreSQL (with pgvector available) the platform connects to; the admin password
    is the secret Pulumi config ``tenantry:vectorDbPassword``."""

    kind: Literal["existing"]
    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    dbname: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "vectors"
    user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "tenantry_admin"
    sslmode: Literal["require", "verify-ca", "verify-full"] = "require"


class RdsVectorDb(Strict):
    """An RDS PostgreSQL instance the platform stack creates (pgvector needs PostgreSQL 15
    or later on RDS); master password: the secret Pulumi config ``tenantry:vectorDbPassword``."""

    kind: Literal["rds"]
    engine_version: Annotated[str, Field(pattern=r"^(1[5-9]|[2-9]\d)(\.\d+)?$")] = Field(
        default="16",
        description="PostgreSQL major (RDS picks its default minor) or major.minor; 15 or "
        "later (pgvector on RDS).",
    )
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.r6g.large"
    allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)] = 100
    max_allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)] = 1000
    multi_az: bool = True
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    deletion_protection: bool = True
    dbname: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "vectors"
    user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "tenantry_admin"


VectorDb = Annotated[ExistingVectorDb | RdsVectorDb, Field(discriminator="kind")]

# A DNS subdomain (RFC 1123): dot-separated labels of lower-case letters, digits and '-'.
DnsDomain = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$",
    ),
]


class Ingress(Strict):
    """How the platform names the hosts of every InferenceService: Knative Serving's
    ``config-domain`` and ``config-network`` settings, which the platform stack applies
    (and KServe's ``ingress`` config, kept equal). :mod:`tenantry.spec.hosts` derives every
    host of a model from these; validation checks each against DNS's limits.

    Sources: Knative Serving ``config-domain`` and ``config-network``
    (https://knative.dev/docs/serving/using-a-custom-domain/,
    https://knative.dev/docs/serving/services/custom-domains/ and knative/networking
    ``pkg/config/config.go``: ``domain-template`` and ``tag-template``, Go templates over
    ``.Name``/``.Namespace``/``.Domain`` and ``.Tag``/``.Name``); KServe's
    ``inferenceservice-config`` ``ingress.domainTemplate``
    (``{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`` in the KServe chart).
    """

    domain: DnsDomain = Field(
        default="example.com",
        description="The ingress domain (Knative config-domain; KServe ingressDomain). "
        "Knative's and KServe's default is example.com: set the platform's own domain.",
    )
    domain_template: str = Field(
        default="{{.Name}}-{{.Namespace}}.{{.Domain}}",
        description="Knative config-network domain-template: the external host of a route "
        "from {{.Name}} (the route), {{.Namespace}} and {{.Domain}}. Must name {{.Name}} "
        "and {{.Namespace}} (hosts stay unique per model and tenant).",
    )
    tag_template: str = Field(
        default="{{.Tag}}-{{.Name}}",
        description="Knative config-network tag-template: the name of a tagged route from "
        "{{.Tag}} and {{.Name}} (KServe canaries use the tags prev and latest).",
    )

    @model_validator(mode="after")
    def _templates(self) -> Ingress:
        try:
            check_template(
                "domainTemplate",
                self.domain_template,
                fields=("Name", "Namespace", "Domain"),
                required=("Name", "Namespace"),
                kind="host",
            )
            check_template(
                "tagTemplate",
                self.tag_template,
                fields=("Tag", "Name"),
                required=("Tag", "Name"),
                kind="label",
            )
        except TemplateError as exc:
            raise ValueError(str(exc)) from exc
        return self


AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
RoleArn = Annotated[
    str, Field(pattern=r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role(/[A-Za-z0-9+=,.@_-]+)+$")
]


class CostAllocationTagSettings(Strict):
    """Whether the platform stack activates the tag policy's keys as cost-allocation tags.

    AWS lets only an organization's management (payer) account, or an account in no
    organization, activate them ("Using user-defined cost allocation tags", AWS Billing
    User Guide), and a key can be activated only once it has appeared on a resource's
    billing data (up to 24 hours after the first tagged resource). So activation is an
    explicit choice, off by default."""

    activate: bool = Field(
        default=False,
        description="true: the platform stack activates the keys (from the payer account, "
        "directly or through payerRoleArn). false: the payer account's team does it.",
    )
    payer_account_id: AccountId | None = Field(
        default=None,
        description="The organization's management (payer) account; for an account in no "
        "organization, the account itself. Required with activate: true.",
    )
    payer_role_arn: RoleArn | None = Field(
        default=None,
        description="A role in the payer account the platform stack assumes to activate the "
        "keys, when the platform deploys into a member account.",
    )


def _above_shared() -> list[Tier]:
    return ["premium", "isolated", "dedicated"]


class Onboarding(Strict):
    """What a model version must declare before it may be deployed."""

    require_artifact_digest: list[Tier] = Field(
        default_factory=_above_shared,
        description="Tiers whose model versions (and canaries) must declare artifact.digest or "
        "artifact.image. Default: every tier above shared.",
    )


class Cohort(Strict):
    """One rollout wave: the tenants matching any of its selectors (a tenant joins the
    first cohort that matches it)."""

    name: ChildName
    tenants: list[TenantName] = Field(default_factory=list, description="Tenants by name.")
    tiers: list[Tier] = Field(default_factory=list, description="Every tenant of these tiers.")
    early_access: bool = Field(
        default=False, description="Every tenant with spec.rollout.earlyAccess: true."
    )

    @model_validator(mode="after")
    def _selects(self) -> Cohort:
        if not (self.tenants or self.tiers or self.early_access):
            raise ValueError(
                f"cohort {self.name!r} selects no tenant: give tenants, tiers or earlyAccess"
            )
        return self


HttpsUrl = Annotated[str, Field(pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$", max_length=2048)]
# A Kubernetes object name that is a DNS-1123 label (service accounts, namespaces).
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
LabelMap = dict[
    Annotated[
        str, Field(pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
    ],
    Annotated[str, Field(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")],
]


class TokenIssuer(Strict):
    """An OpenID Connect issuer whose JSON Web Tokens the ingress gateway validates, so that
    callers outside the cluster can be admitted (``access.clients`` of a tenant names it).

    The platform stack renders one Istio ``RequestAuthentication`` rule per issuer at the
    ingress gateway (Istio reference, "RequestAuthentication": ``jwtRules`` ``issuer``,
    ``jwksUri``, ``audiences``); a request that carries a token from it that fails
    validation is refused there, one without a token gets no request principal.
    """

    name: ChildName = Field(description="How tenant files refer to this issuer.")
    issuer: HttpsUrl = Field(description="The token's `iss` claim, exactly (OIDC issuer URL).")
    jwks_uri: HttpsUrl = Field(description="Where the issuer publishes its signing keys (JWKS).")
    audiences: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256)]], Field(min_length=1)
    ] = Field(
        description="Accepted `aud` values; a token for any other audience is refused. At "
        "least one: without audiences Istio would accept tokens minted for any service."
    )


class Mesh(Strict):
    """How the cluster's Istio mesh is installed: the facts tenant policies name.

    Defaults are Istio's and Knative's own (``istioctl install`` default profile, which
    Knative's installation guide uses): root namespace ``istio-system``
    (``meshConfig.rootNamespace``), trust domain ``cluster.local``, the ingress gateway
    labelled ``istio: ingressgateway`` (what Knative's ``knative-ingress-gateway`` and
    ``knative-local-gateway`` select: knative-extensions/net-istio ``config/202-gateway.yaml``,
    ``config/203-local-gateway.yaml``) running as ``istio-ingressgateway-service-account``.
    Istio must run with its CNI plugin (``pilot.cni.enabled``): tenant namespaces enforce Pod
    Security ``restricted``, which refuses the ``istio-init`` container (docs/gateway.md).
    """

    root_namespace: K8sName = Field(
        default="istio-system",
        description="Istio's root namespace (meshConfig.rootNamespace): a policy there without "
        "a selector applies to every workload of the mesh.",
    )
    trust_domain: Annotated[str, Field(pattern=r"^[a-z0-9.-]+$", max_length=253)] = Field(
        default="cluster.local", description="The mesh's trust domain (SPIFFE identities)."
    )
    revision: K8sName | None = Field(
        default=None,
        description="Istio revision to inject (namespace label istio.io/rev); unset: the "
        "default revision (label istio-injection=enabled).",
    )
    ingress_gateway_labels: LabelMap = Field(
        default_factory=lambda: {"istio": "ingressgateway"},
        description="Labels of the ingress gateway pods in gatewayNamespace (they serve "
        "Knative's external and cluster-local gateways).",
    )
    ingress_gateway_service_account: K8sName = Field(
        default="istio-ingressgateway-service-account",
        description="Service account of the ingress gateway pods (their mTLS identity).",
    )

    @model_validator(mode="after")
    def _gateway_selector(self) -> Mesh:
        if not self.ingress_gateway_labels:
            raise ValueError(
                "mesh.ingressGatewayLabels: at least one label is needed; without one a "
                "gateway-side policy would select every workload of its namespace"
            )
        return self


class RolloutSettings(Strict):
    """``tenantry fleet up --waves``: the cohorts, in order. Empty (default): an
    ``early-access`` cohort (tenants with spec.rollout.earlyAccess), then one per tier:
    shared, premium, isolated, dedicated. Tenants no cohort selects form a last wave."""

    cohorts: Annotated[list[Cohort], UniqueNames] = Field(default_factory=list)
    parallel: Annotated[int, Field(ge=1, le=64)] = Field(
        default=4, description="Stacks applied at once within a wave."
    )


class Observability(Strict):
    """Where usage is measured and where cost events and the access audit trail land
    (docs/observability.md, docs/cost.md). Prometheus, the collector and the cost-event job
    live in the ``monitoring`` namespace, the one the tenants' network policies let scrape."""

    prometheus_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] = Field(
        default="http://prometheus-operated.monitoring.svc:9090",
        description="The Prometheus that loads the tenants' rules (the Prometheus Operator's "
        "governing service by default).",
    )
    install_prometheus_operator_crds: bool = Field(
        default=True,
        description="Install the Prometheus Operator CRDs (pinned chart); false when the "
        "cluster's Prometheus stack already installs them.",
    )
    cost_events_retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=400, description="How long the cost-event store keeps events."
    )
    audit_retention_days: Annotated[int, Field(ge=1, le=36500)] = Field(
        default=2555,
        description="S3 Object Lock (compliance mode) retention of the audit bucket: cost "
        "events and CloudTrail logs can be neither changed nor deleted before it ends.",
    )
    cost_events_image: str | None = Field(
        default=None,
        description="A container image with tenantry installed and this repository's tenants/ "
        "and stacks/ in its working directory; when set, a CronJob sends the cost events of "
        "every window to the collector. Unset: no events are produced in the cluster.",
    )
    cost_events_window_minutes: Literal[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] = Field(
        default=5,
        description="Length of one cost-event window; a divisor of 60, so windows align to "
        "the hour and the CronJob runs a minute after each closes.",
    )


class PlatformSettings(Strict):
    environment: Annotated[
        ChildName,
        AfterValidator(
            not_a_placeholder(
                "environment_placeholder",
                "environment",
                "the environment this platform is (e.g. prod, staging, dev): a DNS label, "
                "not a placeholder such as 'unassigned', 'none', 'tbd', 'todo', 'changeme'",
            )
        ),
    ] = "prod"
    region: str = "us-east-1"
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] = Field(
        description="The AWS account the platform and every tenant stack deploy into."
    )
    bucket_suffix: (
        Annotated[str, Field(pattern=r"^[a-z0-9](?:-?[a-z0-9])+$", max_length=13)] | None
    ) = Field(
        default=None,
        description="Suffix of every tenant bucket's name, tenantry-<tenant>-<suffix> (S3 "
        "names are global); default: the account id. Set it when one account holds several "
        "environments. 2-13 characters of [a-z0-9-], so every tenant name fits in 63.",
    )
    cluster: Cluster
    shared_pools: Annotated[list[SharedPool], Field(min_length=1), UniqueNames]
    overflow_headroom: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.25,
        description="Share of each tenant's burst (maxReplicas - minReplicas) the shared pools "
        "reserve on top of guaranteed demand.",
    )
    gateway_namespace: ChildName = Field(
        default="istio-system", description="Namespace of the ingress gateway pods."
    )
    mesh: Mesh = Field(
        default_factory=Mesh,
        description="The Istio installation (root namespace, trust domain, gateway identity).",
    )
    token_issuers: Annotated[list[TokenIssuer], UniqueNames] = Field(
        default_factory=list,
        description="OIDC issuers whose tokens admit callers from outside the cluster "
        "(tenant access.clients name them).",
    )
    ingress: Ingress = Field(
        default_factory=Ingress,
        description="Knative/KServe host naming: ingress domain, domain and tag templates.",
    )
    stack_reference: str = Field(
        default="organization/tenantry/platform",
        description="How tenant stacks name the platform stack (StackReference).",
    )
    admins: Annotated[list[IamArn], Field(min_length=1)] = Field(
        description="Platform administrators (manage every tenant key; the tenant key policies "
        "need at least one)."
    )
    cost_center: Annotated[
        str, Field(min_length=1, max_length=64), AfterValidator(real_cost_center)
    ] = Field(
        default="platform",
        description="cost-center tag of the platform's own resources (shared cluster services, "
        "shared GPU pools, vector database), so finance sees the shared cost apart.",
    )
    vector_db: VectorDb = Field(
        default_factory=lambda: RdsVectorDb(kind="rds"),
        description="The shared vector database: kind 'rds' (default: the platform stack "
        "creates an RDS PostgreSQL instance) or kind 'existing' (connect to a PostgreSQL).",
    )
    triton_image_digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = Field(
        default=None,
        description="Digest (sha256:<64 hex>) of the pinned Triton image tag; the runtime "
        "pulls the image by it. Required to deploy the platform stack.",
    )
    triton_tensorflow_image_digest: (
        Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None
    ) = Field(
        default=None,
        description="Digest (sha256:<64 hex>) of the Triton image that serves format: "
        "tensorflow (25.02-py3, the last release with the TensorFlow backend). Required to "
        "deploy the platform stack while a tenant serves a TensorFlow model.",
    )
    cost_allocation_tags: CostAllocationTagSettings = Field(
        default_factory=CostAllocationTagSettings,
        description="Activation of the tag policy's keys as cost-allocation tags.",
    )
    onboarding: Onboarding = Field(default_factory=Onboarding)
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    llm_base_models: Annotated[list[LlmBaseModel], UniqueNames] = Field(
        default_factory=list,
        description="Shared base LLMs served once by the platform stack; tenants add LoRA "
        "adapters (spec.llmAdapters).",
    )
    llm_prefix_caching: Literal["per-tenant-salt", "off"] = Field(
        default="off",
        description="Prefix caching of shared LLM runtimes. per-tenant-salt: on, the gateway "
        "overwrites each request's cache_salt with the caller tenant's secret salt (vLLM "
        "never shares KV blocks across salts); off: --no-enable-prefix-caching.",
    )
    llm_runtime_tls: bool = Field(
        default=False,
        description="Whether KServe serves the shared LLM runtimes over TLS: it must equal "
        "enableLLMInferenceServiceTLS in the ingress key of KServe's inferenceservice-config "
        "ConfigMap (KServe's default: false; the kserve-resources v0.20.0 chart has no value "
        "for it, so the operator sets it there). false: the gateway calls each runtime's "
        "workload Service over http, inside the mesh's STRICT mTLS; true: over https, "
        "trusting only the ca.crt KServe issues for that runtime.",
    )
    vllm_image: str = Field(
        default=DEFAULT_VLLM_IMAGE,
        pattern=r"^[^@\s]+$",
        description="vLLM image (by tag, no digest: vllmImageDigest pins it) of every "
        "LLMInferenceService the platform and tenants run.",
    )
    vllm_image_digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = Field(
        default=None,
        description="Digest (sha256:<64 hex>) of vllmImage's tag; every LLMInferenceService "
        "pulls the image by it. Required to deploy a platform with llmBaseModels and a tenant "
        "with llms (offline renders name the tag and annotate it unpinned).",
    )
    llm_gateway_image: Annotated[str, Field(pattern=IMAGE_BY_DIGEST, max_length=512)] | None = (
        Field(
            default=None,
            description="The Tenantry LLM gateway's image, pulled by digest "
            "(<registry>/<repository>@sha256:<64 hex>; built from the repository's "
            ".ci/llm-gateway.Dockerfile). Required to deploy a platform with "
            "llmBaseModels: the gateway is the only way to the shared runtimes.",
        )
    )
    llm_gateway_replicas: Annotated[int, Field(ge=1, le=64)] = Field(
        default=2,
        description="Replicas of the LLM gateway (1-64). With 2 or more (the default) the "
        "gateway survives the loss of a pod or node and rolls without a gap, and the "
        "platform runs a Redis for the token buckets and concurrency leases the replicas "
        "share (llmRedisImage); 1 is a single point of failure for every tenant of the "
        "shared base models (tenantry validate warns).",
    )
    llm_redis_image: str = Field(
        default=DEFAULT_REDIS_IMAGE,
        pattern=r"^[^@\s]+$",
        description="Redis image (by tag, no digest: llmRedisImageDigest pins it) holding "
        "the LLM gateway replicas' shared token buckets.",
    )
    llm_redis_image_digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = Field(
        default=None,
        description="Digest (sha256:<64 hex>) of llmRedisImage's tag, pulled by it. "
        "Required to deploy llmBaseModels with llmGatewayReplicas above 1 (offline "
        "renders name the tag and annotate it unpinned).",
    )

    @property
    def llm_gateway_shares_state(self) -> bool:
        """Whether the gateway's replicas keep their limits in the platform's Redis."""
        return self.llm_gateway_replicas > 1

    @model_validator(mode="after")
    def _cost_tags_from_the_payer(self) -> PlatformSettings:
        c = self.cost_allocation_tags
        role_account = c.payer_role_arn.split(":")[4] if c.payer_role_arn else None
        if c.payer_role_arn and not c.activate:
            raise ValueError(
                "costAllocationTags.payerRoleArn: only used with activate: true; remove it or "
                "set activate: true"
            )
        if not c.activate:
            return self
        if c.payer_account_id is None:
            raise ValueError(
                "costAllocationTags.payerAccountId: required with activate: true: the "
                "organization's management (payer) account, the only account that can "
                "activate cost-allocation tags (the account itself if it is in no "
                "organization)"
            )
        if role_account is not None and role_account != c.payer_account_id:
            raise ValueError(
                f"costAllocationTags.payerRoleArn: {c.payer_role_arn!r} is in account "
                f"{role_account}, not in the payer account {c.payer_account_id}"
            )
        if c.payer_account_id != self.account_id and role_account is None:
            raise ValueError(
                f"costAllocationTags: cost-allocation tags can only be activated in the "
                f"organization's management (payer) account {c.payer_account_id}, and the "
                f"platform deploys into member account {self.account_id}. Set "
                "costAllocationTags.payerRoleArn to a role in the payer account that the "
                "platform stack may assume, or set activate: false and activate the keys "
                "there (Billing and Cost Management console, Cost allocation tags)"
            )
        return self

    observability: Observability = Field(
        default_factory=Observability,
        description="Monitoring, cost events and the access audit trail.",
    )

    @model_validator(mode="after")
    def _llm_base_models(self) -> PlatformSettings:
        pools = {p.name for p in self.shared_pools}
        types = {p.name: p.instance_type for p in self.shared_pools}
        sharing = [t.name for t in TIERS.values() if t.gpu_sharing == "shared-gpus"]
        for b in self.llm_base_models:
            if b.pool not in pools:
                raise ValueError(
                    f"llmBaseModels[{b.name}].pool: {b.pool!r} is not a shared pool; "
                    f"accepted: {sorted(pools)}"
                )
            it = instance_types().get(types[b.pool])
            if b.gpu == "gpu" and it is not None and b.gpus > it.gpus:
                # one pod per replica asking for all its GPUs (kserve v0.20.0
                # workload_single_node.go): one node must hold them all
                raise ValueError(
                    f"llmBaseModels[{b.name}].gpus: one replica is one pod asking for "
                    f"{b.gpus} GPUs, and a {it.name} node of pool {b.pool!r} has {it.gpus}: "
                    f"the pod would never be scheduled; accepted: <= {it.gpus}"
                )
            if it is not None:
                cpu, mem = replica_resources(it.gpu_model, b.gpu, b.gpus, b.cpu, b.memory_gib)
                _fits_a_node(b, it.name, it.vcpu, it.memory_gib, cpu, mem)
            # One vLLM process on the shared pool's GPUs serves every granted tenant's
            # adapter (docs/llm.md); a tier with GPUs or nodes of its own would lose them.
            own = [t for t in b.tiers if TIERS[t].gpu_sharing != "shared-gpus"]
            if own:
                raise ValueError(
                    f"llmBaseModels[{b.name}].tiers: {own[0]!r} runs every pod of its tenants "
                    f"on their own GPUs and nodes ({TIERS[own[0]].gpu_sharing}), and a base "
                    "model's runtime serves every granted tenant's adapter in one process on "
                    f"shared GPUs (its tenants declare own LLMs, spec.llms, instead); accepted: "
                    f"tiers that share GPUs: {', '.join(sharing)}"
                )
        return self

    def base_model(self, name: str) -> LlmBaseModel | None:
        return next((b for b in self.llm_base_models if b.name == name), None)

    def base_model_resources(self, b: LlmBaseModel) -> tuple[float, float]:
        """(cores, GiB) one replica of base model ``b`` requests and is limited to: its
        ``cpu`` and ``memoryGiB``, else the defaults for its pool's GPU model
        (:func:`tenantry.spec.llm_sizing.replica_resources`)."""
        pool = self.pool(b.pool)
        if pool is None:
            raise ValueError(f"llmBaseModels[{b.name}].pool {b.pool!r} is not a shared pool")
        gpu_model = instance_types()[pool.instance_type].gpu_model
        return replica_resources(gpu_model, b.gpu, b.gpus, b.cpu, b.memory_gib)

    @model_validator(mode="after")
    def _unique_issuers(self) -> PlatformSettings:
        urls = [i.issuer for i in self.token_issuers]
        dup = sorted({u for u in urls if urls.count(u) > 1})
        if dup:
            raise ValueError(
                f"tokenIssuers: one entry per issuer URL (Istio merges the rules of one "
                f"issuer on a workload); repeated: {', '.join(dup)}"
            )
        return self

    def issuer(self, name: str) -> TokenIssuer | None:
        return next((i for i in self.token_issuers if i.name == name), None)

    def pool(self, name: str) -> SharedPool | None:
        return next((p for p in self.shared_pools if p.name == name), None)

    @property
    def pinned_vllm_image(self) -> str:
        """``<vllmImage>@<vllmImageDigest>`` (the digest decides what is pulled, the tag says
        which release it is); without a digest (offline renders only) the tag."""
        digest = self.vllm_image_digest
        return self.vllm_image + (f"@{digest}" if digest else "")

    def image_digest(self, setting: str) -> str | None:
        """The digest a runtime's image is pulled by, from the setting it names
        (:attr:`tenantry.catalog.runtimes.ServingRuntime.digest_setting`, camelCase)."""
        for name, f in type(self).model_fields.items():
            if f.alias == setting or name == setting:
                value = getattr(self, name)
                return None if value is None else str(value)
        raise KeyError(setting)

    def namespaces(self) -> dict[str, str]:
        """The Kubernetes namespaces these settings name -> the setting that names it (no
        tenant may take one: :mod:`tenantry.catalog.namespaces`)."""
        return {self.gateway_namespace: "gatewayNamespace"}


def _fits_a_node(
    b: LlmBaseModel, instance_type: str, vcpu: int, memory_gib: int, cpu: float, mem: float
) -> None:
    """Raises when one replica of ``b`` asks for more CPU or memory than an empty node of
    its pool offers its pods (:func:`tenantry.catalog.node_allocatable`, what the fleet
    planner packs against): the pod would never be scheduled."""
    alloc = node_allocatable(vcpu, memory_gib, gpu_node=True)
    for field, asked, need, has, unit, declared in (
        ("cpu", cpu, cpu_m(cpu), alloc.cpu_m, "cores", b.cpu),
        ("memoryGiB", mem, memory_mib(mem), alloc.memory_mib, "GiB", b.memory_gib),
    ):
        if need > has:
            shown = has / (1000 if field == "cpu" else 1024)
            default = "" if declared is not None else " (the default, see docs/llm.md)"
            raise ValueError(
                f"llmBaseModels[{b.name}].{field}: one replica asks for {asked:g} {unit}"
                f"{default}, more than an empty {instance_type} node of pool {b.pool!r} offers "
                f"its pods ({shown:g} {unit} allocatable, less the kubelet's reserve and the "
                f"node agents' DaemonSets): the pod would never be scheduled; accepted: "
                f"<= {math.floor(shown * 1000) / 1000:g}"
            )


def platform_config_path(stacks_dir: Path) -> Path:
    return stacks_dir / f"Pulumi.{PLATFORM_STACK}.yaml"


# Where the settings sit in the stack config file, for line numbers.
SETTINGS_AT: tuple[str, ...] = ("config", CONFIG_KEY)


class PlatformError(ValueError):
    """The platform stack config cannot be used; ``problems`` name the file, line, field,
    value given and what is accepted (``str()`` is one line per problem)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


def platform_problem(
    stacks_dir: Path | None,
    path: str,
    code: str,
    message: str,
    value: object = None,
    accepted: str | None = None,
    severity: Severity = "error",
) -> Problem:
    """A problem about field ``path`` of the settings (e.g. ``sharedPools[0].maxNodes``),
    with its line in ``Pulumi.platform.yaml`` and shown as ``tenantry:platform.<path>``
    (``stacks_dir`` None: settings built in code, no file to point at)."""
    shown = f"{CONFIG_KEY}.{path}" if path else CONFIG_KEY
    if stacks_dir is None:
        return Problem(f"<{CONFIG_KEY}>", shown, code, message, value, accepted, severity)
    file = platform_config_path(stacks_dir)
    try:
        root = compose(file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError):
        root = None
    line = line_of(root, (*SETTINGS_AT, *parse_path(path)))
    return Problem(str(file), shown, code, message, value, accepted, severity, line)


def load_platform(stacks_dir: Path) -> PlatformSettings:
    """Read the platform stack's config; raises :class:`PlatformError` (a ValueError) with
    every problem, each naming the file, line and field, when it is bad."""
    path = platform_config_path(stacks_dir)
    file = str(path)
    accepted = f"a Pulumi stack config with {CONFIG_KEY}: the platform settings"
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PlatformError(
            [
                Problem(
                    file,
                    "",
                    "not_found",
                    "no platform stack config (run tenantry from the repository root, or "
                    "pass --stacks DIR)",
                    accepted=accepted,
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PlatformError(
            [Problem(file, "", "unreadable", f"cannot read the file: {detail}")]
        ) from None
    try:
        doc: Any = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise PlatformError([yaml_problem(exc, file, text, accepted)]) from None
    config = (doc or {}).get("config", {}) if isinstance(doc, dict) else None
    root = compose(text)
    if not isinstance(config, dict) or CONFIG_KEY not in config:
        raise PlatformError(
            [
                Problem(
                    file,
                    CONFIG_KEY,
                    "missing",
                    "is required (a mapping of the platform settings)",
                    accepted=accepted,
                    line=line_of(root, ("config",)),
                )
            ]
        )
    try:
        settings = _mapping(config[CONFIG_KEY])
    except ValueError as exc:
        raise PlatformError(
            [
                Problem(
                    file,
                    CONFIG_KEY,
                    "dict_type",
                    str(exc),
                    accepted="a mapping, or its JSON text",
                    line=line_of(root, SETTINGS_AT),
                )
            ]
        ) from None
    settings.setdefault("region", config.get("aws:region", "us-east-1"))
    found = booleans_for_numbers(settings, file, PlatformSettings)
    try:
        validated = PlatformSettings.model_validate(settings)
    except ValidationError as exc:
        found += problems_from(exc, file, PlatformSettings)
        found += _cross_field_problems(settings, found, file)
    if not found:
        return validated
    problems = [
        replace(
            p,
            line=line_of(root, (*SETTINGS_AT, *parse_path(p.path))),
            path=f"{CONFIG_KEY}.{p.path}" if p.path else CONFIG_KEY,
        )
        for p in (_located(p, settings) for p in found)
    ]
    raise PlatformError(problems) from None


def _cross_field_problems(
    settings: dict[str, Any], found: list[Problem], file: str
) -> list[Problem]:
    """The checks across fields (model validators) of the settings objects that hold a
    field in error, run on the fields that parsed (:mod:`tenantry.spec.partial`): pydantic
    skips them there, and their errors would surface only once the others are fixed."""
    try:
        built = partial(PlatformSettings, settings, [parse_path(p.path) for p in found])
    except Unparsed:
        return []
    cross = built.error("PlatformSettings")
    return [] if cross is None else problems_from(cross, file, PlatformSettings)


# "Value error, llmBaseModels[llama-3-8b].pool: ..." - a cross-field check that names its field
_NAMED_FIELD = re.compile(
    r"^Value error, ([a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z][a-zA-Z0-9]*|\[[^\]\s]+\])*): "
)


def _located(p: Problem, doc: dict[str, Any]) -> Problem:
    """A check across fields (a model validator) reports at the object that holds them, with
    that whole object as the value. Where its message starts with the field it is about
    (``cluster.subnetIds: ...``; list items by index or by ``name``), the problem is moved
    to that field, with the field's value; otherwise it keeps its place, without a value."""
    if p.code != "value_error":
        return p
    m = _NAMED_FIELD.match(p.message)
    if m is None:
        value = None if isinstance(p.value, dict | list) else p.value
        return replace(p, value=value, message=p.message.removeprefix("Value error, "))
    parts: list[str | int] = []
    node: Any = doc
    for name, key in re.findall(r"([a-zA-Z][a-zA-Z0-9]*)|\[([^\]]+)\]", m.group(1)):
        if name:
            parts.append(name)
            node = node.get(name) if isinstance(node, dict) else None
            continue
        items = node if isinstance(node, list) else []
        index = next(
            (
                i
                for i, item in enumerate(items)
                if str(i) == key or (isinstance(item, dict) and item.get("name") == key)
            ),
            None,
        )
        if index is None:
            return replace(p, message=p.message.removeprefix("Value error, "))
        parts.append(index)
        node = items[index]
    return replace(
        p,
        path=format_path(tuple(parts)),
        message=p.message[m.end() :],
        value=None if isinstance(node, dict | list) else node,
    )


def _mapping(value: object) -> dict[str, Any]:
    """``tenantry:platform`` as a mapping. The CLI stores a value set as text (``pulumi config
    set tenantry:platform '{...}'``, or ``set-all --plaintext``) as a string of JSON, and
    programs read it back with ``Config.get_object`` (``json.loads``), so that form is
    accepted too. Raises ValueError saying what it is instead."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is a string that is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"is {type(value).__name__}")
    return dict(value)


def parse_platform(doc: object, source: str) -> PlatformSettings:
    """Platform settings from their document (the ``tenantry:platform`` config value, keys
    camelCase); raises :class:`PlatformError` (a ValueError) naming ``source`` and every
    invalid field."""
    problems = booleans_for_numbers(doc, source, PlatformSettings)
    try:
        validated = PlatformSettings.model_validate(doc)
    except ValidationError as exc:
        problems += problems_from(exc, source, PlatformSettings)
    if not problems:
        return validated
    settings = doc if isinstance(doc, dict) else {}
    raise PlatformError([_located(p, settings) for p in problems]) from None
