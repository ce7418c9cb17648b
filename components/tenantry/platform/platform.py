"""``Platform``: the shared platform every tenant stack stands on
(``tenantry:platform:Platform``)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ..planner import FleetPlan, mig_parted_config
from ..spec import PlatformSettings
from ..spec.platform import CONFIG_KEY
from ..tags import MANDATORY_KEYS, platform_tags
from .charts import KSERVE_VERSION, TRITON_IMAGE, TRITON_TAG, triton_image
from .cluster import PlatformCluster
from .cost_tags import CostAllocationTags
from .gpu_operator import GpuOperator
from .gpu_pool import PoolPlanError, SharedGpuPool
from .key import PlatformKey
from .kserve import KServe
from .names import pool_group_name, prefix
from .node_role import NodeRole
from .priority import PriorityClasses
from .program import PlatformProgramError
from .vector_db import VectorDatabase


class Platform(pulumi.ComponentResource):
    """Composes, with children all named from ``name``:

    - ``<name>-aws`` (``aws.Provider`` in the platform's region, default tags = the
      platform's tags; every AWS child also carries them explicitly);
    - :class:`.key.PlatformKey` (``<name>-key``), :class:`.node_role.NodeRole`
      (``<name>-node-role``, role ``tenantry-platform-<env>-node``);
    - :class:`.cluster.PlatformCluster` (``<name>-cluster``: adopt or create, and the
      Kubernetes provider);
    - one :class:`.gpu_pool.SharedGpuPool` per shared pool (``<name>-pool-<pool>``), sized
      and labelled by ``plan`` (the planner is the one source of node counts and layouts);
    - :class:`.gpu_operator.GpuOperator` (``<name>-gpu-operator``) with
      ``mig_parted_config(plan)``; :class:`.kserve.KServe` (``<name>-kserve``, the Triton
      runtime on the image pinned by ``tritonImageDigest``, the S3 region for the storage
      initializer); :class:`.priority.PriorityClasses` (``<name>-priority``);
    - :class:`.vector_db.VectorDatabase` (``<name>-vector-db``);
    - :class:`.cost_tags.CostAllocationTags` (``<name>-cost-tags``; activates nothing
      unless ``costAllocationTags.activate``).

    ``outputs``: every output tenant stacks read (:data:`tenantry.platform_ref.
    PLATFORM_OUTPUTS`) plus ``clusterName``, ``migConfigs``, ``sharedPools``,
    ``kserveVersion``, ``tritonImage`` and ``costAllocationTags`` (keys, activated).
    Raises, before declaring anything, :class:`.gpu_pool.PoolPlanError` when the plan does
    not fit a pool (planner errors, more nodes than ``maxNodes``) and
    :class:`.program.PlatformProgramError` when ``tritonImageDigest`` is not set, unless
    ``unpinned_preview`` (offline renders: the runtime then names the tag and says so).
    """

    TYPE = "tenantry:platform:Platform"

    def __init__(
        self,
        name: str,
        settings: PlatformSettings,
        plan: FleetPlan,
        *,
        vector_db_password: pulumi.Input[str],
        unpinned_preview: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if settings.triton_image_digest is None and not unpinned_preview:
            raise PlatformProgramError(
                f"{CONFIG_KEY}: tritonImageDigest is not set; the Triton runtime pulls "
                f"{TRITON_IMAGE}:{TRITON_TAG} by digest and Tenantry ships none it could "
                "verify. Look it up (docker buildx imagetools inspect "
                f"{TRITON_IMAGE}:{TRITON_TAG}, or the NGC catalog) and set tritonImageDigest: "
                "sha256:<64 hex digits> in stacks/Pulumi.platform.yaml; nothing was declared"
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
            account_id=settings.account_id,
            admins=settings.admins,
            tags=tags,
            opts=on_aws,
        )
        self.node_role = NodeRole(
            f"{name}-node-role", role_name=f"{prefix(settings)}-node", tags=tags, opts=on_aws
        )
        self.cluster = PlatformCluster(
            f"{name}-cluster",
            settings.cluster,
            region=settings.region,
            node_role_arn=self.node_role.arn,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, providers=[self.aws_provider], depends_on=[self.node_role]
            ),
        )
        self.pools: dict[str, SharedGpuPool] = {}
        for sp in settings.shared_pools:
            self.pools[sp.name] = SharedGpuPool(
                f"{name}-pool-{sp.name}",
                pool=sp,
                planned=pools[sp.name],
                group_name=pool_group_name(settings, sp.name),
                cluster_name=self.cluster.cluster_name,
                node_role_arn=self.node_role.arn,
                subnet_ids=self.cluster.subnet_ids,
                tags=tags,
                opts=pulumi.ResourceOptions(
                    parent=self, providers=[self.aws_provider], depends_on=[self.node_role]
                ),
            )
        on_k8s = pulumi.ResourceOptions(parent=self, providers=[self.cluster.provider])
        self.mig_config = mig_parted_config(plan)
        self.gpu_operator = GpuOperator(
            f"{name}-gpu-operator", mig_config=self.mig_config, labels=labels, opts=on_k8s
        )
        self.triton_image = triton_image(settings.triton_image_digest)
        self.kserve = KServe(
            f"{name}-kserve",
            labels=labels,
            region=settings.region,
            triton_image=self.triton_image,
            opts=on_k8s,
        )
        self.priority = PriorityClasses(f"{name}-priority", labels=labels, opts=on_k8s)
        self.vector_db = VectorDatabase(
            f"{name}-vector-db",
            settings.vector_db,
            password=vector_db_password,
            subnet_ids=self.cluster.subnet_ids,
            vpc_id=self.cluster.vpc_id,
            cluster_security_group_id=self.cluster.security_group_id,
            kms_key_arn=self.key.arn,
            identifier=f"{prefix(settings)}-vectors",
            tags=tags,
            opts=on_aws,
        )
        self.cost_tags = CostAllocationTags(
            f"{name}-cost-tags", settings.cost_allocation_tags, opts=on_aws
        )
        self.outputs: dict[str, Any] = {
            "clusterName": self.cluster.cluster_name,
            "nodeRoleArn": self.node_role.arn,
            "subnetIds": self.cluster.subnet_ids,
            "platformKeyArn": self.key.arn,
            "vectorDb": self.vector_db.connection,
            "migConfigs": sorted(self.mig_config["mig-configs"]),
            "sharedPools": {
                n: {"nodeGroup": p.node_group_name, "desiredSize": p.desired_size}
                for n, p in sorted(self.pools.items())
            },
            "kserveVersion": KSERVE_VERSION,
            "tritonImage": self.triton_image,
            "costAllocationTags": {
                "keys": list(MANDATORY_KEYS),
                "activated": self.cost_tags.activated,
            },
        }
        self.register_outputs(self.outputs)
