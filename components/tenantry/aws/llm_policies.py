"""IAM for shared LLM runtimes: the runtime of a shared base model reads exactly the adapter
prefixes tenants granted it, and nothing else of any tenant's bucket (pure, no Pulumi).

Three locks, each of which alone keeps the runtime out of the rest of a tenant's bucket:

1. the runtime role's identity policy (:func:`shared_runtime_policy`) allows ``GetObject`` on
   ``<bucket>/<adapter prefix>*`` and ``ListBucket`` with ``s3:prefix`` under it, per adapter,
   and decrypt of the tenant's key (named by its alias, ``kms:ResourceAliases``) only through
   S3 for that bucket;
2. the tenant's bucket policy (:func:`tenantry.aws.tenant_policies.bucket_policy` with
   ``adapter_readers``) lets the runtime role past ``DenyOtherPrincipals`` and denies it every
   action but those reads (``DenyLlmRuntimeOutsideAdapters``);
3. the tenant's key policy allows the runtime role ``kms:Decrypt`` only through S3 for that
   bucket (S3 with a bucket key puts the bucket ARN in the encryption context, so KMS cannot
   narrow to a prefix: locks 1 and 2 do).

Role names are deterministic (``tenantry-llm-<base>`` under ``/tenantry/``), so tenant stacks
name the runtime role without reading the platform stack's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..spec.resolved import ResolvedTenant
from .names import IAM_PATH, TenantNames
from .policy import (
    KMS_DECRYPT,
    S3_LIST,
    S3_READ_OBJECT,
    PolicyDocument,
    Statement,
    document,
    pod_identity_trust,
)


@dataclass(frozen=True)
class AdapterReader:
    """A shared runtime role and the adapter prefixes of one tenant's bucket it may read."""

    role_arn: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class AdapterObject:
    """One granted adapter: the tenant, its bucket ARN and the adapter prefix."""

    tenant: str
    bucket_arn: str
    prefix: str


def runtime_role_name(base: str) -> str:
    return f"tenantry-llm-{base}"


def runtime_role_arn(account_id: str, base: str, partition: str = "aws") -> str:
    """ARN of the IAM role the shared runtime of base model ``base`` runs as."""
    return f"arn:{partition}:iam::{account_id}:role{IAM_PATH}{runtime_role_name(base)}"


def _camel(text: str) -> str:
    return "".join(p.capitalize() for p in text.replace("-", " ").replace("_", " ").split())


def shared_runtime_policy(
    adapters: Sequence[AdapterObject], *, region: str, account_id: str, partition: str = "aws"
) -> PolicyDocument:
    """The identity policy of one shared runtime role. Per adapter (in the given order):
    ``Read<Tenant><n>`` (GetObject/GetObjectVersion on ``<bucket>/<prefix>*``) and
    ``List<Tenant><n>`` (ListBucket with ``s3:prefix`` under it); per tenant,
    ``Decrypt<Tenant>`` (``kms:Decrypt`` of the account's keys only via S3 in ``region``, only
    with the tenant bucket in the encryption context: S3 decrypting what the reads return).
    With no adapter: one statement denying ``s3:*`` (IAM refuses an empty policy, and the
    runtime needs nothing from tenant buckets).
    Raises ``ValueError`` for a prefix that is not a relative key prefix ending in '/'."""
    statements: list[Statement] = []
    counts: dict[str, int] = {}
    decrypt: dict[str, AdapterObject] = {}
    for a in adapters:
        if not a.prefix.endswith("/") or a.prefix.startswith("/") or "*" in a.prefix:
            raise ValueError(
                f"adapter prefix {a.prefix!r} of tenant {a.tenant!r}: accepted is a key prefix "
                "ending in '/', without a leading '/' or '*'"
            )
        n = counts[a.tenant] = counts.get(a.tenant, 0) + 1
        who = f"{_camel(a.tenant)}{n}"
        statements.append(
            Statement(f"Read{who}", "Allow", S3_READ_OBJECT, (f"{a.bucket_arn}/{a.prefix}*",))
        )
        statements.append(
            Statement(
                f"List{who}",
                "Allow",
                S3_LIST,
                (a.bucket_arn,),
                conditions={"StringLike": {"s3:prefix": [a.prefix, f"{a.prefix}*"]}},
            )
        )
        decrypt.setdefault(a.tenant, a)
    for tenant, a in decrypt.items():
        statements.append(
            Statement(
                f"Decrypt{_camel(tenant)}",
                "Allow",
                KMS_DECRYPT,
                (f"arn:{partition}:kms:{region}:{account_id}:key/*",),
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [a.bucket_arn, f"{a.bucket_arn}/*"]
                    },
                },
            )
        )
    if not statements:
        statements.append(Statement("NoTenantData", "Deny", ("s3:*",), ("*",)))
    return document(statements)


def runtime_trust(account_id: str, cluster_name: str, namespace: str, base: str) -> PolicyDocument:
    """EKS Pod Identity trust of a shared runtime role: only this cluster's agent, only for
    the runtime's service account ``<namespace>/tenantry-llm-<base>``
    (:func:`tenantry.aws.policy.pod_identity_trust`)."""
    return pod_identity_trust(account_id, cluster_name, namespace, runtime_role_name(base))


def adapter_readers(t: ResolvedTenant, names: TenantNames) -> tuple[AdapterReader, ...]:
    """The shared runtime roles a tenant grants, one per base model its adapters use, each
    with exactly those adapters' prefixes (sorted by base model)."""
    by_base: dict[str, list[str]] = {}
    for a in t.llm_adapters:
        by_base.setdefault(a.base_model, []).append(a.path)
    return tuple(
        AdapterReader(
            runtime_role_arn(names.account_id, base, names.partition), tuple(sorted(prefixes))
        )
        for base, prefixes in sorted(by_base.items())
    )
