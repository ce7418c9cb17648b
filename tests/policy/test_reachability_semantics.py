"""The reachability model's semantics, case by case, each taken from Istio's, Kubernetes',
Knative's or KServe's documentation or source (cited in the case). No Envoy, Istio or Knative
runs here: these cases are what the model is held to.

Sources (versions: istio/istio at 86c9f01f, the commit of shared/schemas/istio; knative/serving
and knative-extensions/net-istio main of August 2026):

- [AP] istio.io, Reference, "Authorization Policy" (action order, ``spec: {}``, rule ``{}``,
  root namespace, selector);
- [ATTACH] istio/istio ``pilot/pkg/model/policyattachment.go`` ``ShouldAttachPolicy``;
- [GEN] istio/istio ``pilot/pkg/security/authz/model/generator.go`` and ``model.go`` (field
  semantics, sources OR, fields AND, ``notValues`` as NOT OR);
- [MATCH] istio/istio ``pilot/pkg/security/authz/matcher/header.go`` (HostMatcher ignore
  case, HeaderMatcher exact on the value) and ``string.go``;
- [BP] istio.io, "Security Best Practices" (DENY with negative match catches plaintext;
  ``notRequestPrincipals: ["*"]`` refuses requests without a JWT);
- [ENVOY] envoyproxy/envoy ``source/common/http/header_utility.h``
  ``getAllOfHeaderAsString`` (lines of one header joined with ``,`` for matching);
- [PA] istio/istio ``pilot/pkg/security/authn/policy_applier.go``
  ``ComposePeerAuthentication``; istio.io Reference "PeerAuthentication";
- [RA] istio.io Reference "RequestAuthentication" (invalid token refused, missing token
  passes without identity, ``forwardOriginalToken``);
- [NP] kubernetes.io, "Network Policies" and the networking.k8s.io/v1 API reference;
- [ACT] knative/serving ``pkg/activator/handler/context_handler.go`` (revision from headers,
  Host fallback) and Go's ``net/http`` ``Header.Get`` (first value);
- [TBC] knative.dev "Configuring target burst capacity" (0: activator only when scaled to
  zero);
- [KSVC] kserve/kserve ``reconcilers/knative/ksvc_reconciler.go`` (prev/latest tags while a
  canary runs); knative/serving ``pkg/reconciler/configuration/resources/revision.go``
  (revision names ``-%05d``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tenantry.policy.reachability import ModelError, Token, World, activator_target
from tenantry.policy.reachability.istio import (
    Context,
    PolicySet,
    Request,
    Workload,
    authorization_policy,
    peer_authentication,
    request_authentication,
)
from tenantry.policy.reachability.netpol import Endpoint, Network, network_policy
from tenantry.spec import PlatformSettings

ROOT = "istio-system"
POD = Workload("model", "acme", {"app": "model", "tier": "gpu"}, "acme-inference", True, "10.1.0.1")
OTHER_NS_POD = Workload("other", "globex", {"app": "model"}, "globex-inference", True, "10.1.0.2")
GATEWAY_API = Workload(
    "gw",
    "istio-system",
    {"gateway.networking.k8s.io/gateway-name": "public"},
    "gw",
    True,
    "10.0.0.9",
)
TD = "cluster.local"


def peer(ns: str, sa: str = "default") -> str:
    return f"{TD}/ns/{ns}/sa/{sa}"


def ap(ns: str, spec: Mapping[str, Any], name: str = "p") -> Any:
    return authorization_policy(
        {"kind": "AuthorizationPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}
    )


def decide(
    policies: list[Any],
    *,
    workload: Workload = POD,
    peer_id: str | None = None,
    host: str = "m.acme.svc.cluster.local",
    port: int = 8012,
    headers: tuple[tuple[str, str], ...] = (),
    token: Token | None = None,
    method: str = "POST",
    path: str = "/v2/models/m/infer",
) -> bool:
    ps = PolicySet.build(workload, ROOT, policies, [], [])
    req = Request(host, port, method, path, headers, token)
    auth = None
    if token is not None:
        from tenantry.policy.reachability.istio import Auth

        auth = Auth(token.issuer, token.subject, token.audiences, token.presenter, token)
    return ps.authorize(Context(req, peer_id, "10.2.0.5", "10.2.0.5", workload.ip, auth)).allowed


DENY_ALL = {"action": "DENY", "rules": [{}]}
TOKEN = Token("t", "https://idp.example/", "svc-1", ("models",), (("tenant_id", ("acme", "x")),))


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    check: Callable[[], bool]


CASES = [
    # -- which policies apply --
    Case(
        "root-ns policy without selector applies to a workload in any namespace",
        "[AP][ATTACH]",
        lambda: not decide([ap(ROOT, DENY_ALL)]),
    ),
    Case(
        "root-ns policy with a selector applies to matching workloads in other namespaces",
        "[AP][ATTACH]",
        lambda: not decide([ap(ROOT, {**DENY_ALL, "selector": {"matchLabels": {"app": "model"}}})]),
    ),
    Case(
        "a selector that does not match leaves the workload alone",
        "[ATTACH]",
        lambda: decide([ap(ROOT, {**DENY_ALL, "selector": {"matchLabels": {"app": "gateway"}}})]),
    ),
    Case(
        "a policy of another (non-root) namespace does not apply",
        "[ATTACH]",
        lambda: decide([ap("globex", DENY_ALL)]),
    ),
    Case(
        "a policy of the workload's namespace without selector applies",
        "[AP][ATTACH]",
        lambda: not decide([ap("acme", DENY_ALL)]),
    ),
    Case(
        "targetRefs on a policy make a sidecar workload ignore it",
        "[ATTACH]",
        lambda: decide(
            [
                ap(
                    "acme",
                    {
                        **DENY_ALL,
                        "targetRefs": [
                            {
                                "group": "gateway.networking.k8s.io",
                                "kind": "Gateway",
                                "name": "public",
                            }
                        ],
                    },
                )
            ]
        ),
    ),
    Case(
        "targetRefs kind Gateway attach to that Gateway API gateway in its namespace",
        "[ATTACH]",
        lambda: (
            not decide(
                [
                    ap(
                        ROOT,
                        {
                            **DENY_ALL,
                            "targetRefs": [
                                {
                                    "group": "gateway.networking.k8s.io",
                                    "kind": "Gateway",
                                    "name": "public",
                                }
                            ],
                        },
                    )
                ],
                workload=GATEWAY_API,
            )
        ),
    ),
    # -- action order --
    Case(
        "DENY is evaluated before ALLOW",
        "[AP]",
        lambda: not decide([ap("acme", DENY_ALL, "d"), ap("acme", {"rules": [{}]}, "a")]),
    ),
    Case("no ALLOW policy: the request passes", "[AP]", lambda: decide([])),
    Case(
        "ALLOW policies present but none matches: refused",
        "[AP]",
        lambda: not decide([ap("acme", {"rules": [{"to": [{"operation": {"ports": ["9"]}}]}]})]),
    ),
    Case(
        "ALLOW without rules (spec: {}) allows nothing",
        "[AP]",
        lambda: not decide([ap("acme", {})]),
    ),
    Case(
        "DENY without rules denies nothing",
        "[AP][GEN]",
        lambda: decide([ap("acme", {"action": "DENY"})]),
    ),
    Case(
        "rule {} matches every request (allow-all)",
        "[AP]",
        lambda: decide([ap("acme", {"rules": [{}]})]),
    ),
    Case(
        "a matching CUSTOM policy is read as allowing; a DENY still refuses",
        "[AP]",
        lambda: (
            decide([ap("acme", {"action": "CUSTOM", "provider": {"name": "ext"}, "rules": [{}]})])
            and not decide(
                [
                    ap(
                        "acme",
                        {"action": "CUSTOM", "provider": {"name": "ext"}, "rules": [{}]},
                        "c",
                    ),
                    ap("acme", DENY_ALL, "d"),
                ]
            )
        ),
    ),
    Case(
        "AUDIT decides nothing",
        "[AP]",
        lambda: decide([ap("acme", {"action": "AUDIT", "rules": [{}]})]),
    ),
    # -- sources --
    Case(
        "namespaces needs an mTLS identity: plaintext does not match",
        "[GEN][BP]",
        lambda: (
            not decide([ap("acme", {"rules": [{"from": [{"source": {"namespaces": ["x"]}}]}]})])
        ),
    ),
    Case(
        "notNamespaces matches plaintext, so a DENY with it refuses callers without identity",
        "[BP]",
        lambda: (
            not decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [{"from": [{"source": {"notNamespaces": ["x"]}}]}],
                        },
                    )
                ]
            )
        ),
    ),
    Case(
        "namespaces is .*/ns/<v>/.*: 'acme' does not match acme-apps",
        "[GEN]",
        lambda: (
            not decide(
                [ap("acme", {"rules": [{"from": [{"source": {"namespaces": ["acme"]}}]}]})],
                peer_id=peer("acme-apps"),
            )
        ),
    ),
    Case(
        "namespaces wildcard acme-* matches acme-apps",
        "[GEN]",
        lambda: decide(
            [ap("acme", {"rules": [{"from": [{"source": {"namespaces": ["acme-*"]}}]}]})],
            peer_id=peer("acme-apps"),
        ),
    ),
    Case(
        "principals exact and suffix wildcard",
        "[GEN][MATCH]",
        lambda: (
            decide(
                [ap("acme", {"rules": [{"from": [{"source": {"principals": [peer("a", "s")]}}]}]})],
                peer_id=peer("a", "s"),
            )
            and decide(
                [ap("acme", {"rules": [{"from": [{"source": {"principals": ["*/sa/s"]}}]}]})],
                peer_id=peer("b", "s"),
            )
            and not decide(
                [ap("acme", {"rules": [{"from": [{"source": {"principals": ["*/sa/s"]}}]}]})],
                peer_id=peer("b", "t"),
            )
        ),
    ),
    Case(
        "serviceAccounts ns/sa matches that identity only",
        "[GEN]",
        lambda: (
            decide(
                [ap("acme", {"rules": [{"from": [{"source": {"serviceAccounts": ["a/s"]}}]}]})],
                peer_id=peer("a", "s"),
            )
            and not decide(
                [ap("acme", {"rules": [{"from": [{"source": {"serviceAccounts": ["a/s"]}}]}]})],
                peer_id=peer("a", "s2"),
            )
        ),
    ),
    Case(
        "notRequestPrincipals ['*'] refuses a request without a JWT",
        "[BP][RA]",
        lambda: (
            not decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}],
                        },
                    )
                ]
            )
            and decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}],
                        },
                    )
                ],
                token=TOKEN,
            )
        ),
    ),
    Case(
        "requestPrincipals is iss/sub split at the last '/' (issuer URL ending in '/')",
        "[GEN]",
        lambda: (
            decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {
                                    "from": [
                                        {
                                            "source": {
                                                "requestPrincipals": ["https://idp.example//svc-1"]
                                            }
                                        }
                                    ]
                                }
                            ]
                        },
                    )
                ],
                token=TOKEN,
            )
            and decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {
                                    "from": [
                                        {
                                            "source": {
                                                "requestPrincipals": ["https://idp.example//*"]
                                            }
                                        }
                                    ]
                                }
                            ]
                        },
                    )
                ],
                token=TOKEN,
            )
            and not decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {
                                    "from": [
                                        {
                                            "source": {
                                                "requestPrincipals": ["https://idp.example//svc-2"]
                                            }
                                        }
                                    ]
                                }
                            ]
                        },
                    )
                ],
                token=TOKEN,
            )
        ),
    ),
    Case(
        "several sources are ORed, the fields of one source ANDed",
        "[GEN]",
        lambda: (
            decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {
                                    "from": [
                                        {"source": {"namespaces": ["x"]}},
                                        {"source": {"namespaces": ["a"]}},
                                    ]
                                }
                            ]
                        },
                    )
                ],
                peer_id=peer("a"),
            )
            and not decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {
                                    "from": [
                                        {
                                            "source": {
                                                "namespaces": ["a"],
                                                "principals": [peer("a", "other")],
                                            }
                                        }
                                    ]
                                }
                            ]
                        },
                    )
                ],
                peer_id=peer("a"),
            )
        ),
    ),
    # -- operations and conditions --
    Case(
        "hosts match case-insensitively; the port is part of the Host",
        "[MATCH]",
        lambda: (
            decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {"to": [{"operation": {"hosts": ["M.Acme.Svc.Cluster.Local"]}}]}
                            ]
                        },
                    )
                ]
            )
            and not decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {"to": [{"operation": {"hosts": ["m.acme.svc.cluster.local"]}}]}
                            ]
                        },
                    )
                ],
                host="m.acme.svc.cluster.local:80",
            )
            and decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {"to": [{"operation": {"hosts": ["m.acme.svc.cluster.local:*"]}}]}
                            ]
                        },
                    )
                ],
                host="m.acme.svc.cluster.local:80",
            )
        ),
    ),
    Case(
        "a leading * is a suffix match, a trailing * a prefix match; one wildcard only",
        "[MATCH]",
        lambda: (
            decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {"to": [{"operation": {"hosts": ["*.acme.svc.cluster.local"]}}]}
                            ]
                        },
                    )
                ]
            )
            and not decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {"to": [{"operation": {"hosts": ["*.acme.svc.cluster.local:*"]}}]}
                            ]
                        },
                    )
                ],
                host="m.acme.svc.cluster.local:80",
            )
        ),
    ),
    Case(
        "ports are the destination port",
        "[GEN]",
        lambda: (
            decide([ap("acme", {"rules": [{"to": [{"operation": {"ports": ["8012"]}}]}]})])
            and not decide(
                [ap("acme", {"rules": [{"to": [{"operation": {"ports": ["8012"]}}]}]})], port=8080
            )
        ),
    ),
    Case(
        "from and to of one rule are ANDed",
        "[GEN]",
        lambda: (
            not decide(
                [
                    ap(
                        "acme",
                        {
                            "rules": [
                                {
                                    "from": [{"source": {"namespaces": ["a"]}}],
                                    "to": [{"operation": {"ports": ["9"]}}],
                                }
                            ]
                        },
                    )
                ],
                peer_id=peer("a"),
            )
        ),
    ),
    Case(
        "request.headers compares the joined value of repeated lines, case-sensitively",
        "[MATCH][ENVOY]",
        lambda: (
            not decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [
                                {"when": [{"key": "request.headers[k]", "values": ["acme"]}]}
                            ],
                        },
                    )
                ],
                headers=(("k", "acme"),),
            )
            and decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [
                                {"when": [{"key": "request.headers[k]", "values": ["acme"]}]}
                            ],
                        },
                    )
                ],
                headers=(("k", "acme"), ("k", "x")),
            )
            and not decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [
                                {"when": [{"key": "request.headers[k]", "values": ["acme,*"]}]}
                            ],
                        },
                    )
                ],
                headers=(("k", "acme"), ("k", "x")),
            )
            and decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [
                                {"when": [{"key": "request.headers[k]", "values": ["acme"]}]}
                            ],
                        },
                    )
                ],
                headers=(("k", "Acme"),),
            )
        ),
    ),
    Case(
        "notValues is NOT(any value): it matches when the claim is absent",
        "[GEN]",
        lambda: (
            not decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [
                                {
                                    "when": [
                                        {
                                            "key": "request.auth.claims[tenant_id]",
                                            "notValues": ["acme"],
                                        }
                                    ]
                                }
                            ],
                        },
                    )
                ]
            )
            and decide(
                [
                    ap(
                        "acme",
                        {
                            "action": "DENY",
                            "rules": [
                                {
                                    "when": [
                                        {
                                            "key": "request.auth.claims[tenant_id]",
                                            "notValues": ["acme"],
                                        }
                                    ]
                                }
                            ],
                        },
                    )
                ],
                token=TOKEN,
            )
        ),
    ),
    Case(
        "a list-valued claim matches when any element does",
        "[GEN]",
        lambda: decide(
            [
                ap(
                    "acme",
                    {
                        "rules": [
                            {"when": [{"key": "request.auth.claims[tenant_id]", "values": ["x"]}]}
                        ]
                    },
                )
            ],
            token=TOKEN,
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_istio_authorization(case: Case) -> None:
    assert case.check(), f"{case.name} ({case.source})"


@pytest.mark.parametrize(
    "spec",
    [
        {"rules": [{"from": [{"source": {"trustDomains": ["td"]}}]}]},
        {"rules": [{"when": [{"key": "connection.sni", "values": ["x"]}]}]},
        {"rules": [{"when": [{"key": "experimental.envoy.filters.x[y]", "values": ["x"]}]}]},
        {"rules": [{"to": [{"operation": {"paths": ["/v2/{*}/infer"]}}]}]},
        {"rules": [{"when": [{"key": "source.unknown", "values": ["x"]}]}]},
        {"rules": [{"from": [{"source": {"typo": ["x"]}}]}]},
        {"unknownSpecField": True},
    ],
)
def test_what_the_model_does_not_evaluate_is_refused_not_guessed(spec: dict[str, Any]) -> None:
    with pytest.raises(ModelError):
        ap("acme", spec)


# -- PeerAuthentication [PA] --


def pa(ns: str, spec: Mapping[str, Any], name: str = "pa") -> Any:
    return peer_authentication(
        {"kind": "PeerAuthentication", "metadata": {"name": name, "namespace": ns}, "spec": spec}
    )


def mode(pas: list[Any], port: int = 8012) -> str:
    return PolicySet.build(POD, ROOT, [], pas, []).mtls_mode(port, ROOT)[0]


def test_peer_authentication_levels() -> None:
    strict, permissive = {"mtls": {"mode": "STRICT"}}, {"mtls": {"mode": "PERMISSIVE"}}
    sel = {"selector": {"matchLabels": {"app": "model"}}}
    assert mode([]) == "PERMISSIVE"  # Istio's default
    assert mode([pa(ROOT, strict)]) == "STRICT"  # mesh level
    assert mode([pa(ROOT, strict), pa("acme", permissive)]) == "PERMISSIVE"  # namespace wins
    assert mode([pa("acme", strict), pa("acme", {**permissive, **sel}, "w")]) == "PERMISSIVE"
    assert (
        mode([pa("acme", strict), pa("acme", {"mtls": {"mode": "UNSET"}, **sel}, "w")]) == "STRICT"
    )
    port_level = {
        **sel,
        "mtls": {"mode": "STRICT"},
        "portLevelMtls": {"8002": {"mode": "PERMISSIVE"}},
    }
    assert mode([pa("acme", port_level)], 8002) == "PERMISSIVE"
    assert mode([pa("acme", port_level)], 8012) == "STRICT"
    # a root-namespace policy with a selector is no workload policy: ignored
    assert mode([pa(ROOT, {**permissive, **sel}), pa("acme", strict, "n")]) == "STRICT"
    # policies of another namespace do not apply
    assert mode([pa("globex", strict)]) == "PERMISSIVE"
    # two at one level: Istio takes the oldest; unknown before deploying, the model the weakest
    assert mode([pa("acme", strict, "a"), pa("acme", permissive, "b")]) == "PERMISSIVE"


# -- RequestAuthentication [RA] --


def ra(rules: list[dict[str, Any]], ns: str = "acme") -> Any:
    return request_authentication(
        {
            "kind": "RequestAuthentication",
            "metadata": {"name": "ra", "namespace": ns},
            "spec": {"jwtRules": rules},
        }
    )


def test_request_authentication() -> None:
    rule = {
        "issuer": "https://idp.example/",
        "jwksUri": "https://idp.example/k",
        "audiences": ["models"],
    }
    ps = PolicySet.build(POD, ROOT, [], [], [ra([rule])])
    auth, passed, refused = ps.authenticate(Request("h", 8012))
    assert auth is None and passed is None and refused is None  # no token: passes, no identity
    auth, passed, refused = ps.authenticate(Request("h", 8012, token=TOKEN))
    assert auth is not None and auth.subject == "svc-1" and refused is None
    assert passed is None  # forwardOriginalToken defaults to false: the token is removed
    bad = Token("t", TOKEN.issuer, "svc-1", ("models",), valid=False)
    assert ps.authenticate(Request("h", 8012, token=bad))[2] is not None  # refused
    wrong_aud = Token("t", TOKEN.issuer, "svc-1", ("other",))
    assert ps.authenticate(Request("h", 8012, token=wrong_aud))[2] is not None
    ps_fwd = PolicySet.build(POD, ROOT, [], [], [ra([{**rule, "forwardOriginalToken": True}])])
    assert ps_fwd.authenticate(Request("h", 8012, token=TOKEN))[1] == TOKEN
    other = Token("t", "https://other.example/", "x", ("models",))
    assert ps.authenticate(Request("h", 8012, token=other)) == (None, other, None)
    # a RequestAuthentication in another namespace does not apply
    assert (
        PolicySet.build(POD, ROOT, [], [], [ra([rule], "globex")]).authenticate(
            Request("h", 8012, token=bad)
        )[2]
        is None
    )


# -- NetworkPolicy [NP] --


def np(ns: str, spec: Mapping[str, Any], name: str = "np") -> Any:
    return network_policy(
        {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}
    )


def ep(ns: str | None, **labels: str) -> Endpoint:
    return Endpoint(ns, tuple(sorted(labels.items())), "10.9.0.1" if ns else "203.0.113.5")


def test_network_policy() -> None:
    a, b = ep("a", app="x"), ep("b", app="y")
    assert Network([], {}).allows(a, b, 80).allowed  # nothing selects b: not isolated
    deny = np("b", {"podSelector": {}, "policyTypes": ["Ingress"]})
    assert not Network([deny], {}).allows(a, b, 80).allowed
    same_ns = np("b", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})
    assert not Network([same_ns], {}).allows(a, b, 80).allowed  # podSelector alone: own ns
    assert Network([same_ns], {}).allows(ep("b", app="z"), b, 80).allowed
    both = np(
        "b",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "a"}
                            },
                            "podSelector": {"matchLabels": {"app": "other"}},
                        }
                    ]
                }
            ],
        },
    )
    assert not Network([both], {}).allows(a, b, 80).allowed  # ns AND pod
    either = np(
        "b",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "a"}
                            }
                        },
                        {"podSelector": {"matchLabels": {"app": "other"}}},
                    ]
                }
            ],
        },
    )
    assert Network([either], {}).allows(a, b, 80).allowed  # separate peers: OR
    ports = np(
        "b", {"podSelector": {}, "ingress": [{"ports": [{"protocol": "TCP", "port": 8012}]}]}
    )
    assert Network([ports], {}).allows(a, b, 8012).allowed
    assert not Network([ports], {}).allows(a, b, 8013).allowed
    egress = np(
        "a",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
        },
    )
    assert not Network([egress], {}).allows(a, b, 80).allowed  # pod address excepted
    assert Network([egress], {}).allows(a, ep(None), 80).allowed
    labelled = np(
        "b",
        {
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "t"}}}]}],
        },
    )
    assert Network([labelled], {"a": {"team": "t"}}).allows(a, b, 80).allowed
    assert not Network([labelled], {}).allows(a, b, 80).allowed
    # policyTypes omitted: Ingress, and Egress only when egress rules are given
    only_egress_rules = np("b", {"podSelector": {}, "egress": [{}]})
    assert not Network([only_egress_rules], {}).allows(a, b, 80).allowed


# -- Knative [ACT][TBC][KSVC] --


def test_activator_picks_the_revision_as_knative_does() -> None:
    h = (("knative-serving-namespace", "acme"), ("knative-serving-revision", "m-predictor-00001"))
    assert activator_target(Request("anything", 8012, headers=h)) == ("acme", "m-predictor-00001")
    dup = (("knative-serving-namespace", "acme"), ("knative-serving-namespace", "x"), h[1])
    assert activator_target(Request("a", 8012, headers=dup)) == ("acme", "m-predictor-00001")
    host = "m-predictor-00001.acme.svc.cluster.local"
    assert activator_target(Request(host, 8012)) == ("acme", "m-predictor-00001")
    assert activator_target(Request(host + ":80", 8012)) == ("acme", "m-predictor-00001")
    empty = (("knative-serving-namespace", ""), ("knative-serving-revision", "r"))
    assert activator_target(Request(host, 8012, headers=empty)) == ("acme", "m-predictor-00001")
    assert activator_target(Request("m-predictor-00001.acme.svc.other.domain", 8012)) is None
    assert activator_target(Request("m.acme", 8012)) is None


def isvc(
    name: str,
    *,
    min_replicas: int = 1,
    canary: bool = False,
    tbc: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    pred: dict[str, Any] = {"minReplicas": min_replicas, "serviceAccountName": "sa"}
    if canary:
        pred["canaryTrafficPercent"] = 10
    meta: dict[str, Any] = {"name": name, "namespace": "acme", "labels": labels or {}}
    if tbc is not None:
        meta["annotations"] = {"autoscaling.knative.dev/target-burst-capacity": tbc}
    return {"kind": "InferenceService", "metadata": meta, "spec": {"predictor": pred}}


def test_revisions_modes_routes_and_hosts(platform: PlatformSettings) -> None:
    w = World(
        [
            isvc("zero", min_replicas=0, tbc="0"),
            isvc("steady", tbc="0"),
            isvc("bursty"),
            isvc("canaried", canary=True, tbc="0"),
            isvc("internal", labels={"networking.knative.dev/visibility": "cluster-local"}),
        ],
        platform,
    )
    by = {m.ref.name: m for m in w.models.values()}
    assert by["zero"].revisions[0].modes == ("serve", "proxy")  # scale-to-zero needs it
    assert by["steady"].revisions[0].modes == ("serve",)  # TBC 0, never at zero
    assert by["bursty"].revisions[0].modes == ("serve", "proxy")  # Knative's default TBC 200
    assert [r.name for r in by["canaried"].revisions] == [
        "canaried-predictor-00001",
        "canaried-predictor-00002",
    ]
    tags = {r.name: r.revisions for r in by["canaried"].routes if r.kind == "tag"}
    assert tags == {
        "prev-canaried-predictor": ("canaried-predictor-00001",),
        "latest-canaried-predictor": ("canaried-predictor-00002",),
    }
    assert not [r for r in by["steady"].routes if r.kind == "tag"]  # no canary, no tag route
    assert all(not r.external for r in by["internal"].routes)
    predictor = next(r for r in by["steady"].routes if r.kind == "predictor")
    assert "steady-predictor.acme" in predictor.mesh  # short forms (ExpandedHosts)
    assert predictor.external == ("steady-predictor-acme.example.com",)


def test_revision_names_follow_knatives_child_name() -> None:
    """[KSVC] Knative names a revision ``kmeta.ChildName(configuration, "-%05d")``; the
    cases are knative/pkg's own (``kmeta/names_test.go``), then the hashed branch."""
    from tenantry.policy.reachability.topology import child_name, revision_name

    f63 = "f" * 63
    assert child_name("asdf", "-deployment") == "asdf-deployment"
    assert child_name(f63, "-deployment") == (
        "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment"
    )
    assert child_name(f63, "-deploy") == (
        "ffffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deploy"
    )
    assert revision_name("m-predictor", 1) == "m-predictor-00001"
    assert revision_name("m-predictor", 123456) == "m-predictor-123456"
    long = revision_name("a" * 48 + "-predictor", 1)
    assert len(long) == 63 and not long.startswith("a" * 48 + "-predictor-")


def test_the_activator_guard_names_every_revision_a_model_name_can_have() -> None:
    """The activator guard refuses a Host with a port only by ``<model>-predictor-<digit>*``
    (:func:`tenantry.k8s.gateway.activator_policy_spec`), which holds while Knative does not
    hash the revision name: ``<model>-predictor-NNNNN`` must fit in 63 characters for the
    longest model name the tenant file accepts. Raising that limit past 47 breaks the guard;
    this test fails then (the proof, which names revisions as Knative does, would too)."""
    from tenantry.policy.reachability.topology import revision_name
    from tenantry.spec.model import Model

    (limit,) = [
        m.max_length for m in Model.model_fields["name"].metadata if hasattr(m, "max_length")
    ]
    longest = "m" * limit
    guard = [f"{longest}-predictor-{d}" for d in range(10)]  # each a prefix + '*' there
    for generation in (1, 2, 99999, 100000):
        rev = revision_name(f"{longest}-predictor", generation)
        assert any(rev.startswith(p) for p in guard), rev
    hashed = revision_name("m" * 48 + "-predictor", 1)
    assert not any(hashed.startswith(f"{'m' * 48}-predictor-{d}") for d in range(10))
