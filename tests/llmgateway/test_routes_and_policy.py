"""The gateway's pure layer: the routes file (the shape ``tenant_llm_routes`` renders, parsed
back), identity from XFCC, and the per-request decisions of :mod:`tenantry.llmgateway.policy`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantry.k8s.llm_inference_service import tenant_llm_routes
from tenantry.llmgateway import policy
from tenantry.llmgateway.identity import caller_from_xfcc, caller_of, xfcc_elements
from tenantry.llmgateway.routes import Routes, RoutesError, parse_routes
from tenantry.llmgateway.server import _inspect_event
from tests.platform.test_shared_llms import GRANTS, _settings


def _routes(cache_salt: bool = True) -> Routes:
    mode = "per-tenant-salt" if cache_salt else "off"
    doc = tenant_llm_routes(_settings(llmPrefixCaching=mode), GRANTS)
    return parse_routes(json.dumps(doc, indent=2))


def test_the_rendered_routes_parse_with_every_field() -> None:
    routes = _routes()
    assert routes.cache_salt is True
    assert routes.blocked_paths == ("/v1/load_lora_adapter", "/v1/unload_lora_adapter")
    acme = routes.tenants["acme"]
    assert acme.priority == 1 and routes.tenants["globex"].priority == 2
    x = acme.models["acme-x"]
    assert (x.tenant, x.adapter, x.base_model) == ("acme", "x", "other")
    assert (x.tokens_per_minute, x.max_concurrent_requests) == (1000, 4)
    assert routes.base_models == {"llama-3-8b", "other"}


def _bad(doc_text: str) -> str:
    with pytest.raises(RoutesError) as exc:
        parse_routes(doc_text, "/etc/r.json")
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def _doc() -> dict[str, Any]:
    return tenant_llm_routes(_settings(), GRANTS)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("tenants", "acme", "models", "acme-x", "tokensPerMinute"), 0, "an integer >= 1"),
        (("tenants", "acme", "models", "acme-x", "maxConcurrentRequests"), "4", ">= 1"),
        (("tenants", "acme", "priority"), -1, "an integer >= 0"),
        (("tenants", "acme", "models", "acme-x", "baseModel"), "", "a non-empty string"),
        (("tenants", "acme", "models", "acme-x", "runtimeModel"), 7, "a non-empty string"),
        (("cacheSalt",), "yes", "true or false"),
        (("blockedPaths",), ["v1/x"], "starting with '/'"),
    ],
)
def test_a_bad_field_names_file_line_field_value_and_what_is_accepted(
    path: tuple[str, ...], value: Any, expected: str
) -> None:
    doc = _doc()
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    text = json.dumps(doc, indent=2)
    msg = _bad(text)
    assert msg.startswith("/etc/r.json:"), msg
    assert f"field {'.'.join(path)}" in msg and json.dumps(value) in msg and expected in msg
    reported = int(msg.split(":")[1])
    assert f'"{path[-1]}"' in text.splitlines()[reported - 1], msg  # the line of that key


def test_unknown_and_missing_fields_and_bad_json() -> None:
    doc = _doc()
    doc["tenants"]["acme"]["models"]["acme-x"]["tokensPerHour"] = 5
    assert "field tenants.acme.models.acme-x.tokensPerHour" in _bad(json.dumps(doc, indent=2))
    doc = _doc()
    del doc["tenants"]["acme"]["priority"]
    assert "'priority'" in _bad(json.dumps(doc))
    assert _bad('{\n  "cacheSalt": tru\n}').startswith("/etc/r.json:2: not JSON")
    assert "duplicate key 'cacheSalt'" in _bad('{"cacheSalt": true, "cacheSalt": false}')


def test_one_served_name_belongs_to_one_tenant() -> None:
    doc = _doc()
    doc["tenants"]["globex"]["models"]["acme-x"] = doc["tenants"]["acme"]["models"]["acme-x"]
    assert "(acme has it)" in _bad(json.dumps(doc, indent=2))


# -- identity ---------------------------------------------------------------------------
SPIFFE_A = "spiffe://cluster.local/ns/acme/sa/default"


def test_the_last_xfcc_element_names_the_caller() -> None:
    header = f'By=spiffe://cluster.local/ns/tenantry-llm/sa/gw;Hash=ab;Subject="";URI={SPIFFE_A}'
    caller = caller_from_xfcc(header)
    assert caller is not None and caller.tenant == "acme"
    # a forged first element is ignored: the gateway's sidecar appends the real peer last
    forged = f"By=x;URI=spiffe://cluster.local/ns/globex/sa/default,{header}"
    assert caller_from_xfcc(forged) == caller


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "By=spiffe://cluster.local/ns/x/sa/y;Hash=ab",  # no URI
        "URI=https://acme.example/",  # not SPIFFE
        "URI=spiffe://cluster.local/ns/acme",  # not a workload ID
        f"URI={SPIFFE_A};URI=spiffe://cluster.local/ns/globex/sa/a",  # ambiguous
        f"URI={SPIFFE_A},By=x;Hash=y",  # the appended element has no URI
    ],
)
def test_no_usable_identity(header: str | None) -> None:
    assert caller_from_xfcc(header) is None


def test_quoted_values_and_the_trust_domain() -> None:
    header = f'Subject="CN=a,O=b;c";URI={SPIFFE_A}'
    assert xfcc_elements(header) == [{"subject": ["CN=a,O=b;c"], "uri": [SPIFFE_A]}]
    assert caller_from_xfcc(header, trust_domain="cluster.local") is not None
    assert caller_from_xfcc(header, trust_domain="prod.example") is None


# -- decisions --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/v1/completions", True),
        ("POST", "/v1/chat/completions", True),
        ("GET", "/v1/models", True),
        ("POST", "/v1/load_lora_adapter", False),
        ("POST", "/v1/unload_lora_adapter", False),
        ("POST", "/invocations", False),
        ("POST", "/v1/responses", False),
        ("GET", "/metrics", False),
        ("GET", "/v1/completions", False),
        ("POST", "/v1/completions/", False),
    ],
)
def test_paths(method: str, path: str, allowed: bool) -> None:
    refusal = policy.path_refusal(_routes(), method, path)
    assert (refusal is None) is allowed
    if refusal is not None:
        assert (refusal.status, refusal.reason) == (404, "blocked_path")


def test_a_blocked_path_in_the_routes_is_refused_even_if_allowed() -> None:
    doc = _doc()
    doc["blockedPaths"].append("/v1/chat/completions")
    routes = parse_routes(json.dumps(doc))
    assert policy.path_refusal(routes, "POST", "/v1/chat/completions") is not None


@pytest.mark.parametrize(
    "model", ["globex-chat", "llama-3-8b", "other", "acme-nothing", None, 7, ""]
)
def test_every_model_outside_the_callers_list_gets_one_identical_answer(model: Any) -> None:
    routes = _routes()
    body = {} if model is None else {"model": model}
    refusal = policy.resolve_model(routes, "acme", body)
    assert isinstance(refusal, policy.Refusal)
    shown = model if isinstance(model, str) else ""
    assert refusal.status == 404
    assert refusal.body() == {
        "error": {
            "message": f"The model `{shown}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }


def test_an_unknown_tenant_has_no_models() -> None:
    assert isinstance(policy.resolve_model(_routes(), "initech", {"model": "acme-x"}),
                      policy.Refusal)  # fmt: skip
    assert policy.models_listing(_routes(), "initech", 0)["data"] == []


def test_own_model_resolves_and_listing_shows_only_own() -> None:
    routes = _routes()
    m = policy.resolve_model(routes, "acme", {"model": "acme-support"})
    assert not isinstance(m, policy.Refusal) and m.base_model == "llama-3-8b"
    ids = [d["id"] for d in policy.models_listing(routes, "acme", 5)["data"]]
    assert ids == ["acme-support", "acme-x"]


def test_priority_and_salt_are_overwritten_and_usage_forced() -> None:
    routes = _routes(cache_salt=True)
    key = b"k" * 32
    body = {"model": "acme-x", "priority": -100, "cache_salt": "globex", "stream": True}
    out = policy.rewrite(body, routes, "acme", key)
    assert out["priority"] == 1
    assert out["cache_salt"] == policy.cache_salt(key, "acme") != policy.cache_salt(key, "globex")
    assert len(out["cache_salt"]) == 64
    forced = {"include_usage": True, "continuous_usage_stats": True}
    assert out["stream_options"] == forced
    assert body["priority"] == -100  # the caller's body is not mutated
    assert policy.caller_wants_usage(body) == (False, False)
    body2 = {**body, "stream_options": {"include_usage": True, "continuous_usage_stats": False}}
    assert policy.caller_wants_usage(body2) == (True, False)
    assert policy.rewrite(body2, routes, "acme", key)["stream_options"] == forced


def _event(chunk: object) -> list[bytes]:
    return [b"data: " + json.dumps(chunk).encode() + b"\n", b"\n"]


USAGE = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


def test_the_forced_usage_is_hidden_unless_the_caller_asked() -> None:
    content = {"id": "c", "choices": [{"text": " a"}], "usage": USAGE}
    final = {"id": "c", "choices": [], "usage": USAGE}
    out, usage = _inspect_event(_event(content), keep_final=False, keep_each=False)
    assert usage == USAGE
    assert out == b'data: {"id":"c","choices":[{"text":" a"}]}\n\n'
    out, _ = _inspect_event(_event(content), keep_final=False, keep_each=True)
    assert json.loads(out[5:])["usage"] == USAGE
    assert _inspect_event(_event(final), keep_final=False, keep_each=True) == (b"", USAGE)
    out, usage = _inspect_event(_event(final), keep_final=True, keep_each=False)
    assert usage == USAGE and json.loads(out[5:]) == final
    done = [b"data: [DONE]\n", b"\n"]
    assert _inspect_event(done, keep_final=False, keep_each=False) == (b"data: [DONE]\n\n", None)
    plain = _event({"id": "c", "choices": [{"text": " a"}]})
    assert _inspect_event(plain, keep_final=False, keep_each=False) == (b"".join(plain), None)


def test_salt_removed_when_off_and_required_when_on() -> None:
    out = policy.rewrite({"model": "x", "cache_salt": "s"}, _routes(False), "globex", None)
    assert "cache_salt" not in out and out["priority"] == 2 and "stream_options" not in out
    with pytest.raises(ValueError, match="no salt key"):
        policy.rewrite({"model": "x"}, _routes(True), "acme", None)


INGRESS = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"


def test_outside_callers_are_named_by_the_ingress_only() -> None:
    via_ingress = f"URI={INGRESS}"
    ingress = frozenset({INGRESS})
    caller = caller_of(via_ingress, "acme", ingress_identities=ingress)
    assert caller is not None and (caller.tenant, caller.principal) == ("acme", INGRESS)
    # the ingress without the header, or with a value that is no namespace name: no identity
    assert caller_of(via_ingress, None, ingress_identities=ingress) is None
    assert caller_of(via_ingress, "Acme/../x", ingress_identities=ingress) is None
    # any other peer: the header is never read, its own namespace names it
    mesh = caller_of(f"URI={SPIFFE_A}", "globex", ingress_identities=ingress)
    assert mesh is not None and mesh.tenant == "acme"
    # an ingress not configured is an ordinary peer (its namespace, no tenant's)
    plain = caller_of(via_ingress, "acme")
    assert plain is not None and plain.tenant == "istio-system"


@pytest.mark.parametrize(
    "body",
    [
        {"stream": "true"},
        {"stream": 1},
        {"stream": "yes"},
        {"stream": True, "stream_options": "x"},
        {"stream": True, "stream_options": {"include_usage": "false"}},
    ],
)
def test_a_stream_flag_vllm_would_coerce_is_refused(body: dict[str, Any]) -> None:
    """vLLM's pydantic models are lax: "true", 1 or "yes" would start a stream the gateway
    did not see as one (and so would not meter)."""
    assert policy.invalid_body({"model": "acme-x", **body}) is not None


@pytest.mark.parametrize(
    "body", [{}, {"stream": False}, {"stream": True, "stream_options": None}, {"stream": None}]
)
def test_plain_bodies_pass(body: dict[str, Any]) -> None:
    assert policy.invalid_body(body) is None


def _with_callers() -> Routes:
    """acme's grants with allowed namespaces acme-apps and shared-ns, globex's with
    shared-ns (two tenants may list one namespace)."""
    from dataclasses import replace

    callers = {"acme": ("acme-apps", "shared-ns"), "globex": ("shared-ns",)}
    grants = [replace(g, callers=callers[g.tenant]) for g in GRANTS]
    return parse_routes(json.dumps(tenant_llm_routes(_settings(), grants), indent=2))


def test_a_tenants_allowed_namespaces_call_its_adapters_and_no_others() -> None:
    """A workload of a tenant's allowed namespace calls the tenant's adapters as the tenant
    does (metered and limited as the tenant); it gets every other tenant's name refused with
    the same 404; a namespace several tenants list calls each one's adapters; a namespace
    no tenant lists gets nothing."""
    routes = _with_callers()
    assert routes.tenants["acme"].callers == ("acme-apps", "shared-ns")
    m = policy.resolve_model(routes, "acme-apps", {"model": "acme-x"})
    assert isinstance(m, policy.ModelRoute) and m.tenant == "acme"
    for ns, name in (("acme-apps", "globex-chat"), ("globex", "acme-x"), ("other", "acme-x")):
        refused = policy.resolve_model(routes, ns, {"model": name})
        assert isinstance(refused, policy.Refusal), (ns, name)
        assert refused.body() == policy.model_not_found(name).body()
    shared = policy.resolve_model(routes, "shared-ns", {"model": "globex-chat"})
    assert isinstance(shared, policy.ModelRoute) and shared.tenant == "globex"
    listing = policy.models_listing(routes, "shared-ns", 0)["data"]
    assert {(x["id"], x["owned_by"]) for x in listing} == {
        ("acme-support", "acme"),
        ("acme-x", "acme"),
        ("globex-chat", "globex"),
    }
    assert [x["id"] for x in policy.models_listing(routes, "acme-apps", 0)["data"]] == [
        "acme-support",
        "acme-x",
    ]
    assert policy.models_listing(routes, "other", 0)["data"] == []
    # refusals before a model is known: labelled with the one tenant the namespace calls
    # for, else the namespace itself
    assert routes.label_of("acme-apps") == "acme"
    assert routes.label_of("shared-ns") == "shared-ns"
    assert routes.label_of("globex") == "globex"


def test_callers_that_are_not_namespace_names_are_refused_naming_the_line() -> None:
    doc = _doc()
    doc["tenants"]["acme"]["callers"] = ["acme-apps", "Not_A_Namespace"]
    msg = _bad(json.dumps(doc, indent=2))
    assert "field tenants.acme.callers" in msg and "a list of namespace names" in msg
