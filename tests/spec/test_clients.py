"""External clients (``access.clients``) and the platform's token issuers: what validate
refuses, with the exact code, field path and accepted values."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tenantry.spec import PlatformSettings
from tenantry.spec.platform import Mesh, TokenIssuer
from tenantry.spec.rules import MAX_CLIENT_RULES

from .helpers import Doc, codes, problems_for, variant

CHECKOUT = {
    "name": "checkout",
    "issuer": "platform-idp",
    "subjects": ["acme-checkout"],
    "claims": {"tenant_id": ["acme"]},
}


def with_clients(clients: list[dict[str, Any]]) -> Doc:
    def change(d: Doc) -> None:
        d["spec"]["access"]["clients"] = clients

    return variant("acme", change)


def test_example_client_is_valid(platform: PlatformSettings) -> None:
    assert codes(problems_for(with_clients([CHECKOUT]), platform)) == set()


def test_client_of_an_unknown_issuer_is_refused(platform: PlatformSettings) -> None:
    problems = problems_for(with_clients([{**CHECKOUT, "issuer": "auth0"}]), platform)
    assert codes(problems) == {("client_issuer_unknown", "spec.access.clients[0].issuer")}
    (p,) = problems
    assert p.value == "auth0" and p.accepted == "'platform-idp'"
    assert p.line is not None


def test_without_platform_issuers_the_error_says_so(platform: PlatformSettings) -> None:
    bare = platform.model_copy(update={"token_issuers": []})
    (p,) = problems_for(with_clients([CHECKOUT]), bare)
    assert p.code == "client_issuer_unknown"
    assert p.accepted is not None and "declares no tokenIssuers" in p.accepted


def test_client_without_subjects_or_claims_is_refused(platform: PlatformSettings) -> None:
    d = with_clients([{"name": "anyone", "issuer": "platform-idp"}])
    assert codes(problems_for(d, platform)) == {("client_unbounded", "spec.access.clients[0]")}


def test_duplicate_client_names_are_refused(platform: PlatformSettings) -> None:
    d = with_clients([CHECKOUT, {**CHECKOUT, "subjects": ["other"]}])
    assert codes(problems_for(d, platform)) == {
        ("name_duplicate", "spec.access.clients[0].name"),
        ("name_duplicate", "spec.access.clients[1].name"),
    }


def test_too_many_gateway_rules_are_refused(platform: PlatformSettings) -> None:
    many = {f"c{i}": ["x"] for i in range(3)}  # 4 rules per client: 4^4 = 256 > 64
    clients = [{"name": f"c{i}", "issuer": "platform-idp", "claims": many} for i in range(4)]
    assert MAX_CLIENT_RULES < 4**4
    assert codes(problems_for(with_clients(clients), platform)) == {
        ("clients_too_many_rules", "spec.access.clients")
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subjects", ["svc*"]),  # Istio would read a trailing * as a prefix wildcard
        ("subjects", ["*"]),
        ("subjects", ["a/b"]),  # Istio splits the request principal at the last '/'
        ("subjects", [" padded"]),
        ("claims", {"tenant_id": ["*acme"]}),
        ("claims", {"tenant_id": []}),
        ("claims", {"tenant[id]": ["acme"]}),
    ],
)
def test_values_istio_would_read_as_wildcards_are_refused(
    platform: PlatformSettings, field: str, value: Any
) -> None:
    problems = problems_for(with_clients([{**CHECKOUT, field: value}]), platform)
    assert problems and all(p.path.startswith(f"spec.access.clients[0].{field}") for p in problems)


def test_token_issuers_are_validated() -> None:
    ok = {"name": "idp", "issuer": "https://idp.example/", "jwksUri": "https://idp.example/k"}
    TokenIssuer.model_validate({**ok, "audiences": ["models"]})
    with pytest.raises(ValidationError, match="audiences"):
        TokenIssuer.model_validate({**ok, "audiences": []})
    with pytest.raises(ValidationError, match="issuer"):
        TokenIssuer.model_validate({**ok, "issuer": "http://idp.example/", "audiences": ["m"]})


def test_issuer_names_and_urls_are_unique(platform: PlatformSettings) -> None:
    issuer = platform.token_issuers[0]
    data = platform.model_dump(by_alias=True)
    data["tokenIssuers"] = [issuer.model_dump(by_alias=True)] * 2
    with pytest.raises(ValidationError, match="names must be unique"):
        PlatformSettings.model_validate(data)
    data["tokenIssuers"] = [
        issuer.model_dump(by_alias=True),
        {**issuer.model_dump(by_alias=True), "name": "other"},
    ]
    with pytest.raises(ValidationError, match="one entry per issuer URL"):
        PlatformSettings.model_validate(data)


def test_mesh_gateway_selector_cannot_be_empty() -> None:
    with pytest.raises(ValidationError, match="at least one label"):
        Mesh.model_validate({"ingressGatewayLabels": {}})
