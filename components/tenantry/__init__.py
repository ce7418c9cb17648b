"""Tenantry: declare each tenant of a shared ML model-serving platform as code.

The supported API is what this module exports (``__all__``): the Pulumi components and
their ``...Args`` (every component is ``Component(name, args, opts=None)``), the tenant
spec's types and loaders, the platform stack's outputs as tenant inputs, the tag policy and
the error types. :mod:`tenantry.testing` holds what a user needs to unit-test a program
that uses them. Every other module is internal: its names may change in any release.

Importing ``tenantry`` is cheap (no Pulumi, no pydantic): each name is imported from its
module when first used (the ``tenantry`` command's start-up depends on it). Type checkers
see every name with its type through the imports below.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from ._sdk import SdkIncompatible
    from .aws.bucket import TenantBucket, TenantBucketArgs
    from .aws.identity import TenantIdentity, TenantIdentityArgs
    from .aws.kms_key import TenantKey, TenantKeyArgs
    from .aws.node_group import DedicatedNodeGroup, DedicatedNodeGroupArgs
    from .aws.tenant_aws import TenantAws, TenantAwsArgs
    from .data.backend import DataLossError, NamespaceError
    from .data.names import IdentifierError
    from .data.store import AdminArgs, TenantVectorStore, TenantVectorStoreArgs
    from .engine.stack import RenderError
    from .engine.writers import WriteError
    from .identity import Identity, IdentityMode
    from .k8s.gateway import GatewayAdmission, GatewayAdmissionArgs
    from .k8s.monitoring import TenantMonitoring, TenantMonitoringArgs
    from .k8s.namespace import TenantNamespace, TenantNamespaceArgs
    from .pipeline import check
    from .planner import FleetPlan
    from .platform.cluster import PlatformCluster, PlatformClusterArgs
    from .platform.cost_tags import CostAllocationTags, CostAllocationTagsArgs
    from .platform.gpu_operator import GpuOperator, GpuOperatorArgs
    from .platform.gpu_pool import (
        PoolPlanError,
        SharedGpuPool,
        SharedGpuPoolArgs,
        TenantGpuNodes,
        TenantGpuNodesArgs,
    )
    from .platform.key import PlatformKey, PlatformKeyArgs
    from .platform.kserve import KServe, KServeArgs
    from .platform.llm import SharedLlms, SharedLlmsArgs
    from .platform.mesh import PlatformMesh, PlatformMeshArgs
    from .platform.node_role import NodeRole, NodeRoleArgs
    from .platform.observability import PlatformObservability, PlatformObservabilityArgs
    from .platform.platform import Platform, PlatformArgs
    from .platform.priority import PriorityClasses, PriorityClassesArgs
    from .platform.program import PlatformProgramError, fleet_plan_for
    from .platform.vector_db import VectorDatabase, VectorDatabaseArgs
    from .platform_ref import PLATFORM_OUTPUTS, PlatformInputs, PlatformOutputsMissing
    from .platform_ref import from_stack as platform_inputs
    from .spec import (
        API_VERSION,
        KIND,
        PLATFORM_STACK,
        TIERS,
        PlatformSettings,
        Problem,
        Registry,
        ResolvedModel,
        ResolvedNodeGroup,
        ResolvedQuotas,
        ResolvedTenant,
        SharedPool,
        SpecError,
        TenantSpec,
        TierPolicy,
        load_platform,
        load_registry,
        load_tenant,
        parse_document,
        parse_text,
    )
    from .tags import MANDATORY_KEYS, platform_tags, tenant_labels, tenant_tags
    from .tenant import Tenant, TenantArgs
    from .tenant_serving import TenantServing, TenantServingArgs

# name -> (module under tenantry, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "API_VERSION": ("spec", "API_VERSION"),
    "AdminArgs": ("data.store", "AdminArgs"),
    "CostAllocationTags": ("platform.cost_tags", "CostAllocationTags"),
    "CostAllocationTagsArgs": ("platform.cost_tags", "CostAllocationTagsArgs"),
    "DataLossError": ("data.backend", "DataLossError"),
    "DedicatedNodeGroup": ("aws.node_group", "DedicatedNodeGroup"),
    "DedicatedNodeGroupArgs": ("aws.node_group", "DedicatedNodeGroupArgs"),
    "FleetPlan": ("planner", "FleetPlan"),
    "GatewayAdmission": ("k8s.gateway", "GatewayAdmission"),
    "GatewayAdmissionArgs": ("k8s.gateway", "GatewayAdmissionArgs"),
    "GpuOperator": ("platform.gpu_operator", "GpuOperator"),
    "GpuOperatorArgs": ("platform.gpu_operator", "GpuOperatorArgs"),
    "IdentifierError": ("data.names", "IdentifierError"),
    "Identity": ("identity", "Identity"),
    "IdentityMode": ("identity", "IdentityMode"),
    "KIND": ("spec", "KIND"),
    "KServe": ("platform.kserve", "KServe"),
    "KServeArgs": ("platform.kserve", "KServeArgs"),
    "MANDATORY_KEYS": ("tags", "MANDATORY_KEYS"),
    "NamespaceError": ("data.backend", "NamespaceError"),
    "NodeRole": ("platform.node_role", "NodeRole"),
    "NodeRoleArgs": ("platform.node_role", "NodeRoleArgs"),
    "PLATFORM_OUTPUTS": ("platform_ref", "PLATFORM_OUTPUTS"),
    "PLATFORM_STACK": ("spec", "PLATFORM_STACK"),
    "Platform": ("platform.platform", "Platform"),
    "PlatformArgs": ("platform.platform", "PlatformArgs"),
    "PlatformCluster": ("platform.cluster", "PlatformCluster"),
    "PlatformClusterArgs": ("platform.cluster", "PlatformClusterArgs"),
    "PlatformInputs": ("platform_ref", "PlatformInputs"),
    "PlatformKey": ("platform.key", "PlatformKey"),
    "PlatformKeyArgs": ("platform.key", "PlatformKeyArgs"),
    "PlatformObservability": ("platform.observability", "PlatformObservability"),
    "PlatformObservabilityArgs": ("platform.observability", "PlatformObservabilityArgs"),
    "PlatformOutputsMissing": ("platform_ref", "PlatformOutputsMissing"),
    "PlatformProgramError": ("platform.program", "PlatformProgramError"),
    "PlatformSettings": ("spec", "PlatformSettings"),
    "PoolPlanError": ("platform.gpu_pool", "PoolPlanError"),
    "SharedLlms": ("platform.llm", "SharedLlms"),
    "SharedLlmsArgs": ("platform.llm", "SharedLlmsArgs"),
    "PlatformMesh": ("platform.mesh", "PlatformMesh"),
    "PlatformMeshArgs": ("platform.mesh", "PlatformMeshArgs"),
    "PriorityClasses": ("platform.priority", "PriorityClasses"),
    "PriorityClassesArgs": ("platform.priority", "PriorityClassesArgs"),
    "Problem": ("spec", "Problem"),
    "Registry": ("spec", "Registry"),
    "RenderError": ("engine.stack", "RenderError"),
    "ResolvedModel": ("spec", "ResolvedModel"),
    "ResolvedNodeGroup": ("spec", "ResolvedNodeGroup"),
    "ResolvedQuotas": ("spec", "ResolvedQuotas"),
    "ResolvedTenant": ("spec", "ResolvedTenant"),
    "SdkIncompatible": ("_sdk", "SdkIncompatible"),
    "SharedGpuPool": ("platform.gpu_pool", "SharedGpuPool"),
    "SharedGpuPoolArgs": ("platform.gpu_pool", "SharedGpuPoolArgs"),
    "TenantGpuNodes": ("platform.gpu_pool", "TenantGpuNodes"),
    "TenantGpuNodesArgs": ("platform.gpu_pool", "TenantGpuNodesArgs"),
    "SharedPool": ("spec", "SharedPool"),
    "SpecError": ("spec", "SpecError"),
    "TIERS": ("spec", "TIERS"),
    "Tenant": ("tenant", "Tenant"),
    "TenantArgs": ("tenant", "TenantArgs"),
    "TenantAws": ("aws.tenant_aws", "TenantAws"),
    "TenantAwsArgs": ("aws.tenant_aws", "TenantAwsArgs"),
    "TenantBucket": ("aws.bucket", "TenantBucket"),
    "TenantBucketArgs": ("aws.bucket", "TenantBucketArgs"),
    "TenantIdentity": ("aws.identity", "TenantIdentity"),
    "TenantIdentityArgs": ("aws.identity", "TenantIdentityArgs"),
    "TenantKey": ("aws.kms_key", "TenantKey"),
    "TenantKeyArgs": ("aws.kms_key", "TenantKeyArgs"),
    "TenantMonitoring": ("k8s.monitoring", "TenantMonitoring"),
    "TenantMonitoringArgs": ("k8s.monitoring", "TenantMonitoringArgs"),
    "TenantNamespace": ("k8s.namespace", "TenantNamespace"),
    "TenantNamespaceArgs": ("k8s.namespace", "TenantNamespaceArgs"),
    "TenantServing": ("tenant_serving", "TenantServing"),
    "TenantServingArgs": ("tenant_serving", "TenantServingArgs"),
    "TenantSpec": ("spec", "TenantSpec"),
    "TenantVectorStore": ("data.store", "TenantVectorStore"),
    "TenantVectorStoreArgs": ("data.store", "TenantVectorStoreArgs"),
    "TierPolicy": ("spec", "TierPolicy"),
    "VectorDatabase": ("platform.vector_db", "VectorDatabase"),
    "VectorDatabaseArgs": ("platform.vector_db", "VectorDatabaseArgs"),
    "WriteError": ("engine.writers", "WriteError"),
    "check": ("pipeline", "check"),
    "fleet_plan_for": ("platform.program", "fleet_plan_for"),
    "load_platform": ("spec", "load_platform"),
    "load_registry": ("spec", "load_registry"),
    "load_tenant": ("spec", "load_tenant"),
    "parse_document": ("spec", "parse_document"),
    "parse_text": ("spec", "parse_text"),
    "platform_tags": ("tags", "platform_tags"),
    "tenant_labels": ("tags", "tenant_labels"),
    "tenant_tags": ("tags", "tenant_tags"),
    "platform_inputs": ("platform_ref", "from_stack"),
}

__all__ = [
    "API_VERSION",
    "KIND",
    "MANDATORY_KEYS",
    "PLATFORM_OUTPUTS",
    "PLATFORM_STACK",
    "TIERS",
    "AdminArgs",
    "CostAllocationTags",
    "CostAllocationTagsArgs",
    "DataLossError",
    "DedicatedNodeGroup",
    "DedicatedNodeGroupArgs",
    "FleetPlan",
    "GatewayAdmission",
    "GatewayAdmissionArgs",
    "GpuOperator",
    "GpuOperatorArgs",
    "IdentifierError",
    "Identity",
    "IdentityMode",
    "KServe",
    "KServeArgs",
    "NamespaceError",
    "NodeRole",
    "NodeRoleArgs",
    "Platform",
    "PlatformArgs",
    "PlatformCluster",
    "PlatformClusterArgs",
    "PlatformInputs",
    "PlatformKey",
    "PlatformKeyArgs",
    "PlatformMesh",
    "PlatformMeshArgs",
    "PlatformObservability",
    "PlatformObservabilityArgs",
    "PlatformOutputsMissing",
    "PlatformProgramError",
    "PlatformSettings",
    "PoolPlanError",
    "PriorityClasses",
    "PriorityClassesArgs",
    "Problem",
    "Registry",
    "RenderError",
    "ResolvedModel",
    "ResolvedNodeGroup",
    "ResolvedQuotas",
    "ResolvedTenant",
    "SdkIncompatible",
    "SharedGpuPool",
    "SharedGpuPoolArgs",
    "SharedLlms",
    "SharedLlmsArgs",
    "SharedPool",
    "SpecError",
    "Tenant",
    "TenantArgs",
    "TenantAws",
    "TenantAwsArgs",
    "TenantBucket",
    "TenantBucketArgs",
    "TenantGpuNodes",
    "TenantGpuNodesArgs",
    "TenantIdentity",
    "TenantIdentityArgs",
    "TenantKey",
    "TenantKeyArgs",
    "TenantMonitoring",
    "TenantMonitoringArgs",
    "TenantNamespace",
    "TenantNamespaceArgs",
    "TenantServing",
    "TenantServingArgs",
    "TenantSpec",
    "TenantVectorStore",
    "TenantVectorStoreArgs",
    "TierPolicy",
    "VectorDatabase",
    "VectorDatabaseArgs",
    "WriteError",
    "__version__",
    "check",
    "fleet_plan_for",
    "load_platform",
    "load_registry",
    "load_tenant",
    "parse_document",
    "parse_text",
    "platform_inputs",
    "platform_tags",
    "tenant_labels",
    "tenant_tags",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tenantry")
        except PackageNotFoundError:
            return "0+unknown"
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(import_module(f".{module}", __name__), attr)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
