"""The onboarding gate against a REAL moto S3 server: the bucket-side artifact digest, and
what moto can check of the write-once bucket policy.

Write-once, as generated (:func:`tenantry.aws.tenant_policies.write_once`): on a deployed
version's prefix the tenant's roles may neither delete nor upload without
``If-None-Match: *``. What moto 5.2.5 enforces and what it cannot:

- it evaluates a bucket policy's Deny statements by action and resource, so the tests below
  show that the generated statements cover delete, overwrite and delete-version of every
  deployed prefix and nothing else (other prefixes stay writable, reads stay allowed);
- it enforces S3 conditional writes: ``If-None-Match: *`` on an existing key answers
  ``412 PreconditionFailed``, which is what makes the allowed upload write-once;
- it ignores bucket-policy Conditions, so each conditioned Deny applies to everyone there:
  that an upload *with* ``If-None-Match`` is let through (``Null: s3:if-none-match``) and
  that only the tenant's roles are restricted (``ArnLike: aws:PrincipalArn``; the deployer
  and the platform admins are not) cannot be shown with moto. The document tests and the
  golden policies pin those conditions; AWS documents both keys (S3 condition keys,
  ``s3:if-none-match``; IAM global condition keys, ``aws:PrincipalArn``).

The digest tests run moto without IAM enforcement: moto 5.2.5 rejects the SigV4 signature of
a list request whose prefix holds a ``/`` when it checks signatures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantry.artifacts import artifact_prefix, bucket_digest, directory_digest
from tenantry.aws.names import TenantNames
from tenantry.aws.policy import document
from tenantry.aws.tenant_policies import write_once
from tests.unit.test_artifacts import TREE, make

from .moto_server import MOTO_ACCOUNT, Moto, moto_server

pytestmark = pytest.mark.server
NAMES = TenantNames("acme", MOTO_ACCOUNT, "us-east-1")
DEPLOYED = "models/fraud-detector/v12/"


def upload(s3: Any, bucket: str, prefix: str, root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.put_object(
                Bucket=bucket,
                Key=prefix + path.relative_to(root).as_posix(),
                Body=path.read_bytes(),
            )


@pytest.fixture(scope="module")
def plain() -> Iterator[Moto]:
    with moto_server(iam_auth=False) as m:
        yield m


def test_bucket_digest_equals_the_local_digest(plain: Moto, tmp_path: Path) -> None:
    s3 = plain.client("s3")
    s3.create_bucket(Bucket=NAMES.bucket_name)
    root = make(tmp_path / "12", TREE)
    prefix = artifact_prefix("fraud-detector", "12")
    upload(s3, NAMES.bucket_name, prefix, root)
    # the generated config one level up and a console's folder marker are not entries
    s3.put_object(
        Bucket=NAMES.bucket_name,
        Key="models/fraud-detector/v12/fraud-detector/config.pbtxt",
        Body=b"name: x",
    )
    s3.put_object(Bucket=NAMES.bucket_name, Key=prefix + "sub dir/", Body=b"")
    want = directory_digest(root)
    assert bucket_digest(s3, NAMES.bucket_name, "fraud-detector", "12") == want
    s3.put_object(Bucket=NAMES.bucket_name, Key=prefix + "model.onnx", Body=b"swapped")
    assert bucket_digest(s3, NAMES.bucket_name, "fraud-detector", "12") != want


def test_an_empty_prefix_has_no_digest(plain: Moto) -> None:
    from tenantry.artifacts import DigestError

    s3 = plain.client("s3")
    s3.create_bucket(Bucket="tenantry-empty-123456789012")
    with pytest.raises(DigestError, match="models/m/v1/m/1/: no files"):
        bucket_digest(s3, "tenantry-empty-123456789012", "m", "1")


@pytest.fixture(scope="module")
def enforced() -> Iterator[tuple[Moto, Any]]:
    """A bucket whose policy is exactly the generated write-once statements, and an S3
    client of a user standing in for the tenant's admin role (allowed s3:* on the bucket)."""
    with moto_server() as m:
        s3, iam = m.client("s3"), m.client("iam")
        s3.create_bucket(Bucket=NAMES.bucket_name)
        s3.put_object(
            Bucket=NAMES.bucket_name,
            Key=DEPLOYED + "fraud-detector/12/model.onnx",
            Body=b"reviewed weights",
        )
        policy = document(write_once(NAMES, [DEPLOYED], admin_role=True)).to_dict()
        s3.put_bucket_policy(Bucket=NAMES.bucket_name, Policy=json.dumps(policy))
        iam.create_user(UserName="tenant-admin")
        bucket = NAMES.bucket_arn
        iam.put_user_policy(
            UserName="tenant-admin",
            PolicyName="bucket",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "s3:*", "Resource": [bucket, bucket + "/*"]}
                    ],
                }
            ),
        )
        key = iam.create_access_key(UserName="tenant-admin")["AccessKey"]
        yield m, m.client("s3", key["AccessKeyId"], key["SecretAccessKey"])


def _denied(call: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"] in ("AccessDenied", "403")
    return False


def test_deployed_prefix_cannot_be_deleted_or_overwritten(enforced: tuple[Moto, Any]) -> None:
    _, tenant = enforced
    key = DEPLOYED + "fraud-detector/12/model.onnx"
    b = NAMES.bucket_name
    assert _denied(lambda: tenant.delete_object(Bucket=b, Key=key))
    versions = tenant.list_object_versions(Bucket=b).get("Versions", [])
    [version] = [v["VersionId"] for v in versions if v["Key"] == key] or ["null"]
    assert _denied(lambda: tenant.delete_object(Bucket=b, Key=key, VersionId=version))
    assert _denied(lambda: tenant.put_object(Bucket=b, Key=key, Body=b"swapped"))
    assert tenant.get_object(Bucket=b, Key=key)["Body"].read() == b"reviewed weights"


def test_other_prefixes_stay_writable_and_reads_allowed(enforced: tuple[Moto, Any]) -> None:
    _, tenant = enforced
    b = NAMES.bucket_name
    nxt = "models/fraud-detector/v14/fraud-detector/14/model.onnx"
    tenant.put_object(Bucket=b, Key=nxt, Body=b"new version")
    tenant.put_object(Bucket=b, Key=nxt, Body=b"fixed before it is deployed")
    tenant.delete_object(Bucket=b, Key=nxt)
    # a prefix that merely starts like the deployed one is not covered
    tenant.put_object(Bucket=b, Key="models/fraud-detector/v120/x", Body=b"1")


def test_conditional_writes_make_the_allowed_upload_write_once(
    enforced: tuple[Moto, Any],
) -> None:
    from botocore.exceptions import ClientError

    m, _ = enforced
    s3 = m.client("s3")
    key = "models/fraud-detector/v15/fraud-detector/15/model.onnx"
    s3.put_object(Bucket=NAMES.bucket_name, Key=key, Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=NAMES.bucket_name, Key=key, Body=b"second", IfNoneMatch="*")
