"""Rules that relate fields to each other, to the tier and to the platform.

Each rule appends :class:`Problem`s with a stable ``code``; nothing stops at the first
finding, so a tenant file gets every error at once. They run on a valid spec, and on the valid
parts of a file with structural errors (:mod:`tenantry.spec.partial`): a rule that reads a
field that did not parse stops there (:class:`Unparsed`), keeping what it reported before.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import Any

from ..catalog import (
    NodeResources,
    cpu_m,
    general_instance_types,
    gpu_models,
    instance_types,
    layout_problems,
    memory_mib,
    namespaces,
    node_allocatable,
)
from ..tags import MANDATORY_KEYS, MAX_TENANT_LABELS, S3_OBJECT_MAX_TAGS, SYSTEM_LABEL_KEYS
from . import downstream
from .errors import Problem, Severity, Unparsed, each, format_path
from .llm_sizing import replica_resources
from .model import ADAPTERS_PREFIX, MODELS_PREFIX, Llm, TenantSpec
from .platform import PlatformSettings
from .resolve import cpu_place, quotas_of
from .targets import Target, gpu_targets, target_for
from .tiers import TIERS

Report = Callable[..., None]


def check(
    spec: TenantSpec, platform: PlatformSettings, file: str, stem: str | None
) -> list[Problem]:
    problems: list[Problem] = []

    def report(
        path: str,
        code: str,
        message: str,
        value: object = None,
        accepted: str | None = None,
        severity: Severity = "error",
    ) -> None:
        problems.append(
            Problem(
                file=file,
                path=path,
                code=code,
                message=message,
                value=value,
                accepted=accepted,
                severity=severity,
            )
        )

    rules = (
        _names,
        _unique,
        _callers,
        _region,
        _labels,
        _tier,
        _node_groups,
        _models,
        _quotas,
        _replica_fits_a_node,
        _artifacts,
        _llms,
        _clients,
    )
    for rule in (*rules, *downstream.rules()):
        try:
            rule(spec, platform, stem, report)
        except Unparsed:
            # a partial spec (tenantry.spec.partial): the rule read a field that did not
            # parse; what it reported before was decided by valid fields and stands
            continue
    return problems


def _duplicates(names: Iterable[str]) -> set[str]:
    return {n for n, c in Counter(names).items() if c > 1}


def _unique_names(
    items: Sequence[Any], path: str, message: str, accepted: str, report: Report
) -> None:
    """``name_duplicate`` at ``<path>[i].name`` for every entry whose name another shares."""
    dups = _duplicates(i.name for i in items)
    for i, item in enumerate(items):
        if item.name in dups:
            report(f"{path}[{i}].name", "name_duplicate", message, item.name, accepted)


def _offered_where(targets: list[Target]) -> str:
    """What a tenant may request, per place its models may run (the ``accepted`` of
    ``gpu_unavailable``)."""
    where = "; ".join(f"{t.describe()}: {', '.join(sorted(t.offered))}" for t in targets)
    return where or "nothing: declare a node group with a GPU instance type"


def _offered(gpu: str, path: str, targets: list[Target], report: Report) -> None:
    """``gpu_unavailable`` when no place the tenant's models may run offers ``gpu`` (a MIG
    profile or a whole GPU): a model, an own LLM or a GPU quota."""
    if target_for(gpu, targets) is None:
        report(
            path,
            "gpu_unavailable",
            "is not offered where this tenant's models run",
            gpu,
            _offered_where(targets),
        )


def _names(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    name = spec.metadata.name
    if stem is not None and name != stem:
        report(
            "metadata.name",
            "name_mismatch",
            "must equal the file name (it is also the stack name)",
            name,
            f"{stem!r}",
        )
    why = namespaces.reserved_reason(name, platform.namespaces())
    if why is not None:
        reserved = namespaces.reserved(platform.namespaces())
        report(
            "metadata.name",
            "name_reserved",
            f"is reserved ({why}): the tenant's namespace would be that system's",
            name,
            "a name that is not 'kube-*' nor one of " + ", ".join(sorted(reserved)),
        )


def _unique(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    """The names within each list of the spec are unique."""
    s = spec.spec
    lists: tuple[tuple[str, Callable[[], Sequence[Any]]], ...] = (
        ("models", lambda: s.models),
        ("vectorNamespaces", lambda: s.vector_namespaces),
        ("nodeGroups", lambda: s.node_groups),
        ("llmAdapters", lambda: s.llm_adapters),
        ("llms", lambda: s.llms),
    )
    for field, items in lists:
        with suppress(Unparsed):  # a list with a name that did not parse: not judged
            _unique_names(
                items(),
                f"spec.{field}",
                f"is used by more than one entry of spec.{field}",
                "a name unique within the list",
                report,
            )


def _callers(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """``access.allowedNamespaces``: neither the tenant's own namespace nor a reserved one."""
    name, s = spec.metadata.name, spec.spec
    settings_namespaces = platform.namespaces()
    for i, ns in each(s.access.allowed_namespaces):
        with suppress(Unparsed):
            if ns == name:
                report(
                    f"spec.access.allowedNamespaces[{i}]",
                    "namespace_self",
                    "is the tenant's own namespace, where only its model pods run",
                    ns,
                    "other namespaces only",
                )
                continue
            why = namespaces.reserved_reason(ns, settings_namespaces)
            if why is not None:
                # The callers policy trusts every workload of the namespace by its mesh identity;
                # the platform's own workloads forward other callers' requests (Knative's
                # activator carries every tenant's, the gateways every outside caller's), so
                # trusting them trusts callers the tenant never declared.
                reserved = namespaces.reserved(settings_namespaces)
                report(
                    f"spec.access.allowedNamespaces[{i}]",
                    "namespace_reserved",
                    f"is {why}: its workloads are the platform's, not the tenant's callers, and "
                    "the models would trust every request they forward (Knative's activator "
                    "carries every tenant's callers, the gateways every outside caller)",
                    ns,
                    "the namespace of the tenant's own applications: not 'kube-*' nor one of "
                    + ", ".join(sorted(reserved)),
                )


def _region(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    s = spec.spec
    if s.region != platform.region:
        report(
            "spec.region",
            "region_unsupported",
            "the platform's cluster runs in another region",
            s.region,
            f"{platform.region!r}",
        )


def _labels(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    """A tenant label may not name a key Tenantry sets (the cost-allocation keys) nor one
    another system reads on the labelled namespace and pods (:data:`SYSTEM_LABEL_KEYS`)."""
    reserved = (*MANDATORY_KEYS, *SYSTEM_LABEL_KEYS)
    labels = spec.metadata.labels
    if len(labels) > MAX_TENANT_LABELS:
        report(
            "metadata.labels",
            "labels_too_many",
            f"has {len(labels)} labels: each becomes an AWS tag next to the "
            f"{len(MANDATORY_KEYS)} mandatory ones on every resource, and S3 takes at most "
            f"{S3_OBJECT_MAX_TAGS} tags on an object (each model's config.pbtxt in the "
            "tenant's bucket), so the upload would fail",
            len(labels),
            f"at most {MAX_TENANT_LABELS} labels",
        )
    for key in spec.metadata.labels:
        if key in MANDATORY_KEYS:
            why = "is a mandatory cost-allocation key that Tenantry sets itself"
        elif key in SYSTEM_LABEL_KEYS:
            why = (
                f"is {SYSTEM_LABEL_KEYS[key]}: it would decide whether the tenant's pods get "
                "Istio's sidecar (mTLS and the authorization policies), which Tenantry sets"
            )
        else:
            continue
        report(
            format_path(("metadata", "labels", key)),
            "label_reserved",
            why,
            key,
            "any key except " + ", ".join(reserved),
        )


def _tier(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    tier = TIERS[spec.spec.tier]
    groups = spec.spec.node_groups
    if tier.node_groups == "forbidden" and groups:
        report(
            "spec.nodeGroups",
            "tier_forbids_node_groups",
            f"the {tier.name} tier runs on the shared pools only",
            f"{len(groups)} node group(s)",
            "no nodeGroups, or tier isolated/dedicated",
        )
    if tier.node_groups == "required" and not groups:
        report(
            "spec.nodeGroups",
            "tier_requires_node_groups",
            f"the {tier.name} tier runs on its own node groups only",
            [],
            "at least one node group",
        )
    gpu_demand = any(m.gpu is not None for m in spec.spec.models) or spec.spec.llms
    if tier.gpu_sharing == "exclusive-gpus" and not groups and not gpu_demand:
        for i in range(len(spec.spec.models)):
            report(
                f"spec.models[{i}].gpu",
                "isolated_cpu_model_without_nodes",
                f"the {tier.name} tier runs every pod on the tenant's own nodes; a CPU-only "
                "model runs on them beside the tenant's GPU models, and this tenant has "
                "neither GPU models, LLMs nor node groups",
                None,
                "a GPU profile for this model, a model or LLM with a GPU, or a nodeGroup",
            )
    if tier.tenant_kms_key == "required" and spec.spec.storage.encryption != "tenant-key":
        report(
            "spec.storage.encryption",
            "tier_requires_tenant_key",
            f"the {tier.name} tier encrypts with the tenant's own KMS key",
            spec.spec.storage.encryption,
            "'tenant-key'",
        )


def _node_groups(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    known = instance_types()
    for i, ng in each(spec.spec.node_groups):
        with suppress(Unparsed):
            base = f"spec.nodeGroups[{i}]"
            if ng.min_size > ng.max_size:
                report(
                    f"{base}.minSize",
                    "min_above_max",
                    "must not exceed maxSize",
                    ng.min_size,
                    f"0..{ng.max_size}",
                )
            it = known.get(ng.instance_type)
            if it is None:
                report(
                    f"{base}.instanceType",
                    "instance_type_unknown",
                    "is not a GPU instance type in the catalog",
                    ng.instance_type,
                    ", ".join(sorted(known)),
                )
                continue
            if ng.mig_layout:
                gpu = gpu_models()[it.gpu_model]
                for problem in layout_problems(gpu, ng.mig_layout):
                    report(
                        f"{base}.migLayout",
                        "mig_layout_unplaceable",
                        f"cannot be placed on one {gpu.name} of {it.name}: {problem}",
                        dict(ng.mig_layout),
                        "a placeable layout of " + ", ".join(gpu.profile_names),
                    )


def _models(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    targets = gpu_targets(spec, platform)
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            base = f"spec.models[{i}]"
            if m.min_replicas > m.max_replicas:
                report(
                    f"{base}.minReplicas",
                    "min_above_max",
                    "must not exceed maxReplicas",
                    m.min_replicas,
                    f"0..{m.max_replicas}",
                )
            if m.canary and m.canary.version == m.version:
                report(
                    f"{base}.canary.version",
                    "canary_same_version",
                    "must differ from the model's version",
                    m.canary.version,
                    f"any version except {m.version!r}",
                )
            for field, tensors in (("inputs", m.inputs), ("outputs", m.outputs)):
                _unique_names(
                    tensors,
                    f"{base}.{field}",
                    f"is used by more than one of the model's {field}",
                    "a unique tensor name",
                    report,
                )
            if m.gpu is not None:
                _offered(m.gpu, f"{base}.gpu", targets, report)
            if m.max_batch_size == 0 and any(t.dims and t.dims[0] == -1 for t in m.inputs):
                report(
                    f"{base}.maxBatchSize",
                    "batching_disabled",
                    "is 0 (no batching) while an "
                    "input's first dim is -1; Triton then treats -1 as a variable dim, not the "
                    "batch",
                    0,
                    ">= 1 to batch",
                    "warning",
                )


def _llm_resources(llm: Llm, targets: list[Target]) -> tuple[float, float] | None:
    """(cores, GiB) per replica of own LLM ``llm``: declared, else the default for the GPU
    model of its target (:func:`tenantry.spec.llm_sizing.replica_resources`); None when no
    target offers its GPU (reported as gpu_unavailable) and it sets neither."""
    target = target_for(llm.gpu, targets)
    if target is None:
        if llm.cpu is None or llm.memory_gib is None:
            return None
        return llm.cpu, llm.memory_gib
    return replica_resources(target.gpu_model, llm.gpu, llm.gpus, llm.cpu, llm.memory_gib)


def _demand(
    spec: TenantSpec, replicas: str, targets: list[Target]
) -> tuple[float, float, Counter[str]]:
    cpu = mem = 0.0
    gpus: Counter[str] = Counter()
    for m in spec.spec.models:
        n = getattr(m, replicas) * m.revisions
        cpu += n * m.cpu
        mem += n * m.memory_gib
        if m.gpu:
            gpus[m.gpu] += n
    for llm in spec.spec.llms:  # own LLMs run all their replicas always
        gpus[llm.gpu] += llm.replicas * llm.gpus
        pod = _llm_resources(llm, targets)
        if pod is not None:
            cpu += llm.replicas * pod[0]
            mem += llm.replicas * pod[1]
    return cpu, mem, gpus


def _quotas(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    quotas = quotas_of(spec)  # the tier's defaults where the file sets none
    cpu_q, mem_q, gpu_q = quotas.cpu, quotas.memory_gib, quotas.gpus
    note = " (canary revisions count twice)" if any(m.canary for m in spec.spec.models) else ""
    passes: tuple[tuple[str, Severity], ...] = (
        ("min_replicas", "error"),
        ("max_replicas", "warning"),
    )
    targets = gpu_targets(spec, platform)
    for replicas, severity in passes:
        cpu, mem, gpus = _demand(spec, replicas, targets)
        label = (
            "minimum demand (minReplicas x per-replica request)"
            if severity == "error"
            else "demand at maxReplicas (maxReplicas x per-replica request)"
        )
        code = "quota_exceeded" if severity == "error" else "quota_burst_exceeded"
        if cpu > cpu_q:
            report(
                "spec.quotas.cpu",
                code,
                f"{label} is {cpu:g} cores{note}",
                cpu_q,
                f">= {math.ceil(cpu)}",
                severity,
            )
        if mem > mem_q:
            report(
                "spec.quotas.memoryGiB",
                code,
                f"{label} is {mem:g} GiB{note}",
                mem_q,
                f">= {math.ceil(mem)}",
                severity,
            )
        for gpu, n in sorted(gpus.items()):
            # a profile offered nowhere is one error, at the request (gpu_unavailable), not
            # also a quota to raise for a GPU that cannot be had
            if n > gpu_q.get(gpu, 0) and target_for(gpu, targets) is not None:
                report(
                    format_path(("spec", "quotas", "gpus", gpu)),
                    code,
                    f"{label} is {n} x {gpu}{note}",
                    gpu_q.get(gpu, 0),
                    f">= {n}",
                    severity,
                )
    for gpu in gpu_q:
        _offered(gpu, format_path(("spec", "quotas", "gpus", gpu)), targets, report)
    _node_group_capacity(spec, report)


def _replica_fits_a_node(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """A model's replica asks for ``cpu`` and ``memoryGiB`` on one node of the place it
    runs: a GPU model on its shared pool's or node group's instance type; a CPU-only model
    where :func:`tenantry.spec.resolve.cpu_place` puts it: an isolated or dedicated
    tenant's own nodes (its first node group, or its nodes of a shared pool), else the
    cluster's general nodes, whose instance type is ``cluster.systemInstanceType`` whether
    the platform creates the cluster or adopts it (for an adopted cluster the setting names
    its general nodes' type; :mod:`tenantry.cost` prices the models' cores at it too). The
    scheduler places a pod on one node whose allocatable, less what the pods already there
    request, covers its requests: more than an empty node's allocatable less its node
    agents' DaemonSets (:func:`tenantry.catalog.node_allocatable`, the same figure the
    fleet planner packs against) can never be scheduled. An own LLM's replica
    (``spec.llms[]``: one pod, its ``cpu`` and ``memoryGiB`` or their defaults,
    :mod:`tenantry.spec.llm_sizing`) likewise on one node of its GPU's target."""
    targets = gpu_targets(spec, platform)
    pools = {p.name: p.instance_type for p in platform.shared_pools}
    groups: dict[str, str] = {}
    for _, g in each(spec.spec.node_groups):
        with suppress(Unparsed):
            groups.setdefault(g.name, g.instance_type)
    general_it = general_instance_types().get(platform.cluster.system_instance_type)
    adopted = "" if platform.cluster.create else " of the adopted cluster"
    general = (
        (
            f"an empty {general_it.name} node of the general nodes{adopted} "
            "(cluster.systemInstanceType)",
            node_allocatable(general_it.vcpu, general_it.memory_gib, gpu_node=False),
        )
        if general_it is not None
        else None
    )

    def on(kind: str, name: str, own: str = "") -> tuple[str, NodeResources] | None:
        it = instance_types().get((pools if kind == "shared-pool" else groups).get(name, ""))
        if it is None:  # an unknown instance type is its own error
            return None
        where = f"an empty {it.name} node of {own}{kind} {name!r}"
        return where, node_allocatable(it.vcpu, it.memory_gib, gpu_node=True)

    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            node: tuple[str, NodeResources] | None = None
            if m.gpu is None:
                kind, name = cpu_place(spec, targets)
                own = "the tenant's own nodes in " if kind == "shared-pool" else ""
                node = general if kind == "cpu-nodes" else on(kind, name, own)
            else:
                target = target_for(m.gpu, targets)
                if target is not None:
                    node = on(target.kind, target.name)
            if node is None:
                continue
            where, alloc = node
            _fits(
                f"spec.models[{i}]",
                where,
                alloc,
                ((m.cpu, m.cpu), (m.memory_gib, m.memory_gib)),
                report,
            )
    for i, llm in each(spec.spec.llms):
        with suppress(Unparsed):
            target = target_for(llm.gpu, targets)
            pod = _llm_resources(llm, targets)
            node = on(target.kind, target.name) if target is not None else None
            if node is None or pod is None:
                continue
            declared = ((llm.cpu, pod[0]), (llm.memory_gib, pod[1]))
            _fits(f"spec.llms[{i}]", *node, declared, report)


def _fits(
    base: str,
    where: str,
    alloc: NodeResources,
    asked: tuple[tuple[float | None, float], tuple[float | None, float]],
    report: Report,
) -> None:
    """Reports ``<base>.cpu`` / ``<base>.memoryGiB`` (replica_exceeds_node) when one replica's
    request (``asked``: (declared or None for a default, value) for cpu, then memory) exceeds
    ``alloc``, the node's allocatable less its node agents."""
    (cpu_declared, cpu), (mem_declared, mem) = asked
    for field, declared, value, need, has_raw, scale, unit in (
        ("cpu", cpu_declared, cpu, cpu_m(cpu), alloc.cpu_m, 1000, "cores"),
        ("memoryGiB", mem_declared, mem, memory_mib(mem), alloc.memory_mib, 1024, "GiB"),
    ):
        if need <= has_raw:
            continue
        has = has_raw / scale
        default = "" if declared is not None else f" ({value:g} {unit}, the default: docs/llm.md)"
        report(
            f"{base}.{field}",
            "replica_exceeds_node",
            f"one replica asks for more than {where} offers its pods{default} ({has:g} {unit} "
            "allocatable, less the kubelet's reserve and the node agents' DaemonSets): "
            "the pod would never be scheduled",
            declared if declared is not None else value,
            f"<= {has:g}",
        )


def _node_group_capacity(spec: TenantSpec, report: Report) -> None:
    """Minimum demand that even maxSize nodes of the tenant's node groups cannot hold."""
    if not spec.spec.node_groups:
        return
    capacity: Counter[str] = Counter()
    for ng in spec.spec.node_groups:
        it = instance_types().get(ng.instance_type)
        if it is None:
            continue
        per_gpu = ng.mig_layout or {"gpu": 1}
        for gpu, n in per_gpu.items():
            capacity[gpu] += n * it.gpus * ng.max_size
    _, _, gpus = _demand(spec, "min_replicas", [])
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            if m.gpu and m.gpu in capacity and gpus[m.gpu] > capacity[m.gpu]:
                report(
                    f"spec.models[{i}].minReplicas",
                    "node_group_capacity",
                    f"minimum demand of {gpus[m.gpu]} x {m.gpu} exceeds what the node groups hold "
                    f"at maxSize ({capacity[m.gpu]})",
                    m.min_replicas,
                    "fewer replicas, or a larger maxSize",
                )


def _artifacts(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """The onboarding gate: above the shared tier (``onboarding.requireArtifactDigest``),
    every model version and canary pins what it serves by digest."""
    tier = spec.spec.tier
    if tier not in platform.onboarding.require_artifact_digest:
        return
    accepted = (
        "artifact: {digest: sha256:<64 hex>} (tenantry digest DIR) or "
        "artifact: {image: registry/repository@sha256:<64 hex>}"
    )
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            if m.artifact is None:
                report(
                    f"spec.models[{i}].artifact",
                    "artifact_required",
                    f"model {m.name!r} version {m.version}: the {tier} tier requires the "
                    "version's artifact digest (onboarding.requireArtifactDigest)",
                    None,
                    accepted,
                )
            if m.canary is not None and m.canary.artifact is None:
                report(
                    f"spec.models[{i}].canary.artifact",
                    "artifact_required",
                    f"model {m.name!r} canary version {m.canary.version}: the {tier} tier "
                    "requires the version's artifact digest (onboarding.requireArtifactDigest)",
                    None,
                    accepted,
                )


def _llms(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    """LLM adapters must name a shared base model the tenant's tier may use, within its
    maximum rank, at a prefix of the tenant's bucket no other adapter shares; own LLMs must
    be placeable where the tenant's models run."""
    tier = spec.spec.tier
    known = ", ".join(b.name for b in platform.llm_base_models) or "none (no llmBaseModels)"
    paths = [a.path for a in spec.spec.llm_adapters]
    if spec.spec.llm_adapters and spec.spec.storage.encryption != "tenant-key":
        report(
            "spec.storage.encryption",
            "llm_adapter_needs_tenant_key",
            "a shared LLM runtime reads adapters only from buckets under the tenant's own KMS "
            "key (the platform key would let it decrypt every platform-key bucket's objects)",
            spec.spec.storage.encryption,
            "'tenant-key'",
        )
    for i, a in enumerate(spec.spec.llm_adapters):
        base = f"spec.llmAdapters[{i}]"
        bm = platform.base_model(a.base_model)
        if bm is None:
            report(
                f"{base}.baseModel",
                "llm_base_model_unknown",
                "is not a shared base model of the platform (tenantry:platform.llmBaseModels)",
                a.base_model,
                known,
            )
        else:
            if tier not in bm.tiers:
                allowed = [b.name for b in platform.llm_base_models if tier in b.tiers]
                report(
                    f"{base}.baseModel",
                    "llm_tier_not_allowed",
                    f"the {tier} tier may not share the runtime of {bm.name} (allowed tiers: "
                    f"{', '.join(bm.tiers)}); declare an own LLM under spec.llms instead",
                    a.base_model,
                    ", ".join(allowed) or f"no shared base model admits the {tier} tier",
                )
            served = f"{spec.metadata.name}-{a.name}"
            if served == bm.name:
                report(
                    f"{base}.name",
                    "llm_served_name_is_base_model",
                    f"is served as {served!r}, the name under which the runtime of {bm.name} "
                    "serves the bare base model (KServe's --served-model-name): one name would "
                    "mean two models, and which one answers depends on vLLM's lookup order",
                    a.name,
                    f"an adapter name whose served name <tenant>-<name> is not {bm.name!r}",
                )
            if a.rank > bm.max_lora_rank:
                report(
                    f"{base}.rank",
                    "llm_rank_too_high",
                    f"exceeds the maximum LoRA rank of {bm.name} (vLLM --max-lora-rank)",
                    a.rank,
                    f"1..{bm.max_lora_rank}",
                )
        if not a.path.startswith(ADAPTERS_PREFIX):
            report(
                f"{base}.path",
                "llm_adapter_path_outside",
                f"the shared runtime may read adapters under {ADAPTERS_PREFIX} only (never "
                f"the tenant's {MODELS_PREFIX} or other data)",
                a.path,
                f"{ADAPTERS_PREFIX}<name>/...",
            )
        for j, other in enumerate(paths):
            if j != i and (other.startswith(a.path) or a.path.startswith(other)):
                report(
                    f"{base}.path",
                    "llm_adapter_path_overlap",
                    f"overlaps spec.llmAdapters[{j}].path {other!r}: each adapter's read grant "
                    "must cover its own artifact only",
                    a.path,
                    "a prefix that neither contains nor is contained in another adapter's",
                )
                break
    targets = gpu_targets(spec, platform)
    for i, llm in enumerate(spec.spec.llms):
        base = f"spec.llms[{i}]"
        _offered(llm.gpu, f"{base}.gpu", targets, report)
        if not llm.path.startswith(MODELS_PREFIX):
            report(
                f"{base}.path",
                "llm_path_outside_models",
                f"the tenant's inference role reads {MODELS_PREFIX} of its bucket only",
                llm.path,
                f"{MODELS_PREFIX}<name>/...",
            )
        if llm.gpus > 1 and llm.gpu != "gpu":
            report(
                f"{base}.gpus",
                "llm_gpus_need_whole_gpus",
                f"{llm.gpus} devices per replica need whole GPUs; a MIG slice is one device",
                llm.gpus,
                '1, or gpu: "gpu"',
            )
        # KServe runs an LLMInferenceService without ``worker`` as one pod per replica
        # (kserve v0.20.0 workload_single_node.go) asking for all its GPUs: one node must
        # hold them all.
        target = target_for(llm.gpu, targets)
        if target is None:
            continue
        places = platform.shared_pools if target.kind == "shared-pool" else spec.spec.node_groups
        it = instance_types().get(next(p.instance_type for p in places if p.name == target.name))
        if it is not None and llm.gpus > it.gpus:
            report(
                f"{base}.gpus",
                "llm_gpus_exceed_node",
                f"one replica is one pod asking for {llm.gpus} GPUs, and a {it.name} node of "
                f"{target.kind} {target.name!r} has {it.gpus}: the pod would never be scheduled",
                llm.gpus,
                f"<= {it.gpus}",
            )


# The gateway-side DENY policy has one rule per way of failing every client at once
# (tenantry.k8s.gateway.client_deny_terms): the product over clients of their conditions.
# Bounded so that the policy stays small enough to review and for Envoy to evaluate.
MAX_CLIENT_RULES = 64


def client_rule_count(spec: TenantSpec) -> int:
    """How many gateway DENY rules the tenant's clients make (see MAX_CLIENT_RULES)."""
    n = 1
    for c in spec.spec.access.clients:
        n *= 1 + len(c.claims)
    return n


def _clients(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """``access.clients``: each names a token issuer the platform declares (the ingress gateway
    validates only those; a client of an unknown issuer could never be admitted, and one that
    trusts any issuer would admit anybody), says which of that issuer's tokens are this
    tenant's (subjects and/or claims: a client with neither would admit every holder of a
    token from the issuer, other tenants' users included), and names are unique."""
    clients = spec.spec.access.clients
    known = [i.name for i in platform.token_issuers]
    _unique_names(
        clients,
        "spec.access.clients",
        "is used by more than one client",
        "a name unique within spec.access.clients",
        report,
    )
    for i, c in each(clients):
        with suppress(Unparsed):
            path = f"spec.access.clients[{i}]"
            if platform.issuer(c.issuer) is None:
                report(
                    f"{path}.issuer",
                    "client_issuer_unknown",
                    "is not a token issuer of the platform (tokenIssuers in the platform "
                    "settings); the ingress gateway validates no other tokens",
                    c.issuer,
                    ", ".join(repr(k) for k in known)
                    if known
                    else "none: the platform declares "
                    "no tokenIssuers yet, so external clients cannot be admitted",
                )
            if not c.subjects and not c.claims:
                report(
                    path,
                    "client_unbounded",
                    "names neither subjects nor claims, so it would admit every holder of a "
                    "token from its issuer, other tenants' users included",
                    c.name,
                    "subjects (token sub values) and/or claims (e.g. {tenant_id: [<tenant>]})",
                )
    rules = client_rule_count(spec)
    if rules > MAX_CLIENT_RULES:
        report(
            "spec.access.clients",
            "clients_too_many_rules",
            f"the clients make {rules} gateway rules (the product over clients of 1 + the "
            "number of required claims)",
            len(clients),
            f"at most {MAX_CLIENT_RULES} rules: merge clients that share claims, or require "
            "fewer claims per client",
        )
