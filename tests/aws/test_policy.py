"""The pure policy builder and names (no Pulumi)."""

from __future__ import annotations

import pytest

from tenantry.aws.names import TenantNames
from tenantry.aws.policy import (
    PolicyDocument,
    Statement,
    document,
    grant_decrypt_via_s3,
    grant_read,
    grant_write,
    is_data_action,
)

B = "arn:aws:s3:::tenantry-acme-111122223333"
K = "arn:aws:kms:us-east-1:111122223333:key/k"


def test_grant_read_is_prefix_scoped() -> None:
    assert document(grant_read(B, "models/")).to_dict()["Statement"] == [
        {
            "Sid": "ReadModels",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{B}/models/*",
        },
        {
            "Sid": "ListModels",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": B,
            "Condition": {"StringLike": {"s3:prefix": ["models/", "models/*"]}},
        },
    ]


def test_grant_write_and_decrypt() -> None:
    (w,) = grant_write(B, "models/")
    assert w.resources == (f"{B}/models/*",) and "s3:PutObject" in w.actions
    d = grant_decrypt_via_s3(K, "eu-west-1", B).to_dict()
    assert d["Resource"] == K and d["Action"] == "kms:Decrypt"
    assert d["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [B, f"{B}/*"]},
    }


@pytest.mark.parametrize("prefix", ["models", "/models/", "mod*/", "a/*/"])
def test_bad_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match=r"prefix .*: accepted is a key prefix ending in '/'"):
        grant_read(B, prefix)


def test_statement_and_document_validation() -> None:
    with pytest.raises(ValueError, match="only letters and digits"):
        Statement("bad-sid", "Allow", ("s3:GetObject",), (B,))
    with pytest.raises(ValueError, match="at least one action"):
        Statement("X", "Allow", (), (B,))
    with pytest.raises(ValueError, match="exclude each other"):
        Statement("X", "Deny", ("s3:*",), (B,), not_resources=(B,))
    s = Statement("X", "Allow", ("s3:GetObject",), (B,))
    with pytest.raises(ValueError, match=r"duplicate statement sids \['X'\]"):
        PolicyDocument((s, s))
    with pytest.raises(ValueError, match="at least one statement"):
        PolicyDocument(())


def test_data_actions() -> None:
    assert all(
        map(
            is_data_action,
            [
                "*",
                "s3:GetObject",
                "s3:*",
                "kms:Decrypt",
                "kms:*",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptTo",
            ],
        )
    )
    assert not any(map(is_data_action, ["kms:DescribeKey", "iam:PassRole", "sts:AssumeRole"]))


def test_names() -> None:
    n = TenantNames("acme", "111122223333", "us-east-1")
    assert (n.bucket_name, n.key_alias, n.service_account) == (
        "tenantry-acme-111122223333",
        "alias/tenantry/acme",
        "acme-inference",
    )
    assert n.inference_role_arn == "arn:aws:iam::111122223333:role/tenantry/tenantry-acme-inference"
    assert TenantNames("acme", "111122223333", "us-east-1", bucket_suffix="stg").bucket_name == (
        "tenantry-acme-stg"
    )
    with pytest.raises(ValueError, match="partition 'aws-x'"):
        TenantNames("acme", "111122223333", "us-east-1", partition="aws-x")
    with pytest.raises(ValueError, match="bucket_suffix"):
        TenantNames("a" * 40, "111122223333", "us-east-1", bucket_suffix="x" * 20)


def test_write_once_covers_deployed_prefixes_for_the_tenant_roles_only() -> None:
    from tenantry.aws.names import TenantNames
    from tenantry.aws.tenant_policies import bucket_policy, write_once

    n = TenantNames("acme", "111122223333", "us-east-1")
    assert write_once(n, [], admin_role=True) == ()
    put, delete = write_once(n, ["models/m/v1/", "models/m/v2/"], admin_role=False)
    assert put.actions == ("s3:PutObject",) and put.effect == delete.effect == "Deny"
    assert (
        put.resources
        == delete.resources
        == (
            f"{n.bucket_arn}/models/m/v1/*",
            f"{n.bucket_arn}/models/m/v2/*",
        )
    )
    assert put.conditions["Null"] == {"s3:if-none-match": "true"}  # upload only if absent
    for s in (put, delete):
        assert s.conditions["ArnLike"] == {"aws:PrincipalArn": [n.inference_role_arn]}
    assert set(delete.actions) == {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    doc = bucket_policy(
        n,
        "arn:aws:kms:us-east-1:111122223333:key/k",
        ["arn:aws:iam::111122223333:role/a"],
        admin_role=True,
        deployed=["models/m/v1/"],
    ).to_dict()
    sids = [s["Sid"] for s in doc["Statement"]]
    assert sids[-2:] == ["DenyOverwriteOfDeployedVersions", "DenyDeleteOfDeployedVersions"]
    with pytest.raises(ValueError, match="prefix"):
        write_once(n, ["models/m/v1"], admin_role=True)  # not a prefix ending in '/'
