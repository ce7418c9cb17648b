"""The proof on today's renders, through ``tenantry plan``'s document: the example tenants
show only their declared edges, the external client is admitted by its token and nobody
without one, a model that scales to zero stays reachable by its own callers only - and each
hole issue 17 lists, put back by hand into a render, makes the plan fail naming the path."""

from __future__ import annotations

import copy
import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenantry.engine import record_tenant
from tenantry.plan.document import build, failed
from tenantry.plan.request_path import fleet_objects
from tenantry.policy.reachability import intents_from, trace
from tenantry.spec import PlatformSettings, load_registry
from tests.components.helpers import EXAMPLES, ROOT, platform, tenants

Records = list[dict[str, Any]]


@functools.cache
def _recorded(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(r.to_data() for r in record_tenant(name, ROOT / "tenants", ROOT / "stacks"))


def plan(
    selected: list[str],
    mutate: Callable[[str, Records], None] | None = None,
    settings: PlatformSettings | None = None,
) -> dict[str, Any]:
    def recorder(name: str) -> Records:
        records = copy.deepcopy(list(_recorded(name)))
        if mutate is not None:
            mutate(name, records)
        return records

    return build(selected, tenants(), settings or platform(), recorder)


def obj(records: Records, kind: str, name: str) -> dict[str, Any]:
    return next(
        r["inputs"]
        for r in records
        if r["type"].endswith(f":{kind}") and r["inputs"]["metadata"]["name"] == name
    )


def violations(doc: dict[str, Any], tenant: str = "acme") -> list[dict[str, Any]]:
    vs: list[dict[str, Any]] = doc["tenants"][tenant]["requestPath"]["violations"]
    return vs


def edge(doc: dict[str, Any], model: str, caller: str) -> dict[str, Any]:
    rp = doc["tenants"][model.split("/")[0]]["requestPath"]
    return next(e for e in rp["edges"] if e["model"] == model and e["caller"] == caller)


@functools.cache
def everyone() -> dict[str, Any]:
    return plan(list(EXAMPLES))


def test_the_example_renders_show_only_declared_edges() -> None:
    doc = everyone()
    assert not failed(doc)
    for name in EXAMPLES:
        rp = doc["tenants"][name]["requestPath"]
        assert rp["passed"] and rp["violations"] == []
        reaching = {(e["model"], e["caller"]) for e in rp["edges"] if e["status"] != "refused"}
        declared = {(e["model"], e["caller"]) for e in rp["edges"] if e["declared"]}
        assert reaching == declared  # every declared caller reaches, nobody else does
        allowed = {f"ns:{a}" for a in tenants()[name].access.allowed_namespaces}
        for model in rp["models"]:
            callers = {c for m, c in declared if m == f"{name}/{model}"}
            if model.startswith("adapter:"):  # the gateway: its own and allowed namespaces
                assert callers == {f"tenant:{name}"} | allowed, model
            else:  # an InferenceService or the tenant's own LLM
                assert callers - {"external/acme/checkout"} == allowed, model


def test_external_caller_with_a_token_is_admitted_and_without_one_refused() -> None:
    rp = everyone()["tenants"]["acme"]["requestPath"]
    for model in rp["models"]:
        row = rp["matrix"][model]
        # no route from outside to an LLM is rendered: its rows admit no token
        want = "refused" if ":" in model else "declared"
        assert row["external/acme/checkout"] == want, model
        for caller in (
            "external",
            "external/platform-idp/nobody",
            "external/platform-idp/invalid",
            "external/unknown-issuer",
        ):
            assert row[caller] == "refused", (model, caller)
    paths = edge(everyone(), "acme/fraud-detector", "external/acme/checkout")["paths"]
    assert paths[0].startswith("ingress gateway :8080 [Host fraud-detector-predictor-acme")
    # acme's client token opens no other tenant's model
    globex = everyone()["tenants"]["globex"]["requestPath"]
    assert all(row["external/acme/checkout"] == "refused" for row in globex["matrix"].values())


def test_a_model_that_scales_to_zero_stays_reachable_by_its_own_callers(tmp_path: Path) -> None:
    tenants_dir = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", tenants_dir)
    globex = tenants_dir / "globex.yaml"
    text = globex.read_text()
    globex.write_text(text.replace("      minReplicas: 1\n", "      minReplicas: 0\n", 1))
    reg = load_registry([tenants_dir], platform())
    assert reg.ok and reg.tenants["globex"].models[1].min_replicas == 0

    def recorder(name: str) -> Records:
        return [r.to_data() for r in record_tenant(name, tenants_dir, ROOT / "stacks")]

    doc = build(["globex"], reg.tenants, platform(), recorder)
    rp = doc["tenants"]["globex"]["requestPath"]
    assert rp["passed"], rp["violations"]
    assert rp["matrix"]["language-id"]["ns:globex-support"] == "declared"
    records_of = {"globex": doc["tenants"]["globex"]["records"]}
    objects = fleet_objects(reg.tenants, platform(), records_of)
    intents = intents_from(reg.tenants.values(), platform())
    through_activator = [
        o.text()
        for o in trace(objects, platform(), intents, "ns:globex-support", "globex/language-id")
        if o.reached and "(revision language-id-predictor-00001 in proxy mode)" in o.text()
    ]
    assert through_activator  # while it is at zero pods, the activator brings the request
    assert through_activator[0].endswith(
        "pod language-id-predictor-00001 :8012 (from the activator)"
    )
    for caller in ("ns:unrelated", "ns:acme-apps", "tenant:acme", "external"):
        reaching = [
            o
            for o in trace(objects, platform(), intents, caller, "globex/language-id")
            if o.mesh_reached
        ]
        assert not reaching, caller
    records = doc["tenants"]["globex"]["records"]
    names = {r["name"] for r in records}
    assert {"globex-ns-allow-activator", "globex-gateway-language-id-activator"} <= names
    # the model that does not scale to zero keeps the activator out
    isvc = obj(records, "InferenceService", "language-id")
    assert "autoscaling.knative.dev/target-burst-capacity" not in isvc["metadata"]["annotations"]


# -- each hole of issue 17, put back by hand --


def deny_without_selector(name: str, records: Records) -> None:
    if name == "acme":
        del obj(records, "AuthorizationPolicy", "tenantry-acme-admission")["spec"]["selector"]


def allow_trusting_knative_serving(name: str, records: Records) -> None:
    if name == "acme":
        obj(records, "AuthorizationPolicy", "acme-callers")["spec"]["rules"].append(
            {
                "from": [{"source": {"namespaces": ["knative-serving"]}}],
                "to": [{"operation": {"ports": ["8012"]}}],
            }
        )


def missing_tag_host(name: str, records: Records) -> None:
    if name == "acme":
        for rule in obj(records, "AuthorizationPolicy", "tenantry-acme-admission")["spec"]["rules"]:
            op = rule["to"][0]["operation"]
            op["hosts"] = [h for h in op["hosts"] if not h.startswith("prev-")]


def namespace_outside_the_mesh(name: str, records: Records) -> None:
    if name == "acme":
        del obj(records, "Namespace", "acme")["metadata"]["labels"]["istio-injection"]


HOLES: list[tuple[str, Callable[[str, Records], None], str, str]] = [
    (
        "DENY without selector",
        deny_without_selector,
        "declared-caller-refused",
        "DENY istio-system/tenantry-acme-admission",
    ),
    (
        "ALLOW trusting knative-serving on 8012",
        allow_trusting_knative_serving,
        "undeclared-caller",
        "knative-serving (mesh identity) reaches acme/fraud-detector on the identity layer, "
        "stopped only by a NetworkPolicy: pod fraud-detector-predictor-00001 :8012",
    ),
    (
        "missing tag host",
        missing_tag_host,
        "undeclared-caller",
        "outside, no token reaches acme/fraud-detector: ingress gateway :8080 "
        "[Host prev-fraud-detector-predictor-acme.example.com",
    ),
    (
        "namespace outside the mesh",
        namespace_outside_the_mesh,
        "undeclared-caller",
        "acme-apps (no identity) reaches acme/fraud-detector: pod fraud-detector-predictor-00001",
    ),
]


@pytest.mark.parametrize(("hole", "mutate", "kind", "named"), HOLES, ids=[h[0] for h in HOLES])
def test_each_hole_put_back_fails_the_plan_naming_the_path(
    hole: str, mutate: Callable[[str, Records], None], kind: str, named: str
) -> None:
    doc = plan(["acme"], mutate)
    assert failed(doc), hole
    found = [v for v in violations(doc) if v["kind"] == kind and named in v["message"]]
    assert found, [v["message"] for v in violations(doc)]


def test_a_hard_coded_domain_fails_the_plan_naming_the_path() -> None:
    # acme's objects rendered for example.com, the platform serving models.corp.example
    corp = platform().model_copy(
        update={"ingress": platform().ingress.model_copy(update={"domain": "models.corp.example"})}
    )
    doc = plan(["acme"], settings=corp)
    assert failed(doc)
    assert any(
        "outside, no token reaches acme/risk-embedder: ingress gateway :8080 "
        "[Host risk-embedder-predictor-acme.models.corp.example" in v["message"]
        for v in violations(doc)
    ), [v["message"] for v in violations(doc)]


def test_the_plan_shows_the_matrix_in_every_format() -> None:
    from tenantry.plan.render import as_json, as_markdown, as_table

    doc = plan(["acme"])
    md = as_markdown(doc)
    assert "| acme | premium | 59 | ok | pass | pass |" in md
    assert "<details><summary>Reachability matrix</summary>" in md
    # the columns: fraud-detector, risk-embedder, adapter:acme-support-agent (no route from
    # outside to an LLM)
    assert "| outside, token of acme's client checkout | ✅ declared | ✅ declared | · |" in md
    assert "| tenant acme (its pods) | · | · | ✅ declared |" in md
    table = as_table(doc)
    assert "request path: only declared callers reach the models" in table
    assert '"requestPath"' in as_json(doc)
    broken = plan(["acme"], missing_tag_host)
    md = as_markdown(broken)
    assert "Request path violations:" in md and "❌ **reaches (undeclared)**" in md
    assert "request path undeclared-caller: outside, no token reaches" in as_table(broken)
