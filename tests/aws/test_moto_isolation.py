"""Tenant isolation against a REAL moto server with IAM enforcement (local-servers.md §3).

Two example tenants (acme, initech) get a real KMS key, a bucket with default SSE-KMS under
that key, the generated permissions boundary, and roles carrying the generated identity
policies (:mod:`tenantry.aws.tenant_policies`, with the real key ARNs moto returns). Each
tenant's inference role, assumed through STS, reads its own ``models/`` prefix and is denied
everywhere else; the admin role uploads to its own prefix only.

What moto 5.2.5 does NOT enforce, so this test cannot show it (the golden, parliament and
component tests pin those documents instead):
- bucket policies: moto evaluates only ``Principal: "*"`` statements and ignores their
  Conditions, so our conditional denies would deny everyone; the buckets here carry none;
- KMS key policies and KMS resource scoping: moto checks KMS actions against ``"*"`` only
  (a key-ARN-scoped grant never matches), and S3 does not call KMS as the caller, so
  ``kms:ViaService`` and the encryption-context condition are untested here;
- Condition keys in identity policies (e.g. ``s3:prefix`` on ListBucket);
- permissions boundaries (a role with an extra ``s3:*`` policy is not capped by moto);
- the Pod Identity trust policy: the roles here trust the test's admin user instead
  (``pods.eks.amazonaws.com`` cannot call moto's STS).
Also: moto 5.2.5 rejects the SigV4 signature of list requests whose ``Prefix`` contains a
``/``, so listing the own prefix is not exercised; cross-tenant listing is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tenantry.aws import tenant_policies as tp
from tenantry.aws.llm_policies import (
    AdapterObject,
    runtime_role_arn,
    runtime_role_name,
    shared_runtime_policy,
)
from tenantry.aws.names import IAM_PATH, TenantNames

from .moto_server import MOTO_ACCOUNT, Moto, moto_server

pytestmark = pytest.mark.server
TENANTS = ("acme", "initech")
MODEL_KEY = "models/classifier/1/model.onnx"


@dataclass(frozen=True)
class Provisioned:
    names: TenantNames
    key_arn: str


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    with moto_server() as m:
        yield m


def _trust_test_admin(m: Moto) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": m.admin_arn}, "Action": "sts:AssumeRole"}
            ],
        }
    )


@pytest.fixture(scope="module")
def provisioned(moto: Moto) -> dict[str, Provisioned]:
    kms, s3, iam = moto.client("kms"), moto.client("s3"), moto.client("iam")
    out = {}
    for tenant in TENANTS:
        n = TenantNames(tenant, MOTO_ACCOUNT, "us-east-1")
        key = kms.create_key(
            Policy=tp.key_policy(n, [moto.admin_arn], admin_role=True).to_json(),
            Description=f"tenantry {tenant}",
        )["KeyMetadata"]
        kms.create_alias(AliasName=n.key_alias, TargetKeyId=key["KeyId"])
        s3.create_bucket(Bucket=n.bucket_name)
        s3.put_public_access_block(
            Bucket=n.bucket_name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_encryption(
            Bucket=n.bucket_name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key["Arn"],
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        boundary = iam.create_policy(
            PolicyName=n.boundary_name,
            Path=IAM_PATH,
            PolicyDocument=tp.boundary_policy(n, key["Arn"]).to_json(),
        )["Policy"]["Arn"]
        assert boundary == n.boundary_arn
        for purpose, doc in (
            ("inference", tp.read_grant(n.bucket_arn, key["Arn"], n.region)),
            ("admin", tp.read_write_grant(n.bucket_arn, key["Arn"], n.region)),
        ):
            role = iam.create_role(
                RoleName=n.role_name(purpose),
                Path=IAM_PATH,
                AssumeRolePolicyDocument=_trust_test_admin(moto),
                PermissionsBoundary=boundary,
            )["Role"]
            assert role["Arn"] == n.role_arn(purpose)  # the names the policies predict
            iam.put_role_policy(
                RoleName=n.role_name(purpose),
                PolicyName=f"models-{purpose}",
                PolicyDocument=doc.to_json(),
            )
        s3.put_object(Bucket=n.bucket_name, Key=MODEL_KEY, Body=f"weights of {tenant}".encode())
        s3.put_object(Bucket=n.bucket_name, Key="scratch/notes.txt", Body=b"not a model")
        out[tenant] = Provisioned(n, key["Arn"])
    return out


def _session(moto: Moto, role_arn: str, service: str) -> Any:
    creds = moto.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="tenantry-test")[
        "Credentials"
    ]
    return moto.client(
        service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )


def _error(call: Any, **kwargs: Any) -> str:
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "OK"


def test_enforcement_is_on(moto: Moto, provisioned: dict[str, Provisioned]) -> None:
    """Control: moto is checking requests (an unknown key is refused), and the objects are
    stored under the tenant's own key."""
    s3 = moto.client("s3", "AKIAUNKNOWN000000000", "secret")
    assert _error(s3.list_buckets) == "InvalidAccessKeyId"
    for p in provisioned.values():
        head = moto.client("s3").head_object(Bucket=p.names.bucket_name, Key=MODEL_KEY)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == p.key_arn


@pytest.mark.parametrize(("me", "other"), [("acme", "initech"), ("initech", "acme")])
def test_inference_role_reads_own_models_only(
    me: str, other: str, moto: Moto, provisioned: dict[str, Provisioned]
) -> None:
    mine, theirs = provisioned[me].names, provisioned[other].names
    s3 = _session(moto, mine.inference_role_arn, "s3")
    body = s3.get_object(Bucket=mine.bucket_name, Key=MODEL_KEY)["Body"].read()
    assert body == f"weights of {me}".encode()
    assert _error(s3.get_object, Bucket=theirs.bucket_name, Key=MODEL_KEY) == "AccessDenied"
    assert _error(s3.list_objects_v2, Bucket=theirs.bucket_name, Prefix="models") == (
        "AccessDenied"
    )
    # inside its own bucket: only models/, and read-only
    assert _error(s3.get_object, Bucket=mine.bucket_name, Key="scratch/notes.txt") == (
        "AccessDenied"
    )
    assert _error(s3.put_object, Bucket=mine.bucket_name, Key="models/x", Body=b"x") == (
        "AccessDenied"
    )
    assert _error(s3.delete_object, Bucket=mine.bucket_name, Key=MODEL_KEY) == "AccessDenied"


@pytest.mark.parametrize(("me", "other"), [("acme", "initech"), ("initech", "acme")])
def test_admin_role_uploads_to_own_models_only(
    me: str, other: str, moto: Moto, provisioned: dict[str, Provisioned]
) -> None:
    mine, theirs = provisioned[me].names, provisioned[other].names
    s3 = _session(moto, mine.admin_role_arn, "s3")
    s3.put_object(Bucket=mine.bucket_name, Key="models/classifier/2/model.onnx", Body=b"v2")
    assert (
        s3.get_object(Bucket=mine.bucket_name, Key="models/classifier/2/model.onnx")["Body"].read()
        == b"v2"
    )
    assert _error(s3.put_object, Bucket=theirs.bucket_name, Key="models/evil", Body=b"x") == (
        "AccessDenied"
    )
    assert _error(s3.get_object, Bucket=theirs.bucket_name, Key=MODEL_KEY) == "AccessDenied"
    assert _error(s3.put_object, Bucket=mine.bucket_name, Key="scratch/x", Body=b"x") == (
        "AccessDenied"
    )


def test_tenant_roles_cannot_touch_iam(moto: Moto, provisioned: dict[str, Provisioned]) -> None:
    n = provisioned["acme"].names
    iam = _session(moto, n.admin_role_arn, "iam")
    assert _error(iam.list_roles) == "AccessDenied"
    assert (
        _error(
            iam.put_role_policy,
            RoleName=n.role_name("admin"),
            PolicyName="x",
            PolicyDocument=_trust_test_admin(moto),
        )
        == "AccessDenied"
    )


GRANTED = "adapters/support-agent/v3/"


def test_shared_llm_runtime_reads_granted_adapter_prefixes_only(
    moto: Moto, provisioned: dict[str, Provisioned]
) -> None:
    """The shared runtime of a base model, with the identity policy the platform generates
    for acme's one granted adapter (:func:`tenantry.aws.llm_policies.shared_runtime_policy`),
    reads that prefix and nothing else: not acme's models or other adapters, nothing of
    initech's bucket, and it writes nowhere."""
    acme, initech = provisioned["acme"].names, provisioned["initech"].names
    s3_admin, iam = moto.client("s3"), moto.client("iam")
    for n in (acme, initech):
        for key in (f"{GRANTED}adapter_model.safetensors", "adapters/other/adapter.bin"):
            s3_admin.put_object(Bucket=n.bucket_name, Key=key, Body=f"{n.tenant} {key}".encode())
    policy = shared_runtime_policy(
        [AdapterObject("acme", acme.bucket_arn, GRANTED)],
        region="us-east-1",
        account_id=MOTO_ACCOUNT,
    )
    role = iam.create_role(
        RoleName=runtime_role_name("llama-3-8b"),
        Path=IAM_PATH,
        AssumeRolePolicyDocument=_trust_test_admin(moto),
    )["Role"]
    assert role["Arn"] == runtime_role_arn(MOTO_ACCOUNT, "llama-3-8b")  # what tenants name
    iam.put_role_policy(
        RoleName=runtime_role_name("llama-3-8b"),
        PolicyName="adapters-read",
        PolicyDocument=policy.to_json(),
    )
    s3 = _session(moto, role["Arn"], "s3")
    key = f"{GRANTED}adapter_model.safetensors"
    assert s3.get_object(Bucket=acme.bucket_name, Key=key)["Body"].read() == f"acme {key}".encode()
    denied = [
        (acme.bucket_name, MODEL_KEY),  # the tenant's own models
        (acme.bucket_name, "adapters/other/adapter.bin"),  # an adapter not granted
        (acme.bucket_name, "scratch/notes.txt"),
        (initech.bucket_name, key),  # the same prefix in another tenant's bucket
        (initech.bucket_name, MODEL_KEY),
    ]
    for bucket, k in denied:
        assert _error(s3.get_object, Bucket=bucket, Key=k) == "AccessDenied", (bucket, k)
    assert _error(s3.put_object, Bucket=acme.bucket_name, Key=key, Body=b"x") == "AccessDenied"
    assert _error(s3.delete_object, Bucket=acme.bucket_name, Key=key) == "AccessDenied"
    assert _error(s3.list_objects_v2, Bucket=initech.bucket_name, Prefix="adapters") == (
        "AccessDenied"
    )
