"""A tiny IAM policy-document builder and intent-level grants (pure, no Pulumi).

Components never write policy JSON by hand: they describe an intent (``grant_read`` on a
bucket prefix, ``grant_decrypt_via_s3`` on a key) and this module turns it into statements.
A :class:`Statement` is a frozen dataclass; :meth:`PolicyDocument.to_dict` produces the JSON
shape IAM expects, with single values collapsed and lists kept in the given order so that
golden files are stable.

Conditions used (all documented AWS global or service keys):

- ``aws:SecureTransport`` (``Bool``): deny requests that are not TLS.
- ``aws:PrincipalArn`` (``ArnNotLike`` / ``ArnEquals``): the calling role's ARN, also for
  assumed-role sessions, so it names roles, not sessions.
- ``kms:ViaService`` = ``s3.<region>.amazonaws.com``: the key is usable only when S3 calls
  KMS on the caller's behalf, never directly.
- ``kms:EncryptionContext:aws:s3:arn``: S3 puts the bucket ARN (bucket key on) or the object
  ARN (bucket key off) in the encryption context, so the key works for one bucket only.
- ``s3:x-amz-server-side-encryption`` / ``s3:x-amz-server-side-encryption-aws-kms-key-id``:
  an upload that names another algorithm or another key is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

VERSION = "2012-10-17"
Effect = Literal["Allow", "Deny"]
# Condition operator -> condition key -> one value or several.
Conditions = Mapping[str, Mapping[str, str | Sequence[str]]]

# Actions per intent. Object-level actions apply to ``<bucket>/<prefix>*``; ListBucket to the
# bucket ARN with an ``s3:prefix`` condition.
S3_READ_OBJECT = ("s3:GetObject", "s3:GetObjectVersion")
S3_WRITE_OBJECT = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
S3_LIST = ("s3:ListBucket",)
KMS_DECRYPT = ("kms:Decrypt",)
KMS_ENCRYPT = ("kms:GenerateDataKey", "kms:Decrypt")  # Decrypt: multipart uploads need it
# Key-management actions for the platform administrators: no cryptographic use.
KMS_ADMIN = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# Actions that read, write or decrypt data (for the "no data action on Resource *" check):
# every S3 action, and KMS's cryptographic operations.
KMS_CRYPTO_PREFIXES = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt")


@dataclass(frozen=True)
class Statement:
    """One IAM statement. ``principals`` only in resource policies (``{"AWS": [...]}``,
    ``{"Service": ...}``, ``{"Federated": ...}`` or ``"*"``). Exactly one of ``resources`` /
    ``not_resources`` except in trust policies, where both stay empty."""

    sid: str
    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: Mapping[str, str | Sequence[str]] | Literal["*"] | None = None
    conditions: Conditions = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.sid.isalnum():
            raise ValueError(f"statement sid {self.sid!r}: only letters and digits are accepted")
        if not self.actions:
            raise ValueError(f"statement {self.sid}: at least one action is required")
        if self.resources and self.not_resources:
            raise ValueError(
                f"statement {self.sid}: resources and not_resources exclude each other"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": self.sid, "Effect": self.effect}
        if self.principals is not None:
            out["Principal"] = (
                "*"
                if self.principals == "*"
                else {k: _one_or_list(v) for k, v in self.principals.items()}
            )
        out["Action"] = _one_or_list(self.actions)
        if self.resources:
            out["Resource"] = _one_or_list(self.resources)
        if self.not_resources:
            out["NotResource"] = _one_or_list(self.not_resources)
        if self.conditions:
            out["Condition"] = {
                op: {k: _one_or_list(v) for k, v in keys.items()}
                for op, keys in self.conditions.items()
            }
        return out


@dataclass(frozen=True)
class PolicyDocument:
    statements: tuple[Statement, ...]

    def __post_init__(self) -> None:
        sids = [s.sid for s in self.statements]
        dupes = sorted({s for s in sids if sids.count(s) > 1})
        if dupes:
            raise ValueError(f"policy document: duplicate statement sids {dupes}")
        if not self.statements:
            raise ValueError("policy document: at least one statement is required")

    def to_dict(self) -> dict[str, Any]:
        return {"Version": VERSION, "Statement": [s.to_dict() for s in self.statements]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def __add__(self, other: PolicyDocument) -> PolicyDocument:
        return PolicyDocument(self.statements + other.statements)


def document(*parts: Statement | Iterable[Statement]) -> PolicyDocument:
    out: list[Statement] = []
    for p in parts:
        if isinstance(p, Statement):
            out.append(p)
        else:
            out.extend(p)
    return PolicyDocument(tuple(out))


def _one_or_list(v: str | Sequence[str]) -> str | list[str]:
    if isinstance(v, str):
        return v
    return v[0] if len(v) == 1 else list(v)


def check_prefix(prefix: str) -> str:
    if prefix and (not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix):
        raise ValueError(
            f"prefix {prefix!r}: accepted is a key prefix ending in '/', without a leading '/' "
            "or '*' (e.g. 'models/'), or '' for the whole bucket"
        )
    return prefix


def _sid(word: str, prefix: str) -> str:
    return word + "".join(p.capitalize() for p in prefix.strip("/").replace("-", "/").split("/"))


def objects_arn(bucket_arn: str, prefix: str = "") -> str:
    return f"{bucket_arn}/{check_prefix(prefix)}*"


def _list_condition(prefix: str) -> Conditions:
    return {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}} if prefix else {}


def grant_read(bucket_arn: str, prefix: str = "models/") -> tuple[Statement, ...]:
    """Read objects under ``prefix`` and list that prefix (identity-policy statements)."""
    prefix = check_prefix(prefix)
    return (
        Statement(
            _sid("Read", prefix), "Allow", S3_READ_OBJECT, (objects_arn(bucket_arn, prefix),)
        ),
        Statement(
            _sid("List", prefix),
            "Allow",
            S3_LIST,
            (bucket_arn,),
            conditions=_list_condition(prefix),
        ),
    )


def grant_write(bucket_arn: str, prefix: str = "models/") -> tuple[Statement, ...]:
    """Upload (incl. multipart) and delete objects under ``prefix``."""
    prefix = check_prefix(prefix)
    return (
        Statement(
            _sid("Write", prefix), "Allow", S3_WRITE_OBJECT, (objects_arn(bucket_arn, prefix),)
        ),
    )


def via_s3(region: str, bucket_arn: str) -> Conditions:
    """The key may be used only by S3 in ``region``, for objects of this one bucket."""
    return {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
    }


def grant_decrypt_via_s3(key_arn: str, region: str, bucket_arn: str) -> Statement:
    """Decrypt with ``key_arn`` only through S3, only for ``bucket_arn``'s objects."""
    return Statement(
        "DecryptViaS3", "Allow", KMS_DECRYPT, (key_arn,), conditions=via_s3(region, bucket_arn)
    )


def grant_encrypt_via_s3(key_arn: str, region: str, bucket_arn: str) -> Statement:
    """Encrypt (data keys for uploads) and decrypt with ``key_arn``, only through S3."""
    return Statement(
        "EncryptDecryptViaS3",
        "Allow",
        KMS_ENCRYPT,
        (key_arn,),
        conditions=via_s3(region, bucket_arn),
    )


def pod_identity_trust(
    account_id: str, cluster_name: str, namespace: str, service_account: str
) -> PolicyDocument:
    """EKS Pod Identity: only ``cluster_name``'s agent, only for
    ``<namespace>/<service_account>`` (the session tags Pod Identity sets), only from
    ``account_id``."""
    return document(
        Statement(
            "EksPodIdentity",
            "Allow",
            ("sts:AssumeRole", "sts:TagSession"),
            principals={"Service": "pods.eks.amazonaws.com"},
            conditions={
                "StringEquals": {
                    "aws:SourceAccount": account_id,
                    "aws:RequestTag/eks-cluster-name": cluster_name,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                }
            },
        )
    )


def is_data_action(action: str) -> bool:
    """True for ``*``, any ``s3:`` action, ``kms:*`` and KMS cryptographic operations."""
    return (
        action in ("*", "kms:*")
        or action.startswith("s3:")
        or action.startswith(KMS_CRYPTO_PREFIXES)
    )
