"""The Pulumi program of every stack of the project (composition only).

Tenant stacks (``Pulumi.<tenant>.yaml``): read ``tenantry:tenant`` and ``tenantry:tenantFile``,
load the platform settings from this directory, check the tenant with the verdict every
tenantry command gives (its file and the registry it belongs to: a problem stops here with
every error listed, before any resource is declared), read the platform stack's
outputs through a StackReference (missing ones are named) and build its ``Tenant``.

The ``platform`` stack (``Pulumi.platform.yaml``): plan the GPU pools from every tenant file
(``tenantry:tenantsDir``, default ``tenants/``; a bad tenant file or an unplannable demand
stops here, every problem listed), then build the ``Platform`` with the secrets
``tenantry:vectorDbPassword`` and ``tenantry:tritonAdminSecret`` (missing: Pulumi's
``ConfigMissingError`` names the key and the ``pulumi config set --secret`` command), and, with
``llmBaseModels``, the secret ``tenantry:llmSaltKey`` (the LLM gateway's cache-salt key) and,
with ``llmGatewayReplicas`` above 1 (the default 2), ``tenantry:llmRedisPassword`` (the Redis
the gateway replicas share), and
export what tenant stacks read (:data:`tenantry.platform_ref.PLATFORM_OUTPUTS`) plus
``clusterName``, ``migConfigs`` and ``sharedPools``.

``tenantry:offlineRender`` is set by ``tenantry render``/``plan`` only (never in a stack file):
the platform then renders without ``tritonImageDigest`` (and a tenant with ``llms`` or a
platform with ``llmBaseModels`` without ``vllmImageDigest``), naming the image by tag.

Optional config: ``tenantry:stacksDir`` (where ``Pulumi.platform.yaml`` is; default: this
directory), ``tenantry:platformStack`` (default: the platform settings' ``stackReference``),
``tenantry:identity`` (``pod-identity`` or ``irsa``; IRSA also needs
``tenantry:oidcProviderArn`` and ``tenantry:oidcIssuer``); on the platform stack
``tenantry:previousPlan`` (the GPU plan the cluster runs now, a ``tenantry gpu plan --format json``
file: the pools are re-planned from it with the minimal-disruption strategy;
``tenantry fleet up --previous-plan`` sets it).
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from tenantry import Identity, Platform, PlatformArgs, Tenant, TenantArgs, platform_inputs
from tenantry.loaded import load_platform, program_tenant
from tenantry.platform import PlatformProgramError, PoolPlanError
from tenantry.platform.llm import vllm_unpinned_problem
from tenantry.platform.program import platform_plan
from tenantry.spec import PLATFORM_STACK, SpecError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def platform_main() -> None:
    cfg = pulumi.Config("tenantry")
    stacks_dir = ROOT / (cfg.get("stacksDir") or HERE.name)
    tenants_dir = ROOT / (cfg.get("tenantsDir") or "tenants")
    try:
        settings = load_platform(stacks_dir)
        previous = cfg.get("previousPlan")
        program = platform_plan(
            tenants_dir, settings, ROOT / previous if previous else None, stacks_dir
        )
        args = PlatformArgs.from_spec(
            settings,
            program.plan,
            vector_db_password=cfg.require_secret("vectorDbPassword"),
            triton_admin_secret=cfg.require_secret("tritonAdminSecret"),
            llm_salt_key=cfg.get_secret("llmSaltKey"),
            llm_redis_password=cfg.get_secret("llmRedisPassword"),
            unpinned_preview=cfg.get_bool("offlineRender") or False,
            llm_grants=program.llm_grants,
            formats=program.formats,
            tenant_tags=program.tenant_tags,
        )
        p = Platform(PLATFORM_STACK, args)
    except (ValueError, PlatformProgramError, PoolPlanError) as exc:
        raise pulumi.RunError(str(exc)) from exc
    for key, value in p.outputs.items():
        pulumi.export(key, value)


def main() -> None:
    if pulumi.get_stack() == PLATFORM_STACK:
        platform_main()
        return
    cfg = pulumi.Config("tenantry")
    name = cfg.require("tenant")
    tenant_file = ROOT / cfg.require("tenantFile")  # an absolute path stays absolute
    stacks_dir = ROOT / (cfg.get("stacksDir") or HERE.name)
    platform = load_platform(stacks_dir)
    try:
        tenant = program_tenant(tenant_file, stacks_dir)
    except SpecError as exc:
        raise pulumi.RunError(f"{tenant_file} cannot be deployed:\n{exc}") from exc
    if tenant.llms and platform.vllm_image_digest is None and not cfg.get_bool("offlineRender"):
        raise pulumi.RunError(vllm_unpinned_problem(platform, f"{tenant.name}'s llms"))
    if tenant.name != name:
        raise pulumi.RunError(
            f"tenantry:tenant is {name!r} but {tenant_file} declares {tenant.name!r}"
        )
    try:
        identity = Identity(
            mode=cfg.get("identity") or "pod-identity",  # checked: ValueError names it
            oidc_provider_arn=cfg.get("oidcProviderArn"),
            oidc_issuer=cfg.get("oidcIssuer"),
        )
    except ValueError as exc:
        raise pulumi.RunError(f"tenantry:identity: {exc}") from exc
    inputs = platform_inputs(cfg.get("platformStack") or platform.stack_reference)
    t = Tenant(tenant.name, TenantArgs.from_spec(tenant, platform, inputs, identity=identity))
    pulumi.export("namespace", t.namespace)
    pulumi.export("bucket", t.bucket_name)
    pulumi.export("models", t.models)


main()
