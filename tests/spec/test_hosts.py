"""Host derivation (Knative/KServe templates) and DNS limits, and the ingress settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantry.spec.hosts import (
    MAX_LABEL,
    host_problems,
    longest_model_name,
    model_hosts,
    short_forms,
    tag_route_name,
    tenant_hosts,
)
from tenantry.spec.platform import Ingress
from tenantry.spec.templates import TemplateError, check_template, render

DEFAULT = Ingress()


def test_defaults_are_knative_and_kserve_defaults_as_the_platform_sets_them() -> None:
    assert DEFAULT.domain == "example.com"
    assert DEFAULT.domain_template == "{{.Name}}-{{.Namespace}}.{{.Domain}}"
    assert DEFAULT.tag_template == "{{.Tag}}-{{.Name}}"


def test_every_host_of_one_model() -> None:
    hosts = {(h.route, h.tag, h.visibility): h.name for h in model_hosts("fraud", "acme", DEFAULT)}
    assert hosts == {
        ("inference-service", None, "external"): "fraud-acme.example.com",
        ("inference-service", None, "cluster-local"): "fraud.acme.svc.cluster.local",
        ("predictor", None, "external"): "fraud-predictor-acme.example.com",
        ("predictor", None, "cluster-local"): "fraud-predictor.acme.svc.cluster.local",
        ("tag", "prev", "external"): "prev-fraud-predictor-acme.example.com",
        ("tag", "prev", "cluster-local"): "prev-fraud-predictor.acme.svc.cluster.local",
        ("tag", "latest", "external"): "latest-fraud-predictor-acme.example.com",
        ("tag", "latest", "cluster-local"): "latest-fraud-predictor.acme.svc.cluster.local",
    }
    routes = {h.route_name for h in model_hosts("fraud", "acme", DEFAULT)}
    assert routes == {"fraud", "fraud-predictor", "prev-fraud-predictor", "latest-fraud-predictor"}


def test_settings_change_every_external_host_and_no_cluster_local_one() -> None:
    ingress = Ingress(
        domain="models.corp.example",
        domain_template="{{.Name}}.{{.Namespace}}.{{.Domain}}",
        tag_template="{{.Name}}-{{.Tag}}",
    )
    names = {h.name for h in model_hosts("fraud", "acme", ingress)}
    assert "fraud-predictor-prev.acme.models.corp.example" in names
    assert "fraud.acme.models.corp.example" in names
    assert "fraud-predictor-prev.acme.svc.cluster.local" in names
    assert tag_route_name("fraud", "latest", ingress) == "fraud-predictor-latest"


def test_the_issue_case_is_one_character_over_the_label_limit() -> None:
    model, tenant = "multilingual-sentiment-classifier-large", "research-group"
    predictor = next(
        h
        for h in model_hosts(model, tenant, DEFAULT)
        if h.route == "predictor" and h.visibility == "external"
    )
    label = predictor.name.split(".")[0]
    assert label == "multilingual-sentiment-classifier-large-predictor-research-group"
    assert len(label) == MAX_LABEL + 1
    assert host_problems(predictor.name) == [
        f"label {label!r} has 64 characters, more than 63",
    ]


def test_longest_model_name_is_the_tightest_budget_tag_hosts_included() -> None:
    n = longest_model_name("research-group", DEFAULT)
    # latest-<model>-predictor-research-group: 7 + n + 10 + 1 + 14 <= 63
    assert n == 63 - len("latest-") - len("-predictor-research-group")
    ok = model_hosts("m" * n, "research-group", DEFAULT)
    assert not any(host_problems(h.name) for h in ok)
    too_long = model_hosts("m" * (n + 1), "research-group", DEFAULT)
    assert [h.tag for h in too_long if host_problems(h.name)] == ["latest"]


def test_a_long_domain_shrinks_the_host_budget() -> None:
    domain = ".".join(["d" * 60] * 4)  # 243 characters
    ingress = Ingress(domain=domain)
    assert longest_model_name("acme", ingress) == 0
    isvc, _, predictor, *_ = model_hosts("m", "acme", ingress)
    assert host_problems(isvc.name) == []  # m-acme.<domain>: 250 characters
    assert host_problems(predictor.name) == ["the host has 260 characters, more than 253"]


def test_short_forms_of_cluster_local_hosts_only() -> None:
    hosts = model_hosts("fraud", "acme", DEFAULT)
    local = next(h for h in hosts if h.visibility == "cluster-local" and h.route == "predictor")
    assert short_forms(local) == ("fraud-predictor.acme.svc", "fraud-predictor.acme")
    external = next(h for h in hosts if h.visibility == "external")
    assert short_forms(external) == ()


def test_tenant_hosts_in_model_order() -> None:
    hosts = tenant_hosts("acme", ["b", "a"], DEFAULT)
    assert [h.model for h in hosts][:1] == ["b"] and hosts[-1].model == "a"
    assert len(hosts) == 16


def test_render_accepts_spaces_like_go() -> None:
    assert render("{{ .Name }}-{{.Namespace}}", {"Name": "a", "Namespace": "b"}) == "a-b"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Name}}.{{.Annotations.x}}.{{.Namespace}}", "is not supported"),
        ("{{.Name}}-{{.Namespace}}.{{.Domain | lower}}", "is not supported"),
        ("{{.Name}}.{{.Domain}}", "must use {{.Namespace}}"),
        ("{{.Name}}.{{.Namespace}}.{{.Domain}}/path", "not a host name"),
        ("{{.Name}}-{{.Namespace}}.{{.Domain", "unbalanced"),
        ("{{.Labels}}{{.Name}}{{.Namespace}}", "is not supported"),
    ],
)
def test_domain_templates_tenantry_cannot_predict_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValidationError, match="domainTemplate") as info:
        Ingress(domain_template=template)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("template", "message"),
    [("{{.Name}}", "must use {{.Tag}}"), ("{{.Tag}}_{{.Name}}", "not a DNS-1035 label")],
)
def test_tag_templates_must_name_tag_and_route_and_give_a_label(
    template: str, message: str
) -> None:
    with pytest.raises(ValidationError, match="tagTemplate") as info:
        Ingress(tag_template=template)
    assert message in str(info.value)


def test_domain_is_a_dns_subdomain() -> None:
    with pytest.raises(ValidationError):
        Ingress(domain="Example.COM")
    with pytest.raises(ValidationError):
        Ingress(domain="x" * 64 + ".com")


def test_check_template_reports_the_rendered_sample() -> None:
    with pytest.raises(TemplateError, match="renders 'v2_foo'"):
        check_template(
            "tagTemplate", "{{.Tag}}_{{.Name}}", fields=("Tag", "Name"), required=(), kind="label"
        )
