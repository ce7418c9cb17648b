"""``SharedLlms``: the platform's shared base LLMs (``tenantry:platform:SharedLlms``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.core.v1 import ConfigMap, Namespace, Secret, Service, ServiceAccount
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from ..aws.identity import MAX_SESSION_SECONDS
from ..aws.llm_policies import (
    AdapterObject,
    runtime_role_name,
    runtime_trust,
    shared_runtime_policy,
)
from ..aws.names import IAM_PATH
from ..k8s.llm_gateway import (
    REDIS,
    REDIS_CONF_KEY,
    REDIS_PASSWORD_CONFIG,
    REDIS_PASSWORD_KEY,
    SALT_CONFIG,
    SALT_KEY,
    SALT_SECRET,
    gateway_manifests,
    istio_manifests,
    namespace_labels,
    network_policy_specs,
    redis_conf,
)
from ..k8s.llm_inference_service import (
    ADAPTER_CONFIG_KEY,
    LLM_NAMESPACE,
    ROUTES_CONFIG_MAP,
    UNPINNED_GATEWAY_IMAGE,
    AdapterGrant,
    adapters_config_map,
    runtime_adapters,
    runtime_name,
    shared_llm_manifest,
    tenant_llm_routes,
)
from ..k8s.manifests import custom_resource
from ..spec import PlatformSettings
from .kserve import UNPINNED
from .program import PlatformProgramError


@dataclass(frozen=True, kw_only=True)
class SharedLlmsArgs:
    """``settings``: the platform settings (``llmBaseModels``, ``vllmImage``,
    ``llmPrefixCaching``). ``grants``: every tenant adapter on them
    (:attr:`tenantry.platform.program.PlatformProgram.llm_grants`). ``cluster_name``: for
    the Pod Identity associations. ``labels``/``tags``: the platform's cost labels and
    tags. ``after``: what the LLMInferenceServices wait for (KServe, whose chart installs
    the CRD). ``salt_key``: the gateway's cache-salt key (a secret; required, see
    :func:`llm_deploy_problems`). ``redis_password``: the password of the Redis the gateway
    replicas share (a secret; required while ``llmGatewayReplicas`` > 1).
    ``unpinned_preview``: an offline render (the gateway's and Redis' images by an unpinned
    tag, placeholder secrets). The Kubernetes and AWS providers come through
    ``opts.providers``."""

    settings: PlatformSettings
    grants: Sequence[AdapterGrant]
    cluster_name: pulumi.Input[str]
    labels: Mapping[str, str]
    tags: Mapping[str, str]
    salt_key: pulumi.Input[str] | None = None
    redis_password: pulumi.Input[str] | None = None
    unpinned_preview: bool = False
    after: Sequence[pulumi.Resource] = ()


class SharedLlms(pulumi.ComponentResource):
    """Namespace ``tenantry-llm`` (in the mesh), the ``tenantry-llm-routes`` ConfigMap (what
    the gateway pins per caller: :func:`~tenantry.k8s.llm_inference_service.tenant_llm_routes`),
    the LLM gateway (:func:`~tenantry.k8s.llm_gateway.gateway_manifests`: ServiceAccount,
    Deployment of ``llmGatewayImage``, PodDisruptionBudget, Service, PodMonitor; with
    ``llmGatewayReplicas`` > 1 the Redis they share: ServiceAccount, Deployment, Service and
    Secret ``tenantry-llm-gateway-redis`` from ``redis_password``) with its salt-key Secret
    ``tenantry-llm-salt`` (from ``salt_key``), the namespace's NetworkPolicies and Istio
    objects (only the gateway reaches the runtimes, only granted tenants reach the gateway:
    :mod:`tenantry.k8s.llm_gateway`); per
    shared base model ``<b>``: IAM role ``tenantry-llm-<b>`` (Pod Identity trust for its
    service account only; inline policy
    :func:`~tenantry.aws.llm_policies.shared_runtime_policy`: exactly the granted adapter
    prefixes), its Pod Identity association and service account, the ConfigMap of its
    adapters (``tenantry-llm-<b>-adapters``:
    :func:`~tenantry.k8s.llm_inference_service.runtime_adapters`, which the runtime pod's
    ``adapter-sync`` container follows) and the LLMInferenceService
    (:func:`~tenantry.k8s.llm_inference_service.shared_llm_manifest`, which names no adapter:
    an adapter change never rolls the runtime).
    Children: ``<name>-namespace``, ``<name>-routes``, ``<name>-salt``, ``<name>-gateway-sa``,
    ``<name>-gateway``, ``<name>-gateway-pdb``, ``<name>-gateway-service``,
    ``<name>-gateway-monitor``, with shared state ``<name>-redis-secret``, ``<name>-redis-sa``,
    ``<name>-redis``, ``<name>-redis-service``, ``<name>-redis-authz``,
    ``<name>-netpol-<policy>``, ``<name>-mtls``, ``<name>-gateway-mtls``,
    ``<name>-gateway-authz``, ``<name>-runtime-authz``, ``<name>-<b>-role``,
    ``<name>-<b>-adapters-read``, ``<name>-<b>-pod-identity``, ``<name>-<b>-sa``,
    ``<name>-<b>-adapters``, ``<name>-<b>-llmisvc``.

    Raises :class:`~tenantry.platform.PlatformProgramError` before declaring anything when a
    base model is declared without ``llmGatewayImage`` (unless ``unpinned_preview``) or
    without ``salt_key``, or with shared state and without ``llmRedisImageDigest`` or
    ``redis_password`` (:func:`llm_deploy_problems`)."""

    TYPE = "tenantry:platform:SharedLlms"

    def __init__(
        self, name: str, args: SharedLlmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = args.settings
        salt_key, redis_password = llm_deploy_problems(
            s, args.salt_key, args.unpinned_preview, args.redis_password
        )
        super().__init__(self.TYPE, name, None, opts)
        labels = dict(args.labels)
        on_k8s = on_aws = pulumi.ResourceOptions(parent=self)
        self.namespace = Namespace(
            f"{name}-namespace",
            metadata={"name": LLM_NAMESPACE, "labels": namespace_labels(s, labels)},
            opts=on_k8s,
        )
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.routes = ConfigMap(
            f"{name}-routes",
            metadata={"name": ROUTES_CONFIG_MAP, "namespace": LLM_NAMESPACE, "labels": labels},
            data={"routes.json": _json(tenant_llm_routes(s, args.grants))},
            opts=after_ns,
        )
        self.salt = Secret(
            f"{name}-salt",
            metadata={"name": SALT_SECRET, "namespace": LLM_NAMESPACE, "labels": labels},
            type="Opaque",
            string_data={SALT_KEY: pulumi.Output.secret(salt_key)},
            opts=after_ns,
        )
        self.network_policies = [
            NetworkPolicy(
                f"{name}-netpol-{pol}",
                metadata=cast(Any, {"name": pol, "namespace": LLM_NAMESPACE, "labels": labels}),
                spec=cast(Any, spec),
                opts=after_ns,
            )
            for pol, spec in network_policy_specs(s, args.grants).items()
        ]
        self.istio = [
            custom_resource(f"{name}-{suffix}", manifest, after_ns)
            for suffix, manifest in istio_manifests(s, args.grants, labels).items()
        ]
        image = s.llm_gateway_image or UNPINNED_GATEWAY_IMAGE
        gw = gateway_manifests(s, image, labels)
        gateway_sa = ServiceAccount(
            f"{name}-gateway-sa",
            metadata=gw["gateway-sa"]["metadata"],
            automount_service_account_token=False,
            opts=after_ns,
        )
        deployment_meta = dict(gw["gateway"]["metadata"])
        if s.llm_gateway_image is None:
            deployment_meta["annotations"] = {UNPINNED: "llmGatewayImage is not set"}
        self.gateway = Deployment(
            f"{name}-gateway",
            metadata=cast(Any, deployment_meta),
            spec=cast(Any, gw["gateway"]["spec"]),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.namespace, gateway_sa, self.routes, self.salt]
            ),
        )
        Service(
            f"{name}-gateway-service",
            metadata=gw["gateway-service"]["metadata"],
            spec=gw["gateway-service"]["spec"],
            opts=after_ns,
        )
        custom_resource(f"{name}-gateway-monitor", gw["gateway-monitor"], after_ns)
        PodDisruptionBudget(
            f"{name}-gateway-pdb",
            metadata=gw["gateway-pdb"]["metadata"],
            spec=cast(Any, gw["gateway-pdb"]["spec"]),
            opts=after_ns,
        )
        self.redis: Deployment | None = None
        if redis_password is not None:
            self.redis = self._redis(name, s, gw, redis_password, labels, after_ns)
        self.services: dict[str, CustomResource] = {}
        for base in s.llm_base_models:
            objects = [
                AdapterObject(
                    g.tenant,
                    f"arn:aws:s3:::{g.bucket}",
                    g.adapter.path,
                )
                for g in sorted(args.grants, key=lambda g: (g.tenant, g.adapter.path))
                if g.adapter.base_model == base.name
            ]
            role = aws.iam.Role(
                f"{name}-{base.name}-role",
                name=runtime_role_name(base.name),
                path=IAM_PATH,
                description=f"tenantry: shared LLM runtime {base.name} (granted adapters only)",
                assume_role_policy=runtime_trust(
                    s.account_id, s.cluster.name, LLM_NAMESPACE, base.name
                ).to_json(),
                max_session_duration=MAX_SESSION_SECONDS,
                force_detach_policies=True,
                tags=dict(args.tags),
                opts=on_aws,
            )
            aws.iam.RolePolicy(
                f"{name}-{base.name}-adapters-read",
                name="adapters-read",
                role=role.name,
                policy=shared_runtime_policy(
                    objects, region=s.region, account_id=s.account_id
                ).to_json(),
                opts=on_aws,
            )
            aws.eks.PodIdentityAssociation(
                f"{name}-{base.name}-pod-identity",
                cluster_name=args.cluster_name,
                namespace=LLM_NAMESPACE,
                service_account=runtime_name(base.name),
                role_arn=role.arn,
                disable_session_tags=False,
                tags=dict(args.tags),
                opts=on_aws,
            )
            sa = ServiceAccount(
                f"{name}-{base.name}-sa",
                metadata={
                    "name": runtime_name(base.name),
                    "namespace": LLM_NAMESPACE,
                    "labels": labels,
                },
                automount_service_account_token=False,
                opts=after_ns,
            )
            adapters = ConfigMap(
                f"{name}-{base.name}-adapters",
                metadata={
                    "name": adapters_config_map(base.name),
                    "namespace": LLM_NAMESPACE,
                    "labels": labels,
                },
                data={ADAPTER_CONFIG_KEY: _json(runtime_adapters(base.name, args.grants))},
                opts=after_ns,
            )
            manifest = shared_llm_manifest(s, base, labels)
            self.services[base.name] = CustomResource(
                f"{name}-{base.name}-llmisvc",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.namespace, sa, adapters, *args.after]
                ),
            )
        self.register_outputs({"baseModels": sorted(self.services)})

    def _redis(
        self,
        name: str,
        s: PlatformSettings,
        gw: Mapping[str, Mapping[str, Any]],
        password: pulumi.Input[str],
        labels: Mapping[str, str],
        after_ns: pulumi.ResourceOptions,
    ) -> Deployment:
        """The Redis of the gateway replicas (:func:`~tenantry.k8s.llm_gateway.redis_manifests`)
        and its Secret: the password and the configuration that requires it."""
        secret_pw = pulumi.Output.secret(password)
        secret = Secret(
            f"{name}-redis-secret",
            metadata={"name": REDIS, "namespace": LLM_NAMESPACE, "labels": dict(labels)},
            type="Opaque",
            string_data={
                REDIS_PASSWORD_KEY: secret_pw,
                REDIS_CONF_KEY: secret_pw.apply(redis_conf),
            },
            opts=after_ns,
        )
        sa = ServiceAccount(
            f"{name}-redis-sa",
            metadata=gw["redis-sa"]["metadata"],
            automount_service_account_token=False,
            opts=after_ns,
        )
        meta = dict(gw["redis"]["metadata"])
        if s.llm_redis_image_digest is None:
            meta["annotations"] = {UNPINNED: "llmRedisImageDigest is not set"}
        redis = Deployment(
            f"{name}-redis",
            metadata=cast(Any, meta),
            spec=cast(Any, gw["redis"]["spec"]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, sa, secret]),
        )
        Service(
            f"{name}-redis-service",
            metadata=gw["redis-service"]["metadata"],
            spec=gw["redis-service"]["spec"],
            opts=after_ns,
        )
        return redis


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


OFFLINE_SALT_PLACEHOLDER = "offline-preview-placeholder"  # never deployed: up needs the key


def vllm_unpinned_problem(settings: PlatformSettings, what: str) -> str:
    """The refusal of a stack whose LLMInferenceServices would pull vLLM by tag."""
    image = settings.vllm_image
    return (
        f"tenantry:platform: vllmImageDigest is not set; {what} run {image} and Tenantry "
        f"pulls it by digest only. Look it up (docker buildx imagetools inspect {image}) and "
        "set vllmImageDigest: sha256:<64 hex digits> in stacks/Pulumi.platform.yaml; nothing "
        "was declared"
    )


def llm_deploy_problems(
    settings: PlatformSettings,
    salt_key: pulumi.Input[str] | None,
    unpinned_preview: bool,
    redis_password: pulumi.Input[str] | None = None,
) -> tuple[pulumi.Input[str], pulumi.Input[str] | None]:
    """(The salt key, the Redis password or None without shared state), once the settings
    can deploy their base models: raises
    :class:`~tenantry.platform.PlatformProgramError` (one line per problem) when
    ``vllmImageDigest`` or ``llmGatewayImage`` is not set (unless ``unpinned_preview``: an
    offline render, which then names the vLLM image by tag and
    :data:`~tenantry.k8s.llm_inference_service.UNPINNED_GATEWAY_IMAGE`, annotating both) or no salt
    key is given (an offline render then gets :data:`OFFLINE_SALT_PLACEHOLDER`, which the
    records show masked like every secret). With ``llmGatewayReplicas`` > 1 the same holds
    for ``llmRedisImageDigest`` and ``redis_password`` (config
    :data:`~tenantry.k8s.llm_gateway.REDIS_PASSWORD_CONFIG`)."""
    problems = []
    if settings.vllm_image_digest is None and not unpinned_preview:
        problems.append(vllm_unpinned_problem(settings, "llmBaseModels"))
    if settings.llm_gateway_image is None and not unpinned_preview:
        problems.append(
            "tenantry:platform: llmGatewayImage is not set; llmBaseModels "
            f"{[b.name for b in settings.llm_base_models]} are reached only through the "
            "Tenantry LLM gateway. Build .ci/llm-gateway.Dockerfile, push it and set "
            "llmGatewayImage: <registry>/<repository>@sha256:<64 hex> in "
            "stacks/Pulumi.platform.yaml; nothing was declared"
        )
    if salt_key is None and unpinned_preview:
        salt_key = OFFLINE_SALT_PLACEHOLDER
    if salt_key is None:
        problems.append(
            f"{SALT_CONFIG}: not set; the LLM gateway keys each tenant's cache salt with it. "
            f"Set a random one: pulumi config set --secret {SALT_CONFIG} "
            '"$(openssl rand -hex 32)"; nothing was declared'
        )
    if settings.llm_gateway_shares_state:
        replicas = settings.llm_gateway_replicas
        if settings.llm_redis_image_digest is None and not unpinned_preview:
            image = settings.llm_redis_image
            problems.append(
                f"tenantry:platform: llmRedisImageDigest is not set; llmGatewayReplicas "
                f"{replicas} share their token buckets in Redis ({image}), pulled by digest "
                f"only. Look it up (docker buildx imagetools inspect {image}) and set "
                "llmRedisImageDigest: sha256:<64 hex digits> in stacks/Pulumi.platform.yaml; "
                "nothing was declared"
            )
        if redis_password is None and unpinned_preview:
            redis_password = OFFLINE_SALT_PLACEHOLDER
        if redis_password is None:
            problems.append(
                f"{REDIS_PASSWORD_CONFIG}: not set; llmGatewayReplicas {replicas} share "
                "their token buckets in a Redis that requires it. Set a random one: pulumi "
                f'config set --secret {REDIS_PASSWORD_CONFIG} "$(openssl rand -hex 32)"; '
                "nothing was declared"
            )
    else:
        redis_password = None
    if problems:
        raise PlatformProgramError("\n".join(problems))
    assert salt_key is not None
    return salt_key, redis_password
