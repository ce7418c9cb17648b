"""Rules whose limits belong to other systems: every name, host and value a tenant file leads
to, checked against what Kubernetes, Knative/KServe, AWS, PostgreSQL/pgvector and Triton
accept (the limits and their sources: :mod:`tenantry.catalog.limits`,
:mod:`tenantry.catalog.runtimes`, :mod:`tenantry.spec.hosts`).

Each name is computed by the same function the component that creates it uses
(:mod:`tenantry.aws.names`, :mod:`tenantry.data.names`, :mod:`tenantry.spec.hosts`,
:mod:`tenantry.tags`), so a name validation accepts is the name that gets deployed.
Pure: no Pulumi, no connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress

from ..aws import names as aws_names  # a module: aws.names imports spec.model in turn
from ..catalog.limits import (
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    EC2_LAUNCH_TEMPLATE,
    EKS_NODEGROUP,
    IAM_POLICY,
    IAM_ROLE,
    KMS_ALIAS,
    LABEL_VALUE,
    PGVECTOR_TESTED,
    S3_BUCKET,
    VECTOR_INDEX,
    NameLimit,
)
from ..catalog.runtimes import FORMATS, format_problem, runtime_for
from ..data.names import ACCEPTED as SQL_ACCEPTED
from ..data.names import (
    IdentifierError,
    check_identifier,
    relation_names,
    tenant_identifier,
)
from ..tags import mandatory_tags
from .errors import Unparsed, each, format_path
from .hosts import (
    CANARY_TAGS,
    host_problems,
    longest_model_name,
    model_hosts,
    revision_service_of,
    short_forms,
)
from .model import TenantSpec
from .platform import PlatformSettings
from .targets import gpu_targets, target_for
from .tiers import TIERS

Report = Callable[..., None]


def rules() -> tuple[Callable[[TenantSpec, PlatformSettings, str | None, Report], None], ...]:
    return (
        _kubernetes_names,
        _label_values,
        _hosts,
        _own_hosts,
        _aws_names,
        _vector_namespaces,
        _formats,
    )


def _limit(report: Report, path: str, code: str, limit: NameLimit, name: str, what: str) -> bool:
    """Report ``name`` at ``path`` when ``limit`` refuses it; True when it was refused."""
    problems = limit.problems(name)
    if problems:
        too_long = len(name) > limit.max_length
        report(
            path,
            code if too_long or code != "name_too_long" else "name_invalid",
            f"gives the {what} {name!r}, which is refused: {'; '.join(problems)} "
            f"({limit.what}; {limit.source})",
            None,
            f"a {what} of {limit.accepted}, at most {limit.max_length} characters",
        )
    return bool(problems)


def _kubernetes_names(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """The namespace, the InferenceServices and the Knative Services KServe creates for
    them (an own LLM's objects are named by KServe's kmeta.ChildName, which hashes a name
    over 63 characters, from a name that starts with a letter: nothing to check) and the
    inference ServiceAccount (the label values: :func:`_label_values`)."""
    name = spec.metadata.name
    _limit(report, "metadata.name", "name_too_long", DNS1123_LABEL, name, "namespace name")
    _limit(
        report,
        "metadata.name",
        "name_too_long",
        DNS1123_SUBDOMAIN,
        f"{name}-inference",
        "ServiceAccount name",
    )
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            base = f"spec.models[{i}]"
            for route in (m.name, f"{m.name}-predictor"):
                what = "InferenceService name" if route == m.name else "Knative Service name"
                if _limit(report, f"{base}.name", "name_too_long", DNS1035_LABEL, route, what):
                    break


def _label_values(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """The label values taken from the file: the mandatory cost-allocation labels whose
    values come from it (at the field they come from), the tenant's own labels, and the
    model, LLM and node-group name labels. Each value is judged on its own, so one that did
    not parse leaves the others judged."""
    labels: list[tuple[str, str, str]] = []
    fields: tuple[tuple[str, Callable[[], str]], ...] = (
        ("metadata.name", lambda: spec.metadata.name),
        ("metadata.costCenter", lambda: spec.metadata.cost_center),
        ("spec.tier", lambda: spec.spec.tier),
    )
    read: dict[str, str] = {}
    for path, field in fields:
        with suppress(Unparsed):
            read[path] = field()
    # which mandatory key carries which field: tenantry.tags says, given stand-in values
    marks = {path: f"<{path}>" for path, _ in fields}
    tags = mandatory_tags(
        tenant=marks["metadata.name"],
        cost_center=marks["metadata.costCenter"],
        tier=marks["spec.tier"],
        environment=platform.environment,
    )
    for key, mark in tags.items():
        path = next((p for p, m in marks.items() if m == mark), "")
        if path in read:
            labels.append((path, key, read[path]))
    with suppress(Unparsed):
        labels += [
            (format_path(("metadata", "labels", k)), k, v) for k, v in spec.metadata.labels.items()
        ]
    models: dict[str, int] = {}
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            labels.append((f"spec.models[{i}].name", "tenantry.dev/model", m.name))
            models[m.name] = i
    for i, llm in each(spec.spec.llms):
        with suppress(Unparsed):
            base = f"spec.llms[{i}].name"
            labels.append((base, "tenantry.dev/model", llm.name))
            if llm.name in models:
                report(
                    base,
                    "name_shared_with_model",
                    f"is also spec.models[{models[llm.name]}].name: both would carry the label "
                    "tenantry.dev/model with this value, so the policies, quotas and metrics that "
                    "select one model by it would select both",
                    llm.name,
                    "a name no model of the tenant has",
                )
    for i, ng in each(spec.spec.node_groups):
        with suppress(Unparsed):
            labels.append((f"spec.nodeGroups[{i}].name", "tenantry.dev/node-group", ng.name))
    for path, key, value in labels:
        _limit(report, path, "label_value_invalid", LABEL_VALUE, value, f"label {key!r} value")


def _hosts(spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report) -> None:
    """Every host each model gets (:func:`tenantry.spec.hosts.model_hosts`) within DNS's
    limits: Knative refuses a Route whose domain has a label over 63 characters or is over
    253 characters, so the InferenceService would never become Ready."""
    tenant, ingress = spec.metadata.name, platform.ingress
    budget = longest_model_name(tenant, ingress)
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            bad = [
                (h, p) for h in model_hosts(m.name, tenant, ingress) for p in host_problems(h.name)
            ]
            if not bad:
                continue
            host, problem = bad[0]
            more = f" ({len(bad) - 1} more problem(s) in its other hosts)" if len(bad) > 1 else ""
            tags = "/".join(CANARY_TAGS)
            if budget:
                path = f"spec.models[{i}].name"
                accepted = (
                    f"a model name of at most {budget} characters in tenant {tenant!r} with "
                    f"ingress domain {ingress.domain!r} (every model keeps room for the canary "
                    f"tags {tags})"
                )
                value = m.name
            else:
                path = "metadata.name"
                accepted = (
                    f"a shorter tenant name (or ingress domain {ingress.domain!r}): not even a "
                    "one-letter model name fits"
                )
                value = tenant
            report(
                path,
                "host_too_long",
                f"gives the {host.describe()} {host.name!r}: {problem}; Knative refuses the "
                f"route, so the InferenceService would never become Ready{more}",
                value,
                accepted,
            )


def _own_hosts(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """Two models of one tenant must not share a host or a route name: model ``a-predictor``
    would take the predictor route of model ``a``, model ``prev-a`` the canary tag route of
    ``a`` (the Kubernetes Services of the same name collide too)."""
    tenant, ingress = spec.metadata.name, platform.ingress
    owner: dict[str, tuple[int, str]] = {}
    reported: set[tuple[int, int]] = set()
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            for h in model_hosts(m.name, tenant, ingress):
                for name in (h.name, *short_forms(h)):
                    j, other = owner.setdefault(name, (i, m.name))
                    if j == i or (j, i) in reported:
                        continue
                    reported.add((j, i))
                    report(
                        f"spec.models[{i}].name",
                        "host_collision",
                        f"gives the {h.describe()} {name!r}, which model {other!r} "
                        f"(spec.models[{j}]) gets too: their routes and Services would collide",
                        m.name,
                        "a model name that is not another model's name plus '-predictor' or a "
                        "canary tag",
                    )
    names = [m.name for m in spec.spec.models]
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            clash = revision_service_of(m.name, names)
            if clash is not None:
                other, revision = clash
                j = names.index(other)
                report(
                    f"spec.models[{i}].name",
                    "host_collision",
                    f"is the name of the Kubernetes Service Knative creates for revision "
                    f"{revision!r} of model {other!r} (spec.models[{j}]); KServe names the "
                    "InferenceService's own Service after the model, so the two would collide",
                    m.name,
                    "a model name that is not another model's name plus '-predictor-' and a "
                    "revision number",
                )


def _aws_names(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """The bucket, roles, permissions boundary, key alias and node groups, named as
    :func:`tenantry.aws.names.tenant_names` names them."""
    tenant = spec.metadata.name
    try:
        names = aws_names.tenant_names(tenant, spec.spec.region, platform)
    except ValueError as exc:
        report(
            "metadata.name",
            "name_invalid_for_aws",
            f"cannot name the tenant's AWS resources: {exc}",
            tenant,
            "a tenant name without '--'",
        )
        return
    checks: Iterable[tuple[NameLimit, str, str]] = (
        (S3_BUCKET, names.bucket_name, "S3 bucket name"),
        (IAM_ROLE, names.role_name("inference"), "IAM role name"),
        (IAM_ROLE, names.role_name("admin"), "IAM role name"),
        (IAM_POLICY, names.boundary_name, "IAM permissions boundary name"),
        (KMS_ALIAS, names.key_alias, "KMS alias"),
    )
    for limit, value, what in checks:
        _limit(report, "metadata.name", "name_too_long", limit, value, what)
    for path, group, what in node_group_names(spec, platform):
        if not _limit(report, path, "name_too_long", EKS_NODEGROUP, group, what):
            _limit(report, path, "name_too_long", EC2_LAUNCH_TEMPLATE, group, what)


def node_group_names(spec: TenantSpec, platform: PlatformSettings) -> list[tuple[str, str, str]]:
    """(field path, name, what it is) of every EKS managed node group (and launch template
    of the same name) deployed for the tenant: its node groups
    (:func:`tenantry.aws.names.node_group_name`) and an isolated tenant's own nodes in each
    shared pool it has GPU demand on (:func:`tenantry.aws.names.tenant_nodes_group_name`,
    declared by the platform stack; reported at ``metadata.name``)."""
    tenant = spec.metadata.name
    out = [
        (
            f"spec.nodeGroups[{i}].name",
            aws_names.node_group_name(tenant, ng.name),
            "EKS node group name",
        )
        for i, ng in enumerate(spec.spec.node_groups)
    ]
    if TIERS[spec.spec.tier].gpu_sharing == "exclusive-gpus" and not spec.spec.node_groups:
        targets = gpu_targets(spec, platform)
        gpus = [m.gpu for m in spec.spec.models if m.gpu] + [x.gpu for x in spec.spec.llms]
        pools = sorted({t.name for g in gpus if (t := target_for(g, targets)) is not None})
        out += [
            (
                "metadata.name",
                aws_names.tenant_nodes_group_name(tenant, pool),
                f"EKS node group name of its own nodes in shared pool {pool!r}",
            )
            for pool in pools
        ]
    return out


def _vector_namespaces(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """SQL names of the tenant's schema, role, tables and indexes, and pgvector's index
    limits for the metric and column type the pgvector backend uses (an HNSW index on a
    ``vector`` column)."""
    if spec.spec.vector_namespaces:
        try:
            tenant_identifier(spec.metadata.name)
        except IdentifierError as exc:
            report(
                "metadata.name",
                "name_invalid_for_sql",
                f"gives the schema and role {exc.value!r}, which is refused: {exc.reason}",
                spec.metadata.name,
                SQL_ACCEPTED,
            )
    idx = VECTOR_INDEX
    taken: dict[str, tuple[int, str]] = {}  # relation -> (namespace index, its name)
    for i, ns in each(spec.spec.vector_namespaces):
        with suppress(Unparsed):
            base = f"spec.vectorNamespaces[{i}]"
            try:
                check_identifier("vectorNamespaces.name", ns.name)
                relations = relation_names(ns.name)
            except IdentifierError as exc:
                report(
                    f"{base}.name",
                    "name_invalid_for_sql",
                    f"gives the SQL identifier {exc.value!r}, which is refused: {exc.reason}",
                    ns.name,
                    SQL_ACCEPTED,
                )
                relations = ()
            for rel in relations:
                other = taken.get(rel)
                if other is not None and other[1] != ns.name:  # equal names: name_duplicate
                    report(
                        f"{base}.name",
                        "vector_relation_collision",
                        f"brings the relation {rel!r} into the tenant's schema, which "
                        f"spec.vectorNamespaces[{other[0]}] ({other[1]!r}) brings too: tables and "
                        "indexes share one name space per PostgreSQL schema, so one namespace "
                        "would be created without its table or its HNSW index",
                        ns.name,
                        "a name whose table, '<name>_pkey' and '<name>_embedding_hnsw' no other "
                        "vector namespace of the tenant has",
                    )
                    break
            for rel in relations:
                taken.setdefault(rel, (i, ns.name))
            if ns.metric not in idx.opclasses:
                report(
                    f"{base}.metric",
                    "vector_metric_unsupported",
                    f"pgvector's {idx.method} index on {idx.column_type} has no operator class "
                    f"for it ({idx.source})",
                    ns.metric,
                    ", ".join(sorted(idx.opclasses)),
                )
            elif ns.dimension > idx.max_dimensions:
                report(
                    f"{base}.dimension",
                    "vector_dimension_unindexable",
                    f"is more than pgvector's {idx.method.upper()} index takes on a "
                    f"{idx.column_type} column with {ns.metric} ({idx.opclasses[ns.metric]}): "
                    f"the table could be created but not its index (pgvector {PGVECTOR_TESTED}; "
                    f"{idx.source})",
                    ns.dimension,
                    f"1..{idx.max_dimensions}",
                )


def _formats(
    spec: TenantSpec, platform: PlatformSettings, stem: str | None, report: Report
) -> None:
    """Each model's format is loadable by the Triton image of the runtime that serves it;
    a runtime pinned to an image that no longer moves is a warning."""
    cpu_formats = sorted(f for f in FORMATS if format_problem(f, on_gpu=False) is None)
    for i, m in each(spec.spec.models):
        with suppress(Unparsed):
            problem = format_problem(m.format, on_gpu=m.gpu is not None)
            if problem is not None:
                on_cpu = m.gpu is None and format_problem(m.format) is None
                report(
                    f"spec.models[{i}].format",
                    "format_unservable",
                    f"no runtime can load it: {problem}",
                    m.format,
                    (
                        f"a gpu (MIG profile or 'gpu') for {m.format}, or on CPU one of "
                        + ", ".join(cpu_formats)
                    )
                    if on_cpu
                    else "a format whose runtime ships its backend",
                )
                continue
            rt = runtime_for(m.format)
            if rt.frozen:
                pin = (
                    ""
                    if platform.image_digest(rt.digest_setting)
                    else f"; the platform needs {rt.digest_setting} set to deploy it"
                )
                report(
                    f"spec.models[{i}].format",
                    "format_frozen_runtime",
                    f"is served by {rt.name} ({rt.image.image}): {rt.frozen}{pin}; convert the "
                    "model to ONNX or TensorRT to follow Triton's updates",
                    m.format,
                    "onnx, pytorch, tensorrt or python for a maintained runtime",
                    "warning",
                )
