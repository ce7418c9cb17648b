"""IAM of the shared LLM runtimes (:mod:`tenantry.aws.llm_policies`): the runtime role's
identity policy names exactly the granted adapter prefixes, parliament finds nothing above
LOW, and the tenant bucket policy fences the runtime to its prefixes."""

from __future__ import annotations

import json

import pytest

from tenantry.aws.llm_policies import (
    AdapterObject,
    AdapterReader,
    runtime_role_arn,
    runtime_trust,
    shared_runtime_policy,
)
from tenantry.aws.names import TenantNames
from tenantry.aws.tenant_policies import bucket_policy, key_policy

from .test_iam_documents import ALLOWED_SEVERITIES, parliament_findings

ACCOUNT = "111122223333"
ACME = TenantNames("acme", ACCOUNT, "us-east-1")
GLOBEX = TenantNames("globex", ACCOUNT, "us-east-1")
OBJECTS = [
    AdapterObject("acme", ACME.bucket_arn, "adapters/support/v3/"),
    AdapterObject("acme", ACME.bucket_arn, "adapters/sql/v1/"),
    AdapterObject("globex", GLOBEX.bucket_arn, "adapters/chat/"),
]


def _policy() -> dict:  # type: ignore[type-arg]
    return shared_runtime_policy(OBJECTS, region="us-east-1", account_id=ACCOUNT).to_dict()


def test_runtime_reads_exactly_the_granted_prefixes() -> None:
    stmts = _policy()["Statement"]
    reads = {s["Sid"]: s["Resource"] for s in stmts if s["Sid"].startswith("Read")}
    assert reads == {
        "ReadAcme1": f"{ACME.bucket_arn}/adapters/support/v3/*",
        "ReadAcme2": f"{ACME.bucket_arn}/adapters/sql/v1/*",
        "ReadGlobex1": f"{GLOBEX.bucket_arn}/adapters/chat/*",
    }
    lists = {
        s["Sid"]: s["Condition"]["StringLike"]["s3:prefix"] for s in stmts if "List" in s["Sid"]
    }
    assert lists["ListAcme2"] == ["adapters/sql/v1/", "adapters/sql/v1/*"]
    assert all(s["Effect"] == "Allow" for s in stmts)
    actions = {
        a for s in stmts for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "kms:Decrypt"}
    decrypt = {s["Sid"]: s for s in stmts if s["Sid"].startswith("Decrypt")}
    assert set(decrypt) == {"DecryptAcme", "DecryptGlobex"}
    cond = decrypt["DecryptGlobex"]["Condition"]
    assert cond["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": [GLOBEX.bucket_arn, f"{GLOBEX.bucket_arn}/*"]
    }
    assert cond["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}


def test_runtime_without_adapters_reads_nothing() -> None:
    doc = shared_runtime_policy([], region="us-east-1", account_id=ACCOUNT).to_dict()
    assert doc["Statement"] == [
        {"Sid": "NoTenantData", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    ]


@pytest.mark.parametrize("prefix", ["adapters/x", "/adapters/x/", "adapters/*/"])
def test_a_prefix_that_would_widen_the_grant_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="accepted is a key prefix"):
        shared_runtime_policy(
            [AdapterObject("acme", ACME.bucket_arn, prefix)],
            region="us-east-1",
            account_id=ACCOUNT,
        )


def test_parliament_finds_nothing_above_low() -> None:
    role = runtime_role_arn(ACCOUNT, "llama-3-8b")
    trust = runtime_trust(ACCOUNT, "ml-serving", "tenantry-llm", "llama-3-8b").to_dict()
    for s in trust["Statement"]:
        s["Resource"] = role  # parliament needs one; a trust policy's resource is the role
    reader = AdapterReader(role, ("adapters/support/v3/",))
    docs = {
        "runtime": json.dumps(_policy()),
        "trust": json.dumps(trust),
        "bucket": bucket_policy(
            ACME,
            "arn:aws:kms:us-east-1:111122223333:key/k",
            ["arn:aws:iam::111122223333:role/a"],
            admin_role=True,
            adapter_readers=[reader],
        ).to_json(),
        "key": key_policy(
            ACME, ["arn:aws:iam::111122223333:role/a"], admin_role=True, adapter_readers=[reader]
        ).to_json(),
    }
    for kind, text in docs.items():
        bad = [f for f in parliament_findings(text) if f[1] not in ALLOWED_SEVERITIES]
        assert not bad, (kind, bad)


def test_bucket_policy_fences_each_runtime_to_its_prefixes() -> None:
    a = AdapterReader(runtime_role_arn(ACCOUNT, "llama-3-8b"), ("adapters/support/v3/",))
    b = AdapterReader(runtime_role_arn(ACCOUNT, "mistral-7b"), ("adapters/sql/v1/",))
    doc = bucket_policy(
        ACME,
        "arn:aws:kms:us-east-1:111122223333:key/k",
        ["arn:aws:iam::111122223333:role/a"],
        admin_role=False,
        adapter_readers=[b, a],
    ).to_dict()
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    others = by_sid["DenyOtherPrincipals"]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert a.role_arn in others and b.role_arn in others
    # sorted by role ARN: llama-3-8b is 1, mistral-7b is 2; neither may read the other's prefix
    outside1 = by_sid["DenyLlmRuntime1OutsideAdapters"]
    assert outside1["Condition"] == {"ArnEquals": {"aws:PrincipalArn": a.role_arn}}
    assert outside1["NotResource"] == [ACME.bucket_arn, f"{ACME.bucket_arn}/adapters/support/v3/*"]
    outside2 = by_sid["DenyLlmRuntime2OutsideAdapters"]
    assert outside2["NotResource"] == [ACME.bucket_arn, f"{ACME.bucket_arn}/adapters/sql/v1/*"]
    listing = by_sid["DenyLlmRuntime2ListOutsideAdapters"]["Condition"]["StringNotLike"]
    assert listing == {"s3:prefix": ["adapters/sql/v1/", "adapters/sql/v1/*"]}
    assert "s3:PutObject" in by_sid["DenyLlmRuntime1Writes"]["Action"]


def test_no_reader_leaves_the_policies_as_they_were() -> None:
    admins = ["arn:aws:iam::111122223333:role/a"]
    plain = bucket_policy(ACME, "k", admins, admin_role=True)
    assert plain == bucket_policy(ACME, "k", admins, admin_role=True, adapter_readers=())
    assert "Llm" not in plain.to_json()
    assert "Llm" not in key_policy(ACME, admins, admin_role=True).to_json()
