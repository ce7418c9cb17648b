"""The LLM rows of the request-path isolation proof: the shared base model's adapters (reached
through the LLM gateway, which pins each caller to its own tenant's served names) and the
tenants' own LLMInferenceServices (reached at their pods, like the tenant's models); every
serving kind the renders declare is in the matrix; a hand-weakened render fails naming the
path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tenantry.engine import record_platform
from tenantry.plan.request_path import fleet_objects, recorded_objects
from tenantry.policy.reachability import analyze, intents_from, trace
from tenantry.policy.reachability.topology import (
    KSERVE_TEMPLATE_KINDS,
    SERVING_KINDS,
    ModelRef,
    World,
)
from tests.components.helpers import EXAMPLES, ROOT, platform, tenants

Objects = list[dict[str, Any]]
RUNTIME = "tenantry-llm/tenantry-llm-llama-3-8b"
ADAPTER = ModelRef("acme", "acme-support-agent", "adapter")
OWN = ModelRef("initech", "clinical-llm", "llm")
BASE = ModelRef("tenantry-llm", "llama-3-8b", "base")


def objects() -> Objects:
    return copy.deepcopy(fleet_objects(tenants(), platform(), {}))


def report(objs: Objects) -> Any:
    return analyze(objs, platform(), intents_from(tenants().values(), platform()))


def edit(objs: Objects, kind: str, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    hits = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert hits, (kind, name)
    for o in hits:
        change(o)


def test_llm_rows_admit_exactly_their_declared_callers() -> None:
    r = report(objects())
    assert r.passed, [v.message for v in r.violations]
    assert {ADAPTER, OWN, BASE} <= set(r.models)
    reach = {
        ref: {c.id for c in r.callers if r.edge(ref, c).summary.reached}
        for ref in (ADAPTER, OWN, BASE)
    }
    # the gateway serves acme's own namespace and its allowed namespace acme-apps
    assert reach[ADAPTER] == {"tenant:acme", "ns:acme-apps"}
    assert reach[OWN] == {"ns:initech-ehr", "ns:initech-batch"}  # initech's allowedNamespaces
    assert reach[BASE] == set()  # nobody gets the bare base model
    path = r.edge(ADAPTER, next(c for c in r.callers if c.id == "tenant:acme")).summary.paths[0]
    assert path == (
        "LLM gateway tenantry-llm/tenantry-llm-gateway :8080 -> gateway serves "
        "acme-support-agent as tenant acme -> pod tenantry-llm-llama-3-8b-kserve :8000 "
        "(from the LLM gateway)"
    )
    app = next(c for c in r.callers if c.id == "ns:acme-apps")
    assert r.edge(ADAPTER, app).summary.paths[0] == (
        "LLM gateway tenantry-llm/tenantry-llm-gateway :8080 -> gateway serves "
        "acme-support-agent to acme-apps, a caller namespace of tenant acme -> pod "
        "tenantry-llm-llama-3-8b-kserve :8000 (from the LLM gateway)"
    )
    own = r.edge(OWN, next(c for c in r.callers if c.id == "ns:initech-ehr")).summary.paths
    assert own == ("pod clinical-llm-kserve :8000",)


def _with_globex_adapter(objs: Objects) -> None:
    """A second tenant on the base: globex's adapter served and routed, globex and its
    allowed namespace globex-support granted at the gateway (routes' callers,
    AuthorizationPolicy and NetworkPolicy), globex with egress to it."""

    runtime_model = "globex-chat--" + "0" * 64

    def routes(o: dict[str, Any]) -> None:
        doc = json.loads(o["data"]["routes.json"])
        doc["tenants"]["globex"] = {
            "priority": 2,
            "callers": ["globex-support"],
            "models": {"globex-chat": {"runtime": RUNTIME, "runtimeModel": runtime_model}},
        }
        o["data"]["routes.json"] = json.dumps(doc)

    def loaded(o: dict[str, Any]) -> None:
        doc = json.loads(o["data"]["adapters.json"])
        doc["adapters"][runtime_model] = {
            "servedName": "globex-chat",
            "tenant": "globex",
            "uri": "s3://tenantry-globex/adapters/chat/",
            "digest": "sha256:" + "0" * 64,
        }
        o["data"]["adapters.json"] = json.dumps(doc)

    def authz(o: dict[str, Any]) -> None:
        o["spec"]["rules"][0]["from"][0]["source"]["principals"] += [
            "cluster.local/ns/globex/sa/*",
            "cluster.local/ns/globex-support/sa/*",
        ]

    def netpol(o: dict[str, Any]) -> None:
        o["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0][
            "values"
        ] += ["globex", "globex-support"]

    edit(objs, "ConfigMap", "tenantry-llm-routes", routes)
    edit(objs, "ConfigMap", "tenantry-llm-llama-3-8b-adapters", loaded)
    edit(objs, "AuthorizationPolicy", "tenantry-llm-gateway-callers", authz)
    edit(objs, "NetworkPolicy", "gateway-callers", netpol)
    acme_egress = next(
        o
        for o in objs
        if o["kind"] == "NetworkPolicy"
        and o["metadata"] == {**o["metadata"], "name": "allow-llm-gateway", "namespace": "acme"}
    )
    globex_egress = copy.deepcopy(acme_egress)
    globex_egress["metadata"]["namespace"] = "globex"
    objs.append(globex_egress)


def test_the_gateway_pins_each_tenant_to_its_own_served_names() -> None:
    """Two tenants on one base, both admitted at the gateway: each reaches its own adapter
    only; the other's is refused by the gateway's pinning (404), which the model names."""
    objs = objects()
    _with_globex_adapter(objs)
    r = report(objs)
    globex_ref = ModelRef("globex", "globex-chat", "adapter")
    by_id = {c.id: c for c in r.callers}
    assert r.edge(globex_ref, by_id["tenant:globex"]).status == "declared"
    assert r.edge(ADAPTER, by_id["tenant:acme"]).status == "declared"
    refused = r.edge(ADAPTER, by_id["tenant:globex"])
    assert refused.status == "refused"
    assert any(
        "404 model_not_found (acme-support-agent is not among the served names globex may "
        "call)" in why
        for why in refused.summary.refusals
    ), refused.summary.refusals
    assert r.edge(globex_ref, by_id["tenant:acme"]).status == "refused"
    # each tenant's allowed namespace calls its adapter as the tenant does, and only its
    assert r.edge(globex_ref, by_id["ns:globex-support"]).status == "declared"
    assert r.edge(ADAPTER, by_id["ns:acme-apps"]).status == "declared"
    assert r.edge(ADAPTER, by_id["ns:globex-support"]).status == "refused"
    assert r.edge(globex_ref, by_id["ns:acme-apps"]).status == "refused"
    assert r.passed, [v.message for v in r.violations]


def test_a_runtime_open_to_anyone_fails_naming_the_direct_path() -> None:
    objs = objects()
    edit(objs, "AuthorizationPolicy", "tenantry-llm-runtime-callers", _allow_anyone)
    r = report(objs)
    assert not r.passed
    msgs = [v.message for v in r.violations]
    # NetworkPolicy still stops it: a violation all the same (identity layer open)
    assert (
        "globex-support (mesh identity) reaches acme/adapter:acme-support-agent on the "
        "identity "
        "layer, stopped only by a NetworkPolicy: pod tenantry-llm-llama-3-8b-kserve :8000"
    ) in msgs
    # without the NetworkPolicies, the path reaches
    objs = [
        o
        for o in objs
        if not (o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "tenantry-llm")
    ]
    msgs = [v.message for v in report(objs).violations]
    assert (
        "globex-support (mesh identity) reaches acme/adapter:acme-support-agent: "
        "pod tenantry-llm-llama-3-8b-kserve :8000"
    ) in msgs
    assert (
        "globex-support (mesh identity) reaches tenantry-llm/base:llama-3-8b: "
        "pod tenantry-llm-llama-3-8b-kserve :8000"
    ) in msgs


def _allow_anyone(o: dict[str, Any]) -> None:
    o["spec"]["rules"] = [{}]


def test_a_gateway_without_strict_mtls_fails_its_identity_is_forgeable() -> None:
    """Over plaintext the gateway's sidecar forwards the caller's own
    X-Forwarded-Client-Cert: whoever reaches the gateway can claim any tenant."""
    objs = objects()

    def permissive(o: dict[str, Any]) -> None:
        o["spec"]["mtls"] = {"mode": "PERMISSIVE"}

    edit(objs, "PeerAuthentication", "tenantry-llm-gateway-mtls", permissive)
    edit(objs, "PeerAuthentication", "tenantry-llm-mtls", permissive)
    edit(objs, "AuthorizationPolicy", "tenantry-llm-gateway-callers", _allow_anyone)
    msgs = [v.message for v in report(objs).violations]
    assert any(
        m.startswith("acme-apps (no identity) reaches acme/adapter:acme-support-agent")
        and "gateway serves acme-support-agent as any tenant it claims (no mTLS)" in m
        for m in msgs
    ), msgs


def test_an_own_llm_open_to_its_namespace_fails_and_a_closed_one_too() -> None:
    objs = objects()

    def anyone_on_8000(o: dict[str, Any]) -> None:
        o["spec"]["rules"].append({"to": [{"operation": {"ports": ["8000"]}}]})

    edit(objs, "AuthorizationPolicy", "initech-callers", anyone_on_8000)
    msgs = [v.message for v in report(objs).violations]
    assert any(
        m.startswith("globex-support (mesh identity) reaches initech/llm:clinical-llm")
        and m.endswith("pod clinical-llm-kserve :8000")
        for m in msgs
    ), msgs
    # the allowed namespaces' rule removed: the declared callers cannot reach it
    objs = objects()

    def no_llm_rule(o: dict[str, Any]) -> None:
        o["spec"]["rules"] = [
            r
            for r in o["spec"]["rules"]
            if r.get("to", [{}])[0]["operation"].get("ports") != ["8000"]
        ]

    edit(objs, "AuthorizationPolicy", "initech-llm-callers", no_llm_rule)
    kinds = {(v.kind, v.model) for v in report(objs).violations}
    assert ("declared-caller-refused", "initech/llm:clinical-llm") in kinds


def test_the_llm_port_is_open_on_the_own_llms_pods_only() -> None:
    """vLLM's port 8000 is admitted by its own policy, selecting KServe's LLM workload pods:
    the namespace-wide callers policy admits no 8000, so no other pod of the tenant opens it
    (the same rule moved into the namespace-wide policy is what this refuses)."""
    objs = objects()
    (callers,) = [o for o in objs if o["metadata"]["name"] == "initech-callers"]
    ports = [p for r in callers["spec"]["rules"] for t in r.get("to", []) for p in
             t["operation"].get("ports", [])]  # fmt: skip
    assert "8000" not in ports
    (llm,) = [o for o in objs if o["metadata"]["name"] == "initech-llm-callers"]
    assert llm["spec"]["selector"] == {
        "matchLabels": {
            "app.kubernetes.io/part-of": "llminferenceservice",
            "app.kubernetes.io/component": "llminferenceservice-workload",
        }
    }
    assert llm["spec"]["rules"][0]["to"] == [{"operation": {"ports": ["8000"]}}]


# --- every serving kind is in the proof ------------------------------------------------------


def _rendered_objects() -> Objects:
    """What the renders declare: the platform stack's and every example tenant's records."""
    from tenantry.engine import record_tenant

    out = recorded_objects(
        [r.to_data() for r in record_platform(ROOT / "tenants", ROOT / "stacks")]
    )
    for name in EXAMPLES:
        out += recorded_objects(
            [r.to_data() for r in record_tenant(name, ROOT / "tenants", ROOT / "stacks")]
        )
    return out


def _is_kserve(o: dict[str, Any]) -> bool:
    return str(o.get("apiVersion", "")).split("/")[0] == "serving.kserve.io"


def test_every_serving_object_the_renders_declare_is_a_row_of_the_matrix() -> None:
    """By kind: each KServe object of the renders is a template kind or a kind the proof
    models, and each such object has its rows in the matrix of the rendered objects."""
    rendered = _rendered_objects()
    serving = [o for o in rendered if _is_kserve(o) and o["kind"] not in KSERVE_TEMPLATE_KINDS]
    assert {o["kind"] for o in serving} == {"InferenceService", "LLMInferenceService"}
    assert {o["kind"] for o in serving} <= SERVING_KINDS
    r = analyze(rendered, platform(), intents_from(tenants().values(), platform()))
    world = World(rendered, platform())
    rows = set(r.models)
    for o in serving:
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        if o["kind"] == "InferenceService":
            mine = {ModelRef(ns, name)}
        else:
            mine = {
                ref for ref, m in world.llms.items() if m.runtime.ref == ModelRef(ns, name, "llm")
            }
        assert mine and mine <= rows, (o["kind"], ns, name)
    assert r.passed, [v.message for v in r.violations]


def test_an_unmodelled_serving_kind_fails_the_proof() -> None:
    objs = objects()
    objs.append(
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "InferenceGraph",
            "metadata": {"name": "chain", "namespace": "acme"},
            "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": []}}},
        }
    )
    r = report(objs)
    assert not r.passed
    assert any(
        v.kind == "object" and v.message.startswith("InferenceGraph acme/chain: InferenceGraph")
        for v in r.violations
    ), [v.message for v in r.violations]


@pytest.mark.parametrize("caller", ["tenant:acme", "ns:acme-apps", "ns:globex-support"])
def test_trace_lists_every_llm_path(caller: str) -> None:
    outcomes = trace(
        objects(), platform(), intents_from(tenants().values(), platform()), caller, str(ADAPTER)
    )
    assert {o.kind for o in outcomes} == {"direct", "llm gateway"}
    # acme and its allowed namespace through the gateway; another tenant's namespace never
    assert any(o.reached for o in outcomes) == (caller != "ns:globex-support")


def test_tenantry_plan_fails_an_own_llm_open_to_anyone_naming_the_path() -> None:
    """Through the plan's document (the tenant's recorded objects): initech's callers policy
    admitting anyone on vLLM's port fails the plan even though the namespace's default deny
    still stops those callers (NetworkPolicy is not the identity layer)."""
    from tests.policy.test_reachability_renders import Records, obj, plan

    def opened(name: str, records: Records) -> None:
        if name == "initech":
            rules = obj(records, "AuthorizationPolicy", "initech-callers")["spec"]["rules"]
            rules.append({"to": [{"operation": {"ports": ["8000"]}}]})

    doc = plan(["initech"], opened)
    rp = doc["tenants"]["initech"]["requestPath"]
    assert not rp["passed"]
    messages = [v["message"] for v in rp["violations"]]
    assert (
        "globex-support (mesh identity) reaches initech/llm:clinical-llm on the identity "
        "layer, stopped only by a NetworkPolicy: pod clinical-llm-kserve :8000"
    ) in messages, messages
    assert rp["matrix"]["llm:clinical-llm"]["ns:globex-support"] == "only-netpol"
    assert rp["matrix"]["clinical-ner"]["ns:globex-support"] == "refused"


def test_the_runtime_sidecar_comes_from_the_render_s_spec_labels() -> None:
    """KServe sets no sidecar.istio.io/inject on LLMInferenceService pods (kserve v0.20.0
    llmisvc controller and config/llmisvcconfig): the render states it in ``spec.labels``,
    which KServe copies onto the pods. The model reads it there: the same render with the
    label turned to "false" leaves the runtime without a sidecar, so without its Istio
    policy, a violation naming the direct path."""
    objs = objects()
    runtime = [o for o in objs if o["kind"] == "LLMInferenceService"]
    assert runtime and all(
        o["spec"]["labels"] == {"sidecar.istio.io/inject": "true"} for o in runtime
    )
    assert report(objs).passed

    def no_sidecar(o: dict[str, Any]) -> None:
        o["spec"]["labels"] = {"sidecar.istio.io/inject": "false"}

    edit(objs, "LLMInferenceService", "tenantry-llm-llama-3-8b", no_sidecar)
    r = report(objs)
    assert not r.passed
    msgs = [v.message for v in r.violations]
    assert any("pod tenantry-llm-llama-3-8b-kserve :8000" in m for m in msgs), msgs


@pytest.mark.parametrize("tls", [False, True], ids=["runtime-http", "runtime-tls"])
def test_the_llm_rows_hold_with_either_runtime_tls_setting(tls: bool) -> None:
    """The proof with llmRuntimeTls false (KServe's default: the gateway calls the runtime over
    http, which both sidecars carry inside STRICT mTLS, so the runtime's sidecar sees the HTTP
    request and the gateway's mTLS identity) and true (https: the runtime's sidecar proxies
    TLS/TCP, so its AuthorizationPolicy must use no HTTP field, only the peer and the port)."""
    data = platform().model_dump(by_alias=True)
    data["llmRuntimeTls"] = tls
    settings = type(platform()).model_validate(data)
    objs = copy.deepcopy(fleet_objects(tenants(), settings, {}))
    (dep,) = [
        o
        for o in objs
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "tenantry-llm-gateway"
    ]
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    upstream = c["args"][c["args"].index("--upstream") + 1]
    assert upstream.split("=", 1)[1].startswith("https://" if tls else "http://")
    assert ("--upstream-ca" in c["args"]) is tls
    r = analyze(objs, settings, intents_from(tenants().values(), settings))
    assert r.passed, [v.message for v in r.violations]
    reach = {
        ref: {c.id for c in r.callers if r.edge(ref, c).summary.reached}
        for ref in (ADAPTER, OWN, BASE)
    }
    assert reach == {
        ADAPTER: {"tenant:acme", "ns:acme-apps"},
        OWN: {"ns:initech-ehr", "ns:initech-batch"},
        BASE: set(),
    }
    (authz,) = [
        o
        for o in objs
        if o["kind"] == "AuthorizationPolicy"
        and o["metadata"]["name"] == "tenantry-llm-runtime-callers"
    ]
    for rule in authz["spec"]["rules"]:
        for to in rule.get("to", []):
            assert set(to["operation"]) == {"ports"}, to


def test_a_route_sending_one_tenants_name_as_anothers_adapter_fails() -> None:
    """The gateway forwards a served name as its ``runtimeModel``: a routes file pointing
    globex's name at acme's adapter version would hand globex acme's weights while every
    served-name check passes. The proof names it."""
    objs = objects()
    _with_globex_adapter(objs)
    assert report(objs).passed
    (loaded,) = [
        json.loads(o["data"]["adapters.json"])["adapters"]
        for o in objs
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "tenantry-llm-llama-3-8b-adapters"
    ]
    (acme_runtime,) = [rm for rm, a in loaded.items() if a["tenant"] == "acme"]

    def misroute(o: dict[str, Any]) -> None:
        doc = json.loads(o["data"]["routes.json"])
        doc["tenants"]["globex"]["models"]["globex-chat"]["runtimeModel"] = acme_runtime
        o["data"]["routes.json"] = json.dumps(doc)

    edit(objs, "ConfigMap", "tenantry-llm-routes", misroute)
    r = report(objs)
    assert not r.passed
    assert (
        "LLMInferenceService tenantry-llm/tenantry-llm-llama-3-8b: the gateway sends globex's "
        f"globex-chat as {acme_runtime}, which is acme's acme-support-agent"
    ) in [v.message for v in r.violations]
