"""Every cross-field rule: exact problem code and field path, and the accepted values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantry.catalog import node_allocatable
from tenantry.spec import PlatformSettings

from .helpers import Doc, codes, problems_for, variant


def _set(path: str, value: Any):  # type: ignore[no-untyped-def]
    def change(d: Doc) -> None:
        *parents, last = path.split("/")
        node: Any = d
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is _DELETE:
            del node[last]
        elif last.isdigit() and int(last) == len(node):
            node.append(value)  # one entry past the end: added
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return change


_DELETE = object()

ADAPTER = {
    "name": "a2",
    "baseModel": "llama-3-8b",
    "path": "adapters/a2/",
    "digest": "sha256:" + "1" * 64,
    "rank": 8,
}
CASES = [
    # LLMs: adapters on the platform's shared base models, tenant-own deployments
    (
        "acme",
        "spec/llmAdapters/0/baseModel",
        "llama-70b",
        "llm_base_model_unknown",
        "spec.llmAdapters[0].baseModel",
    ),
    ("acme", "spec/llmAdapters/0/rank", 32, "llm_rank_too_high", "spec.llmAdapters[0].rank"),
    (
        "acme",
        "spec/llmAdapters/0/path",
        "models/fraud-detector/",
        "llm_adapter_path_outside",
        "spec.llmAdapters[0].path",
    ),
    (
        "acme",
        "spec/llmAdapters/1",
        {**ADAPTER, "path": "adapters/support-agent/"},
        "llm_adapter_path_overlap",
        "spec.llmAdapters[1].path",
    ),
    (
        "acme",
        "spec/llmAdapters/1",
        {**ADAPTER, "name": "support-agent"},
        "name_duplicate",
        "spec.llmAdapters[1].name",
    ),
    (
        "globex",
        "spec/llmAdapters",
        [ADAPTER],
        "llm_adapter_needs_tenant_key",
        "spec.storage.encryption",
    ),
    (
        "initech",
        "spec/llmAdapters",
        [ADAPTER],
        "llm_tier_not_allowed",
        "spec.llmAdapters[0].baseModel",
    ),
    ("initech", "spec/llms/0/path", "adapters/x/", "llm_path_outside_models", "spec.llms[0].path"),
    ("initech", "spec/llms/0/gpu", "1g.6gb", "gpu_unavailable", "spec.llms[0].gpu"),
    ("initech", "spec/llms/0/gpus", 2, "quota_exceeded", "spec.quotas.gpus.gpu"),
    (
        "initech",
        "spec/llms/0",
        {
            "name": "m",
            "path": "models/m/",
            "digest": "sha256:" + "2" * 64,
            "gpu": "3g.40gb",
            "gpus": 2,
        },
        "llm_gpus_need_whole_gpus",
        "spec.llms[0].gpus",
    ),
    # (tenant, mutation path, value, expected code, expected field path)
    ("acme", "metadata/name", "acme2", "name_mismatch", "metadata.name"),
    (
        "acme",
        "metadata/labels",
        {"cost-center": "x"},
        "label_reserved",
        'metadata.labels["cost-center"]',
    ),
    (
        "acme",
        "metadata/labels",
        {"istio-injection": "disabled"},
        "label_reserved",
        'metadata.labels["istio-injection"]',
    ),
    (
        "acme",
        "metadata/labels",
        {f"k{i}": "v" for i in range(6)},
        "labels_too_many",
        "metadata.labels",
    ),
    ("acme", "spec/region", "eu-west-1", "region_unsupported", "spec.region"),
    (
        "acme",
        "spec/nodeGroups",
        [{"name": "g", "instanceType": "p5.48xlarge", "minSize": 0, "maxSize": 1}],
        "tier_forbids_node_groups",
        "spec.nodeGroups",
    ),
    ("umbrella", "spec/nodeGroups", [], "tier_requires_node_groups", "spec.nodeGroups"),
    (
        "acme",
        "spec/storage/encryption",
        "platform-key",
        "tier_requires_tenant_key",
        "spec.storage.encryption",
    ),
    ("umbrella", "spec/nodeGroups/0/minSize", 4, "min_above_max", "spec.nodeGroups[0].minSize"),
    (
        "umbrella",
        "spec/nodeGroups/0/instanceType",
        "g5.xlarge",
        "instance_type_unknown",
        "spec.nodeGroups[0].instanceType",
    ),
    (
        "umbrella",
        "spec/nodeGroups/0/migLayout",
        {"4g.40gb": 2},
        "mig_layout_unplaceable",
        "spec.nodeGroups[0].migLayout",
    ),
    (
        "umbrella",
        "spec/nodeGroups/0/migLayout",
        {"3g.40gb": 1, "2g.20gb": 3},
        "mig_layout_unplaceable",
        "spec.nodeGroups[0].migLayout",
    ),
    (
        "umbrella",
        "spec/nodeGroups/0/migLayout",
        {"1g.20gb": 4, "1g.10gb": 1},
        "mig_layout_unplaceable",
        "spec.nodeGroups[0].migLayout",
    ),
    (
        "umbrella",
        "spec/nodeGroups/0/migLayout",
        {"3g.20gb": 2},
        "mig_layout_unplaceable",
        "spec.nodeGroups[0].migLayout",
    ),
    ("acme", "spec/models/0/minReplicas", 5, "min_above_max", "spec.models[0].minReplicas"),
    (
        "acme",
        "spec/models/0/canary/version",
        "12",
        "canary_same_version",
        "spec.models[0].canary.version",
    ),
    ("acme", "spec/models/0/gpu", "1g.6gb", "gpu_unavailable", "spec.models[0].gpu"),
    ("umbrella", "spec/models/0/gpu", "1g.10gb", "gpu_unavailable", "spec.models[0].gpu"),
    ("acme", "spec/models/1/name", "fraud-detector", "name_duplicate", "spec.models[1].name"),
    (
        "acme",
        "spec/vectorNamespaces/1/name",
        "docs",
        "name_duplicate",
        "spec.vectorNamespaces[1].name",
    ),
    (
        "acme",
        "spec/access/allowedNamespaces",
        ["acme"],
        "namespace_self",
        "spec.access.allowedNamespaces[0]",
    ),
    (
        "acme",
        "spec/quotas/gpus",
        {"1g.10gb": 3, "2g.20gb": 2},
        "quota_exceeded",
        'spec.quotas.gpus["1g.10gb"]',
    ),
    (
        "acme",
        "spec/access/allowedNamespaces",
        ["acme-apps", "knative-serving"],
        "namespace_reserved",
        "spec.access.allowedNamespaces[1]",
    ),
    ("acme", "spec/quotas/cpu", 2, "quota_exceeded", "spec.quotas.cpu"),
    ("globex", "spec/models/0/cpu", 300, "replica_exceeds_node", "spec.models[0].cpu"),
    (
        "umbrella",
        "spec/models/1/memoryGiB",
        4096,
        "replica_exceeds_node",
        "spec.models[1].memoryGiB",
    ),
    ("acme", "spec/quotas/memoryGiB", 16, "quota_exceeded", "spec.quotas.memoryGiB"),
    (
        "acme",
        "spec/quotas/gpus",
        {"1g.10gb": 8, "2g.20gb": 2, "1g.6gb": 1},
        "gpu_unavailable",
        'spec.quotas.gpus["1g.6gb"]',
    ),
    (
        "umbrella",
        "spec/nodeGroups/0",
        {
            "name": "h100",
            "instanceType": "p5.4xlarge",
            "minSize": 1,
            "maxSize": 1,
            "migLayout": {"3g.40gb": 2},
        },
        "node_group_capacity",
        "spec.models[0].minReplicas",
    ),
]


@pytest.mark.parametrize(
    ("tenant", "path", "value", "code", "field"), CASES, ids=[f"{c[3]}:{c[4]}" for c in CASES]
)
def test_rule(
    platform: PlatformSettings, tenant: str, path: str, value: Any, code: str, field: str
) -> None:
    problems = problems_for(
        variant(tenant, _set(path, value)),
        platform,
        stem=tenant if code == "name_mismatch" else None,
    )
    assert (code, field) in codes(problems), [p.render() for p in problems]
    found = next(p for p in problems if (p.code, p.path) == (code, field))
    assert found.accepted, "every error says what would be accepted"
    assert found.line is not None


def test_burst_above_quota_is_a_warning_only(platform: PlatformSettings) -> None:
    d = variant("acme", _set("spec/quotas/gpus", {"1g.10gb": 4, "2g.20gb": 2}))
    problems = problems_for(d, platform)
    assert codes(problems) == set()
    assert ("quota_burst_exceeded", 'spec.quotas.gpus["1g.10gb"]') in codes(problems, "warning")


def test_gpu_quota_has_no_tier_default(platform: PlatformSettings) -> None:
    d = variant("globex", _set("spec/quotas", {}))
    problems = problems_for(d, platform)
    found = [
        p for p in problems if p.path == 'spec.quotas.gpus["1g.5gb"]' and p.severity == "error"
    ]
    assert found and found[0].value == 0 and found[0].accepted == ">= 2"


def test_all_errors_reported_at_once(platform: PlatformSettings) -> None:
    def many(d: Doc) -> None:
        d["spec"]["models"][0]["canary"]["version"] = "12"
        d["spec"]["models"][0]["gpu"] = "1g.6gb"
        d["spec"]["region"] = "eu-west-1"
        d["metadata"]["labels"] = {"tier": "gold"}

    got = codes(problems_for(variant("acme", many), platform))
    assert {"canary_same_version", "gpu_unavailable", "region_unsupported", "label_reserved"} <= {
        c for c, _ in got
    }


def test_isolated_tenant_with_node_groups_runs_there(platform: PlatformSettings) -> None:
    def own_groups(d: Doc) -> None:
        d["spec"]["nodeGroups"] = [
            {
                "name": "a100",
                "instanceType": "p4de.24xlarge",
                "minSize": 1,
                "maxSize": 2,
                "migLayout": {"3g.40gb": 1, "4g.40gb": 1},
            },
            # whole GPUs for its own LLM (spec.llms)
            {"name": "llm", "instanceType": "p4de.24xlarge", "minSize": 1, "maxSize": 1},
        ]

    problems = problems_for(variant("initech", own_groups), platform)
    assert codes(problems) == set()
    d = variant("initech", own_groups)
    d["spec"]["models"][0]["gpu"] = "2g.20gb"  # offered by the pool, not by its own group
    assert ("gpu_unavailable", "spec.models[0].gpu") in codes(problems_for(d, platform))


def test_an_unoffered_gpu_names_where_it_is_offered_wherever_it_is_requested(
    platform: PlatformSettings,
) -> None:
    """A model's GPU, an own LLM's and a GPU quota are checked by one rule: each
    ``gpu_unavailable`` names the places the tenant's models may run and what each offers."""
    d = variant("initech", _set("spec/models/0/gpu", "1g.6gb"))
    d["spec"]["llms"][0]["gpu"] = "1g.6gb"
    d["spec"]["quotas"]["gpus"]["1g.6gb"] = 1
    found = {p.path: p for p in problems_for(d, platform) if p.code == "gpu_unavailable"}
    paths = ["spec.models[0].gpu", "spec.llms[0].gpu", 'spec.quotas.gpus["1g.6gb"]']
    assert sorted(found) == sorted(paths)
    assert len({found[p].accepted for p in paths}) == 1
    accepted = found[paths[0]].accepted or ""
    assert accepted.startswith("shared-pool ") and ": " in accepted


@pytest.mark.parametrize("revision", [None, "1-24"])
def test_no_tenant_label_can_set_a_key_the_sidecar_injection_reads(
    platform: PlatformSettings, revision: str | None
) -> None:
    """The class, not the instance: every key of Istio's injection labels, in either mode
    of the platform (default injection or a revision), is refused as a tenant label (by
    the rule where the schema would let it through), and never reaches the namespace."""
    import dataclasses

    from tenantry.k8s.mesh import injection_labels
    from tenantry.k8s.namespace import namespace_labels
    from tenantry.spec import TenantSpec
    from tenantry.spec.resolve import resolve

    def with_revision(rev: str | None) -> PlatformSettings:
        return platform.model_copy(
            update={"mesh": platform.mesh.model_copy(update={"revision": rev})}
        )

    here = with_revision(revision)
    keys = {k for rev in (None, "1-24") for k in injection_labels(with_revision(rev))}
    for key in sorted(keys):
        got = problems_for(variant("globex", _set("metadata/labels", {key: "disabled"})), here)
        assert any(p.severity == "error" for p in got), key
        if "/" not in key:
            assert ("label_reserved", f'metadata.labels["{key}"]') in codes(got), key
    # a library caller who resolves without validating still gets the platform's injection
    t = resolve(TenantSpec.model_validate(variant("globex", lambda d: None)), here)
    forced = dataclasses.replace(t, labels={k: "disabled" for k in keys})
    labels = namespace_labels(forced, here)
    assert {k: v for k, v in labels.items() if k in keys} == injection_labels(here)


def test_no_platform_or_kubernetes_namespace_is_a_trusted_caller(
    platform: PlatformSettings,
) -> None:
    """The class: every namespace no tenant may be named after (Kubernetes', the
    platform's, the ones its settings name) is refused as a caller namespace too: the
    callers policy would trust the platform's workloads, which forward other callers'
    requests (with knative-serving, validate accepted what plan's request-path proof
    then refused)."""
    from tenantry.catalog import namespaces

    names = [*namespaces.reserved(platform.namespaces()), "kube-flannel"]
    for ns in names:
        got = problems_for(variant("globex", _set("spec/access/allowedNamespaces", [ns])), platform)
        assert ("namespace_reserved", "spec.access.allowedNamespaces[0]") in codes(got), ns


def test_a_tenants_tags_fit_on_an_s3_object(platform: PlatformSettings) -> None:
    """The most labels validate accepts, with the mandatory keys, is what S3 takes on one
    object (each model's config.pbtxt carries every tag of the tenant)."""
    from tenantry.spec import TenantSpec
    from tenantry.spec.resolve import resolve
    from tenantry.tags import MAX_TENANT_LABELS, tenant_tags

    most = variant(
        "acme", _set("metadata/labels", {f"k{i}": "v" for i in range(MAX_TENANT_LABELS)})
    )
    assert codes(problems_for(most, platform)) == set()
    assert len(tenant_tags(resolve(TenantSpec.model_validate(most), platform))) == 10


def test_a_gpu_offered_nowhere_is_one_error_not_also_a_quota_to_raise(
    platform: PlatformSettings,
) -> None:
    """A mistyped profile ('1g.11gb') is refused where it is requested; the quota rules
    used to add 'minimum demand is 1 x 1g.11gb (given: 0); accepted: >= 1' (and a burst
    warning), asking for quota of a GPU that exists nowhere."""
    d = variant("globex", _set("spec/models/0/gpu", "1g.11gb"))
    got = problems_for(d, platform)
    assert ("gpu_unavailable", "spec.models[0].gpu") in codes(got)
    assert [p.render() for p in got if p.path.startswith("spec.quotas")] == []


def test_every_gpu_model_replica_is_checked_against_its_own_node(
    platform: PlatformSettings,
) -> None:
    """The class: for each example GPU model, one vCPU more than its node's instance type
    has is refused, and exactly the node's vCPUs is not (the bound is the node's capacity,
    the certain failure)."""
    from tenantry.catalog import instance_types
    from tenantry.spec import TenantSpec
    from tenantry.spec.targets import gpu_targets, target_for

    for name in ("acme", "globex", "initech", "umbrella"):
        d = variant(name, lambda d: None)
        spec = TenantSpec.model_validate(d)
        targets = gpu_targets(spec, platform)
        where = {p.name: p.instance_type for p in platform.shared_pools}
        where |= {g.name: g.instance_type for g in spec.spec.node_groups}
        for i, m in enumerate(spec.spec.models):
            t = target_for(m.gpu, targets) if m.gpu else None
            if t is None:
                continue
            it = instance_types()[where[t.name]]
            alloc = node_allocatable(it.vcpu, it.memory_gib, gpu_node=True).cpu_m
            over = variant(name, _set(f"spec/models/{i}/cpu", (alloc + 1) / 1000))
            assert ("replica_exceeds_node", f"spec.models[{i}].cpu") in codes(
                problems_for(over, platform)
            ), (name, m.name)
            # the whole node's vCPUs do not fit: the kubelet's reserve and the node agents'
            # DaemonSets take their share first
            whole = variant(name, _set(f"spec/models/{i}/cpu", it.vcpu))
            assert ("replica_exceeds_node", f"spec.models[{i}].cpu") in codes(
                problems_for(whole, platform)
            ), (name, m.name)
            fits = variant(name, _set(f"spec/models/{i}/cpu", alloc / 1000))
            assert ("replica_exceeds_node", f"spec.models[{i}].cpu") not in codes(
                problems_for(fits, platform)
            ), (name, m.name)


def test_a_cpu_only_replica_must_fit_a_general_node_created_or_adopted(
    platform: PlatformSettings,
) -> None:
    """globex's language-id runs on the general nodes, whose instance type is
    cluster.systemInstanceType (m7i.xlarge: 4 vCPUs, 16 GiB) whether the platform creates
    the cluster or adopts it (the example platform adopts): a replica asking for more is
    refused either way, one that fits is not."""
    from tenantry.catalog import general_instance_types

    created = platform.model_copy(
        update={
            "cluster": platform.cluster.model_copy(
                update={"create": True, "subnet_ids": ["subnet-0a", "subnet-0b"]}
            )
        }
    )
    assert not platform.cluster.create
    general = general_instance_types()[created.cluster.system_instance_type]
    alloc = node_allocatable(general.vcpu, general.memory_gib, gpu_node=False)
    # m7i.xlarge: 4000m less kubeReserved 80m (6% + 1% + 2 x 0.5% of a core) and the EKS
    # add-ons' 125m
    assert alloc.cpu_m == 4000 - 80 - 125
    over = variant("globex", _set("spec/models/1/cpu", general.vcpu))
    fits = variant("globex", _set("spec/models/1/cpu", alloc.cpu_m / 1000))
    for settings in (created, platform):
        found = [p for p in problems_for(over, settings) if p.code == "replica_exceeds_node"]
        assert [p.path for p in found] == ["spec.models[1].cpu"]
        assert "m7i.xlarge" in found[0].message and "cluster.systemInstanceType" in found[0].message
        assert ("replica_exceeds_node", "spec.models[1].cpu") not in codes(
            problems_for(fits, settings)
        )
    adopted = [p for p in problems_for(over, platform) if p.code == "replica_exceeds_node"]
    assert "of the adopted cluster" in adopted[0].message


def _cpu_model(cpu: float) -> dict[str, Any]:
    return {
        "name": "tokenizer",
        "format": "onnx",
        "version": "1",
        "cpu": cpu,
        "memoryGiB": 4,
        "inputs": [{"name": "text", "dataType": "BYTES", "dims": [1]}],
        "outputs": [{"name": "ids", "dataType": "INT64", "dims": [-1]}],
        "artifact": {"digest": "sha256:" + "ab" * 32},
    }


@pytest.mark.parametrize(
    ("tenant", "where", "instance"),
    [
        ("umbrella", "node-group 'h100'", "p5.48xlarge"),  # dedicated: its first node group
        ("initech", "the tenant's own nodes in shared-pool 'h100'", "p5.48xlarge"),  # isolated
    ],
)
def test_a_cpu_only_replica_of_an_own_nodes_tenant_must_fit_its_node(
    platform: PlatformSettings, tenant: str, where: str, instance: str
) -> None:
    """An isolated or dedicated tenant's CPU-only model runs on the tenant's own nodes
    (tenantry.spec.resolve.cpu_place): a replica is judged against one of those, on an
    adopted cluster as on a created one."""
    from tenantry.catalog import instance_types

    it = instance_types()[instance]
    alloc = node_allocatable(it.vcpu, it.memory_gib, gpu_node=True)

    def add(cpu: float) -> Callable[[dict[str, Any]], None]:
        def change(d: dict[str, Any]) -> None:
            d["spec"]["models"].append(_cpu_model(cpu))
            d["spec"]["quotas"]["cpu"] = 4096

        return change

    i = len(variant(tenant, lambda d: None)["spec"]["models"])
    found = [
        p
        for p in problems_for(variant(tenant, add(it.vcpu)), platform)
        if p.code == "replica_exceeds_node"
    ]
    assert [p.path for p in found] == [f"spec.models[{i}].cpu"]
    assert f"an empty {instance} node of {where}" in found[0].message
    fits = problems_for(variant(tenant, add(alloc.cpu_m / 1000)), platform)
    assert "replica_exceeds_node" not in {p.code for p in fits}


def test_an_adapter_is_never_served_under_a_base_models_name(platform: PlatformSettings) -> None:
    """Tenant ``acme``'s adapter ``chat`` is served as ``acme-chat``; base model
    ``acme-chat``'s runtime serves the bare base under that same OpenAI ``model`` (KServe's
    template passes ``--served-model-name <spec.model.name>``), so the runtime would hold one
    name for the bare base and the adapter, and which answers depends on vLLM's lookup
    order. On another base model's runtime the name is the adapter's alone."""
    doc = platform.model_dump(by_alias=True, mode="json", exclude_none=True)
    doc["llmBaseModels"].append({**doc["llmBaseModels"][0], "name": "acme-chat"})
    settings = PlatformSettings.model_validate(doc)
    on_it = _set("spec/llmAdapters/0", {**ADAPTER, "name": "chat", "baseModel": "acme-chat"})
    got = problems_for(variant("acme", on_it), settings)
    assert ("llm_served_name_is_base_model", "spec.llmAdapters[0].name") in codes(got)
    found = next(p for p in got if p.code == "llm_served_name_is_base_model")
    assert found.value == "chat" and found.line is not None and found.accepted
    elsewhere = _set("spec/llmAdapters/0", {**ADAPTER, "name": "chat"})
    assert codes(problems_for(variant("acme", elsewhere), settings)) == set()


@pytest.mark.parametrize(("gpus", "refused"), [(8, False), (9, True), (16, True)])
def test_an_own_llm_replica_fits_the_gpus_of_one_node(
    platform: PlatformSettings, gpus: int, refused: bool
) -> None:
    """KServe runs an LLMInferenceService without ``worker`` as one pod per replica
    (kserve v0.20.0 ``workload_single_node.go``) whose container asks for all of its
    ``gpus`` (tensor parallelism): the scheduler can only place it on one node with that many
    free GPUs. initech's clinical-llm runs on shared pool h100 (p5.48xlarge, 8 GPUs)."""
    d = variant("initech", _set("spec/llms/0/gpus", gpus))
    d["spec"]["quotas"]["gpus"]["gpu"] = gpus
    got = problems_for(d, platform)
    assert (("llm_gpus_exceed_node", "spec.llms[0].gpus") in codes(got)) is refused
    if refused:
        found = next(p for p in got if p.code == "llm_gpus_exceed_node")
        assert (found.value, found.accepted) == (gpus, "<= 8")
        assert "p5.48xlarge" in found.message and found.line is not None
