"""``SharedLlms``: the platform's shared base LLMs (``tenantry:platform:SharedLlms``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import ConfigMap, Namespace, ServiceAccount

from ..aws.identity import MAX_SESSION_SECONDS
from ..aws.llm_policies import (
    AdapterObject,
    runtime_role_name,
    runtime_trust,
    shared_runtime_policy,
)
from ..aws.names import IAM_PATH
from ..k8s.llm_inference_service import (
    LLM_NAMESPACE,
    ROUTES_CONFIG_MAP,
    AdapterGrant,
    runtime_name,
    shared_llm_manifest,
    tenant_llm_routes,
)
from ..spec import PlatformSettings


@dataclass(frozen=True, kw_only=True)
class SharedLlmsArgs:
    """``settings``: the platform settings (``llmBaseModels``, ``vllmImage``,
    ``llmPrefixCaching``). ``grants``: every tenant adapter on them
    (:attr:`tenantry.platform.program.PlatformProgram.llm_grants`). ``cluster_name``: for
    the Pod Identity associations. ``labels``/``tags``: the platform's cost labels and
    tags. ``after``: what the LLMInferenceServices wait for (KServe, whose chart installs
    the CRD). The Kubernetes and AWS providers come through ``opts.providers``."""

    settings: PlatformSettings
    grants: Sequence[AdapterGrant]
    cluster_name: pulumi.Input[str]
    labels: Mapping[str, str]
    tags: Mapping[str, str]
    after: Sequence[pulumi.Resource] = ()


class SharedLlms(pulumi.ComponentResource):
    """Namespace ``tenantry-llm`` and the ``tenantry-llm-routes`` ConfigMap (what the gateway
    pins per caller: :func:`~tenantry.k8s.llm_inference_service.tenant_llm_routes`); per
    shared base model ``<b>``: IAM role ``tenantry-llm-<b>`` (Pod Identity trust for its
    service account only; inline policy
    :func:`~tenantry.aws.llm_policies.shared_runtime_policy`: exactly the granted adapter
    prefixes), its Pod Identity association and service account, and the
    LLMInferenceService (:func:`~tenantry.k8s.llm_inference_service.shared_llm_manifest`).
    Children: ``<name>-namespace``, ``<name>-routes``, ``<name>-<b>-role``,
    ``<name>-<b>-adapters-read``, ``<name>-<b>-pod-identity``, ``<name>-<b>-sa``,
    ``<name>-<b>-llmisvc``."""

    TYPE = "tenantry:platform:SharedLlms"

    def __init__(
        self, name: str, args: SharedLlmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        s = args.settings
        labels = dict(args.labels)
        on_k8s = on_aws = pulumi.ResourceOptions(parent=self)
        self.namespace = Namespace(
            f"{name}-namespace",
            metadata={"name": LLM_NAMESPACE, "labels": labels},
            opts=on_k8s,
        )
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.routes = ConfigMap(
            f"{name}-routes",
            metadata={"name": ROUTES_CONFIG_MAP, "namespace": LLM_NAMESPACE, "labels": labels},
            data={"routes.json": _json(tenant_llm_routes(s, args.grants))},
            opts=after_ns,
        )
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
            manifest = shared_llm_manifest(s, base, args.grants, labels)
            self.services[base.name] = CustomResource(
                f"{name}-{base.name}-llmisvc",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.namespace, sa, *args.after]
                ),
            )
        self.register_outputs({"baseModels": sorted(self.services)})


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
