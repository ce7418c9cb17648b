"""The guardrail rule set: one set of rules, run offline by ``tenantry plan`` over recorded
resources and by Pulumi CrossGuard (``components/tenantry/policy/pack``) during a real preview.

Every rule is a pure function ``(resources, context) -> violations`` over
:class:`PolicyResource`s; nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..tags import MANDATORY_KEYS
from ..triton_admin import ADMIN_APIS, MODEL_CONTROL_MODE, model_control_mode, restricted
from . import iam
from .resources import (
    Context,
    PolicyResource,
    Violation,
    is_aws,
    is_k8s,
    k8s_kind,
    labels,
    metadata,
    namespace_of,
    of_kind,
    of_type,
)

Check = Callable[[Sequence[PolicyResource], Context], list[Violation]]
TENANT_LABEL = "tenantry.dev/tenant"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Check


def _v(rule: str, r: PolicyResource, message: str) -> Violation:
    return Violation(rule, f"{r.type} {r.name}", message)


@cache
def _aws_taggable(type_token: str) -> bool:
    """True when the pulumi_aws class for ``aws:<module>/<x>:<Class>`` takes ``tags``."""
    try:
        module, cls = type_token.split(":")[1].split("/")[0], type_token.rsplit(":", 1)[1]
        import importlib
        import inspect

        mod = importlib.import_module(f"pulumi_aws.{module}")
        return "tags" in inspect.signature(getattr(mod, cls).__init__).parameters
    except Exception:  # pulumi_aws absent (policy-pack venv) or unknown type: fall back
        return False


def _taggable(r: PolicyResource) -> bool:
    return "tags" in r.props or _aws_taggable(r.type)


def mandatory_tags(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    for r in resources:
        if is_aws(r) and _taggable(r):
            have: Mapping[str, Any] = r.props.get("tags") or {}
            where = "tags"
        elif is_k8s(r) and r.type != "kubernetes:scheduling.k8s.io/v1:PriorityClass":
            have, where = labels(r), "labels"
        else:
            continue
        missing = [k for k in MANDATORY_KEYS if not have.get(k)]
        if missing:
            out.append(_v("mandatory-tags", r, f"missing {where}: {', '.join(missing)}"))
    return out


def no_public_buckets(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    buckets = of_type(resources, *BUCKETS)
    blocks = of_type(resources, "aws:s3/bucketPublicAccessBlock:")
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for b in blocks:
        off = [k for k in keys if b.props.get(k) is not True]
        if off:
            out.append(_v("no-public-buckets", b, f"public access blocks off: {', '.join(off)}"))
    if len(blocks) < len(buckets):
        for b in buckets:
            out.append(_v("no-public-buckets", b, "no BucketPublicAccessBlock for this bucket"))
    for r in resources:
        acl = r.props.get("acl")
        if is_aws(r) and isinstance(acl, str) and acl.startswith("public-"):
            out.append(_v("no-public-buckets", r, f"public ACL {acl!r}"))
    for p in of_type(resources, "aws:s3/bucketPolicy:"):
        for doc in iam.documents(p.props):
            for st in iam.statements(doc):
                if (
                    st.get("Effect") == "Allow"
                    and "*" in iam.principals(st)
                    and not st.get("Condition")
                ):
                    out.append(_v("no-public-buckets", p, "Allow to Principal '*'"))
    return out


def tenant_key_encryption(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    buckets = of_type(resources, *BUCKETS)
    configs = of_type(resources, "aws:s3/bucketServerSideEncryptionConfiguration")
    good = 0
    for c in configs:
        for rule in c.props.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            key = str(default.get("kmsMasterKeyId") or "")
            if default.get("sseAlgorithm") != "aws:kms" or not key or "alias/aws/s3" in key:
                out.append(
                    _v(
                        "tenant-key-encryption",
                        c,
                        "default encryption must be aws:kms with the tenant's key",
                    )
                )
            elif rule.get("bucketKeyEnabled") is not True:
                out.append(_v("tenant-key-encryption", c, "bucket key not enabled"))
            else:
                good += 1
    if good < len(buckets) and not out:
        for b in buckets:
            out.append(_v("tenant-key-encryption", b, "no default encryption with a KMS key"))
    return out


def _owner(r: PolicyResource) -> str | None:
    tags = r.props.get("tags") or {}
    owner = tags.get("tenant") if isinstance(tags, Mapping) else None
    return str(owner) if owner else None


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _tenants_named(text: str, names: frozenset[str]) -> set[str]:
    """Tenant names that appear in ``text`` as whole words (any character but ``a-z0-9``
    delimits, so ``-``, ``/`` and ``:`` do); scanning left to right, the longest name at a
    position wins, so ``acme-corp`` is not read as ``acme``. Set lookups of the substrings
    between delimiters: the cost depends on ``text``, not on how many tenants there are."""
    if not names:
        return set()
    n = len(text)
    ends = [j for j in range(n, 0, -1) if j == n or text[j] not in _ALNUM]  # longest first
    found: set[str] = set()
    i = 0
    while i < n:
        if i == 0 or text[i - 1] not in _ALNUM:
            end = next((j for j in ends if j > i and text[i:j] in names), None)
            if end is not None:
                found.add(text[i:end])
                i = end
                continue
        i += 1
    return found


def _owned_part(arn: str) -> str:
    """The part of an ARN that says whose resource it is. For S3 that is the bucket: the
    object key after it (``models/<model>/...``) is named by the bucket's owner, so a model
    called like another tenant is still the owner's object (a key is not a tenant)."""
    resource = arn.split(":", 5)[-1]
    parts = arn.split(":")
    if len(parts) > 2 and parts[2] == "s3":
        return resource.split("/", 1)[0]
    return resource


def least_privilege_iam(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    stack_owner = next((o for o in map(_owner, resources) if o), None)
    for r in resources:
        if not is_aws(r):
            continue
        key_policy = r.type.startswith("aws:kms/key:")  # "*" there means "this key"
        for doc in iam.documents(r.props):
            for st in iam.statements(doc):
                if st.get("Effect") != "Allow":
                    continue
                actions = [str(a) for a in iam.as_list(st.get("Action"))]
                res = [str(x) for x in iam.as_list(st.get("Resource"))]
                if any(a == "*" or a.endswith(":*") for a in actions):
                    out.append(_v("least-privilege-iam", r, f"wildcard action in {actions}"))
                data = [a for a in actions if iam.DATA_ACTION.match(a)]
                if data and "*" in res and not key_policy:
                    out.append(
                        _v("least-privilege-iam", r, f"data action(s) {data} on Resource '*'")
                    )
        owner = _owner(r) or stack_owner
        if owner is None:
            continue
        for arn in iam.arns([r.props.get(k) for k in iam.POLICY_PROPS]):
            named = _tenants_named(_owned_part(arn), ctx.tenants | {owner})
            for other in sorted(named - {owner}):
                out.append(
                    _v("least-privilege-iam", r, f"names tenant {other!r}'s resource: {arn}")
                )
    return out


def _default_deny(np: PolicyResource) -> bool:
    spec = np.props.get("spec") or {}
    types = set(spec.get("policyTypes") or [])
    return (
        spec.get("podSelector") in ({}, {"matchLabels": {}}, None)
        and {"Ingress", "Egress"} <= types
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def namespace_isolation(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    for ns in of_kind(resources, "Namespace"):
        if "tenant" not in labels(ns):
            continue
        name = namespace_of(ns)
        if not any(namespace_of(q) == name for q in of_kind(resources, "ResourceQuota")):
            out.append(_v("namespace-isolation", ns, "no ResourceQuota in the namespace"))
        if not any(
            namespace_of(p) == name and _default_deny(p)
            for p in of_kind(resources, "NetworkPolicy")
        ):
            out.append(
                _v("namespace-isolation", ns, "no default-deny NetworkPolicy (ingress and egress)")
            )
    return out


def _predictor(isvc: PolicyResource) -> Mapping[str, Any]:
    return ((isvc.props.get("spec") or {}).get("predictor")) or {}


# The container-typed fields of a KServe component (``spec.predictor`` and its siblings):
# ``model`` and the per-framework ones (the InferenceService CRD,
# ``/work/shared/schemas/kserve/serving.kserve.io_inferenceservices.yaml``).
COMPONENT_CONTAINERS = (
    "model",
    "huggingface",
    "lightgbm",
    "onnx",
    "paddle",
    "pmml",
    "pytorch",
    "sklearn",
    "tensorflow",
    "triton",
    "xgboost",
)
ISVC_COMPONENTS = ("predictor", "transformer", "explainer")
# Where each pod-bearing kind keeps its pod specs, under ``spec`` (Kubernetes API reference;
# an InferenceService component is a pod spec with extra fields; the LLMInferenceService
# CRD: ``template``, ``worker``, ``prefill.template``, ``prefill.worker``,
# ``router.scheduler.template``).
POD_SPECS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "Pod": ((),),
    "Deployment": (("template", "spec"),),
    "StatefulSet": (("template", "spec"),),
    "DaemonSet": (("template", "spec"),),
    "ReplicaSet": (("template", "spec"),),
    "ReplicationController": (("template", "spec"),),
    "Job": (("template", "spec"),),
    "CronJob": (("jobTemplate", "spec", "template", "spec"),),
    "InferenceService": tuple((c,) for c in ISVC_COMPONENTS),
    "LLMInferenceService": (
        ("template",),
        ("worker",),
        ("prefill", "template"),
        ("prefill", "worker"),
        ("router", "scheduler", "template"),
    ),
}
# Helm charts whose workloads Tenantry gives resources through values, and where: a
# chart's pods are visible in a render only through the values Tenantry passes.
HELM_RESOURCES: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "opentelemetry-collector": (("resources",),),
}


def _at(obj: Any, path: Sequence[str]) -> Mapping[str, Any] | None:
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj if isinstance(obj, Mapping) else None


def pod_specs(r: PolicyResource) -> list[Mapping[str, Any]]:
    """Every pod spec a Kubernetes object of a pod-bearing kind (:data:`POD_SPECS`)
    declares, wherever its kind keeps it; [] for other kinds."""
    if not is_k8s(r):
        return []
    spec = r.props.get("spec") or {}
    found = (_at(spec, path) for path in POD_SPECS.get(k8s_kind(r), ()))
    return [pod for pod in found if pod is not None]


def _containers(pred: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A pod spec's (or KServe component's) model container(s) and containers."""
    found = [pred[k] for k in COMPONENT_CONTAINERS if isinstance(pred.get(k), Mapping)]
    return found + [c for c in pred.get("containers") or [] if isinstance(c, Mapping)]


def pod_containers(r: PolicyResource) -> list[Mapping[str, Any]]:
    """Every container and init container of every pod spec of ``r`` (:func:`pod_specs`)."""
    out: list[Mapping[str, Any]] = []
    for pod in pod_specs(r):
        out += _containers(pod)
        out += [c for c in pod.get("initContainers") or [] if isinstance(c, Mapping)]
    return out


def _helm_resources(r: PolicyResource) -> list[Mapping[str, Any]]:
    """The ``resources`` blocks of a Helm release of a chart in :data:`HELM_RESOURCES`
    (a missing block is an empty one)."""
    if not (is_k8s(r) and k8s_kind(r) == "Release"):
        return []
    paths = HELM_RESOURCES.get(str(r.props.get("chart", "")), ())
    values = r.props.get("values") or {}
    return [_at(values, path) or {} for path in paths]


EPHEMERAL = "ephemeral-storage"


def ephemeral_storage_bounded(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    """Every container Tenantry declares, in an object of any pod-bearing kind
    (:data:`POD_SPECS`: workloads, Jobs and CronJobs, InferenceServices,
    LLMInferenceServices) or through a Helm chart's values (:data:`HELM_RESOURCES`),
    requests and limits ephemeral storage; every tenant namespace has a ResourceQuota on
    ``requests.ephemeral-storage`` and ``limits.ephemeral-storage`` and a LimitRange that
    gives containers Tenantry does not write (storage initializer, queue-proxy, istio-proxy)
    a default request and limit."""
    rule = "ephemeral-storage-bounded"
    out = []
    for r in resources:
        named = [(f"container {c.get('name', '?')}", c.get("resources")) for c in pod_containers(r)]
        named += [(f"chart {r.props.get('chart')} values", res) for res in _helm_resources(r)]
        for what, res in named:
            for part in ("requests", "limits"):
                if not ((res or {}).get(part) or {}).get(EPHEMERAL):
                    out.append(_v(rule, r, f"{what}: no {part}.{EPHEMERAL}"))
    for ns in of_kind(resources, "Namespace"):
        if "tenant" not in labels(ns):
            continue
        name = namespace_of(ns)
        hard: dict[str, Any] = {}
        for q in of_kind(resources, "ResourceQuota"):
            if namespace_of(q) == name:
                hard.update((q.props.get("spec") or {}).get("hard") or {})
        for key in (f"requests.{EPHEMERAL}", f"limits.{EPHEMERAL}"):
            if not hard.get(key):
                out.append(_v(rule, ns, f"no ResourceQuota on {key} in namespace {name}"))
        defaults = [
            item
            for lr in of_kind(resources, "LimitRange")
            if namespace_of(lr) == name
            for item in (lr.props.get("spec") or {}).get("limits") or []
            if item.get("type") == "Container"
            and (item.get("default") or {}).get(EPHEMERAL)
            and (item.get("defaultRequest") or {}).get(EPHEMERAL)
        ]
        if not defaults:
            out.append(
                _v(
                    rule,
                    ns,
                    f"no LimitRange default and defaultRequest for {EPHEMERAL} in namespace "
                    f"{name} (the storage initializer and sidecars need one)",
                )
            )
    return out


K8S_PROVIDER = "pulumi:providers:kubernetes"


def explicit_k8s_provider(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    """Every Kubernetes resource names an explicit Kubernetes provider: never the engine's
    default one (configured from whatever kubeconfig the machine running ``pulumi up`` has;
    its URN's name starts with ``default``), so a stack deploys to the platform's cluster."""
    out = []
    for r in resources:
        if not is_k8s(r):
            continue
        urn = r.provider  # urn:pulumi:<stack>::<project>::<parent types $>type::<name>
        parts = urn.split("::")
        name = parts[-1] if len(parts) == 4 else ""
        type_ = parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""
        if not urn or urn == "default" or name.startswith("default"):
            out.append(_v("explicit-k8s-provider", r, "uses the default Kubernetes provider"))
        elif type_ != K8S_PROVIDER:
            out.append(
                _v("explicit-k8s-provider", r, f"provider {urn} is not a Kubernetes provider")
            )
    return out


RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")


def _runs_triton(runtime: PolicyResource) -> bool:
    containers = (runtime.props.get("spec") or {}).get("containers") or []
    return any(
        "tritonserver" in str(c.get("image", "")) or "tritonserver" in (c.get("args") or [])[:1]
        for c in containers
        if isinstance(c, Mapping)
    )


def triton_admin_restricted(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    """Every InferenceService model that may run Triton pins ``--model-control-mode=none``
    and restricts Triton's admin APIs (:data:`tenantry.triton_admin.ADMIN_APIS`) on HTTP and
    gRPC to a header key. Fail closed, by kind: every runtime Tenantry declares is a Triton
    one (:data:`tenantry.catalog.runtimes.RUNTIMES`), so a model is exempt only when its
    runtime is a (Cluster)ServingRuntime among the resources whose containers do not run
    ``tritonserver``."""
    rule = "triton-admin-restricted"
    not_triton = {
        str(metadata(r).get("name"))
        for kind in RUNTIME_KINDS
        for r in of_kind(resources, kind)
        if not _runs_triton(r)
    }
    out = []
    for isvc in of_kind(resources, "InferenceService"):
        for model in _containers(_predictor(isvc))[:1]:
            if model.get("runtime") in not_triton:
                continue
            args = [str(a) for a in model.get("args") or []]
            mode = model_control_mode(args)
            if (
                mode != MODEL_CONTROL_MODE
                or f"--model-control-mode={MODEL_CONTROL_MODE}" not in args
            ):
                out.append(
                    _v(rule, isvc, f"model-control mode must be pinned to {MODEL_CONTROL_MODE!r}")
                )
            for flag in ("--http-restricted-api", "--grpc-restricted-protocol"):
                missing = sorted(set(ADMIN_APIS) - restricted(args, flag))
                if missing:
                    out.append(_v(rule, isvc, f"{flag} does not restrict {', '.join(missing)}"))
    return out


def gpu_within_quota(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    hard: dict[tuple[str | None, str], float] = {}
    for q in of_kind(resources, "ResourceQuota"):
        for k, v in ((q.props.get("spec") or {}).get("hard") or {}).items():
            if k.startswith("requests.nvidia.com/"):
                hard[(namespace_of(q), k.removeprefix("requests."))] = float(v)
    used: dict[tuple[str | None, str], float] = {}
    for isvc in of_kind(resources, "InferenceService"):
        pred = _predictor(isvc)
        replicas = int(pred.get("minReplicas") or 1)
        revisions = 2 if pred.get("canaryTrafficPercent") is not None else 1
        for c in _containers(pred):
            res = c.get("resources") or {}
            lim, req = res.get("limits") or {}, res.get("requests") or {}
            for k in set(lim) | set(req):
                if not k.startswith("nvidia.com/"):
                    continue
                if str(lim.get(k)) != str(req.get(k)):
                    out.append(_v("gpu-within-quota", isvc, f"{k}: requests must equal limits"))
                key = (namespace_of(isvc), k)
                used[key] = used.get(key, 0) + float(lim.get(k) or 0) * replicas * revisions
    for (ns, k), n in sorted(used.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if n > hard.get((ns, k), 0):
            isvc = next(i for i in of_kind(resources, "InferenceService") if namespace_of(i) == ns)
            out.append(
                _v(
                    "gpu-within-quota",
                    isvc,
                    f"{k}: minimum {n:g} requested in {ns}, quota {hard.get((ns, k), 0):g}",
                )
            )
    return out


OWN_NODES_TIERS = ("isolated", "dedicated")


def _tolerates(t: Mapping[str, Any]) -> str | None:
    """What a toleration lets a pod onto beyond its own nodes: every taint (no key, operator
    ``Exists``: Kubernetes docs "Taints and Tolerations"), every tenant's nodes
    (``tenantry.dev/tenant`` with ``Exists``), or one tenant's (the value); None for a
    toleration of another key."""
    op = t.get("operator") or "Equal"
    if not t.get("key"):
        return "every taint" if op == "Exists" else None
    if t.get("key") != TENANT_LABEL:
        return None
    return "every tenant's nodes" if op == "Exists" else f"tenant {t.get('value')!r}'s nodes"


def tenant_nodes_pinned(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    """By kind, every pod spec of every pod-bearing object (:func:`pod_specs`):

    - in the namespace of an isolated or dedicated tenant: ``nodeSelector`` pins
      ``tenantry.dev/tenant=<tenant>``, and the pod tolerates its own tenant taint
      (``Equal`` to its name) and no other: no toleration of another tenant's taint, none of
      every tenant's (``Exists``), none of every taint (no key);
    - anywhere else (the shared tiers, the platform): no toleration of any tenant's taint
      and none of every taint, so nothing else lands on a tenant's own nodes. DaemonSets are
      exempt here: node agents (device plugin, CNI) must run on every node.

    A tenant's nodes carry ``tenantry.dev/tenant=<tenant>:NoSchedule``
    (:mod:`tenantry.platform.gpu_pool`, :mod:`tenantry.aws.node_group`)."""
    rule = "tenant-nodes-pinned"
    own: dict[str | None, str] = {
        namespace_of(ns): str(labels(ns).get("tenant"))
        for ns in of_kind(resources, "Namespace")
        if labels(ns).get("tier") in OWN_NODES_TIERS and labels(ns).get("tenant")
    }
    out = []
    for r in resources:
        tenant = own.get(namespace_of(r))
        for pod in pod_specs(r):
            tolerations = [t for t in pod.get("tolerations") or [] if isinstance(t, Mapping)]
            beyond = [what for what in map(_tolerates, tolerations) if what]
            if tenant is None:
                if k8s_kind(r) != "DaemonSet":
                    out += [_v(rule, r, f"tolerates the taint of {w}") for w in beyond]
                continue
            mine = f"tenant {tenant!r}'s nodes"
            selector = pod.get("nodeSelector") or {}
            if selector.get(TENANT_LABEL) != tenant:
                out.append(_v(rule, r, f"nodeSelector must pin {TENANT_LABEL}={tenant}"))
            if mine not in beyond:
                out.append(_v(rule, r, f"no toleration of its own {TENANT_LABEL}={tenant} taint"))
            out += [_v(rule, r, f"tolerates the taint of {w}") for w in beyond if w != mine]
    return out


def restricted_pods(resources: Sequence[PolicyResource], ctx: Context) -> list[Violation]:
    out = []
    for isvc in of_kind(resources, "InferenceService"):
        pred = _predictor(isvc)
        pod = pred.get("securityContext") or {}
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pred.get(flag):
                out.append(_v("restricted-pods", isvc, f"{flag} is on"))
        if any("hostPath" in v for v in pred.get("volumes") or []):
            out.append(_v("restricted-pods", isvc, "hostPath volume"))
        for c in _containers(pred):
            sc = {**pod, **(c.get("securityContext") or {})}
            problems = []
            if sc.get("runAsNonRoot") is not True:
                problems.append("runAsNonRoot must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append("allowPrivilegeEscalation must be false")
            if sc.get("privileged"):
                problems.append("privileged")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                problems.append("capabilities must drop ALL")
            if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
                problems.append(f"capabilities added: {caps.get('add')}")
            if (sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
                problems.append("seccompProfile must be RuntimeDefault")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append("readOnlyRootFilesystem must be true")
            for p in problems:
                out.append(_v("restricted-pods", isvc, f"container {c.get('name', '?')}: {p}"))
    return out


RULES: tuple[Rule, ...] = (
    Rule(
        "mandatory-tags",
        "Every taggable AWS resource carries the mandatory cost tags and "
        "every Kubernetes object the same keys as labels.",
        mandatory_tags,
    ),
    Rule("no-public-buckets", "Buckets block every kind of public access.", no_public_buckets),
    Rule(
        "tenant-key-encryption",
        "Buckets encrypt by default with a customer KMS key and a bucket key.",
        tenant_key_encryption,
    ),
    Rule(
        "least-privilege-iam",
        "No wildcard actions, no data actions on Resource '*', no ARN of another tenant.",
        least_privilege_iam,
    ),
    Rule(
        "namespace-isolation",
        "Every tenant namespace has a ResourceQuota and a default-deny NetworkPolicy.",
        namespace_isolation,
    ),
    Rule(
        "gpu-within-quota",
        "GPU and MIG requests equal limits and fit the namespace quota at minimum replicas.",
        gpu_within_quota,
    ),
    Rule(
        "tenant-nodes-pinned",
        "Every pod of an isolated or dedicated tenant is pinned to the tenant's own nodes and "
        "tolerates its own taint only; no other pod tolerates a tenant's taint.",
        tenant_nodes_pinned,
    ),
    Rule(
        "ephemeral-storage-bounded",
        "Every container of every pod-bearing kind (and chart values) requests and limits "
        "ephemeral storage; every tenant namespace has a quota on it and a LimitRange default "
        "for containers Tenantry does not write.",
        ephemeral_storage_bounded,
    ),
    Rule(
        "triton-admin-restricted",
        "Triton runs with model-control mode none and its admin APIs behind the "
        "platform's header key.",
        triton_admin_restricted,
    ),
    Rule(
        "explicit-k8s-provider",
        "Every Kubernetes resource uses an explicit Kubernetes provider (the platform's "
        "cluster), never the default one.",
        explicit_k8s_provider,
    ),
    Rule(
        "restricted-pods",
        "Inference pods meet the restricted Pod Security profile (and a "
        "read-only root filesystem).",
        restricted_pods,
    ),
)


def evaluate(
    resources: Sequence[PolicyResource], ctx: Context | None = None, rules: Sequence[Rule] = RULES
) -> list[Violation]:
    ctx = ctx or Context()
    out: list[Violation] = []
    for rule in rules:
        out += rule.check(resources, ctx)
    return out


__all__ = ["RULES", "Rule", "evaluate"]
