"""The tier table: ordered isolation, one source of truth for every layer."""

from __future__ import annotations

from tenantry.spec import TIERS

ORDER = ["shared", "premium", "isolated", "dedicated"]


def test_tiers_are_ordered_by_isolation() -> None:
    values = [TIERS[t].priority_value for t in ORDER]
    assert values == sorted(values) and len(set(values)) == 4
    assert [TIERS[t].queue_priority for t in ORDER] == [2, 1, 1, 1]
    assert [TIERS[t].node_groups for t in ORDER] == [
        "forbidden",
        "forbidden",
        "allowed",
        "required",
    ]
    assert [TIERS[t].tenant_kms_key for t in ORDER] == [
        "allowed",
        "required",
        "required",
        "required",
    ]
    assert [TIERS[t].gpu_sharing for t in ORDER] == [
        "shared-gpus",
        "shared-gpus",
        "exclusive-gpus",
        "dedicated-nodes",
    ]
    caps = [TIERS[t].defaults.max_queue_depth for t in ORDER]
    assert caps == sorted(caps)


def test_priority_class_names_are_stable() -> None:
    assert {t: TIERS[t].priority_class for t in ORDER} == {
        "shared": "tenantry-shared",
        "premium": "tenantry-premium",
        "isolated": "tenantry-isolated",
        "dedicated": "tenantry-dedicated",
    }
