"""Every IAM policy document of one tenant, as pure functions of names and ARNs.

The components call these with their (output) ARNs; tests and the moto integration test
call them with real ARNs. Nothing here imports Pulumi.

Why the key policy names the account root (``arn:<partition>:iam::<account>:root``):

1. *Use* statements: the principal is the account root, narrowed by ``aws:PrincipalArn`` to
   the tenant's exact role ARNs. KMS rejects a key policy whose principal roles do not exist
   yet, and rewrites a named role to its unique id, so a deleted and re-created role would
   silently lose access; the root principal plus a condition avoids both. The root principal
   also means the role needs an IAM allow of its own (its identity policy) - two locks.
2. *Recovery*: the root may only describe the key and read/replace its policy. Without it, a
   key whose administrator roles were all deleted can only be recovered by AWS Support. An IAM
   principal still needs an IAM policy allowing ``kms:PutKeyPolicy`` on this key to use it;
   tenant roles never can (their permissions boundary denies every ``kms:`` management
   action and ``iam:*``).

No statement gives the account (or anyone but the tenant's roles) cryptographic use.
"""

from __future__ import annotations

from collections.abc import Sequence

from .llm_policies import AdapterReader
from .names import MODELS_PREFIX, TenantNames
from .policy import (
    KMS_ADMIN,
    KMS_DECRYPT,
    KMS_ENCRYPT,
    S3_LIST,
    S3_READ_OBJECT,
    S3_WRITE_OBJECT,
    PolicyDocument,
    Statement,
    check_prefix,
    document,
    grant_decrypt_via_s3,
    grant_encrypt_via_s3,
    grant_read,
    grant_write,
    via_s3,
)
from .policy import pod_identity_trust as pod_identity_trust_for

KEY_RECOVERY = ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy")
# Denied to every tenant role by the boundary, whatever an identity policy says.
BOUNDARY_DENY = (
    "iam:*",
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
    "organizations:*",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
)


def _require_admins(admins: Sequence[str]) -> tuple[str, ...]:
    if not admins:
        raise ValueError(
            "platform admins: at least one IAM role/user ARN is required to manage tenant "
            "keys (stacks/Pulumi.platform.yaml, tenantry:platform.admins)"
        )
    return tuple(admins)


def key_policy(
    n: TenantNames,
    admins: Sequence[str],
    *,
    admin_role: bool,
    adapter_readers: Sequence[AdapterReader] = (),
) -> PolicyDocument:
    """The tenant key's policy. In a key policy ``Resource: "*"`` means *this key*.
    ``adapter_readers``: shared LLM runtime roles that may decrypt via S3 for this bucket
    (``LlmRuntimeDecryptViaS3``; their prefixes are enforced by the bucket policy)."""
    root = {"AWS": n.account_root_arn}
    caller = {"kms:CallerAccount": n.account_id}

    def use(sid: str, actions: tuple[str, ...], role_arn: str) -> Statement:
        cond = via_s3(n.region, n.bucket_arn)
        return Statement(
            sid,
            "Allow",
            actions,
            ("*",),
            principals=root,
            conditions={
                "StringEquals": {**cond["StringEquals"], **caller},
                "StringLike": cond["StringLike"],
                "ArnEquals": {"aws:PrincipalArn": role_arn},
            },
        )

    statements = [
        Statement(
            "KeyAdministration",
            "Allow",
            KMS_ADMIN,
            ("*",),
            principals={"AWS": list(_require_admins(admins))},
        ),
        Statement("AccountRecovery", "Allow", KEY_RECOVERY, ("*",), principals=root),
        use("InferenceDecryptViaS3", KMS_DECRYPT, n.inference_role_arn),
    ]
    if admin_role:
        statements.append(use("AdminEncryptDecryptViaS3", KMS_ENCRYPT, n.admin_role_arn))
    readers = sorted({r.role_arn for r in adapter_readers})
    if readers:
        statements.append(
            Statement(
                "LlmRuntimeDecryptViaS3",
                "Allow",
                KMS_DECRYPT,
                ("*",),
                principals=root,
                conditions={
                    "StringEquals": {**via_s3(n.region, n.bucket_arn)["StringEquals"], **caller},
                    "StringLike": via_s3(n.region, n.bucket_arn)["StringLike"],
                    "ArnEquals": {"aws:PrincipalArn": readers},
                },
            )
        )
    return document(statements)


S3_DELETE_OBJECT = ("s3:DeleteObject", "s3:DeleteObjectVersion")


def write_once(
    n: TenantNames, deployed: Sequence[str], *, admin_role: bool
) -> tuple[Statement, ...]:
    """Deployed versions' prefixes are write-once for the tenant's roles: no delete (nor a
    delete marker), and an upload only with ``If-None-Match: *``, which S3 refuses with
    ``412 Precondition Failed`` when the key exists (S3 conditional writes; the
    ``s3:if-none-match`` condition key lets a bucket policy require the header, so
    ``Null: true`` denies an upload without it). New files can still be added to a
    deployed prefix, which changes its digest, and ``tenantry verify`` reports that. The
    platform's deployer (which writes ``config.pbtxt``) and admins are not restricted."""
    if not deployed:
        return ()
    roles = [n.inference_role_arn, *([n.admin_role_arn] if admin_role else [])]
    tenant_roles = {"aws:PrincipalArn": roles}
    objects = tuple(f"{n.bucket_arn}/{check_prefix(p)}*" for p in deployed)
    return (
        Statement(
            "DenyOverwriteOfDeployedVersions",
            "Deny",
            ("s3:PutObject",),
            objects,
            principals="*",
            conditions={"Null": {"s3:if-none-match": "true"}, "ArnLike": tenant_roles},
        ),
        Statement(
            "DenyDeleteOfDeployedVersions",
            "Deny",
            S3_DELETE_OBJECT,
            objects,
            principals="*",
            conditions={"ArnLike": tenant_roles},
        ),
    )


def bucket_policy(
    n: TenantNames,
    key_arn: str,
    admins: Sequence[str],
    *,
    admin_role: bool,
    deployed: Sequence[str] = (),
    adapter_readers: Sequence[AdapterReader] = (),
) -> PolicyDocument:
    """TLS only; uploads only with the bucket's key (or no SSE header, then the default
    encryption applies the same key); nobody but the tenant's roles and the platform admins,
    and the shared LLM runtime roles of ``adapter_readers``, which may only read (and list)
    their granted adapter prefixes (``DenyLlmRuntime<n>OutsideAdapters``); the ``deployed``
    prefixes (``models/<model>/v<version>/``) write-once for the tenant's roles
    (:func:`write_once`)."""
    both = (n.bucket_arn, f"{n.bucket_arn}/*")
    allowed = [
        n.inference_role_arn,
        *([n.admin_role_arn] if admin_role else []),
        *_require_admins(admins),
        *sorted({r.role_arn for r in adapter_readers}),
    ]
    return document(
        Statement(
            "DenyInsecureTransport",
            "Deny",
            ("s3:*",),
            both,
            principals="*",
            conditions={"Bool": {"aws:SecureTransport": "false"}},
        ),
        Statement(
            "DenyOtherEncryption",
            "Deny",
            ("s3:PutObject",),
            (f"{n.bucket_arn}/*",),
            principals="*",
            conditions={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        ),
        Statement(
            "DenyOtherKmsKey",
            "Deny",
            ("s3:PutObject",),
            (f"{n.bucket_arn}/*",),
            principals="*",
            conditions={
                "StringNotEqualsIfExists": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn
                }
            },
        ),
        Statement(
            "DenyOtherPrincipals",
            "Deny",
            ("s3:*",),
            both,
            principals="*",
            conditions={"ArnNotLike": {"aws:PrincipalArn": allowed}},
        ),
        write_once(n, deployed, admin_role=admin_role),
        _runtime_fences(n, adapter_readers),
    )


def _runtime_fences(n: TenantNames, readers: Sequence[AdapterReader]) -> list[Statement]:
    """Per shared runtime role (an explicit deny wins over any allow):
    ``DenyLlmRuntime<i>OutsideAdapters``: every action on every object outside its prefixes;
    ``DenyLlmRuntime<i>ListOutsideAdapters``: listing, unless the ``s3:prefix`` is under its
    prefixes (a request without the key matches the negated operator: IAM User Guide,
    "Condition operators", negated operators and missing keys). Other bucket-level actions
    are not fenced here: nothing allows them (the runtime's identity policy grants reads and
    listing only, and this policy allows nothing);
    ``DenyLlmRuntime<i>Writes``: object writes inside its prefixes."""
    out: list[Statement] = []
    for i, r in enumerate(sorted(readers, key=lambda r: r.role_arn), start=1):
        prefixes = sorted(r.prefixes)
        who = {"aws:PrincipalArn": r.role_arn}
        out.append(
            Statement(
                f"DenyLlmRuntime{i}OutsideAdapters",
                "Deny",
                ("s3:*",),
                not_resources=(n.bucket_arn, *(f"{n.bucket_arn}/{p}*" for p in prefixes)),
                principals="*",
                conditions={"ArnEquals": who},
            )
        )
        out.append(
            Statement(
                f"DenyLlmRuntime{i}ListOutsideAdapters",
                "Deny",
                ("s3:ListBucket", "s3:ListBucketVersions"),
                (n.bucket_arn,),
                principals="*",
                conditions={
                    "ArnEquals": who,
                    "StringNotLike": {"s3:prefix": [x for p in prefixes for x in (p, f"{p}*")]},
                },
            )
        )
        out.append(
            Statement(
                f"DenyLlmRuntime{i}Writes",
                "Deny",
                RUNTIME_DENIED_WRITES,
                (f"{n.bucket_arn}/*",),
                principals="*",
                conditions={"ArnEquals": who},
            )
        )
    return out


# Object-level actions that change data or its protection; the runtime may do none of them.
RUNTIME_DENIED_WRITES = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:RestoreObject",
    "s3:AbortMultipartUpload",
)


def read_grant(
    bucket_arn: str, key_arn: str, region: str, prefix: str = MODELS_PREFIX
) -> PolicyDocument:
    return document(
        grant_read(bucket_arn, prefix), grant_decrypt_via_s3(key_arn, region, bucket_arn)
    )


def read_write_grant(
    bucket_arn: str, key_arn: str, region: str, prefix: str = MODELS_PREFIX
) -> PolicyDocument:
    return document(
        grant_read(bucket_arn, prefix),
        grant_write(bucket_arn, prefix),
        grant_encrypt_via_s3(key_arn, region, bucket_arn),
    )


def boundary_policy(n: TenantNames, key_arn: str) -> PolicyDocument:
    """The permissions boundary of every tenant role: the most any tenant role can ever do."""
    both = (n.bucket_arn, f"{n.bucket_arn}/*")
    return document(
        Statement(
            "AllowTenantBucket", "Allow", (*S3_READ_OBJECT, *S3_WRITE_OBJECT, *S3_LIST), both
        ),
        Statement(
            "AllowTenantKeyViaS3",
            "Allow",
            KMS_ENCRYPT,
            (key_arn,),
            conditions=via_s3(n.region, n.bucket_arn),
        ),
        Statement("DenyPrivilegeChanges", "Deny", BOUNDARY_DENY, ("*",)),
        Statement("DenyOtherBuckets", "Deny", ("s3:*",), not_resources=both),
        Statement("DenyOtherKeys", "Deny", ("kms:*",), not_resources=(key_arn,)),
    )


def pod_identity_trust(n: TenantNames, cluster_name: str) -> PolicyDocument:
    """EKS Pod Identity: only this cluster's agent, only for ``<tenant>/<tenant>-inference``
    (the session tags Pod Identity sets), only from the platform account."""
    return pod_identity_trust_for(n.account_id, cluster_name, n.namespace, n.service_account)


def irsa_trust(n: TenantNames, oidc_provider_arn: str, oidc_issuer: str) -> PolicyDocument:
    """IRSA (option): the cluster's OIDC provider, only for the tenant's service account."""
    issuer = oidc_issuer.removeprefix("https://").rstrip("/")
    if not issuer or not oidc_provider_arn.endswith(f":oidc-provider/{issuer}"):
        raise ValueError(
            f"oidc_issuer {oidc_issuer!r}: accepted is the issuer URL of the provider "
            f"{oidc_provider_arn!r} (the part after ':oidc-provider/')"
        )
    return document(
        Statement(
            "IrsaServiceAccount",
            "Allow",
            ("sts:AssumeRoleWithWebIdentity",),
            principals={"Federated": oidc_provider_arn},
            conditions={
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{n.namespace}:{n.service_account}",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        )
    )


def admin_trust(tenant_admins: Sequence[str]) -> PolicyDocument:
    """The tenant's ``access.admins`` may assume the admin role."""
    if not tenant_admins:
        raise ValueError("access.admins: at least one IAM ARN is required for an admin role")
    return document(
        Statement(
            "TenantAdmins", "Allow", ("sts:AssumeRole",), principals={"AWS": list(tenant_admins)}
        )
    )
