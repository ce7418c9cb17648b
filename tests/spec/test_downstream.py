"""Rules whose limits belong to other systems (tenantry.spec.downstream): each case of
issue 16 and the others of its class, at the validation layer, with file, line and field."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.catalog import runtimes
from tenantry.spec import PlatformSettings, Problem
from tenantry.spec.platform import Ingress

from .helpers import Doc, codes, problems_for, variant


def _model(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "format": "onnx",
        "version": "1",
        "inputs": [{"name": "x", "dataType": "FP32", "dims": [4]}],
        "outputs": [{"name": "y", "dataType": "FP32", "dims": [1]}],
        **extra,
    }


def _renamed(d: Doc, name: str) -> None:
    d["metadata"]["name"] = name
    d["spec"]["access"]["allowedNamespaces"] = []


def one(problems: list[Problem], code: str) -> Problem:
    (p,) = [p for p in problems if p.code == code]
    return p


def test_vector_dimension_beyond_the_hnsw_index_is_an_error_with_its_line(
    platform: PlatformSettings,
) -> None:
    d = variant("acme", lambda d: d["spec"]["vectorNamespaces"][0].update(dimension=4000))
    p = one(problems_for(d, platform), "vector_dimension_unindexable")
    assert p.path == "spec.vectorNamespaces[0].dimension"
    assert p.value == 4000 and p.accepted == "1..2000"
    assert p.line is not None and "pgvector" in p.message and "HNSW" in p.message
    ok = variant("acme", lambda d: d["spec"]["vectorNamespaces"][0].update(dimension=2000))
    assert not codes(problems_for(ok, platform))


@pytest.mark.parametrize("metric", ["cosine", "l2", "inner_product"])
def test_the_dimension_limit_holds_for_every_metric(
    platform: PlatformSettings, metric: str
) -> None:
    d = variant(
        "acme",
        lambda d: d["spec"]["vectorNamespaces"][0].update(dimension=2001, metric=metric),
    )
    assert ("vector_dimension_unindexable", "spec.vectorNamespaces[0].dimension") in codes(
        problems_for(d, platform)
    )


def test_the_issue_model_and_tenant_make_a_64_character_host_label(
    platform: PlatformSettings,
) -> None:
    def change(d: Doc) -> None:
        _renamed(d, "research-group")
        d["spec"]["models"][0]["name"] = "multilingual-sentiment-classifier-large"

    p = one(problems_for(variant("acme", change), platform), "host_too_long")
    assert p.path == "spec.models[0].name"
    assert p.value == "multilingual-sentiment-classifier-large"
    assert "multilingual-sentiment-classifier-large-predictor-research-group" in p.message
    assert "more than 63" in p.message
    # latest-<model>-predictor-research-group must fit 63: 7 + n + 25 <= 63
    assert p.accepted is not None and "at most 31 characters" in p.accepted
    assert p.line is not None


def test_canary_tag_hosts_count_even_before_a_canary(platform: PlatformSettings) -> None:
    """Model name of 32 in research-group: the predictor host label fits (57), prev- too
    (62), latest- does not (64), and no canary is declared."""

    def change(d: Doc) -> None:
        _renamed(d, "research-group")
        d["spec"]["models"][1]["name"] = "m" * 32
        assert "canary" not in d["spec"]["models"][1]

    p = one(problems_for(variant("acme", change), platform), "host_too_long")
    assert p.path == "spec.models[1].name"
    assert "canary tag 'latest' route" in p.message


def test_the_platform_ingress_domain_and_template_change_the_budget(
    platform: PlatformSettings,
) -> None:
    d = variant("acme", lambda d: d["spec"]["models"][0].update(name="m" * 40))
    assert not codes(problems_for(d, platform))
    long_domain = platform.model_copy(
        update={"ingress": Ingress(domain=".".join(["d" * 63] * 3) + ".example")}
    )
    assert ("host_too_long", "spec.models[0].name") in codes(problems_for(d, long_domain))
    dotted = platform.model_copy(
        update={"ingress": Ingress(domain_template="{{.Name}}.{{.Namespace}}.{{.Domain}}")}
    )
    longer = variant("acme", lambda d: d["spec"]["models"][0].update(name="m" * 40))
    assert not codes(problems_for(longer, dotted))


@pytest.mark.parametrize(
    "name", ["istio-system", "knative-serving", "kserve", "cert-manager", "kube-flannel"]
)
def test_namespaces_of_the_platform_and_its_prerequisites_are_reserved(
    platform: PlatformSettings, name: str
) -> None:
    p = one(problems_for(variant("acme", lambda d: _renamed(d, name)), platform), "name_reserved")
    assert p.path == "metadata.name" and p.value == name and p.line == 4


def test_every_namespace_the_platform_settings_name_is_reserved(
    platform: PlatformSettings,
) -> None:
    d = variant("acme", lambda d: _renamed(d, "mesh-gateways"))
    assert not codes(problems_for(d, platform))
    moved = platform.model_copy(update={"gateway_namespace": "mesh-gateways"})
    p = one(problems_for(d, moved), "name_reserved")
    assert "gatewayNamespace" in p.message


def test_cost_center_over_the_label_value_limit(platform: PlatformSettings) -> None:
    d = variant("acme", lambda d: d["metadata"].update(costCenter="C" * 64))
    p = one(problems_for(d, platform), "label_value_invalid")
    assert p.path == "metadata.costCenter" and "64 characters, more than 63" in p.message


def test_node_group_name_over_the_eks_limit(platform: PlatformSettings) -> None:
    def change(d: Doc) -> None:
        _renamed(d, "u" * 30)
        d["spec"]["nodeGroups"][0]["name"] = "g" * 30

    p = one(problems_for(variant("umbrella", change), platform), "name_too_long")
    assert p.path == "spec.nodeGroups[0].name"
    assert "EKS managed node group name" in p.message


def test_a_tenant_name_aws_cannot_use_is_an_error_not_a_crash(platform: PlatformSettings) -> None:
    p = one(
        problems_for(variant("acme", lambda d: _renamed(d, "ac--me")), platform),
        "name_invalid_for_aws",
    )
    assert p.path == "metadata.name" and "bucket" in p.message


def test_tensorflow_is_served_by_the_frozen_runtime_with_a_warning(
    platform: PlatformSettings,
) -> None:
    d = variant("umbrella", lambda d: None)
    p = one(problems_for(d, platform, "umbrella"), "format_frozen_runtime")
    assert p.severity == "warning" and p.path == "spec.models[1].format"
    assert "25.02" in p.message


def test_a_format_whose_runtime_lacks_the_backend_is_an_error(
    platform: PlatformSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What validation said before the TensorFlow runtime existed: no backend, no model."""
    main = runtimes.ServingRuntime(
        "kserve-tritonserver",
        runtimes.TRITON,
        ("onnx", "pytorch", "tensorflow"),
        "tritonImageDigest",
    )
    monkeypatch.setattr(runtimes, "RUNTIMES", (main,))
    p = one(problems_for(variant("umbrella", lambda d: None), platform), "format_unservable")
    assert p.path == "spec.models[1].format"
    assert "ships no 'tensorflow' backend" in p.message


def test_model_names_stay_within_the_knative_service_name(platform: PlatformSettings) -> None:
    d = variant("globex", lambda d: d["spec"]["models"].append(_model("a" * 40)))
    assert not [c for c in codes(problems_for(d, platform)) if c[0] == "name_too_long"]


def test_an_own_llm_named_like_a_model(platform: PlatformSettings) -> None:
    """An own LLM carries the tenantry.dev/model label that selects a model's policies,
    quotas and metrics: sharing a model's name, it would be selected with that model."""

    def rename(name: str) -> Doc:
        return variant("initech", lambda d: d["spec"]["llms"][0].update(name=name))

    p = one(problems_for(rename("clinical-ner"), platform), "name_shared_with_model")
    assert p.path == "spec.llms[0].name" and "spec.models[0].name" in p.message
    assert p.line is not None and p.value == "clinical-ner"
    assert not codes(problems_for(rename("notes-llm"), platform))


@pytest.mark.parametrize("field", ["tokensPerMinute", "maxConcurrentRequests"])
def test_an_own_llm_takes_no_gateway_limits(platform: PlatformSettings, field: str) -> None:
    """The gateway's per-tenant limits apply to adapters on a shared runtime; an own LLM's
    callers reach its vLLM directly, so such a limit would be accepted and enforced nowhere:
    refused, naming the field and what an own LLM accepts."""
    d = variant("initech", lambda d: d["spec"]["llms"][0].update({field: 1000}))
    (p,) = problems_for(d, platform)
    assert p.path == f"spec.llms[0].{field}" and p.line is not None
    assert p.code == "extra_forbidden" and "maxModelLen" in (p.accepted or "")


@pytest.mark.parametrize("suffix", ["", "_pkey", "_embedding_hnsw"])
@pytest.mark.parametrize("first", [True, False])
def test_two_vector_namespaces_may_not_bring_the_same_relation(
    platform: PlatformSettings, suffix: str, first: bool
) -> None:
    """acme has 'docs': a namespace named like one of the relations 'docs' brings (its
    table, primary key index, HNSW index), in either order, is refused at the later one;
    tests/data/test_relation_names.py pins the relations on the real server."""
    from tenantry.data.names import relation_names

    clash = "docs" + suffix if suffix else "docs"
    assert clash in relation_names("docs")

    def add(d: Doc) -> None:
        extra = {"name": clash, "dimension": 8, "metric": "cosine"}
        d["spec"]["vectorNamespaces"].insert(0 if first else 2, extra)

    got = problems_for(variant("acme", add), platform)
    where = "spec.vectorNamespaces[1].name" if first else "spec.vectorNamespaces[2].name"
    code = "name_duplicate" if not suffix else "vector_relation_collision"
    assert (code, where) in codes(got), [p.render() for p in got]
    found = next(p for p in got if p.path == where and p.code == code)
    assert found.accepted and found.line is not None


def test_a_refused_sql_name_says_what_is_accepted(platform: PlatformSettings) -> None:
    d = variant("acme", lambda d: d["spec"]["vectorNamespaces"][0].update(name="pg_docs"))
    p = one(problems_for(d, platform), "name_invalid_for_sql")
    assert p.path == "spec.vectorNamespaces[0].name" and p.value == "pg_docs"
    assert p.accepted and "lower-case" in p.accepted and "reserved" in p.message


def test_every_gpu_only_format_is_refused_on_cpu(platform: PlatformSettings) -> None:
    """The class: a CPU-only model (no ``gpu``, config.pbtxt ``KIND_CPU``) of a format
    whose Triton backend loads on GPUs only (TensorRT) is refused; every other format
    runs on CPU as before."""
    gpu_only = {f for f, fmt in runtimes.FORMATS.items() if fmt.gpu_only}
    assert "tensorrt" in gpu_only
    for fmt in sorted(runtimes.FORMATS):

        def cpu_model(d: Doc, fmt: str = fmt) -> None:
            d["spec"]["models"][1].update(format=fmt)  # language-id runs on CPU

        got = [p for p in problems_for(variant("globex", cpu_model), platform)]
        refused = [p for p in got if p.code == "format_unservable"]
        if fmt in gpu_only:
            (p,) = refused
            assert p.path == "spec.models[1].format" and p.value == fmt and p.line
            assert "KIND_GPU" in p.message and p.accepted and "gpu" in p.accepted
        else:
            assert not refused, [p.render() for p in refused]
    on_gpu = variant("globex", lambda d: d["spec"]["models"][0].update(format="tensorrt"))
    assert not [p for p in problems_for(on_gpu, platform) if p.code == "format_unservable"]


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("language-id-predictor-00001", True),
        ("language-id-predictor-00001-private", True),
        ("language-id-predictor-123456", True),  # generations past 99999 take more digits
        ("language-id-predictor-0001", False),  # not a revision name: 4 digits
        ("language-id-predictor-v00001", False),
    ],
)
def test_a_model_may_not_take_the_service_of_another_models_revision(
    platform: PlatformSettings, name: str, refused: bool
) -> None:
    """Knative gives revision N of a predictor the Services '<model>-predictor-0000N' and
    '...-private'; KServe gives each InferenceService a Service named after it: a model
    named like another model's revision Service would collide with it."""

    def add(d: Doc) -> None:
        d["spec"]["models"].append(_model(name))

    got = problems_for(variant("globex", add), platform)
    found = [p for p in got if p.code == "host_collision" and p.path == "spec.models[2].name"]
    if refused:
        (p,) = found
        assert "language-id" in p.message and p.accepted and p.line is not None
    else:
        assert not found, [p.render() for p in found]


def test_a_tenant_cannot_take_the_name_of_the_platforms_system_node_group(
    platform: PlatformSettings,
) -> None:
    """A created cluster's general nodes are EKS node group tenantry-system-<cluster>
    (tenantry.platform.names.system_node_group_name); a tenant 'system' would name its node
    group <cluster> (tenantry-system-<cluster>) the same."""
    p = one(
        problems_for(variant("acme", lambda d: _renamed(d, "system")), platform), "name_reserved"
    )
    assert p.path == "metadata.name" and p.value == "system" and "node group" in p.message
