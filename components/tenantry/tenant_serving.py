"""``TenantServing``: everything one tenant declares on the Kubernetes side, plus its Triton
model configurations in its model bucket. :class:`tenantry.tenant.Tenant` composes it with
the AWS and data sides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource

from .identity import POD_IDENTITY, Identity
from .k8s.gateway import GatewayAdmission, GatewayAdmissionArgs
from .k8s.inference_service import inference_service
from .k8s.llm_inference_service import API_VERSION as LLM_API_VERSION
from .k8s.llm_inference_service import KIND as LLM_KIND
from .k8s.llm_inference_service import own_llm_manifest
from .k8s.monitoring import TenantMonitoring, TenantMonitoringArgs
from .k8s.namespace import TenantNamespace, TenantNamespaceArgs
from .model_repository import triton_model_config
from .spec import PlatformSettings, ResolvedTenant
from .spec.platform import DEFAULT_VLLM_IMAGE, Ingress, Mesh, TokenIssuer
from .spec.resolved import ResolvedLlm
from .triton import versions


@dataclass(frozen=True, kw_only=True)
class TenantServingArgs:
    """``tenant``: the resolved tenant. From the platform: ``gateway_namespace`` (Istio's
    ingress gateway), ``ingress`` (host naming: Knative's domain and templates), ``mesh``
    (the Istio installation) and ``token_issuers`` (whose tokens admit the tenant's external
    clients); defaults Istio's and Knative's own, no issuers. From the AWS side:
    ``bucket_name`` (the tenant's model repository bucket), ``role_arn`` (the tenant's
    inference role; used here only for IRSA, Pod Identity associations are AWS-side),
    ``kms_key_arn`` (optional, named on the config objects). ``identity``: default EKS Pod
    Identity. ``triton_admin_key``: the header value that opens the tenant's Triton admin APIs
    (:func:`tenantry.triton.admin_key` of a platform secret; pass a secret). ``monitoring``:
    the tenant's PodMonitor, rules and dashboard
    (:class:`~tenantry.k8s.monitoring.TenantMonitoringArgs`, which carries each model's
    prices); None declares none (a cluster without the Prometheus Operator's CRDs).
    :meth:`from_spec` sets it."""

    tenant: ResolvedTenant
    gateway_namespace: str
    bucket_name: pulumi.Input[str]
    triton_admin_key: pulumi.Input[str]
    role_arn: pulumi.Input[str] | None = None
    kms_key_arn: pulumi.Input[str] | None = None
    identity: Identity = POD_IDENTITY
    ingress: Ingress = field(default_factory=Ingress)
    mesh: Mesh = field(default_factory=Mesh)
    token_issuers: tuple[TokenIssuer, ...] = ()
    vllm_image: str = DEFAULT_VLLM_IMAGE
    """The vLLM image of the tenant's own LLMs (``spec.llms``; platform ``vllmImage`` pinned
    by ``vllmImageDigest``: :attr:`~tenantry.spec.PlatformSettings.pinned_vllm_image`)."""
    monitoring: TenantMonitoringArgs | None = None

    @classmethod
    def from_spec(
        cls,
        tenant: ResolvedTenant,
        platform: PlatformSettings,
        *,
        bucket_name: pulumi.Input[str],
        triton_admin_key: pulumi.Input[str],
        role_arn: pulumi.Input[str] | None = None,
        kms_key_arn: pulumi.Input[str] | None = None,
        identity: Identity = POD_IDENTITY,
    ) -> TenantServingArgs:
        """The args of a tenant resolved against ``platform`` (gateway namespace, ingress,
        mesh and token issuers from its settings; monitoring with the prices of where its
        models run)."""
        return cls(
            tenant=tenant,
            gateway_namespace=platform.gateway_namespace,
            vllm_image=platform.pinned_vllm_image,
            ingress=platform.ingress,
            mesh=platform.mesh,
            token_issuers=tuple(platform.token_issuers),
            bucket_name=bucket_name,
            triton_admin_key=triton_admin_key,
            role_arn=role_arn,
            kms_key_arn=kms_key_arn,
            identity=identity,
            monitoring=TenantMonitoringArgs.from_spec(tenant, platform),
        )


class TenantServing(pulumi.ComponentResource):
    """Composes, for one resolved tenant (children named ``<name>-...``):

    - ``TenantNamespace`` ``<name>-ns`` (namespace, quotas, limits, network policies, service
      account, admin RBAC);
    - ``GatewayAdmission`` ``<name>-gateway`` (Istio authorization, mTLS and per-tenant rate
      limit: the request path's objects, :func:`tenantry.k8s.gateway.request_path_manifests`);
    - per model and revision, the ``config.pbtxt`` object
      ``<name>-<model>-v<version>-config-object`` in the model bucket (stable version, and
      the canary version while a canary runs;
      :func:`~tenantry.model_repository.triton_model_config`);
    - per model, the KServe InferenceService ``<name>-<model>-isvc`` (after its namespace,
      service account and configs; :func:`~tenantry.k8s.inference_service.inference_service`);
    - per own LLM (``spec.llms``), the KServe LLMInferenceService ``<name>-<llm>-llmisvc``
      (:func:`~tenantry.k8s.llm_inference_service.own_llm_manifest`);
    - ``TenantMonitoring`` ``<name>-monitoring`` (PodMonitor, PrometheusRule and Grafana
      dashboard of the tenant; :class:`~tenantry.k8s.monitoring.TenantMonitoring`), unless
      ``args.monitoring`` is None.

    Arguments: :class:`TenantServingArgs`.
    """

    TYPE = "tenantry:tenant:TenantServing"

    def __init__(
        self, name: str, args: TenantServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.identity.is_irsa and args.role_arn is None:
            raise ValueError("role_arn: required when identity.mode is 'irsa'")
        super().__init__(self.TYPE, name, None, opts)
        t = args.tenant
        bucket_name, kms_key_arn = args.bucket_name, args.kms_key_arn
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = TenantNamespace(
            f"{name}-ns",
            TenantNamespaceArgs(
                tenant=t,
                gateway_namespace=args.gateway_namespace,
                mesh=args.mesh,
                identity=args.identity,
                role_arn=args.role_arn,
                triton_admin_key=args.triton_admin_key,
            ),
            opts=child,
        )
        self.gateway = GatewayAdmission(
            f"{name}-gateway",
            GatewayAdmissionArgs(
                tenant=t,
                gateway_namespace=args.gateway_namespace,
                ingress=args.ingress,
                mesh=args.mesh,
                token_issuers=args.token_issuers,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.model_configs: dict[tuple[str, str], pulumi.CustomResource] = {}
        self.inference_services: dict[str, pulumi.CustomResource] = {}
        for m in t.models:
            configs = []
            for version in versions(m):
                cfg = triton_model_config(
                    f"{name}-{m.name}-v{version}-config",
                    t,
                    m,
                    version,
                    bucket_name=bucket_name,
                    kms_key_arn=kms_key_arn,
                    opts=child,
                )
                self.model_configs[(m.name, version)] = cfg
                configs.append(cfg)
            self.inference_services[m.name] = inference_service(
                f"{name}-{m.name}",
                t,
                m,
                bucket_name=bucket_name,
                service_account=self.namespace.service_account_name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *configs]),
            )
        self.llm_services: dict[str, pulumi.CustomResource] = {}
        sa_name = self.namespace.service_account_name
        for llm in t.llms:

            def _manifest(bucket: str, llm: ResolvedLlm = llm) -> dict[str, Any]:
                return own_llm_manifest(t, llm, bucket, sa_name, args.vllm_image)

            manifest = pulumi.Output.from_input(bucket_name).apply(_manifest)
            self.llm_services[llm.name] = CustomResource(
                f"{name}-{llm.name}-llmisvc",
                api_version=LLM_API_VERSION,
                kind=LLM_KIND,
                metadata=manifest.apply(lambda m: m["metadata"]),
                spec=manifest.apply(lambda m: m["spec"]),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
            )
        self.monitoring: TenantMonitoring | None = None
        if args.monitoring is not None:
            self.monitoring = TenantMonitoring(
                f"{name}-monitoring",
                args.monitoring,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
            )
        self.register_outputs(
            {
                "namespace": self.namespace.namespace_name,
                "models": sorted(self.inference_services),
                "llms": sorted(self.llm_services),
            }
        )
