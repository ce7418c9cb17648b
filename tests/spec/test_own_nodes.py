"""Every pod of an isolated or dedicated tenant runs on the tenant's own nodes: where a
CPU-only model goes, the validate rule when it has nowhere to go, and the placement of each
kind of target (:func:`tenantry.k8s.inference_service.node_placement`)."""

from __future__ import annotations

import yaml

from tenantry.k8s.inference_service import node_placement
from tenantry.planner import extract_demands
from tenantry.spec import PlatformSettings, ResolvedTenant, parse_text

from .helpers import Doc, codes, problems_for, variant

OWN = {
    "key": "tenantry.dev/tenant",
    "operator": "Equal",
    "value": "initech",
    "effect": "NoSchedule",
}
GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def resolved(d: Doc, platform: PlatformSettings) -> ResolvedTenant:
    tenant, problems = parse_text(yaml.safe_dump(d, sort_keys=False), "t.yaml", platform, "initech")
    assert tenant is not None, [p.render() for p in problems]
    return tenant


def _cpu_only(d: Doc, i: int = 0) -> None:
    del d["spec"]["models"][i]["gpu"]
    if d["spec"]["models"][i]["format"] == "tensorrt":  # a TensorRT plan runs on a GPU only
        d["spec"]["models"][i]["format"] = "onnx"


def test_an_isolated_tenants_cpu_model_runs_on_its_own_shared_pool_nodes(
    platform: PlatformSettings,
) -> None:
    t = resolved(variant("initech", _cpu_only), platform)
    m = t.models[0]
    assert (m.gpu, m.target_kind, m.target) == (None, "shared-pool", "h100")
    assert node_placement(t, m.target_kind, m.target) == {
        "nodeSelector": {"tenantry.dev/pool": "h100", "tenantry.dev/tenant": "initech"},
        "tolerations": [OWN, GPU],
    }
    # no GPU demand of its own: it shares the tenant's nodes, not another tenant's
    carved = {d.name: d for d in extract_demands([t], platform)}["h100@initech"]
    assert m.name not in {r.model for r in carved.requests}


def test_an_isolated_tenants_cpu_model_runs_on_its_first_node_group(
    platform: PlatformSettings,
) -> None:
    def change(d: Doc) -> None:
        _cpu_only(d)
        d["spec"]["nodeGroups"] = [
            {"name": "own", "instanceType": "p5.48xlarge", "minSize": 1, "maxSize": 2}
        ]
        for m in d["spec"]["models"][1:]:
            m["gpu"] = "gpu"
        for llm in d["spec"]["llms"]:
            llm["gpu"] = "gpu"
        d["spec"]["quotas"]["gpus"] = {"gpu": 4}

    t = resolved(variant("initech", change), platform)
    m = t.models[0]
    assert (m.target_kind, m.target) == ("node-group", "own")
    assert node_placement(t, m.target_kind, m.target)["nodeSelector"] == {
        "tenantry.dev/tenant": "initech",
        "tenantry.dev/node-group": "own",
    }


def test_an_isolated_tenant_with_nowhere_of_its_own_for_a_cpu_model_is_refused(
    platform: PlatformSettings,
) -> None:
    def change(d: Doc) -> None:
        for i in range(len(d["spec"]["models"])):
            _cpu_only(d, i)
        d["spec"]["llms"] = []
        d["spec"]["quotas"]["gpus"] = {}

    problems = problems_for(variant("initech", change), platform)
    assert codes(problems) >= {
        ("isolated_cpu_model_without_nodes", "spec.models[0].gpu"),
        ("isolated_cpu_model_without_nodes", "spec.models[1].gpu"),
    }
    (p,) = [p for p in problems if p.path == "spec.models[0].gpu"]
    assert "a GPU profile for this model" in str(p.accepted)


def test_placement_of_every_kind_of_target(platform: PlatformSettings) -> None:
    initech = resolved(variant("initech", lambda d: None), platform)
    assert node_placement(initech, "shared-pool", "h100") == {
        "nodeSelector": {"tenantry.dev/pool": "h100", "tenantry.dev/tenant": "initech"},
        "tolerations": [OWN, GPU],
    }
    assert node_placement(initech, "node-group", "g")["tolerations"] == [OWN, GPU]
