"""One test pins each secure default, so weakening one is a visible change."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tenantry import (
    GatewayAdmission,
    GatewayAdmissionArgs,
    Identity,
    TenantNamespace,
    TenantNamespaceArgs,
    TenantServing,
    TenantServingArgs,
)
from tenantry.engine import Record
from tenantry.k8s.namespace import NON_PUBLIC
from tenantry.spec import TIERS

from .helpers import ADMIN_KEY, BUCKET, EXAMPLES, build, platform, tenants

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
IRSA = Identity.irsa(
    oidc_provider_arn=f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}",
    oidc_issuer=f"https://{ISSUER}",
)


def tenant_records(name: str, **kw: Any) -> dict[str, Record]:
    t = tenants()[name]
    args = TenantServingArgs.from_spec(
        t, platform(), bucket_name=BUCKET, triton_admin_key=ADMIN_KEY, **kw
    )
    recs = build(name, lambda: TenantServing(name, args))
    return {r.name: r for r in recs}


def spec(recs: dict[str, Record], name: str) -> Any:
    return recs[name].inputs["spec"]


def predictors(name: str) -> list[dict[str, Any]]:
    return [
        r.inputs["spec"]["predictor"]
        for r in tenant_records(name).values()
        if r.type.endswith(":InferenceService") and r.custom
    ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_namespace_enforces_restricted_pod_security(name: str) -> None:
    labels = tenant_records(name)[f"{name}-ns-namespace"].inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert labels["tenant"] == name and labels["tier"] == tenants()[name].tier.name


@pytest.mark.parametrize("name", EXAMPLES)
def test_quota_has_no_load_balancers_no_node_ports_and_exact_gpu_counts(name: str) -> None:
    t = tenants()[name]
    hard = spec(tenant_records(name), f"{name}-ns-quota")["hard"]
    assert hard["services.loadbalancers"] == "0" and hard["services.nodeports"] == "0"
    assert hard["requests.nvidia.com/gpu"] == str(t.quotas.gpus.get("gpu", 0))
    migs = {
        k.removeprefix("requests.nvidia.com/mig-"): v
        for k, v in hard.items()
        if k.startswith("requests.nvidia.com/mig-")
    }
    assert migs == {p: str(c) for p, c in t.quotas.gpus.items() if p != "gpu"}
    assert hard["limits.cpu"] == hard["requests.cpu"]
    assert {"requests.cpu", "requests.memory", "limits.memory", "pods"} <= set(hard)


def test_quota_values_for_acme() -> None:
    hard = spec(tenant_records("acme"), "acme-ns-quota")["hard"]
    assert hard == {
        "limits.cpu": "32",
        # fraud-detector: 8 GiB files + 1 /tmp + 1 logs + 2 sidecars x 1 = 12, x 4 replicas
        # x 2 revisions (canary) = 96; risk-embedder: (16 + 2 + 2) x 2 x 1 = 40; x 2 = 272
        "limits.ephemeral-storage": "272Gi",
        "limits.memory": "128Gi",
        "pods": "20",
        "requests.cpu": "32",
        "requests.ephemeral-storage": "272Gi",
        "requests.memory": "128Gi",
        "requests.nvidia.com/gpu": "0",
        "requests.nvidia.com/mig-1g.10gb": "8",
        "requests.nvidia.com/mig-2g.20gb": "2",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_only_the_tiers_priority_class_may_run(name: str) -> None:
    guard = spec(tenant_records(name), f"{name}-ns-priority-guard")
    assert guard == {
        "hard": {"pods": "0"},
        "scopeSelector": {
            "matchExpressions": [
                {
                    "operator": "NotIn",
                    "scopeName": "PriorityClass",
                    "values": [tenants()[name].tier.priority_class],
                }
            ]
        },
    }
    assert {p["priorityClassName"] for p in predictors(name)} == {
        tenants()[name].tier.priority_class
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_default_deny_ingress_and_egress(name: str) -> None:
    assert spec(tenant_records(name), f"{name}-ns-default-deny") == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_ingress_only_from_gateway_pods_and_allowed_namespaces(name: str) -> None:
    t = tenants()[name]
    s = spec(tenant_records(name), f"{name}-ns-allow-callers")
    [rule] = s["ingress"]
    gateway, allowed = rule["from"]
    ns = "kubernetes.io/metadata.name"
    assert gateway == {
        "namespaceSelector": {
            "matchExpressions": [
                {"key": ns, "operator": "In", "values": [platform().gateway_namespace]}
            ]
        },
        "podSelector": {"matchLabels": {"istio": "ingressgateway"}},
    }
    assert allowed == {
        "namespaceSelector": {
            "matchExpressions": [
                {"key": ns, "operator": "In", "values": sorted(t.access.allowed_namespaces)}
            ]
        }
    }
    assert rule["ports"] == [{"protocol": "TCP", "port": 8012}, {"protocol": "TCP", "port": 8013}]
    serving = spec(tenant_records(name), f"{name}-ns-allow-serving-system")["ingress"]
    assert [r["from"][0].get("podSelector") for r in serving] == [
        {"matchLabels": {"app": "autoscaler"}},
        None,
    ]
    assert f"{name}-ns-allow-activator" not in tenant_records(name)  # no model scales to zero


@pytest.mark.parametrize("name", EXAMPLES)
def test_namespace_joins_the_mesh(name: str) -> None:
    labels = tenant_records(name)[f"{name}-ns-namespace"].inputs["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled"


@pytest.mark.parametrize("name", EXAMPLES)
def test_strict_mtls_but_for_the_scraped_metrics_ports(name: str) -> None:
    recs = tenant_records(name)
    assert spec(recs, f"{name}-gateway-mtls") == {"mtls": {"mode": "STRICT"}}
    scrape = spec(recs, f"{name}-gateway-scrape-mtls")
    assert scrape["mtls"] == {"mode": "STRICT"}
    assert scrape["portLevelMtls"] == {
        "8002": {"mode": "PERMISSIVE"},
        "9091": {"mode": "PERMISSIVE"},
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_models_that_never_scale_to_zero_keep_the_activator_out(name: str) -> None:
    for r in tenant_records(name).values():
        if r.type.endswith(":InferenceService") and r.custom:
            annotations = r.inputs["metadata"]["annotations"]
            assert annotations["autoscaling.knative.dev/target-burst-capacity"] == "0"


def test_dns_egress_only_to_kube_dns() -> None:
    s = spec(tenant_records("acme"), "acme-ns-allow-dns")
    [rule] = s["egress"]
    assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}


@pytest.mark.parametrize("name", EXAMPLES)
def test_s3_egress_by_network_isolation(name: str) -> None:
    t = tenants()[name]
    egress = spec(tenant_records(name), f"{name}-ns-allow-model-egress")["egress"]
    https = [r for r in egress if any(p["port"] == 443 for p in r["ports"])]
    assert len(https) == 1
    [peer] = https[0]["to"]
    if t.tier.network_isolation == "strict":
        assert "ipBlock" not in peer
        assert peer["podSelector"] == {"matchLabels": {"istio": "egressgateway"}}
    else:
        assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
        assert set(peer["ipBlock"]["except"]) == set(NON_PUBLIC)
        assert "169.254.0.0/16" in peer["ipBlock"]["except"]  # no IMDS


def test_strict_tiers_are_the_ones_with_strict_isolation() -> None:
    assert {n for n, tier in TIERS.items() if tier.network_isolation == "strict"} == {
        "isolated",
        "dedicated",
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_service_account_token_not_mounted_and_no_irsa_by_default(name: str) -> None:
    sa = tenant_records(name)[f"{name}-ns-inference-sa"].inputs
    assert sa["automountServiceAccountToken"] is False
    assert "annotations" not in sa["metadata"]
    assert all(p["automountServiceAccountToken"] is False for p in predictors(name))
    assert {p["serviceAccountName"] for p in predictors(name)} == {f"{name}-inference"}


def test_irsa_annotates_the_service_account_only_when_chosen() -> None:
    arn = "arn:aws:iam::111122223333:role/acme-runtime"
    sa = tenant_records("acme", identity=IRSA, role_arn=arn)["acme-ns-inference-sa"].inputs
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": arn}
    assert sa["automountServiceAccountToken"] is False


def test_irsa_without_role_is_refused() -> None:
    t = tenants()["acme"]
    with pytest.raises(ValueError, match="role_arn: required"):
        args = TenantNamespaceArgs(
            tenant=t, gateway_namespace="istio-system", identity=IRSA, triton_admin_key="k"
        )
        build("acme", lambda: TenantNamespace("acme", args))


def test_admin_role_is_namespaced_read_mostly_and_bound_to_the_tenant_group() -> None:
    recs = tenant_records("acme")
    role = recs["acme-ns-admin"].inputs
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "acme"
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        assert "secrets" not in rule["resources"]
        assert not {"rbac.authorization.k8s.io", "networking.k8s.io"} & set(rule["apiGroups"])
        assert set(rule["verbs"]) <= {"get", "list", "watch", "delete"}
    binding = recs["acme-ns-admin-binding"].inputs
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "acme-admin",
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "tenantry:acme:admins"}
    ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_pods_run_restricted(name: str) -> None:
    for p in predictors(name):
        pod, ctr = p["securityContext"], p["model"]["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert ctr["runAsNonRoot"] is True
        assert ctr["readOnlyRootFilesystem"] is True
        assert ctr["allowPrivilegeEscalation"] is False
        assert ctr["privileged"] is False
        assert ctr["capabilities"] == {"drop": ["ALL"]}
        assert ctr["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {v["name"]: next(iter(v)) for v in p["volumes"]} == {
            "tmp": "emptyDir",
            "shm": "emptyDir",
        }


@pytest.mark.parametrize("name", EXAMPLES)
def test_requests_equal_limits_including_the_gpu_resource(name: str) -> None:
    t = tenants()[name]
    by_model = {m.name: m for m in t.models}
    recs = tenant_records(name)
    for m in by_model.values():
        res = spec(recs, f"{name}-{m.name}-isvc")["predictor"]["model"]["resources"]
        assert res["requests"] == res["limits"]
        if m.gpu_resource:
            assert res["limits"][m.gpu_resource] == "1"
        assert not any(k.startswith("nvidia.com/") for k in res["limits"]) or m.gpu


def _by_model(tenant: str) -> dict[str, Any]:
    """Predictors by model name (the InferenceService's model label)."""
    return {p["labels"]["tenantry.dev/model"]: p for p in predictors(tenant)}


def test_placement_by_tier() -> None:
    acme = _by_model("acme")
    assert acme["fraud-detector"]["nodeSelector"] == {"tenantry.dev/pool": "h100"}
    assert acme["fraud-detector"]["tolerations"] == [
        {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}
    ]
    globex = _by_model("globex")
    assert globex["intent-classifier"]["nodeSelector"] == {"tenantry.dev/pool": "a100"}
    assert "nodeSelector" not in globex["language-id"]  # CPU model: general nodes
    assert "tolerations" not in globex["language-id"]  # and no GPU taint tolerated
    umbrella = _by_model("umbrella")
    # a canary pinned to an OCI image is served through KServe's OCI storage (modelcar)
    assert umbrella["protein-folder"]["model"]["storageUri"] == (
        "oci://registry.umbrella.example/models/protein-folder@sha256:"
        "c6b1fd7daeb4a7698e308f3387e2f66c44548cb77ebc86e9121b559804f6e0f1"
    )
    assert umbrella["protein-folder"]["nodeSelector"] == {
        "tenantry.dev/node-group": "h100",
        "tenantry.dev/tenant": "umbrella",
    }
    assert umbrella["variant-caller"]["nodeSelector"]["tenantry.dev/node-group"] == "h200"
    assert {
        "effect": "NoSchedule",
        "key": "tenantry.dev/tenant",
        "operator": "Equal",
        "value": "umbrella",
    } in umbrella["protein-folder"]["tolerations"]


def test_canary_split_and_autoscaling_from_caps() -> None:
    acme = {p["model"]["storageUri"].split("/")[-2]: p for p in predictors("acme")}
    fd = acme["fraud-detector"]
    assert fd["canaryTrafficPercent"] == 10
    assert fd["model"]["storageUri"].endswith("/models/fraud-detector/v13")
    assert (fd["minReplicas"], fd["maxReplicas"]) == (2, 4)
    assert (fd["scaleMetric"], fd["scaleTarget"], fd["containerConcurrency"]) == (
        "concurrency",
        4,
        6,
    )
    assert "canaryTrafficPercent" not in acme["risk-embedder"]
    assert (fd["model"]["runtime"], fd["model"]["protocolVersion"]) == ("kserve-tritonserver", "v2")


def test_gateway_and_activator_policies_are_scoped_to_their_workloads() -> None:
    recs = tenant_records("initech")
    adm = recs["initech-gateway-admission"].inputs
    assert adm["metadata"]["namespace"] == platform().gateway_namespace
    assert adm["spec"]["action"] == "DENY"
    assert adm["spec"]["selector"] == {"matchLabels": {"istio": "ingressgateway"}}
    [rule] = adm["spec"]["rules"]  # initech declares no client: its hosts refuse everyone
    assert rule["from"] == [{"source": {"notNamespaces": ["initech-batch", "initech-ehr"]}}]
    hosts = rule["to"][0]["operation"]["hosts"]
    assert "clinical-ner-initech.example.com" in hosts
    assert "clinical-ner-predictor.initech.svc.cluster.local:*" in hosts
    assert "prev-clinical-ner-predictor-initech.example.com:*" in hosts  # tag routes too
    guard = recs["initech-gateway-activator-guard"].inputs
    assert guard["metadata"]["namespace"] == "knative-serving"
    assert guard["spec"]["selector"] == {"matchLabels": {"app": "activator", "role": "activator"}}
    callers = recs["initech-gateway-callers"].inputs["spec"]
    assert callers["action"] == "ALLOW"
    assert callers["rules"][1] == {
        "from": [{"source": {"namespaces": ["initech-batch", "initech-ehr"]}}],
        "to": [{"operation": {"ports": ["8012", "8013"]}}],
    }
    trusted = {
        p
        for r in callers["rules"]
        for f in r.get("from", [])
        for p in f["source"].get("namespaces", [])
    }
    assert "knative-serving" not in trusted and "istio-system" not in trusted


def test_acme_clients_are_admitted_by_token_only() -> None:
    [no_principal, no_claim] = spec(tenant_records("acme"), "acme-gateway-admission")["rules"]
    issuer = "https://login.models.example.com/"
    assert no_principal["from"] == [
        {
            "source": {
                "notNamespaces": ["acme-apps"],
                "notRequestPrincipals": [f"{issuer}/acme-checkout"],
            }
        }
    ]
    assert no_claim["when"] == [{"key": "request.auth.claims[tenant_id]", "notValues": ["acme"]}]


def test_rate_limit_tokens_are_requests_per_second() -> None:
    for name in EXAMPLES:
        f = spec(tenant_records(name), f"{name}-gateway-rate-limit")
        value = f["configPatches"][0]["patch"]["value"]["typed_config"]["value"]
        rps = tenants()[name].quotas.requests_per_second
        assert value["token_bucket"] == {
            "fill_interval": "1s",
            "max_tokens": rps,
            "tokens_per_fill": rps,
        }


# The canonical Pulumi unit-test pattern (decorator + returned Output) for one default, so the
# components are also exercised outside the recording engine.
@pulumi.runtime.test
def test_service_account_automount_off_under_plain_mocks() -> Any:
    from tenantry.testing import TenantryMocks

    pulumi.runtime.set_mocks(TenantryMocks(), project="tenantry", stack="acme", preview=False)
    acme, gw_ns = tenants()["acme"], platform().gateway_namespace
    ns = TenantNamespace(
        "acme", TenantNamespaceArgs(tenant=acme, gateway_namespace=gw_ns, triton_admin_key="k")
    )
    gw = GatewayAdmission("acme-gw", GatewayAdmissionArgs(tenant=acme, gateway_namespace=gw_ns))

    def check(values: list[Any]) -> None:
        automount, action = values
        assert automount is False
        assert action == "DENY"

    return pulumi.Output.all(
        ns.service_account.automount_service_account_token,
        gw.admission.spec.apply(lambda s: s["action"]),
    ).apply(check)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_owner_annotates_the_namespace(name: str) -> None:
    """``metadata.owner`` (an e-mail, not a valid label value) is on the tenant's namespace as
    annotation ``tenantry.dev/owner``; without an owner there is no annotation."""
    t = tenants()[name]
    meta = tenant_records(name)[f"{name}-ns-namespace"].inputs["metadata"]
    assert t.owner and meta["annotations"] == {"tenantry.dev/owner": t.owner}
    from dataclasses import replace

    from tenantry.k8s.namespace import namespace_metadata

    assert "annotations" not in namespace_metadata(replace(t, owner=None), platform())


def test_a_tenant_without_models_gets_no_admission_policy() -> None:
    """No models, no hosts at the gateway: an admission policy would hold an operation with
    an empty host list, which Istio's webhook refuses (and which would match every host of
    the gateway). Found by mutating example files (tests/cli/test_mutated_specs.py)."""
    from dataclasses import replace

    from tenantry.k8s.gateway import request_path_manifests

    t = replace(tenants()["globex"], models=())
    objs = request_path_manifests(t, platform())
    assert "admission" not in objs
    assert {"callers", "activator-guard", "mtls", "scrape-mtls", "rate-limit"} <= set(objs)
    assert "admission" in request_path_manifests(tenants()["globex"], platform())
