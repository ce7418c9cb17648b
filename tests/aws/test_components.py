"""Component contract under mocks: types, names and every security-relevant input."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tenantry import Identity
from tenantry.aws.llm_policies import runtime_role_arn
from tenantry.spec import ResolvedTenant

from .mocks import ACCOUNT, PLATFORM_KEY_ARN, SUBNETS, Recording, default_args, platform, record


def policy(r_inputs: dict, field: str = "policy") -> dict:  # type: ignore[type-arg]
    return json.loads(r_inputs[field])


def test_outputs_for_the_kubernetes_side(recordings: dict[str, Recording]) -> None:
    assert recordings["acme"].outputs == {
        "bucket_name": f"tenantry-acme-{ACCOUNT}",
        "inference_role_arn": f"arn:aws:iam::{ACCOUNT}:role/tenantry/tenantry-acme-inference",
        "key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/acme-key-key",
        "admin_role_arn": f"arn:aws:iam::{ACCOUNT}:role/tenantry/tenantry-acme-admin",
    }
    assert recordings["globex"].outputs["key_arn"] == PLATFORM_KEY_ARN


def test_component_tree(recordings: dict[str, Recording]) -> None:
    # registration order of sibling components is not guaranteed: compare as a set
    types = {(r.typ, r.name) for r in recordings["acme"].resources if not r.custom}
    assert types == {
        ("tenantry:aws:TenantAws", "acme"),
        ("tenantry:aws:TenantKey", "acme-key"),
        ("tenantry:aws:TenantBucket", "acme-storage"),
        ("tenantry:aws:TenantIdentity", "acme-identity"),
    }
    umbrella = {r.name for r in recordings["umbrella"].of_type("tenantry:aws:DedicatedNodeGroup")}
    assert umbrella == {"umbrella-ng-h100", "umbrella-ng-h200"}


def test_key_defaults(recordings: dict[str, Recording]) -> None:
    key = recordings["acme"].named("acme-key-key").inputs
    assert {
        k: key[k]
        for k in (
            "keyUsage",
            "customerMasterKeySpec",
            "multiRegion",
            "enableKeyRotation",
            "rotationPeriodInDays",
            "deletionWindowInDays",
            "bypassPolicyLockoutSafetyCheck",
        )
    } == {
        "keyUsage": "ENCRYPT_DECRYPT",
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "multiRegion": False,
        "enableKeyRotation": True,
        "rotationPeriodInDays": 365,
        "deletionWindowInDays": 30,
        "bypassPolicyLockoutSafetyCheck": False,
    }
    alias = recordings["acme"].named("acme-key-alias").inputs
    assert alias == {"name": "alias/tenantry/acme", "targetKeyId": "acme-key-key"}


def test_platform_key_tenant_has_no_key(recordings: dict[str, Recording]) -> None:
    rec = recordings["globex"]
    assert rec.of_type("aws:kms/key:Key") == [] and rec.of_type("tenantry:aws:TenantKey") == []
    sse = rec.named("globex-storage-encryption").inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == PLATFORM_KEY_ARN


@pytest.mark.parametrize("name", ["acme", "globex", "initech", "umbrella"])
def test_bucket_secure_defaults(
    name: str, recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    rec, t = recordings[name], tenants[name]
    key_arn = rec.outputs["key_arn"]
    bucket = rec.named(f"{name}-storage-bucket").inputs
    assert bucket["bucket"] == f"tenantry-{name}-{ACCOUNT}"
    assert bucket["forceDestroy"] is False
    bid = f"tenantry-{name}-{ACCOUNT}"
    assert rec.named(f"{name}-storage-public-access-block").inputs == {
        "bucket": bid,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert rec.named(f"{name}-storage-ownership").inputs == {
        "bucket": bid,
        "rule": {"objectOwnership": "BucketOwnerEnforced"},
    }
    assert rec.named(f"{name}-storage-encryption").inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": key_arn,
            },
            "bucketKeyEnabled": True,
        }
    ]
    assert rec.named(f"{name}-storage-versioning").inputs["versioningConfiguration"] == {
        "status": "Enabled" if t.storage.versioning else "Suspended"
    }
    rules = rec.named(f"{name}-storage-lifecycle").inputs["rules"]
    assert rules[0]["noncurrentVersionExpiration"] == {"noncurrentDays": t.storage.retention_days}
    assert rules[0]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules[1]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert all(r["status"] == "Enabled" for r in rules)
    doc = policy(rec.named(f"{name}-storage-policy").inputs)
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert all(s["Effect"] == "Deny" and s["Principal"] == "*" for s in doc["Statement"])
    assert by_sid["DenyInsecureTransport"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert by_sid["DenyOtherKmsKey"]["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}
    }
    assert by_sid["DenyOtherEncryption"]["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
    }
    assert by_sid["DenyOtherPrincipals"]["Condition"] == {
        "ArnNotLike": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{ACCOUNT}:role/tenantry/tenantry-{name}-inference",
                f"arn:aws:iam::{ACCOUNT}:role/tenantry/tenantry-{name}-admin",
                *platform().admins,
                # shared LLM runtimes of the tenant's adapters (fenced to their prefixes)
                *sorted({runtime_role_arn(ACCOUNT, a.base_model) for a in t.llm_adapters}),
            ]
        }
    }


def test_force_destroy_only_when_the_tenant_file_says_so(
    tenants: dict[str, ResolvedTenant],
) -> None:
    t = tenants["acme"]
    t2 = replace(t, storage=t.storage.model_copy(update={"force_destroy": True}))
    rec = record(t2)
    assert rec.named("acme-storage-bucket").inputs["forceDestroy"] is True


@pytest.mark.parametrize("name", ["acme", "umbrella"])
def test_identity(
    name: str, recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    rec = recordings[name]
    boundary = rec.named(f"{name}-identity-boundary").inputs
    assert (boundary["name"], boundary["path"]) == (f"tenantry-{name}-boundary", "/tenantry/")
    boundary_arn = f"arn:aws:iam::{ACCOUNT}:policy/tenantry/tenantry-{name}-boundary"
    role = rec.named(f"{name}-identity-inference-role").inputs
    assert role["name"] == f"tenantry-{name}-inference" and role["path"] == "/tenantry/"
    assert role["permissionsBoundary"] == boundary_arn
    assert role["maxSessionDuration"] == 3600
    assert policy(role, "assumeRolePolicy")["Statement"] == [
        {
            "Sid": "EksPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": ACCOUNT,
                    "aws:RequestTag/eks-cluster-name": "ml-serving",
                    "aws:RequestTag/kubernetes-namespace": name,
                    "aws:RequestTag/kubernetes-service-account": f"{name}-inference",
                }
            },
        }
    ]
    assert rec.named(f"{name}-identity-pod-identity").inputs == {
        "clusterName": "ml-serving",
        "namespace": name,
        "serviceAccount": f"{name}-inference",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/tenantry/tenantry-{name}-inference",
        "disableSessionTags": False,
        "tags": rec.named(f"{name}-storage-bucket").inputs["tags"],
    }
    admin = rec.named(f"{name}-identity-admin-role").inputs
    assert admin["permissionsBoundary"] == boundary_arn
    assert policy(admin, "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "AWS": tenants[name].access.admins[0]
    }
    read = policy(rec.named(f"{name}-identity-inference-read").inputs)
    assert [s["Sid"] for s in read["Statement"]] == ["ReadModels", "ListModels", "DecryptViaS3"]
    write = policy(rec.named(f"{name}-identity-admin-read-write").inputs)
    assert [s["Sid"] for s in write["Statement"]] == [
        "ReadModels",
        "ListModels",
        "WriteModels",
        "EncryptDecryptViaS3",
    ]


def test_no_admin_role_without_tenant_admins(tenants: dict[str, ResolvedTenant]) -> None:
    t = tenants["acme"]
    rec = record(replace(t, access=t.access.model_copy(update={"admins": []})))
    assert [r.name for r in rec.of_type("aws:iam/role:Role")] == ["acme-identity-inference-role"]
    key_sids = [s["Sid"] for s in policy(rec.named("acme-key-key").inputs)["Statement"]]
    assert "AdminEncryptDecryptViaS3" not in key_sids
    assert rec.outputs["admin_role_arn"] is None


def test_irsa_option(tenants: dict[str, ResolvedTenant]) -> None:
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    mode = Identity.irsa(
        oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}",
        oidc_issuer=f"https://{issuer}",
    )
    rec = record(tenants["acme"], default_args(identity=mode))
    assert rec.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []
    trust = policy(rec.named("acme-identity-inference-role").inputs, "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Federated": mode.oidc_provider_arn}
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{issuer}:sub"] == (
        "system:serviceaccount:acme:acme-inference"
    )


@pytest.mark.parametrize(
    ("group", "capacity", "sizes", "mig"),
    [
        ("h100", "ON_DEMAND", (2, 3, 2), "tenantry-2x3g.40gb"),
        ("h200", "SPOT", (0, 1, 0), "all-disabled"),
    ],
)
def test_dedicated_node_groups(
    group: str,
    capacity: str,
    sizes: tuple[int, int, int],
    mig: str,
    recordings: dict[str, Recording],
) -> None:
    rec = recordings["umbrella"]
    lt = rec.named(f"umbrella-ng-{group}-launch-template").inputs
    assert lt["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "instanceMetadataTags": "disabled",
    }
    assert lt["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeSize": 200,
                "volumeType": "gp3",
                "encrypted": "true",
                "deleteOnTermination": "true",
            },
        }
    ]
    assert "imageId" not in lt and "userData" not in lt
    ng = rec.named(f"umbrella-ng-{group}-node-group").inputs
    assert ng["nodeGroupName"] == f"tenantry-umbrella-{group}"
    assert ng["amiType"] == "AL2023_x86_64_NVIDIA" and ng["capacityType"] == capacity
    assert ng["clusterName"] == "ml-serving" and ng["subnetIds"] == SUBNETS
    assert (
        ng["scalingConfig"]["minSize"],
        ng["scalingConfig"]["maxSize"],
        ng["scalingConfig"]["desiredSize"],
    ) == sizes
    assert ng["launchTemplate"] == {"id": f"lt-umbrella-ng-{group}-launch-template", "version": "1"}
    assert ng["labels"] == {
        "tenantry.dev/tenant": "umbrella",
        "tenantry.dev/tier": "dedicated",
        "tenantry.dev/node-group": group,
        "nvidia.com/mig.config": mig,
    }
    assert ng["taints"] == [
        {"key": "tenantry.dev/tenant", "value": "umbrella", "effect": "NO_SCHEDULE"},
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
    ]
    assert "remoteAccess" not in ng and "diskSize" not in ng


def test_shared_tiers_have_no_node_groups(recordings: dict[str, Recording]) -> None:
    for name in ("acme", "globex", "initech"):
        assert recordings[name].of_type("aws:eks/nodeGroup:NodeGroup") == []


def test_clear_errors(tenants: dict[str, ResolvedTenant]) -> None:
    with pytest.raises(ValueError, match=r"storage.encryption is 'platform-key'.*platform_key_arn"):
        record(tenants["globex"], default_args(platform_key_arn=None))
    with pytest.raises(ValueError, match=r"spec.nodeGroups.*node_role_arn and subnet_ids"):
        record(tenants["umbrella"], default_args(subnet_ids=None))
    with pytest.raises(ValueError, match=r"account_id '1234': accepted is a 12-digit"):
        record(tenants["acme"], default_args(account_id="1234"))
    with pytest.raises(ValueError, match=r"bucket_suffix 'Prod_X'"):
        record(tenants["acme"], default_args(bucket_suffix="Prod_X"))
    with pytest.raises(ValueError, match=r"deletion_window_days 3: accepted is 7 to 30"):
        record(tenants["acme"], default_args(key_deletion_window_days=3))
