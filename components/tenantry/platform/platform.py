"""``Platform``: the shared platform every tenant stack stands on
(``tenantry:platform:Platform``).

No ``from __future__ import annotations`` here: Pulumi's schema inference for components
(``pulumi.provider.experimental``) reads ``PlatformArgs``' annotations as objects.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from .._args import args_of
from ..aws.names import tenant_nodes_group_name
from ..catalog.runtimes import RUNTIMES, TRITON_TENSORFLOW, runtime_for, runtimes_for
from ..k8s.llm_inference_service import AdapterGrant
from ..planner import FleetPlan, PoolPlan, mig_parted_config
from ..spec import PlatformSettings
from ..spec.platform import CONFIG_KEY, SharedPool, parse_platform
from ..tags import MANDATORY_KEYS, platform_tags
from ..triton_admin import checked_secret
from .charts import KSERVE_VERSION, triton_image
from .cluster import PlatformCluster, PlatformClusterArgs
from .cost_tags import CostAllocationTags, CostAllocationTagsArgs
from .gpu_operator import GpuOperator, GpuOperatorArgs
from .gpu_pool import (
    PoolPlanError,
    SharedGpuPool,
    SharedGpuPoolArgs,
    TenantGpuNodes,
    TenantGpuNodesArgs,
    carved_tags,
)
from .key import PlatformKey, PlatformKeyArgs
from .kserve import KServe, KServeArgs
from .llm import SharedLlms, SharedLlmsArgs, llm_deploy_problems
from .mesh import PlatformMesh, PlatformMeshArgs
from .names import node_role_name, pool_group_name, vector_db_identifier
from .node_role import NodeRole, NodeRoleArgs
from .observability import PlatformObservability, PlatformObservabilityArgs
from .priority import PriorityClasses, PriorityClassesArgs
from .program import PlatformProgram, PlatformProgramError, platform_plan
from .vector_db import VectorDatabase, VectorDatabaseArgs

A = TypeVar("A", bound=SharedGpuPoolArgs)

SETTINGS_SOURCE = "PlatformArgs.settings"


@dataclass(frozen=True, kw_only=True)
class PlatformArgs:
    """What the :class:`Platform` is built from: its settings as data, where the tenant
    files are (the GPU plan sizes the shared pools from them), the vector database's
    admin password and the platform secret every tenant's Triton admin key is derived from.

    ``settings`` is a document (the platform stack config's ``tenantry:platform`` value,
    keys camelCase), so any Pulumi language can pass it; it is checked, and the tenant files
    in ``tenants_dir`` planned, when the :class:`Platform` is built (``ValueError`` or
    :class:`~tenantry.platform.PlatformProgramError` naming every problem, before any
    resource is declared). From Python, :meth:`from_spec` takes settings and a plan already
    made (nothing is checked or planned twice).
    """

    settings: dict[str, Any]
    """The platform settings (the platform stack config's ``tenantry:platform`` value)."""
    vector_db_password: pulumi.Input[str]
    """The vector database's admin password (pass a secret)."""
    triton_admin_secret: pulumi.Input[str]
    """The platform secret each tenant's Triton admin key is derived from
    (:func:`tenantry.triton.admin_key`; the stack config ``tenantry:tritonAdminSecret``, pass a
    secret). Its own value, so that it rotates without the database's password."""
    llm_salt_key: pulumi.Input[str] | None = None
    """The LLM gateway's cache-salt key (pass a secret: the platform stack's secret config
    ``tenantry:llmSaltKey``, random, never derived from another secret). Required with
    ``llmBaseModels``."""
    llm_redis_password: pulumi.Input[str] | None = None
    """The password of the Redis the LLM gateway replicas share (pass a secret: the platform
    stack's secret config ``tenantry:llmRedisPassword``, random). Required with
    ``llmBaseModels`` and ``llmGatewayReplicas`` above 1."""
    tenants_dir: str | None = None
    """The directory of tenant files the GPU plan is made from (required unless the args
    come from :meth:`from_spec`)."""
    unpinned_preview: bool | None = None
    """Offline renders only: let a platform without ``tritonImageDigest`` render (the
    runtime names the tag and says so); default false: such a platform is refused."""
    _resolved: tuple[object, PlatformSettings, PlatformProgram] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_spec(
        cls,
        settings: PlatformSettings,
        plan: FleetPlan,
        *,
        vector_db_password: pulumi.Input[str],
        triton_admin_secret: pulumi.Input[str],
        llm_salt_key: pulumi.Input[str] | None = None,
        llm_redis_password: pulumi.Input[str] | None = None,
        unpinned_preview: bool = False,
        llm_grants: Sequence[AdapterGrant] = (),
        formats: Collection[str] | None = None,
        tenant_tags: Mapping[str, Mapping[str, str]] | None = None,
    ) -> "PlatformArgs":
        """The args of settings already loaded (:func:`tenantry.load_platform`) and the
        fleet plan made over the tenants (:func:`tenantry.fleet_plan_for`); ``llm_grants``:
        the tenants' adapters on the shared base models
        (:attr:`.program.PlatformProgram.llm_grants`; default none); ``formats``: the
        model formats the tenants serve (:attr:`.program.PlatformProgram.formats`), which
        decide the serving runtimes declared (the default one always, each other one while a
        format it serves is in use, and then it needs its digest to deploy). None, not known: the
        default runtime, and each other one whose digest is set (or every one in an offline
        preview). ``tenant_tags``: each tenant's cost-allocation tags
        (:attr:`.program.PlatformProgram.tenant_tags`), for the nodes carved for it; a
        tenant without them gets the platform's tags with ``tenant=<tenant>``."""
        doc: dict[str, Any] = settings.model_dump(by_alias=True, mode="json", exclude_none=True)
        return cls(
            settings=doc,
            vector_db_password=vector_db_password,
            triton_admin_secret=triton_admin_secret,
            llm_salt_key=llm_salt_key,
            llm_redis_password=llm_redis_password,
            unpinned_preview=unpinned_preview,
            _resolved=(
                doc,
                settings,
                PlatformProgram(
                    plan=plan,
                    formats=None if formats is None else frozenset(formats),
                    llm_grants=tuple(llm_grants),
                    tenant_tags=dict(tenant_tags or {}),
                ),
            ),
        )

    def resolve(self) -> tuple[PlatformSettings, FleetPlan]:
        """The platform settings and the fleet plan these args describe (checked and planned
        now unless :meth:`from_spec` carried them)."""
        settings, program = self.resolve_all()
        return settings, program.plan

    def resolve_all(self) -> tuple[PlatformSettings, PlatformProgram]:
        """:meth:`resolve`, with the model formats the tenants serve (None: not known) and
        their LLM adapter grants: carried by :meth:`from_spec`, else from one verdict on
        ``tenants_dir`` (:func:`.program.platform_plan`)."""
        carried = self._resolved
        if carried is not None and carried[0] is self.settings:
            return carried[1], carried[2]
        settings = parse_platform(self.settings, SETTINGS_SOURCE)
        if not self.tenants_dir:
            raise ValueError(
                "PlatformArgs.tenants_dir: required (the directory of tenant files the GPU "
                "plan sizes the shared pools from)"
            )
        return settings, platform_plan(Path(self.tenants_dir), settings)


class Platform(pulumi.ComponentResource):
    """Composes, with children all named from ``name``:

    - ``<name>-aws`` (``aws.Provider`` in the platform's region, default tags = the
      platform's tags; every AWS child also carries them explicitly, but a tenant's own
      nodes carry the tenant's, :func:`.gpu_pool.carved_tags`);
    - :class:`.key.PlatformKey` (``<name>-key``), :class:`.node_role.NodeRole`
      (``<name>-node-role``, role ``tenantry-platform-<env>-node``);
    - :class:`.cluster.PlatformCluster` (``<name>-cluster``: adopt or create, and the
      Kubernetes provider);
    - one :class:`.gpu_pool.SharedGpuPool` per shared pool (``<name>-pool-<pool>``), sized
      and labelled by ``plan`` (the planner is the one source of node counts and layouts),
      and one :class:`.gpu_pool.TenantGpuNodes` per isolated tenant with demand on it
      (``<name>-pool-<pool>-tenant-<tenant>``: the tenant's own nodes, labelled and tainted
      ``tenantry.dev/tenant=<tenant>``);
    - :class:`.gpu_operator.GpuOperator` (``<name>-gpu-operator``) with
      ``mig_parted_config(plan)``; :class:`.kserve.KServe` (``<name>-kserve``, the Triton
      runtime on the image pinned by ``tritonImageDigest``, the S3 region for the storage
      initializer); :class:`.priority.PriorityClasses` (``<name>-priority``);
      :class:`.mesh.PlatformMesh` (``<name>-mesh``: the activator in the mesh, the token
      issuers' RequestAuthentication at the ingress gateway);
    - :class:`.vector_db.VectorDatabase` (``<name>-vector-db``);
    - :class:`.llm.SharedLlms` (``<name>-llm``, only with ``llmBaseModels``: each shared base
      LLM served once, with the tenants' adapters);
    - :class:`.cost_tags.CostAllocationTags` (``<name>-cost-tags``; activates nothing
      unless ``costAllocationTags.activate``);
    - :class:`.observability.PlatformObservability` (``<name>-observability``: Prometheus
      Operator CRDs, OpenTelemetry collector, cost-event store, Object Lock audit bucket,
      CloudTrail trail, fleet dashboard).

    Arguments: :class:`PlatformArgs`. ``outputs``: every output tenant stacks read
    (:data:`tenantry.platform_ref.PLATFORM_OUTPUTS`) plus ``clusterName``, ``migConfigs``,
    ``sharedPools``, ``kserveVersion``, ``tritonImage``, ``costAllocationTags`` (keys,
    activated), ``costEventsBucket`` and ``auditBucket``, keyed as the stack exports them.
    Raises, before declaring anything, :class:`.gpu_pool.PoolPlanError` when the plan does
    not fit a pool (planner errors, more nodes than ``maxNodes``) and
    :class:`.program.PlatformProgramError` when ``tritonImageDigest`` is not set, unless
    ``unpinned_preview`` (offline renders: the runtime then names the tag and says so).
    """

    TYPE = "tenantry:platform:Platform"

    cluster_name: pulumi.Output[str]
    """The EKS cluster's name."""
    cluster_endpoint: pulumi.Output[str]
    """The EKS cluster's API server endpoint (tenant stacks' Kubernetes provider)."""
    cluster_ca_data: pulumi.Output[str]
    """The EKS cluster's CA certificate, base64 (tenant stacks' Kubernetes provider)."""
    node_role_arn: pulumi.Output[str]
    """IAM role ARN of EKS worker nodes."""
    subnet_ids: pulumi.Output[list[str]]
    """Private subnet ids for node groups."""
    platform_key_arn: pulumi.Output[str]
    """The platform's KMS key."""
    vector_db: pulumi.Output[dict[str, Any]]
    """Admin connection to the shared vector database (secret)."""
    triton_admin_secret: pulumi.Output[str]
    """The platform secret tenants' Triton admin keys are derived from (secret)."""
    mig_configs: pulumi.Output[list[str]]
    """The names of the MIG configurations the GPU operator applies."""
    shared_pools: pulumi.Output[dict[str, Any]]
    """Per shared pool: its node group's name and planned node count, and the same of each
    isolated tenant's own nodes carved from it (``tenantNodes``, by tenant)."""
    cost_events_bucket: pulumi.Output[str]
    """The S3 bucket the cost events land in (expires after the retention)."""
    audit_bucket: pulumi.Output[str]
    """The Object Lock bucket of the access audit trail (cost events, CloudTrail)."""

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(PlatformArgs, args)  # a mapping when the provider host builds it
        settings, program = args.resolve_all()
        plan, formats = program.plan, program.formats
        runtimes = (
            runtimes_for(formats)
            if formats is not None
            else tuple(
                rt
                for rt in RUNTIMES
                if rt is RUNTIMES[0]
                or args.unpinned_preview
                or settings.image_digest(rt.digest_setting)
            )
        )
        for rt in runtimes:
            if settings.image_digest(rt.digest_setting) is None and not args.unpinned_preview:
                image, setting = rt.image.image, rt.digest_setting
                raise PlatformProgramError(
                    f"{CONFIG_KEY}: {setting} is not set; the runtime {rt.name} pulls "
                    f"{image} by digest and Tenantry ships none it could verify. Look it up "
                    f"(docker buildx imagetools inspect {image}, or the NGC catalog) and set "
                    f"{setting}: sha256:<64 hex digits> in stacks/Pulumi.platform.yaml; "
                    "nothing was declared"
                )
        if settings.llm_base_models:
            llm_deploy_problems(
                settings,
                args.llm_salt_key,
                bool(args.unpinned_preview),
                args.llm_redis_password,
            )
        pools = {p.name: p for p in plan.pools if p.kind == "shared-pool"}
        missing = [sp.name for sp in settings.shared_pools if sp.name not in pools]
        if missing:
            raise PoolPlanError(f"the plan has no shared pool(s) {', '.join(missing)}")
        super().__init__(self.TYPE, name, None, opts)
        tags = platform_tags(settings)
        labels = dict(sorted(tags.items()))
        self.aws_provider = aws.Provider(
            f"{name}-aws",
            region=settings.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_aws = pulumi.ResourceOptions(parent=self, providers=[self.aws_provider])
        self.key = PlatformKey(
            f"{name}-key",
            PlatformKeyArgs(account_id=settings.account_id, admins=settings.admins, tags=tags),
            opts=on_aws,
        )
        self.node_role = NodeRole(
            f"{name}-node-role",
            NodeRoleArgs(role_name=node_role_name(settings), tags=tags),
            opts=on_aws,
        )
        self.cluster = PlatformCluster(
            f"{name}-cluster",
            PlatformClusterArgs(
                settings=settings.cluster,
                region=settings.region,
                node_role_arn=self.node_role.arn,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, providers=[self.aws_provider], depends_on=[self.node_role]
            ),
        )
        self.pools: dict[str, SharedGpuPool] = {}
        self.tenant_nodes: dict[str, TenantGpuNodes] = {}
        on_nodes = pulumi.ResourceOptions(
            parent=self, providers=[self.aws_provider], depends_on=[self.node_role]
        )

        def node_args(
            cls: type[A], sp: SharedPool, planned: PoolPlan, group: str, own: Mapping[str, str]
        ) -> A:
            return cls(
                pool=sp,
                planned=planned,
                group_name=group,
                cluster_name=self.cluster.cluster_name,
                node_role_arn=self.node_role.arn,
                subnet_ids=self.cluster.subnet_ids,
                tags=own,
            )

        for sp in settings.shared_pools:
            self.pools[sp.name] = SharedGpuPool(
                f"{name}-pool-{sp.name}",
                node_args(
                    SharedGpuPoolArgs,
                    sp,
                    pools[sp.name],
                    pool_group_name(settings, sp.name),
                    tags,
                ),
                opts=on_nodes,
            )
            for carved in plan.tenant_nodes(sp.name):  # isolated tenants' own nodes
                tenant = carved.tenant or ""
                group = tenant_nodes_group_name(tenant, sp.name)
                self.tenant_nodes[carved.name] = TenantGpuNodes(
                    f"{name}-pool-{sp.name}-tenant-{tenant}",
                    node_args(
                        TenantGpuNodesArgs,
                        sp,
                        carved,
                        group,
                        carved_tags(tags, tenant, program.tenant_tags.get(tenant)),
                    ),
                    opts=on_nodes,
                )
        on_k8s = pulumi.ResourceOptions(parent=self, providers=[self.cluster.provider])
        self.mig_config = mig_parted_config(plan)
        self.gpu_operator = GpuOperator(
            f"{name}-gpu-operator",
            GpuOperatorArgs(mig_config=self.mig_config, labels=labels),
            opts=on_k8s,
        )
        self.triton_image = triton_image(settings.triton_image_digest)
        self.kserve = KServe(
            f"{name}-kserve",
            KServeArgs(
                labels=labels,
                region=settings.region,
                triton_image=self.triton_image,
                ingress=settings.ingress,
                tensorflow_image=(
                    triton_image(settings.triton_tensorflow_image_digest, TRITON_TENSORFLOW)
                    if runtime_for("tensorflow") in runtimes
                    else None
                ),
            ),
            opts=on_k8s,
        )
        self.priority = PriorityClasses(
            f"{name}-priority", PriorityClassesArgs(labels=labels), opts=on_k8s
        )
        self.mesh = PlatformMesh(
            f"{name}-mesh", PlatformMeshArgs.from_spec(settings, labels), opts=on_k8s
        )
        self.vector_database = VectorDatabase(
            f"{name}-vector-db",
            VectorDatabaseArgs(
                settings=settings.vector_db,
                password=args.vector_db_password,
                subnet_ids=self.cluster.subnet_ids,
                vpc_id=self.cluster.vpc_id,
                cluster_security_group_id=self.cluster.security_group_id,
                kms_key_arn=self.key.arn,
                identifier=vector_db_identifier(settings),
                tags=tags,
            ),
            opts=on_aws,
        )
        self.llms: SharedLlms | None = None
        if settings.llm_base_models:
            self.llms = SharedLlms(
                f"{name}-llm",
                SharedLlmsArgs(
                    settings=settings,
                    grants=program.llm_grants,
                    salt_key=args.llm_salt_key,
                    redis_password=args.llm_redis_password,
                    unpinned_preview=bool(args.unpinned_preview),
                    cluster_name=self.cluster.cluster_name,
                    labels=labels,
                    tags=tags,
                    after=[self.kserve],
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, providers=[self.aws_provider, self.cluster.provider]
                ),
            )
        self.cost_tags = CostAllocationTags(
            f"{name}-cost-tags",
            CostAllocationTagsArgs(settings=settings.cost_allocation_tags),
            opts=on_aws,
        )
        self.observability = PlatformObservability(
            f"{name}-observability",
            PlatformObservabilityArgs.from_spec(
                settings,
                cluster_name=self.cluster.cluster_name,
                platform_key_arn=self.key.arn,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, providers=[self.aws_provider, self.cluster.provider]
            ),
        )
        self.cost_events_bucket = self.observability.store.bucket
        self.audit_bucket = self.observability.audit.bucket
        self.cluster_name = self.cluster.cluster_name
        self.cluster_endpoint = self.cluster.endpoint
        self.cluster_ca_data = self.cluster.ca_data
        self.node_role_arn = self.node_role.arn
        self.subnet_ids = self.cluster.subnet_ids
        self.platform_key_arn = self.key.arn
        self.vector_db = self.vector_database.connection
        self.triton_admin_secret = pulumi.Output.secret(
            pulumi.Output.from_input(args.triton_admin_secret).apply(checked_secret)
        )
        self.mig_configs = pulumi.Output.from_input(sorted(self.mig_config["mig-configs"]))
        self.shared_pools = pulumi.Output.from_input(
            {
                n: {
                    "nodeGroup": p.node_group_name,
                    "desiredSize": p.desired_size,
                    "tenantNodes": {
                        t.tenant: {"nodeGroup": t.node_group_name, "desiredSize": t.desired_size}
                        for _, t in sorted(self.tenant_nodes.items())
                        if t.shared_pool == n
                    },
                }
                for n, p in sorted(self.pools.items())
            }
        )
        self.outputs: dict[str, Any] = {
            "clusterName": self.cluster_name,
            "clusterEndpoint": self.cluster_endpoint,
            "clusterCaData": self.cluster_ca_data,
            "nodeRoleArn": self.node_role_arn,
            "subnetIds": self.subnet_ids,
            "platformKeyArn": self.platform_key_arn,
            "vectorDb": self.vector_db,
            "tritonAdminSecret": self.triton_admin_secret,
            "migConfigs": self.mig_configs,
            "sharedPools": self.shared_pools,
            "kserveVersion": KSERVE_VERSION,
            "tritonImage": self.triton_image,
            "costAllocationTags": {
                "keys": list(MANDATORY_KEYS),
                "activated": self.cost_tags.activated,
            },
            "costEventsBucket": self.cost_events_bucket,
            "auditBucket": self.audit_bucket,
        }
        self.register_outputs(self.outputs)
