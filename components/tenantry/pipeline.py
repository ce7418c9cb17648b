"""The one verdict: every check between a tenant file and a deployment, in one order.

``tenantry validate``, ``plan``, ``render`` (a tenant or the platform), ``fleet``,
``gpu plan`` and the stack program itself all call :func:`check`, so a registry that
validates plans and renders, and whatever a later step would refuse is refused here first.
The order:

1. each tenant file on its own: YAML, structure, rules across its fields and against the
   platform settings, and every limit of the systems it leads to
   (:mod:`tenantry.spec.rules`, :mod:`tenantry.spec.downstream`); on a file with structural
   errors every later check still judges the parts that parsed (:mod:`tenantry.spec.partial`),
   so one run reports every error that can be established;
2. the files together: duplicates, caller namespaces, shared hosts
   (:mod:`tenantry.spec.registry_rules`);
3. the platform's own names (:mod:`tenantry.platform.names` against
   :mod:`tenantry.catalog.limits`);
4. the fleet: the GPU planner over every valid tenant, node-group sizes and shared-pool
   limits included (the plan the platform stack deploys);
5. when a stacks directory is given: each tenant's generated stack config (missing or
   stale ones are warnings naming ``tenantry stacks --write``; ``tenantry fleet`` needs
   them and refuses without);
6. when a base is given (``--base REF``): rollouts, i.e. a canary needs its stable version
   deployed at the base.

Pure apart from reading files (no Pulumi).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .catalog import general_instance_types
from .catalog.limits import EC2_LAUNCH_TEMPLATE, EKS_NODEGROUP, IAM_ROLE, RDS_INSTANCE, NameLimit
from .planner import DemandError, FleetPlan, extract_demands, plan
from .platform import names as platform_names
from .spec import PlatformSettings, Problem, Registry, ResolvedTenant, load_registry, parse_path
from .spec.errors import Unparsed, each, errors
from .spec.partial import planning_view
from .spec.platform import platform_problem
from .spec.resolve import resolve
from .spec.yamlio import compose, line_of
from .stackconfig import stack_config_path, stack_config_text, tenants_ref

STACKS_COMMAND = "tenantry stacks --write"
# The codes of stack_config_problems: a tenant's stack config is missing, or out of date.
STACK_CONFIG_MISSING, STACK_CONFIG_STALE = "stack_config_missing", "stack_config_stale"
STACK_CONFIG_CODES = (STACK_CONFIG_MISSING, STACK_CONFIG_STALE)


@dataclass(frozen=True)
class DeployedModel:
    """A model as the base ref declares it: what runs when this change merges."""

    version: str
    canary: str | None


Base = Mapping[str, Mapping[str, DeployedModel]]  # tenant -> model -> its state at the base


@dataclass(frozen=True)
class BaseRef:
    """The tenant files at a git ref (``--base``): which models ran there, in which version."""

    ref: str
    tenants: Base


def check(
    paths: Sequence[Path],
    platform: PlatformSettings,
    *,
    stacks_dir: Path | None = None,
    tenants_dir: Path | None = None,
    base: BaseRef | None = None,
) -> Registry:
    """The verdict on the tenant files under ``paths`` (see the module docstring for the
    order). ``stacks_dir``: where ``Pulumi.platform.yaml`` is, for line numbers of
    platform problems, and the tenants' stack configs (checked when ``tenants_dir``, the
    directory their ``tenantFile`` names, is given too). Returns the registry with every
    problem, only the valid tenants, and ``fleet`` set to the GPU plan of those."""
    reg = load_registry(paths, platform)
    reg.problems.extend(platform_name_problems(platform, stacks_dir))
    reg.problems.extend(llm_runtime_tls_problems(platform, stacks_dir))
    reg.problems.extend(llm_gateway_replica_problems(platform, stacks_dir))
    reg.problems.extend(general_nodes_problems(reg, platform, stacks_dir))
    _fleet(reg, platform, stacks_dir)
    if stacks_dir is not None and tenants_dir is not None:
        reg.problems.extend(stack_config_problems(reg, stacks_dir, tenants_dir))
    if base is not None:
        reg.problems.extend(rollout_problems(reg, base))
    reg.drop_invalid()
    return reg


def platform_name_problems(settings: PlatformSettings, stacks_dir: Path | None) -> list[Problem]:
    """The names the platform stack gives its AWS resources, against AWS's limits."""
    checks: list[tuple[str, NameLimit, str, str]] = [
        ("environment", IAM_ROLE, platform_names.node_role_name(settings), "node IAM role"),
        (
            "environment",
            RDS_INSTANCE,
            platform_names.vector_db_identifier(settings),
            "vector database RDS identifier",
        ),
    ]
    if settings.cluster.create:
        checks += [
            (
                "cluster.name",
                IAM_ROLE,
                platform_names.cluster_role_name(settings.cluster),
                "cluster IAM role",
            ),
            (
                "cluster.name",
                EKS_NODEGROUP,
                platform_names.system_node_group_name(settings.cluster),
                "system node group",
            ),
        ]
    for i, pool in enumerate(settings.shared_pools):
        group = platform_names.pool_group_name(settings, pool.name)
        checks += [
            (f"sharedPools[{i}].name", EKS_NODEGROUP, group, "shared pool node group"),
            (f"sharedPools[{i}].name", EC2_LAUNCH_TEMPLATE, group, "launch template"),
        ]
    out = []
    for path, limit, name, what in checks:
        problems = limit.problems(name)
        if problems:
            out.append(
                platform_problem(
                    stacks_dir,
                    path,
                    "name_too_long",
                    f"gives the {what} {name!r}, which is refused: {'; '.join(problems)} "
                    f"({limit.what}; {limit.source})",
                    None,
                    f"a {what} of {limit.accepted}, at most {limit.max_length} characters",
                )
            )
    return out


GENERAL_NODES_UNKNOWN = "general_nodes_unknown"


def general_nodes_problems(
    reg: Registry, settings: PlatformSettings, stacks_dir: Path | None
) -> list[Problem]:
    """A warning when tenants have CPU-only models on the general nodes and
    ``cluster.systemInstanceType`` is no general instance type of the catalog: whether a
    replica fits one of those nodes (``replica_exceeds_node``) cannot be checked then, nor
    their cores priced, and validate says so rather than skipping it in silence."""
    name = settings.cluster.system_instance_type
    if name in general_instance_types():
        return []
    users = sorted(
        t.name for t in reg.tenants.values() if any(m.target_kind == "cpu-nodes" for m in t.models)
    )
    if not users:
        return []
    return [
        platform_problem(
            stacks_dir,
            "cluster.systemInstanceType",
            GENERAL_NODES_UNKNOWN,
            f"is not a general instance type of the catalog, so the CPU-only models of "
            f"{', '.join(users)} (on the general nodes) are not checked against a node's "
            "allocatable and their cores are not priced",
            name,
            ", ".join(sorted(general_instance_types())),
            severity="warning",
        )
    ]


LLM_RUNTIME_TLS_BY_OPERATOR = "llm_runtime_tls_by_operator"


def llm_runtime_tls_problems(settings: PlatformSettings, stacks_dir: Path | None) -> list[Problem]:
    """A warning while ``llmRuntimeTls`` is true with shared base models: the gateway then
    calls the runtimes over https and waits for their certificate Secrets, which KServe
    creates only when its ``inferenceservice-config`` ``ingress`` sets
    ``enableLLMInferenceServiceTLS: true`` (kserve v0.20.0 ``pkg/apis/serving/v1beta1/
    configmap.go``, ``pkg/controller/v1alpha2/llmisvc/workload.go``). The platform cannot set
    it: the kserve-resources v0.20.0 chart renders ``ingress`` with no value for it
    (``charts/kserve-resources/files/common/configmap-patch.yaml``). Nothing when false
    (KServe's default, plain http inside the mesh's mTLS)."""
    if not (settings.llm_runtime_tls and settings.llm_base_models):
        return []
    return [
        platform_problem(
            stacks_dir,
            "llmRuntimeTls",
            LLM_RUNTIME_TLS_BY_OPERATOR,
            "is true: the LLM gateway calls the shared runtimes over https, which KServe "
            "serves only when its inferenceservice-config ConfigMap's ingress key sets "
            '"enableLLMInferenceServiceTLS": true; the kserve-resources v0.20.0 chart has no '
            "value for it, so set it in the KServe install, or every LLM request fails (502) "
            "and the gateway pod waits for certificate Secrets KServe never creates",
            True,
            'true only with KServe\'s "enableLLMInferenceServiceTLS": true; false otherwise',
            severity="warning",
        )
    ]


LLM_GATEWAY_SINGLE_REPLICA = "llm_gateway_single_replica"


def llm_gateway_replica_problems(
    settings: PlatformSettings, stacks_dir: Path | None
) -> list[Problem]:
    """A warning while ``llmGatewayReplicas`` is 1 with shared base models: the gateway is
    the only way to the shared runtimes, so its one pod is a single point of failure for
    every tenant of them (a node drain or a rollout of the gateway leaves none serving while
    the new pod starts). Values outside 1-64 are errors of the settings' schema."""
    if not (settings.llm_base_models and settings.llm_gateway_replicas == 1):
        return []
    return [
        platform_problem(
            stacks_dir,
            "llmGatewayReplicas",
            LLM_GATEWAY_SINGLE_REPLICA,
            "is 1: the LLM gateway is then a single point of failure for every tenant of "
            f"the shared base models {[b.name for b in settings.llm_base_models]} (a node "
            "drain, an eviction or a rollout of it leaves none serving until the new pod is "
            "ready); 2 or more spread over nodes and share their limits in Redis",
            1,
            "2 or more (default 2) for a gateway that survives a pod or node",
            severity="warning",
        )
    ]


def _tenant_problem(
    reg: Registry,
    tenant: str,
    path: str,
    code: str,
    message: str,
    value: Any,
    accepted: str,
    file: str | None = None,
) -> Problem:
    file = file or reg.files[tenant]
    try:
        line = line_of(compose(Path(file).read_text("utf-8")), parse_path(path))
    except (OSError, UnicodeDecodeError):
        line = None
    return Problem(file, path, code, message, value, accepted, "error", line)


# Where an error keeps a partly parsed tenant out of the fleet's checks: the fields its GPU
# demand comes from (a document-level error has the path "").
PLANNED_PATHS = ("", "metadata.name", "spec.tier", "spec.nodeGroups", "spec.models", "spec.llms")


def partial_tenants(reg: Registry, platform: PlatformSettings) -> dict[str, ResolvedTenant]:
    """File -> the GPU demand of each tenant file with errors that are all outside the
    fields the fleet's plan reads (:data:`PLANNED_PATHS`): a bad ``owner`` or ``region``
    does not make the tenant's node groups or its demand on a shared pool unknown, so the
    fleet's checks count them (:func:`tenantry.spec.partial.planning_view`). A tenant named
    like another one is left out (``name_duplicate`` says so)."""
    out: dict[str, ResolvedTenant] = {}
    seen = set(reg.tenants)
    for file, spec in sorted(reg.unresolved.items()):
        planned = [
            p
            for p in errors(reg.problems)
            if p.file == file
            and any(p.path == k or p.path.startswith((f"{k}.", f"{k}[")) for k in PLANNED_PATHS)
        ]
        if planned:
            continue
        try:
            tenant = resolve(planning_view(spec), platform, file)
        except (Unparsed, ValueError, KeyError):
            # a hole the plan reads, or a target or instance type the rules could not judge
            continue
        if tenant.name not in seen:
            seen.add(tenant.name)
            out[file] = tenant
    return out


def _fleet(reg: Registry, platform: PlatformSettings, stacks_dir: Path | None) -> None:
    """Plan the GPUs of every valid tenant, and of the tenants whose errors leave their GPU
    demand known (:func:`partial_tenants`); what the plan cannot place becomes a
    problem of the node group's tenant (its ``maxSize``) or of the shared pool's settings
    (``maxNodes``, naming the tenants with demand on it). Sets ``reg.fleet``: the plan of
    the valid tenants only (what gets deployed)."""
    partial = partial_tenants(reg, platform)
    owners = {t.name: (file, t) for file, t in partial.items()}
    try:
        fleet = _plan([*reg.tenants.values(), *partial.values()], platform)
    except DemandError as exc:
        reg.problems.append(
            platform_problem(stacks_dir, "sharedPools", "pool_unplannable", str(exc))
        )
        reg.fleet = FleetPlan(())
        return
    dropped = False
    for pool in fleet.pools:
        if not pool.errors:
            continue
        detail = "; ".join(pool.errors)
        if pool.kind == "node-group":
            tenant, group = pool.name.split("/", 1)
            file, t = owners.get(tenant) or (reg.files[tenant], reg.tenants[tenant])
            i = next(i for i, ng in enumerate(t.node_groups) if ng.name == group)
            reg.problems.append(
                _tenant_problem(
                    reg,
                    tenant,
                    f"spec.nodeGroups[{i}].maxSize",
                    "node_group_too_small",
                    f"the GPU planner cannot place the guaranteed demand on node group "
                    f"{group!r}: {detail} (replicas of a model with minReplicas >= 2 go to two "
                    "nodes; an LLM replica's GPUs all go to one node)",
                    t.node_groups[i].max_size,
                    f">= {pool.needed_nodes}, or fewer guaranteed replicas",
                    file,
                )
            )
            dropped = True
            continue
        shared = pool.shared_pool or pool.name  # a tenant's own nodes: its shared pool's
        i = next(i for i, p in enumerate(platform.shared_pools) if p.name == shared)
        users = sorted(
            {
                s.tenant
                for q in fleet.pools
                if shared in (q.name, q.shared_pool)
                for g in q.gpus
                for s in g.slots
                if s.tenant
            }
        )
        reg.problems.append(
            platform_problem(
                stacks_dir,
                f"sharedPools[{i}].maxNodes",
                "shared_pool_too_small",
                f"the GPU plan of shared pool {pool.name!r} cannot be deployed: {detail} "
                f"(tenants with demand on it: {', '.join(users) or 'none'})",
                pool.max_nodes,
                f">= {pool.needed_nodes}, or less demand on the pool",
            )
        )
    if dropped:
        reg.drop_invalid()
    if dropped or partial:
        fleet = _plan(reg.tenants.values(), platform)
    reg.fleet = fleet


def _plan(tenants: Any, platform: PlatformSettings) -> FleetPlan:
    return plan(extract_demands(list(tenants), platform))


def stack_config_problems(reg: Registry, stacks_dir: Path, tenants_dir: Path) -> list[Problem]:
    """Each valid tenant's generated stack config (``stacks/Pulumi.<tenant>.yaml``): missing
    or out of date is a warning of the tenant's file naming the command that writes it."""
    out = []
    where = tenants_ref(tenants_dir, stacks_dir)
    for name, t in sorted(reg.tenants.items()):
        path = stack_config_path(stacks_dir, name)
        try:
            current: str | None = path.read_text("utf-8")
        except FileNotFoundError:
            current = None
        except (OSError, UnicodeDecodeError):
            current = ""
        if current == stack_config_text(t, where):
            continue
        state = "is missing" if current is None else "is out of date"
        out.append(
            Problem(
                reg.files[name],
                "",
                STACK_CONFIG_MISSING if current is None else STACK_CONFIG_STALE,
                f"its stack config {path} {state}: run `{STACKS_COMMAND}` (pulumi and "
                "tenantry fleet deploy from it)",
                severity="warning",
            )
        )
    return out


def rollout_problems(reg: Registry, base: BaseRef) -> list[Problem]:
    """A canary splits traffic with the revision that runs at the base. KServe gives the
    first revision of an InferenceService all the traffic whatever ``canaryTrafficPercent``
    says (it splits only once a revision has rolled out: KServe
    ``reconcilers/knative/ksvc_reconciler.go``), and the share that stays on the previous
    revision goes to whatever rolled out last, not to the ``version`` the file names. So a
    canary needs the model deployed at the base, with the same stable version. Judged for
    the valid tenants and, model by model, for the files with errors, as far as they parsed
    (:mod:`tenantry.spec.partial`)."""
    out: list[Problem] = []
    declared: list[tuple[str, str | None, Sequence[Any]]] = [
        (name, None, t.models) for name, t in sorted(reg.tenants.items())
    ]
    for source, spec in sorted(reg.unresolved.items()):
        with suppress(Unparsed):
            declared.append((spec.metadata.name, source, spec.spec.models))
    for name, where, models in declared:
        for i, m in each(models):
            with suppress(Unparsed):
                out += _rollout(reg, base, name, where, i, m)
    return out


def _rollout(
    reg: Registry, base: BaseRef, name: str, file: str | None, i: int, m: Any
) -> list[Problem]:
    """:func:`rollout_problems` of model ``m`` (``spec.models[i]``) of tenant ``name``."""
    out: list[Problem] = []
    if m.canary is None:
        return out
    at_base = base.tenants.get(name, {}).get(m.name)
    path = f"spec.models[{i}].canary"
    if at_base is None:
        out.append(
            _tenant_problem(
                reg,
                name,
                path,
                "canary_first_deployment",
                f"model {m.name!r} does not run at {base.ref}: KServe sends all the "
                "traffic of a first deployment to it, so this canary would serve "
                "100%, not "
                f"{m.canary.traffic_percent}%",
                m.canary.version,
                f"deploy version {m.version} without a canary first, then add it",
                file,
            )
        )
    elif at_base.version != m.version:
        out.append(
            _tenant_problem(
                reg,
                name,
                path,
                "canary_stable_not_deployed",
                f"the stable version {m.version} is not the one running at {base.ref} "
                f"(version {at_base.version}): the other "
                f"{100 - m.canary.traffic_percent}% would go to version "
                f"{at_base.version}",
                m.version,
                f"version {at_base.version} (what runs) with the canary, or deploy "
                f"version {m.version} first",
                file,
            )
        )
    return out


def base_models(files: Mapping[str, bytes]) -> Base:
    """Tenant -> model -> (version, canary version) from tenant files at a base ref, read
    leniently (a file that does not parse there declares nothing)."""
    out: dict[str, dict[str, DeployedModel]] = {}
    for file, raw in files.items():
        if not file.endswith((".yaml", ".yml")):
            continue
        try:
            doc = yaml.safe_load(raw)
            name = str(doc["metadata"]["name"])
            models = doc["spec"].get("models") or []
            out[name] = {
                str(m["name"]): DeployedModel(
                    str(m["version"]),
                    str(m["canary"]["version"]) if isinstance(m.get("canary"), dict) else None,
                )
                for m in models
                if isinstance(m, dict) and "name" in m and "version" in m
            }
        except (yaml.YAMLError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            continue
    return out


def errors_for(reg: Registry, name: str) -> list[Problem]:
    """The errors that keep tenant ``name`` from being rendered (and its stack deployed):
    those of its own file. Errors of the platform or the fleet keep the platform stack
    from rendering, and fail ``validate`` and ``plan``, but do not change this tenant's
    resources."""
    mine = reg.files.get(name)
    return [p for p in reg.problems if p.severity == "error" and p.file == mine]


def valid_tenant(reg: Registry, name: str) -> ResolvedTenant | None:
    """Tenant ``name`` when its own file has no error, else None."""
    return None if errors_for(reg, name) else reg.tenants.get(name)


__all__ = [
    "STACKS_COMMAND",
    "STACK_CONFIG_CODES",
    "BaseRef",
    "DeployedModel",
    "base_models",
    "check",
    "errors_for",
    "platform_name_problems",
    "rollout_problems",
    "stack_config_problems",
    "valid_tenant",
]
