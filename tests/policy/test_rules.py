"""Every guardrail fires on a crafted violating resource and stays silent on a compliant one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantry.policy import Context, PolicyResource, evaluate
from tenantry.policy.rules import RULES
from tenantry.triton_admin import admin_args

TAGS = {
    "tenant": "acme",
    "cost-center": "CC-1",
    "tier": "premium",
    "environment": "prod",
    "managed-by": "tenantry",
}
CTX = Context(tenants=frozenset({"acme", "acme-corp", "globex"}))


def r(type_: str, name: str, **props: Any) -> PolicyResource:
    return PolicyResource(type_, name, props)


def k8s(
    kind: str, name: str, api: str = "core/v1", ns: str | None = "acme", **spec: Any
) -> PolicyResource:
    md: dict[str, Any] = {"name": name, "labels": dict(TAGS)}
    if ns:
        md["namespace"] = ns
    props: dict[str, Any] = {"metadata": md}
    if spec:
        props["spec"] = spec
    if api.startswith("serving.kserve.io"):
        return PolicyResource(
            "kubernetes:serving.kserve.io/v1beta1:InferenceService",
            name,
            {"apiVersion": "serving.kserve.io/v1beta1", "kind": kind, **props},
            provider=K8S_PROVIDER,
        )
    return PolicyResource(f"kubernetes:{api}:{kind}", name, props, provider=K8S_PROVIDER)


K8S_PROVIDER = (
    "urn:pulumi:acme::tenantry::tenantry:tenant:Tenant$pulumi:providers:kubernetes::acme-k8s"
)


def with_provider(res: PolicyResource, provider: str) -> PolicyResource:
    return PolicyResource(res.type, res.name, res.props, res.urn, provider)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SECURE = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


LIMIT_DEFAULTS = {
    "type": "Container",
    "default": {"cpu": "1", "ephemeral-storage": "1Gi"},
    "defaultRequest": {"cpu": "250m", "ephemeral-storage": "256Mi"},
}


MODEL: dict[str, Any] = {
    "name": "kserve-container",
    "runtime": "kserve-tritonserver",
    "args": ["--disable-auto-complete-config", *admin_args("k")],
    "securityContext": SECURE,
    "resources": {
        "limits": {"nvidia.com/mig-1g.10gb": "1", "ephemeral-storage": "10Gi"},
        "requests": {"nvidia.com/mig-1g.10gb": "1", "ephemeral-storage": "10Gi"},
    },
}


GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def own_toleration(tenant: str) -> dict[str, str]:
    return {
        "key": "tenantry.dev/tenant",
        "operator": "Equal",
        "value": tenant,
        "effect": "NoSchedule",
    }


def isvc(**pred: Any) -> PolicyResource:
    predictor = {
        "minReplicas": 2,
        "nodeSelector": {"tenantry.dev/pool": "h100"},  # acme is premium: the shared pool
        "tolerations": [GPU_TOLERATION],
        "model": dict(MODEL),
    }
    predictor.update(pred)
    return k8s("InferenceService", "fraud", api="serving.kserve.io/v1beta1", predictor=predictor)


def compliant() -> list[PolicyResource]:
    bucket_arn = "arn:aws:s3:::tenantry-acme-models"
    return [
        r("aws:s3/bucketV2:BucketV2", "bucket", bucket="tenantry-acme-models", tags=TAGS),
        r(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "pab",
            blockPublicAcls=True,
            blockPublicPolicy=True,
            ignorePublicAcls=True,
            restrictPublicBuckets=True,
        ),
        r(
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "sse",
            rules=[
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": "aws:kms",
                        "kmsMasterKeyId": "arn:aws:kms:us-east-1:1:key/k",
                    },
                    "bucketKeyEnabled": True,
                }
            ],
        ),
        r(
            "aws:iam/policy:Policy",
            "read",
            tags=TAGS,
            policy=doc(
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"{bucket_arn}/models/*"],
                },
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
        ),
        r(
            "aws:kms/key:Key",
            "key",
            tags=TAGS,
            policy=doc(
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": "*",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/tenantry-acme-inference"},
                }
            ),
        ),
        k8s("Namespace", "acme", ns=None),
        k8s(
            "ResourceQuota",
            "quota",
            hard={
                "requests.nvidia.com/mig-1g.10gb": "8",
                "requests.ephemeral-storage": "48Gi",
                "limits.ephemeral-storage": "48Gi",
            },
        ),
        k8s("LimitRange", "limits", limits=[LIMIT_DEFAULTS]),
        k8s(
            "NetworkPolicy",
            "default-deny",
            api="networking.k8s.io/v1",
            podSelector={},
            policyTypes=["Ingress", "Egress"],
        ),
        isvc(),
    ]


def test_compliant_resources_pass() -> None:
    assert evaluate(compliant(), CTX) == []


def _with(
    replace: dict[str, PolicyResource] | None = None,
    extra: list[PolicyResource] | None = None,
    drop: tuple[str, ...] = (),
) -> list[PolicyResource]:
    out = [replace.get(x.name, x) if replace else x for x in compliant() if x.name not in drop]
    return out + (extra or [])


CASES = [
    (
        "mandatory-tags",
        _with({"bucket": r("aws:s3/bucketV2:BucketV2", "bucket", tags={"tenant": "acme"})}),
        "missing tags: cost-center",
    ),
    (
        "mandatory-tags",
        _with(
            extra=[
                PolicyResource(
                    "kubernetes:core/v1:ServiceAccount",
                    "sa",
                    {"metadata": {"name": "sa", "labels": {}}},
                )
            ]
        ),
        "missing labels: tenant",
    ),
    ("no-public-buckets", _with(drop=("pab",)), "no BucketPublicAccessBlock"),
    (
        "no-public-buckets",
        _with(
            {
                "pab": r(
                    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                    "pab",
                    blockPublicAcls=True,
                )
            }
        ),
        "public access blocks off: blockPublicPolicy",
    ),
    (
        "no-public-buckets",
        _with(
            extra=[
                r(
                    "aws:s3/bucketPolicy:BucketPolicy",
                    "bp",
                    policy=doc(
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": "*",
                        }
                    ),
                )
            ]
        ),
        "Allow to Principal '*'",
    ),
    ("tenant-key-encryption", _with(drop=("sse",)), "no default encryption"),
    (
        "tenant-key-encryption",
        _with(
            {
                "sse": r(
                    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
                    "sse",
                    rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
                )
            }
        ),
        "must be aws:kms",
    ),
    (
        "least-privilege-iam",
        _with(
            extra=[
                r(
                    "aws:iam/policy:Policy",
                    "p2",
                    tags=TAGS,
                    policy=doc(
                        {
                            "Effect": "Allow",
                            "Action": "s3:*",
                            "Resource": "arn:aws:s3:::tenantry-acme-models",
                        }
                    ),
                )
            ]
        ),
        "wildcard action",
    ),
    (
        "least-privilege-iam",
        _with(
            extra=[
                r(
                    "aws:iam/policy:Policy",
                    "p3",
                    tags=TAGS,
                    policy=doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
                )
            ]
        ),
        "data action(s) ['s3:GetObject'] on Resource '*'",
    ),
    (
        "least-privilege-iam",
        _with(
            extra=[
                r(
                    "aws:iam/policy:Policy",
                    "p4",
                    tags=TAGS,
                    policy=doc(
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::tenantry-globex-models/*",
                        }
                    ),
                )
            ]
        ),
        "names tenant 'globex'",
    ),
    (
        "least-privilege-iam",
        _with(
            extra=[
                r(
                    "aws:iam/policy:Policy",
                    "p5",
                    tags=TAGS,
                    policy=doc(
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::tenantry-acme-corp-models/*",
                        }
                    ),
                )
            ]
        ),
        "names tenant 'acme-corp'",
    ),
    ("namespace-isolation", _with(drop=("quota",)), "no ResourceQuota"),
    (
        "namespace-isolation",
        _with(
            {
                "default-deny": k8s(
                    "NetworkPolicy",
                    "default-deny",
                    api="networking.k8s.io/v1",
                    podSelector={},
                    policyTypes=["Ingress"],
                )
            }
        ),
        "no default-deny NetworkPolicy",
    ),
    (
        "gpu-within-quota",
        _with({"fraud": isvc(minReplicas=5, canaryTrafficPercent=10)}),
        "minimum 10 requested in acme, quota 8",
    ),
    (
        "gpu-within-quota",
        _with(
            {
                "fraud": isvc(
                    model={
                        "name": "c",
                        "securityContext": SECURE,
                        "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {}},
                    }
                )
            }
        ),
        "requests must equal limits",
    ),
    (
        "restricted-pods",
        _with(
            {
                "fraud": isvc(
                    model={
                        "name": "c",
                        "securityContext": {**SECURE, "allowPrivilegeEscalation": True},
                    }
                )
            }
        ),
        "allowPrivilegeEscalation must be false",
    ),
    ("restricted-pods", _with({"fraud": isvc(hostNetwork=True)}), "hostNetwork is on"),
    (
        "ephemeral-storage-bounded",
        _with({"fraud": isvc(model={**MODEL, "resources": {"limits": {"cpu": "1"}}})}),
        "container kserve-container: no limits.ephemeral-storage",
    ),
    (
        "ephemeral-storage-bounded",
        _with(
            {
                "fraud": isvc(
                    initContainers=[
                        {"name": "storage-initializer", "resources": {"limits": {"cpu": "1"}}}
                    ]
                )
            }
        ),
        "container storage-initializer: no requests.ephemeral-storage",
    ),
    (
        "ephemeral-storage-bounded",
        _with({"quota": k8s("ResourceQuota", "quota", hard={"requests.ephemeral-storage": "1"})}),
        "no ResourceQuota on limits.ephemeral-storage in namespace acme",
    ),
    (
        "ephemeral-storage-bounded",
        _with(drop=("limits",)),
        "no LimitRange default and defaultRequest for ephemeral-storage",
    ),
    (
        "ephemeral-storage-bounded",
        _with(
            {
                "limits": k8s(
                    "LimitRange",
                    "limits",
                    limits=[{**LIMIT_DEFAULTS, "defaultRequest": {"cpu": "250m"}}],
                )
            }
        ),
        "no LimitRange default and defaultRequest for ephemeral-storage",
    ),
    (
        "explicit-k8s-provider",
        _with({"fraud": with_provider(isvc(), "")}),
        "uses the default Kubernetes provider",
    ),
    (
        "explicit-k8s-provider",
        _with({"fraud": with_provider(isvc(), "default")}),
        "uses the default Kubernetes provider",
    ),
    (
        "explicit-k8s-provider",
        _with(
            {
                "fraud": with_provider(
                    isvc(), "urn:pulumi:acme::tenantry::pulumi:providers:kubernetes::default_4_23_0"
                )
            }
        ),
        "uses the default Kubernetes provider",
    ),
    (
        "explicit-k8s-provider",
        _with(
            {
                "fraud": with_provider(
                    isvc(), "urn:pulumi:acme::tenantry::pulumi:providers:aws::acme-provider"
                )
            }
        ),
        "is not a Kubernetes provider",
    ),
    (
        "triton-admin-restricted",
        _with({"fraud": isvc(model={**MODEL, "args": admin_args("k")[1:]})}),
        "model-control mode must be pinned to 'none'",
    ),
    (
        "triton-admin-restricted",
        _with(
            {
                "fraud": isvc(
                    model={**MODEL, "args": [*admin_args("k"), "--model-control-mode=explicit"]}
                )
            }
        ),
        "model-control mode must be pinned to 'none'",
    ),
    (
        "triton-admin-restricted",
        _with(
            {
                "fraud": isvc(
                    model={
                        **MODEL,
                        "args": [
                            "--model-control-mode=none",
                            "--http-restricted-api=model-repository:h=v",
                            "--grpc-restricted-protocol=logging,model-repository,shared-memory,"
                            "statistics,trace:h=",
                        ],
                    }
                )
            }
        ),
        "--http-restricted-api does not restrict logging, shared-memory, statistics, trace",
    ),
    (
        "triton-admin-restricted",
        _with({"fraud": isvc(model={**MODEL, "args": admin_args("k")[:2]})}),
        "--grpc-restricted-protocol does not restrict logging, model-repository, shared-memory",
    ),
    (
        "restricted-pods",
        _with(
            {
                "fraud": isvc(
                    model={
                        "name": "c",
                        "securityContext": {
                            **SECURE,
                            "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                        },
                    }
                )
            }
        ),
        "capabilities added",
    ),
]


@pytest.mark.parametrize(
    ("rule", "resources", "message"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_fires(rule: str, resources: list[PolicyResource], message: str) -> None:
    found = [v for v in evaluate(resources, CTX) if v.rule == rule]
    assert any(message in v.message for v in found), found


def _tier(tier: str) -> PolicyResource:
    return PolicyResource(
        "kubernetes:core/v1:Namespace",
        "acme",
        {"metadata": {"name": "acme", "labels": {**TAGS, "tier": tier}}},
        provider=K8S_PROVIDER,
    )


PINNED = {
    "nodeSelector": {"tenantry.dev/pool": "h100", "tenantry.dev/tenant": "acme"},
    "tolerations": [own_toleration("acme"), GPU_TOLERATION],
}
EXISTS_TENANT = {"key": "tenantry.dev/tenant", "operator": "Exists", "effect": "NoSchedule"}


def _pinning(res: list[PolicyResource]) -> list[str]:
    return [v.message for v in evaluate(res, CTX) if v.rule == "tenant-nodes-pinned"]


@pytest.mark.parametrize("tier", ["isolated", "dedicated"])
def test_own_nodes_tiers_are_pinned_and_tolerate_their_own_taint_only(tier: str) -> None:
    assert _pinning(_with({"acme": _tier(tier), "fraud": isvc(**PINNED)})) == []
    weakened = {
        "pin removed": (
            {"nodeSelector": {"tenantry.dev/pool": "h100"}},
            ["nodeSelector must pin tenantry.dev/tenant=acme"],
        ),
        "own toleration removed": (
            {"tolerations": [GPU_TOLERATION]},
            ["no toleration of its own tenantry.dev/tenant=acme taint"],
        ),
        "extra toleration of another tenant": (
            {"tolerations": [*PINNED["tolerations"], own_toleration("globex")]},
            ["tolerates the taint of tenant 'globex''s nodes"],
        ),
        "another tenant's instead": (
            {"tolerations": [own_toleration("globex"), GPU_TOLERATION]},
            [
                "no toleration of its own tenantry.dev/tenant=acme taint",
                "tolerates the taint of tenant 'globex''s nodes",
            ],
        ),
        "Exists on the tenant key": (
            {"tolerations": [*PINNED["tolerations"], EXISTS_TENANT]},
            ["tolerates the taint of every tenant's nodes"],
        ),
        "wildcard": (
            {"tolerations": [*PINNED["tolerations"], {"operator": "Exists"}]},
            ["tolerates the taint of every taint"],
        ),
    }
    for name, (change, expected) in weakened.items():
        res = _with({"acme": _tier(tier), "fraud": isvc(**{**PINNED, **change})})
        assert _pinning(res) == expected, name


@pytest.mark.parametrize(
    "toleration",
    [own_toleration("globex"), EXISTS_TENANT, {"operator": "Exists"}],
    ids=["another-tenant", "every-tenant", "wildcard"],
)
def test_no_other_pod_tolerates_a_tenant_taint(toleration: dict[str, str]) -> None:
    """A shared-tier pod or a platform Deployment that tolerates a tenant's taint could land
    on that tenant's own nodes; a DaemonSet (a node agent) may."""
    shared = isvc(tolerations=[GPU_TOLERATION, toleration])
    assert len(_pinning(_with({"fraud": shared}))) == 1
    pod = {"containers": [], "tolerations": [toleration]}
    deployment = PolicyResource(
        "kubernetes:apps/v1:Deployment",
        "collector",
        {"metadata": {"name": "c", "namespace": "monitoring"}, "spec": {"template": {"spec": pod}}},
    )
    assert len(_pinning([deployment])) == 1
    daemonset = PolicyResource(
        "kubernetes:apps/v1:DaemonSet",
        "agent",
        {
            "metadata": {"name": "a", "namespace": "kube-system"},
            "spec": {"template": {"spec": pod}},
        },
    )
    assert _pinning([daemonset]) == []


def test_an_own_llm_of_an_isolated_tenant_is_pinned_too() -> None:
    """By kind: every pod spec of an LLMInferenceService (its template, worker, prefill and
    router scheduler) is held to the same pinning."""
    for where in (("template",), ("router", "scheduler", "template"), ("prefill", "worker")):
        spec: dict[str, Any] = {}
        node = spec
        for key in where[:-1]:
            node = node.setdefault(key, {})
        node[where[-1]] = {"containers": [], "tolerations": [GPU_TOLERATION]}
        llm = PolicyResource(
            "kubernetes:serving.kserve.io/v1alpha2:LLMInferenceService",
            "llm",
            {
                "kind": "LLMInferenceService",
                "metadata": {"name": "llm", "namespace": "acme"},
                "spec": spec,
            },
        )
        assert _pinning([_tier("isolated"), llm]) == [
            "nodeSelector must pin tenantry.dev/tenant=acme",
            "no toleration of its own tenantry.dev/tenant=acme taint",
        ], where


def test_every_rule_has_a_failing_case() -> None:
    assert {c[0] for c in CASES} | {"tenant-nodes-pinned"} == {rule.name for rule in RULES}


def test_an_object_key_named_like_another_tenant_is_the_buckets_owners() -> None:
    """Found by the one-verdict property test: tenant b00's model called a00 gives its role
    arn:aws:s3:::tenantry-b00-.../models/a00/v1/*, which validate accepts; the rule read
    "a00" in the object key as tenant a00's resource. Only the bucket says whose it is."""
    own_key = r(
        "aws:iam/policy:Policy",
        "p6",
        tags=TAGS,
        policy=doc(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::tenantry-acme-models/models/globex/v1/*",
            }
        ),
    )
    assert evaluate(_with(extra=[own_key]), CTX) == []
    other_bucket = r(
        "aws:iam/policy:Policy",
        "p7",
        tags=TAGS,
        policy=doc(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::tenantry-globex-models/models/acme/v1/*",
            }
        ),
    )
    (v,) = evaluate(_with(extra=[other_bucket]), CTX)
    assert v.message.startswith("names tenant 'globex''s resource: arn:aws:s3:::tenantry-globex")


def _runtime(name: str, image: str) -> PolicyResource:
    return PolicyResource(
        "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime",
        name,
        {
            "kind": "ClusterServingRuntime",
            "metadata": {"name": name, "labels": dict(TAGS)},
            "spec": {"containers": [{"name": "kserve-container", "image": image}]},
        },
        provider=K8S_PROVIDER,
    )


def test_triton_admin_is_checked_on_every_triton_runtime() -> None:
    """Every runtime Tenantry declares runs Triton (the TensorFlow one too): the rule used to
    read only ``kserve-tritonserver`` and let a TensorFlow model's admin APIs through. Only a
    runtime shown not to run Triton is exempt."""
    from tenantry.catalog.runtimes import RUNTIMES

    loose = {**MODEL, "args": ["--disable-auto-complete-config"]}
    for rt in RUNTIMES:
        res = _with({"fraud": isvc(model={**loose, "runtime": rt.name})})
        found = [v for v in evaluate(res, CTX) if v.rule == "triton-admin-restricted"]
        assert len(found) == 3, (rt.name, found)
    sklearn = {**loose, "runtime": "kserve-sklearnserver"}
    res = _with(
        {"fraud": isvc(model=sklearn)},
        extra=[_runtime("kserve-sklearnserver", "kserve/sklearnserver:v0.15")],
    )
    assert [v for v in evaluate(res, CTX) if v.rule == "triton-admin-restricted"] == []
    res = _with(
        {"fraud": isvc(model=sklearn)},
        extra=[_runtime("kserve-sklearnserver", "nvcr.io/nvidia/tritonserver:25.09-py3")],
    )
    assert len([v for v in evaluate(res, CTX) if v.rule == "triton-admin-restricted"]) == 3


UNBOUNDED = {"name": "job", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}


def _pod(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"containers": list(containers)}


@pytest.mark.parametrize(
    ("kind", "api", "spec"),
    [
        ("Pod", "core/v1", _pod(UNBOUNDED)),
        ("Deployment", "apps/v1", {"template": {"spec": _pod(UNBOUNDED)}}),
        ("StatefulSet", "apps/v1", {"template": {"spec": _pod(UNBOUNDED)}}),
        ("DaemonSet", "apps/v1", {"template": {"spec": _pod(UNBOUNDED)}}),
        (
            "Job",
            "batch/v1",
            {"template": {"spec": {"containers": [], "initContainers": [UNBOUNDED]}}},
        ),
        ("CronJob", "batch/v1", {"jobTemplate": {"spec": {"template": {"spec": _pod(UNBOUNDED)}}}}),
        ("InferenceService", "serving.kserve.io/v1beta1", {"transformer": _pod(UNBOUNDED)}),
        ("LLMInferenceService", "serving.kserve.io/v1alpha2", {"template": _pod(UNBOUNDED)}),
        (
            "LLMInferenceService",
            "serving.kserve.io/v1alpha2",
            {"router": {"scheduler": {"template": _pod(UNBOUNDED)}}},
        ),
        (
            "LLMInferenceService",
            "serving.kserve.io/v1alpha2",
            {"prefill": {"worker": _pod(UNBOUNDED)}},
        ),
    ],
    ids=lambda x: x if isinstance(x, str) and "/" not in x else "",
)
def test_ephemeral_storage_is_checked_in_every_pod_bearing_kind(
    kind: str, api: str, spec: dict[str, Any]
) -> None:
    """By kind, not by instance: a platform CronJob or an LLM's router without bounds used to
    pass because only InferenceService predictors were read; a namespace that is no
    tenant's (the platform's) is no excuse either."""
    obj = PolicyResource(
        f"kubernetes:{api}:{kind}",
        "unbounded",
        {"kind": kind, "metadata": {"name": "unbounded", "namespace": "platform"}, "spec": spec},
    )
    found = [v.message for v in evaluate([obj], CTX) if v.rule == "ephemeral-storage-bounded"]
    assert found == [
        "container job: no requests.ephemeral-storage",
        "container job: no limits.ephemeral-storage",
    ]
    bounded = {
        **UNBOUNDED,
        "resources": {p: {"ephemeral-storage": "1Gi"} for p in ("requests", "limits")},
    }
    ok = PolicyResource(
        obj.type,
        obj.name,
        json.loads(json.dumps(obj.props).replace(json.dumps(UNBOUNDED), json.dumps(bounded))),
    )
    assert [v for v in evaluate([ok], CTX) if v.rule == "ephemeral-storage-bounded"] == []


def test_ephemeral_storage_of_a_helm_chart_tenantry_sizes() -> None:
    """The OpenTelemetry collector's pods are visible only through the values Tenantry gives
    its chart: the values must bound them."""
    release = PolicyResource(
        "kubernetes:helm.sh/v3:Release",
        "otel",
        {"chart": "opentelemetry-collector", "values": {"resources": {"limits": {"cpu": "1"}}}},
    )
    assert [
        v.message for v in evaluate([release], CTX) if v.rule == "ephemeral-storage-bounded"
    ] == [
        "chart opentelemetry-collector values: no requests.ephemeral-storage",
        "chart opentelemetry-collector values: no limits.ephemeral-storage",
    ]
    other = PolicyResource(
        "kubernetes:helm.sh/v3:Release", "x", {"chart": "cert-manager", "values": {}}
    )
    assert [v for v in evaluate([other], CTX) if v.rule == "ephemeral-storage-bounded"] == []
