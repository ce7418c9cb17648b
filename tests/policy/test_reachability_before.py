"""The proof run on the renders as they were before issue 17 (``data/renders-fe98e7a``: the
request-path objects of the four example tenants at commit fe98e7a, copied from the golden
files then). It must find every hole the issue lists; the fixed renders are checked in
test_reachability_renders.py."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from tenantry.policy.reachability import Intent, Report, analyze, intents_from, trace
from tenantry.spec import PlatformSettings
from tests.components.helpers import platform, tenants

BEFORE = Path(__file__).resolve().parent / "data" / "renders-fe98e7a"


def objects() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text("utf-8")) for p in sorted(BEFORE.rglob("*.yaml"))]


def intents() -> dict[str, Intent]:
    return intents_from(tenants().values(), platform())


@functools.cache
def report(domain: str = "example.com") -> Report:
    settings: PlatformSettings = platform()
    if domain != settings.ingress.domain:
        settings = settings.model_copy(
            update={"ingress": settings.ingress.model_copy(update={"domain": domain})}
        )
    return analyze(objects(), settings, intents_from(tenants().values(), settings))


def reaching(model: str, caller_label: str, domain: str = "example.com") -> list[str]:
    r = report(domain)
    edge = next(
        e for (m, _), e in r.edges.items() if str(m) == model and e.caller.label == caller_label
    )
    return list(edge.summary.paths)


def test_the_activator_was_an_open_door() -> None:
    # any workload that can reach the activator names acme's revision and gets in
    for caller in ("ns:unrelated", "ns:globex-support"):
        paths = [
            o.text()
            for o in trace(objects(), platform(), intents(), caller, "acme/fraud-detector")
            if o.reached
        ]
        assert any(p.startswith("activator :8012 [headers") for p in paths), paths


def test_tag_hosts_were_not_covered_at_the_gateway() -> None:
    for model, tag_host in (
        ("acme/fraud-detector", "prev-fraud-detector-predictor-acme.example.com"),
        ("umbrella/protein-folder", "prev-protein-folder-predictor-umbrella.example.com"),
    ):
        paths = reaching(model, "outside, no token")
        assert any(f"ingress gateway :8080 [Host {tag_host}" in p for p in paths), paths
        # the hosts the DENY listed were refused there
        assert not any("[Host fraud-detector-acme.example.com]" in p for p in paths)


def test_no_proxy_ran_the_policies() -> None:
    # the namespaces had no injection label: pods without identity were not refused
    paths = reaching("acme/fraud-detector", "acme-apps (no identity)")
    assert any(p.startswith("pod fraud-detector-predictor-00001 :8012") for p in paths), paths


def test_the_gateway_deny_was_mesh_wide() -> None:
    notes = [f for f in report().findings if f.object.endswith("tenantry-acme-admission")]
    assert notes and "every workload of the mesh" in notes[0].message


def test_external_clients_could_not_call_but_through_the_holes() -> None:
    refused = [
        v
        for v in report().violations
        if v.kind == "declared-caller-refused" and "acme's client checkout" in v.caller
    ]
    assert {v.model for v in refused} == {"acme/risk-embedder"}
    # fraud-detector runs a canary: its token holder got in only where the policy had a hole
    paths = reaching("acme/fraud-detector", "outside, token of acme's client checkout")
    assert paths and all("-fraud-detector-predictor-acme.example.com" in p for p in paths)


def test_a_platform_domain_other_than_example_com_was_uncovered() -> None:
    paths = reaching("acme/risk-embedder", "outside, no token", domain="models.corp.example")
    host = "risk-embedder-predictor-acme.models.corp.example"
    assert any(f"ingress gateway :8080 [Host {host}]" in p for p in paths), paths


def test_no_class_of_hole_goes_unreported() -> None:
    kinds = {v.kind for v in report().violations}
    assert kinds == {"undeclared-caller", "declared-caller-refused"}
    assert not report().passed


def test_reusing_results_gives_the_answer_of_evaluating_every_caller() -> None:
    settings = platform()
    intents = intents_from(tenants().values(), settings)
    fast = analyze(objects(), settings, intents)
    slow = analyze(objects(), settings, intents, reuse=False)
    assert fast.evaluated < slow.evaluated
    assert {k: e.summary for k, e in fast.edges.items()} == {
        k: e.summary for k, e in slow.edges.items()
    }
