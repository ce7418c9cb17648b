"""Every IAM policy document the AWS program generates, for every example tenant:
exact statements (golden files), parliament, tenant isolation, no data action on ``*``.

Regenerate the golden files after an intended change with
``TENANTRY_UPDATE_GOLDEN=1 pytest tests/aws/test_iam_documents.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import parliament
import pytest

from tenantry.aws.llm_policies import runtime_role_arn
from tenantry.aws.names import TenantNames
from tenantry.aws.policy import is_data_action
from tenantry.spec import ResolvedTenant
from tenantry.triton import deployed_prefixes

from .documents import Doc, as_list, documents, strings
from .mocks import ACCOUNT, PLATFORM_KEY_ARN, Recording, platform

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "iam"
UPDATE = os.environ.get("TENANTRY_UPDATE_GOLDEN") == "1"
ALLOWED_SEVERITIES = {"MUTE", "INFO", "LOW"}
# Documents per tenant: key policy (tenant-key only), bucket policy, boundary, two trust
# policies and two inline role policies (admin role because every example has admins).
EXPECTED_KINDS = {
    "tenant-key": {"key": 1, "bucket": 1, "identity": 3, "trust": 2},
    "platform-key": {"bucket": 1, "identity": 3, "trust": 2},
}


def docs_of(rec: Recording) -> list[Doc]:
    return documents(rec, ACCOUNT)


def test_every_document_is_found(
    recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    for name, rec in recordings.items():
        kinds: dict[str, int] = {}
        for d in docs_of(rec):
            kinds[d.kind] = kinds.get(d.kind, 0) + 1
        assert kinds == EXPECTED_KINDS[tenants[name].storage.encryption], name


def test_golden_iam_documents(recordings: dict[str, Recording]) -> None:
    """The exact statements of every document, per tenant, pinned in tests/golden/iam/."""
    for name, rec in recordings.items():
        folder = GOLDEN / name
        wanted = {d.file_name: json.dumps(d.doc, indent=2) + "\n" for d in docs_of(rec)}
        if UPDATE:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in set(p.name for p in folder.glob("*.json")) - set(wanted):
                (folder / stale).unlink()
            for file, text in wanted.items():
                (folder / file).write_text(text, "utf-8")
        present = {p.name for p in folder.glob("*.json")}
        assert present == set(wanted), f"{name}: golden files differ from the generated set"
        for file, text in wanted.items():
            assert (folder / file).read_text("utf-8") == text, (
                f"{name}/{file} changed; review and regenerate with TENANTRY_UPDATE_GOLDEN=1"
            )


def _parliament_input(d: Doc) -> str:
    """Trust policies have no Resource (IAM forbids one); their implicit resource is the role
    itself, so parliament (which requires one) sees the role's ARN."""
    doc = json.loads(json.dumps(d.doc))
    if d.kind == "trust":
        for s in doc["Statement"]:
            s["Resource"] = d.role_arn
    return json.dumps(doc)


def parliament_findings(text: str) -> list[tuple[str, str, str]]:
    policy = parliament.analyze_policy_string(text)
    return [
        (f.issue, f.severity, str(f.detail))
        for f in (parliament.enhance_finding(x) for x in policy.findings)
    ]


def test_parliament_no_finding_above_low(recordings: dict[str, Recording]) -> None:
    checked = 0
    for name, rec in recordings.items():
        for d in docs_of(rec):
            bad = [
                f
                for f in parliament_findings(_parliament_input(d))
                if f[1] not in ALLOWED_SEVERITIES
            ]
            assert not bad, f"{name}/{d.file_name}: {bad}"
            checked += 1
    assert checked == 4 * 7 - 1  # globex uses the platform key: no key policy


def test_parliament_is_not_blind() -> None:
    """The same check flags a broken document (so a pass above means something)."""
    broken = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}],
    }
    assert any(
        f[0] == "RESOURCE_MISMATCH" and f[1] not in ALLOWED_SEVERITIES
        for f in parliament_findings(json.dumps(broken))
    )


def _own_arns(t: ResolvedTenant, key_arn: str) -> set[str]:
    n = TenantNames(t.name, ACCOUNT, t.region)
    b = n.bucket_arn
    return {
        b,
        f"{b}/*",
        f"{b}/models/*",
        *(f"{b}/{prefix}*" for prefix in deployed_prefixes(t.models)),  # write-once prefixes
        key_arn,
        n.inference_role_arn,
        n.admin_role_arn,
        n.account_root_arn,
        *platform().admins,
        *t.access.admins,
        # the shared LLM runtimes the tenant granted its adapters, and those prefixes
        *(runtime_role_arn(ACCOUNT, a.base_model) for a in t.llm_adapters),
        *(f"{b}/{a.path}*" for a in t.llm_adapters),
    }


def test_no_document_names_another_tenants_resources(
    recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    keys = {name: rec.outputs["key_arn"] for name, rec in recordings.items()}
    for name, rec in recordings.items():
        t = tenants[name]
        own = _own_arns(t, keys[name])
        others = [o for o in tenants if o != name]
        for d in docs_of(rec):
            text = json.dumps(d.doc)
            for o in others:
                ot = tenants[o]
                assert f"tenantry-{o}-" not in text, f"{name}/{d.file_name} names {o}"
                assert f"alias/tenantry/{o}" not in text
                if keys[o] != PLATFORM_KEY_ARN:
                    assert keys[o] not in text, f"{name}/{d.file_name} names {o}'s key"
                for admin in ot.access.admins:
                    assert admin not in text, f"{name}/{d.file_name} names {o}'s admin"
            arns = {s for s in strings(d.doc) if s.startswith("arn:")}
            assert arns <= own, f"{name}/{d.file_name}: foreign ARNs {sorted(arns - own)}"


def test_no_data_action_on_resource_star(recordings: dict[str, Recording]) -> None:
    """In identity and bucket policies no Allow of a data action has ``Resource: "*"``.
    Key policies are exempt: there ``"*"`` means the key the policy is attached to (the ARN
    does not exist before the key). Trust policies have no Resource at all."""
    for name, rec in recordings.items():
        for d in docs_of(rec):
            for s in d.doc["Statement"]:
                if d.kind == "trust":
                    assert "Resource" not in s and "NotResource" not in s
                    continue
                if d.kind == "key" or s["Effect"] != "Allow":
                    continue
                resources = as_list(s.get("Resource", []))
                actions = as_list(s["Action"])
                assert "NotResource" not in s, f"{name}/{d.file_name}: Allow with NotResource"
                assert not ("*" in resources and any(is_data_action(a) for a in actions)), (
                    f"{name}/{d.file_name} {s['Sid']}: data action on Resource *"
                )
                assert not any(r.endswith(":::*") or r == "arn:aws:s3:::*/*" for r in resources)


def test_key_policy_gives_use_only_to_the_tenant_roles(
    recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    for name, rec in recordings.items():
        t = tenants[name]
        n = TenantNames(name, ACCOUNT, t.region)
        for d in (x for x in docs_of(rec) if x.kind == "key"):
            crypto = [
                s
                for s in d.doc["Statement"]
                if any(is_data_action(a) for a in as_list(s["Action"]))
            ]
            runtimes = sorted({runtime_role_arn(ACCOUNT, a.base_model) for a in t.llm_adapters})
            assert {s["Sid"] for s in crypto} == {
                "InferenceDecryptViaS3",
                "AdminEncryptDecryptViaS3",
                *(["LlmRuntimeDecryptViaS3"] if runtimes else []),
            }
            for s in crypto:
                cond = s["Condition"]
                if s["Sid"] == "LlmRuntimeDecryptViaS3":
                    # decrypt only (no encrypt), only the runtimes of the tenant's adapters
                    assert as_list(s["Action"]) == ["kms:Decrypt"]
                    assert as_list(cond["ArnEquals"]["aws:PrincipalArn"]) == runtimes
                    continue
                assert cond["ArnEquals"]["aws:PrincipalArn"] in (
                    n.inference_role_arn,
                    n.admin_role_arn,
                )
                assert cond["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
                assert cond["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [
                    n.bucket_arn,
                    f"{n.bucket_arn}/*",
                ]
            admin = next(s for s in d.doc["Statement"] if s["Sid"] == "KeyAdministration")
            assert admin["Principal"]["AWS"] == platform().admins[0]
            assert not any(is_data_action(a) for a in admin["Action"])


@pytest.mark.parametrize("issue", ["UNKNOWN_FEDERATION_SOURCE", "UNKNOWN_CONDITION_FOR_ACTION"])
def test_irsa_trust_known_parliament_gaps(issue: str) -> None:
    """IRSA is an option no example tenant uses. parliament 1.6.4 knows no OIDC providers and
    no per-issuer condition keys, so it reports these two MEDIUM findings on every IRSA
    trust policy; the test pins that these are the *only* findings."""
    from tenantry.aws.tenant_policies import irsa_trust

    n = TenantNames("acme", ACCOUNT, "us-east-1")
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    doc = irsa_trust(n, f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}", f"https://{issuer}")
    data = doc.to_dict()
    for s in data["Statement"]:
        s["Resource"] = n.inference_role_arn
    found = parliament_findings(json.dumps(data))
    assert {f[0] for f in found} == {"UNKNOWN_FEDERATION_SOURCE", "UNKNOWN_CONDITION_FOR_ACTION"}
    assert any(f[0] == issue for f in found)
