"""100% of taggable AWS resources carry every mandatory tag, found by walking the recorded
resources. "Taggable" is read from pulumi_aws itself: the resource class has a ``tags``
input in its signature (so a new resource type is covered without editing this test)."""

from __future__ import annotations

import importlib
import inspect
import json
from functools import cache

from tenantry.spec import ResolvedTenant
from tenantry.tags import MANDATORY_KEYS, tenant_tags

from .mocks import Recording


@cache
def taggable(token: str) -> bool:
    """``aws:s3/bucket:Bucket`` -> ``pulumi_aws.s3.Bucket`` has a ``tags`` parameter."""
    _, module_path, cls_name = token.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    cls = getattr(module, cls_name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def aws_resources(rec: Recording) -> list:  # type: ignore[type-arg]
    return [r for r in rec.resources if r.custom and r.typ.startswith("aws:")]


def test_every_taggable_resource_has_all_mandatory_tags(
    recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    total = 0
    for name, rec in recordings.items():
        want = tenant_tags(tenants[name])
        assert set(MANDATORY_KEYS) <= set(want)
        for r in aws_resources(rec):
            if not taggable(r.typ):
                assert "tags" not in r.inputs
                continue
            total += 1
            assert r.inputs.get("tags") == want, f"{name}: {r.typ} {r.name} tags"
    # 4 tenants x (bucket, boundary, 2 roles, pod identity) + 3 keys + 2 x (LT + node group)
    assert total == 4 * 5 + 3 + 2 * 2


def test_walk_sees_both_kinds(recordings: dict[str, Recording]) -> None:
    """The signature rule classifies known types as expected (the walk is not vacuous)."""
    types = {r.typ for rec in recordings.values() for r in aws_resources(rec)}
    assert {t for t in types if taggable(t)} == {
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:iam/role:Role",
        "aws:iam/policy:Policy",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:eks/nodeGroup:NodeGroup",
    }
    assert "aws:s3/bucketPolicy:BucketPolicy" in types - {t for t in types if taggable(t)}


def test_launched_instances_volumes_and_enis_are_tagged(
    recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    rec = recordings["umbrella"]
    want = tenant_tags(tenants["umbrella"])
    lts = rec.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(lts) == 2
    for lt in lts:
        specs = {s["resourceType"]: s["tags"] for s in lt.inputs["tagSpecifications"]}
        assert specs == {"instance": want, "volume": want, "network-interface": want}


def test_provider_default_tags_and_every_resource_uses_it(
    recordings: dict[str, Recording], tenants: dict[str, ResolvedTenant]
) -> None:
    for name, rec in recordings.items():
        provider = rec.one("pulumi:providers:aws")
        assert provider.name == f"{name}-provider"
        # provider inputs reach the engine JSON-encoded
        assert json.loads(provider.inputs["defaultTags"]) == {"tags": tenant_tags(tenants[name])}
        assert provider.inputs["region"] == tenants[name].region
        for r in aws_resources(rec):
            assert r.provider is not None
            assert f"pulumi:providers:aws::{name}-provider::" in r.provider, r.name


def test_mandatory_keys_win_over_labels() -> None:
    """Precedence comes from the one tag policy (tags.merge_tags): a label can never replace
    a mandatory key; labels that do not collide are kept."""
    from tenantry.tags import mandatory_tags, merge_tags

    m = mandatory_tags(tenant="acme", cost_center="CC-1", tier="premium", environment="prod")
    merged = merge_tags(m, {"tenant": "evil", "team": "fraud"})
    assert merged["tenant"] == "acme" and merged["team"] == "fraud"
