"""``Tenant``: one tenant's whole stack from its tenant spec (``tenantry:tenant:Tenant``).

No ``from __future__ import annotations`` here: Pulumi's schema inference for components
(``pulumi.provider.experimental``) reads ``TenantArgs``' annotations as objects.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from ._args import args_of
from .aws.tenant_aws import TenantAws, TenantAwsArgs
from .data.store import TenantVectorStore, TenantVectorStoreArgs
from .identity import POD_IDENTITY, Identity
from .k8s.provider import cluster_provider
from .platform_ref import PlatformInputs
from .spec import PlatformSettings, ResolvedTenant, SpecError, parse_document
from .spec.platform import parse_platform
from .tenant_serving import TenantServing, TenantServingArgs
from .triton import admin_key

TENANT_SOURCE = "TenantArgs.tenant"
PLATFORM_SOURCE = "TenantArgs.platform"


def _document(value: Any) -> dict[str, Any]:
    """A pydantic model's document as its file holds it (camelCase keys, no nulls)."""
    doc: dict[str, Any] = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return doc


@dataclass(frozen=True, kw_only=True)
class TenantArgs:
    """What a :class:`Tenant` is built from: the tenant as data, the platform it stands on,
    the platform stack's outputs and two options.

    ``tenant`` and ``platform`` are documents (what a tenant file and the platform stack's
    ``tenantry:platform`` config hold, keys camelCase), so any Pulumi language can pass them;
    the tenant is checked and resolved against the platform when the :class:`Tenant` is
    built, and a bad document raises :class:`~tenantry.spec.SpecError` (every problem, each
    naming ``TenantArgs.tenant`` and the field) before any resource is declared.

    From Python, build them with :meth:`from_spec` (a tenant already loaded and resolved,
    e.g. :func:`tenantry.load_tenant`: it is not checked a second time) or
    :meth:`from_document` (a mapping built in code, checked at once).
    """

    tenant: dict[str, Any]
    """The tenant document (apiVersion ``tenantry.dev/v1alpha1``, kind ``Tenant``, metadata,
    spec), as in a tenant file."""
    platform: dict[str, Any]
    """The platform settings (the platform stack config's ``tenantry:platform`` value)."""
    platform_outputs: PlatformInputs
    """The platform stack's outputs (node role, subnets, platform key, vector database)."""
    identity: Identity | None = None
    """How inference pods get AWS credentials (default: EKS Pod Identity)."""
    replace_vector_namespaces: Sequence[str] | None = None
    """Vector namespaces whose dimension or metric change may destroy their data in this
    deployment (default: none)."""
    _resolved: tuple[object, object, ResolvedTenant, PlatformSettings] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_spec(
        cls,
        resolved: ResolvedTenant,
        platform: PlatformSettings,
        inputs: PlatformInputs,
        *,
        identity: Identity | None = None,
        replace_vector_namespaces: Sequence[str] = (),
    ) -> "TenantArgs":
        """The args of a tenant already resolved against ``platform`` (by
        :func:`tenantry.load_tenant`, :func:`tenantry.load_registry` or
        :func:`tenantry.spec.parse_text`), on the platform stack's outputs ``inputs``.
        The resolved objects travel with the documents, so nothing is validated twice."""
        if resolved.spec is None:
            raise ValueError(
                f"tenant {resolved.name}: from_spec needs a tenant resolved from its spec "
                "(tenantry.load_tenant or parse_text), not one built field by field"
            )
        tenant, settings = _document(resolved.spec), _document(platform)
        return cls(
            tenant=tenant,
            platform=settings,
            platform_outputs=inputs,
            identity=identity,
            replace_vector_namespaces=tuple(replace_vector_namespaces),
            _resolved=(tenant, settings, resolved, platform),
        )

    @classmethod
    def from_document(
        cls,
        tenant: dict[str, Any],
        platform: PlatformSettings,
        inputs: PlatformInputs,
        *,
        identity: Identity | None = None,
        replace_vector_namespaces: Sequence[str] = (),
    ) -> "TenantArgs":
        """The args of a tenant document built in code (the content of a tenant file, as a
        mapping), checked and resolved against ``platform`` now: raises
        :class:`~tenantry.spec.SpecError` with every problem."""
        resolved, problems = parse_document(tenant, TENANT_SOURCE, platform)
        if resolved is None:
            raise SpecError(problems)
        return cls.from_spec(
            resolved,
            platform,
            inputs,
            identity=identity,
            replace_vector_namespaces=replace_vector_namespaces,
        )

    def resolve(self) -> tuple[ResolvedTenant, PlatformSettings]:
        """The resolved tenant and the platform settings these args describe (checked now
        unless :meth:`from_spec` carried them). Raises ``ValueError`` for bad platform
        settings, :class:`~tenantry.spec.SpecError` for a bad tenant."""
        carried = self._resolved
        if carried is not None and carried[0] is self.tenant and carried[1] is self.platform:
            return carried[2], carried[3]
        settings = parse_platform(self.platform, PLATFORM_SOURCE)
        resolved, problems = parse_document(self.tenant, TENANT_SOURCE, settings)
        if resolved is None:
            raise SpecError(problems)
        return resolved, settings


class Tenant(pulumi.ComponentResource):
    """Composes, for one tenant, with children all named from ``name``:

    - ``<name>-k8s`` (``kubernetes.Provider`` of the platform's cluster, from the platform
      stack's ``clusterName``, ``clusterEndpoint`` and ``clusterCaData`` with a token from
      ``aws eks get-token``; :func:`tenantry.k8s.provider.cluster_provider`), the provider of
      every Kubernetes resource below, whatever the local kubeconfig points at;
    - :class:`~tenantry.aws.tenant_aws.TenantAws` (provider with the tag policy as default
      tags, KMS key, model bucket, inference/admin roles with a permissions boundary, Pod
      Identity association, dedicated node groups);
    - :class:`~tenantry.tenant_serving.TenantServing` (namespace isolation, gateway
      admission, Triton configs in the bucket, one KServe InferenceService per model), wired
      to the bucket, the inference role and the key;
    - :class:`~tenantry.data.store.TenantVectorStore` when the tenant declares vector
      namespaces (schema + role on the shared database, one table per namespace, credentials
      as a Secret in the tenant's namespace).

    Arguments: :class:`TenantArgs`. Defaults: EKS Pod Identity, the platform settings'
    ingress domain, vector namespaces retained on delete. A bad tenant or platform document
    raises before any resource is declared.

    Outputs: ``namespace``, ``bucketName``, ``inferenceRoleArn`` and ``models`` (the
    tenant's model names, sorted).
    """

    TYPE = "tenantry:tenant:Tenant"

    namespace: pulumi.Output[str]
    """The tenant's Kubernetes namespace."""
    bucket_name: pulumi.Output[str]
    """The tenant's model repository bucket."""
    inference_role_arn: pulumi.Output[str]
    """The IAM role the tenant's inference pods run as."""
    models: pulumi.Output[list[str]]
    """The tenant's model names (one KServe InferenceService each), sorted."""

    def __init__(
        self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = args_of(TenantArgs, args)  # a mapping when the provider host builds it
        tenant, platform = args.resolve()
        inputs = args.platform_outputs
        identity = args.identity or POD_IDENTITY
        replace = tuple(args.replace_vector_namespaces or ())
        vectors_args: TenantVectorStoreArgs | None = None
        if tenant.vector_namespaces or replace:
            vectors_args = TenantVectorStoreArgs(
                tenant=tenant, admin=inputs.vector_db, replace_namespaces=replace
            )
            TenantVectorStore.check(vectors_args)
        super().__init__(self.TYPE, name, None, opts)
        self.tenant = tenant
        self.aws = TenantAws(
            name,
            TenantAwsArgs.from_spec(tenant, platform, inputs, identity=identity),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.k8s_provider = cluster_provider(
            f"{name}-k8s",
            cluster_name=inputs.cluster_name,
            endpoint=inputs.cluster_endpoint,
            ca_data=inputs.cluster_ca_data,
            region=platform.region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, providers=[self.k8s_provider])
        self.serving = TenantServing(
            name,
            TenantServingArgs.from_spec(
                tenant,
                platform,
                bucket_name=self.aws.bucket_name,
                triton_admin_key=pulumi.Output.secret(
                    pulumi.Output.from_input(inputs.triton_admin_secret).apply(
                        lambda secret: admin_key(str(secret), tenant.name)
                    )
                ),
                role_arn=self.aws.inference_role_arn,
                kms_key_arn=self.aws.key_arn,
                identity=identity,
            ),
            opts=on_cluster,
        )
        self.vectors: TenantVectorStore | None = None
        if vectors_args is not None and tenant.vector_namespaces:
            self.vectors = TenantVectorStore(
                name,
                vectors_args,
                opts=pulumi.ResourceOptions.merge(
                    on_cluster, pulumi.ResourceOptions(depends_on=[self.serving.namespace])
                ),
            )
        self.namespace = pulumi.Output.from_input(self.serving.namespace.namespace_name)
        self.bucket_name = self.aws.bucket_name
        self.inference_role_arn = self.aws.inference_role_arn
        self.models = pulumi.Output.from_input(sorted(self.serving.inference_services))
        self.register_outputs(
            {
                "namespace": self.namespace,
                "bucketName": self.bucket_name,
                "inferenceRoleArn": self.inference_role_arn,
                "models": self.models,
            }
        )
