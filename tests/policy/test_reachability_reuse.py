"""The matrix evaluates a caller class path by path only where a rule it met may tell that
class apart from its group; every other class takes its group's result. These tests hold
that reuse to evaluating every class (``reuse=False``) on today's renders, on each hole of
issue 17 put back, and on rules written to tell callers apart in each way the reuse reads:
an exact workload, a service account, a namespace pattern, a NetworkPolicy peer by pods
and by port, an egress policy of the caller's own."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tenantry.plan.request_path import fleet_objects
from tenantry.policy.reachability import analyze, intents_from
from tests.components.helpers import platform, tenants
from tests.policy.test_reachability_renders import HOLES, Records, _recorded, obj


def _allow(*sources: dict[str, Any]) -> Callable[[Records], None]:
    def mutate(records: Records) -> None:
        obj(records, "AuthorizationPolicy", "acme-callers")["spec"]["rules"].append(
            {"from": [{"source": s} for s in sources], "to": [{"operation": {"ports": ["8012"]}}]}
        )

    return mutate


def _objects(kind: str, spec: dict[str, Any], *namespaces: str) -> Callable[[Records], None]:
    group = {"NetworkPolicy": "networking.k8s.io/v1", "AuthorizationPolicy": "security.istio.io/v1"}

    def mutate(records: Records) -> None:
        for namespace in namespaces:
            records.append(
                {
                    "type": f"kubernetes:{group[kind]}:{kind}",
                    "name": f"test-{namespace}",
                    "custom": True,
                    "inputs": {
                        "apiVersion": group[kind],
                        "kind": kind,
                        "metadata": {"name": "a-test", "namespace": namespace},
                        "spec": spec,
                    },
                }
            )

    return mutate


def _netpol(spec: dict[str, Any], *namespaces: str) -> Callable[[Records], None]:
    return _objects("NetworkPolicy", spec, *namespaces)


def _from_ns(name: str) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


# (case, mutation of acme's records, a caller class it must let reach acme/fraud-detector)
CASES: list[tuple[str, Callable[[Records], None] | None, str | None]] = [
    ("today's renders", None, None),
    *[(h[0], (lambda m: lambda records: m("acme", records))(h[1]), None) for h in HOLES],
    (
        "an exact workload",
        _allow({"principals": ["cluster.local/ns/monitoring/sa/default"]}),
        "ns:monitoring",
    ),
    (
        "another workload of a named namespace",
        _allow({"principals": ["cluster.local/ns/monitoring/sa/prometheus"]}),
        None,
    ),
    ("a service account", _allow({"serviceAccounts": ["kube-system/default"]}), "ns:kube-system"),
    (
        # a service account without a namespace is the policy's (here the activator's)
        "a service account of the policy's namespace",
        _objects(
            "AuthorizationPolicy",
            {
                "selector": {"matchLabels": {"app": "activator"}},
                "action": "DENY",
                "rules": [{"from": [{"source": {"serviceAccounts": ["default"]}}]}],
            },
            "knative-serving",
        ),
        None,
    ),
    (
        "a namespace by a principal pattern",
        _allow({"principals": ["cluster.local/ns/unrelated/*"]}),
        "ns:unrelated",
    ),
    ("any identity", _allow({"principals": ["*"]}), "ns:unrelated"),
    (
        "a namespace pattern",
        _allow({"namespaces": ["knative-*"]}),
        "ns:knative-serving",
    ),
    (
        "a NetworkPolicy peer by its pods",
        _netpol(
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": _from_ns("monitoring"), "podSelector": {}},
                            {
                                "namespaceSelector": _from_ns("unrelated"),
                                "podSelector": {"matchLabels": {"app": "scraper"}},
                            },
                        ],
                        "ports": [{"port": 8012}],
                    }
                ],
            },
            "acme",
        ),
        None,
    ),
    (
        "a NetworkPolicy peer on a port no path takes",
        _netpol(
            {
                "podSelector": {},
                "ingress": [
                    {"from": [{"namespaceSelector": _from_ns("unrelated")}], "ports": [{"port": 7}]}
                ],
            },
            "acme",
        ),
        None,
    ),
    (
        # the same egress policy in two namespaces: "this namespace" differs
        "an egress policy of the caller's own",
        _netpol(
            {
                "podSelector": {"matchExpressions": [{"key": "istio", "operator": "DoesNotExist"}]},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
            "istio-system",
            "unrelated",
        ),
        None,
    ),
]


@pytest.mark.parametrize(("case", "mutate", "reaches"), CASES, ids=[c[0] for c in CASES])
def test_reuse_takes_the_decisions_of_evaluating_every_caller(
    case: str, mutate: Callable[[Records], None] | None, reaches: str | None
) -> None:
    records = {"acme": copy.deepcopy(list(_recorded("acme")))}
    if mutate is not None:
        mutate(records["acme"])
    settings = platform()
    objects = fleet_objects(tenants(), settings, records)
    intents = intents_from(tenants().values(), settings)
    fast = analyze(objects, settings, intents)
    slow = analyze(objects, settings, intents, reuse=False)
    assert fast.evaluated < slow.evaluated
    assert {k: e.summary for k, e in fast.edges.items()} == {
        k: e.summary for k, e in slow.edges.items()
    }, case
    if reaches is not None:
        ref = next(m for m in fast.models if str(m) == "acme/fraud-detector")
        assert fast.edges[(ref, reaches)].summary.mesh_reached, case
