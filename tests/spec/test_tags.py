"""The tag policy: mandatory keys always win."""

from __future__ import annotations

from tenantry.tags import MANDATORY_KEYS, mandatory_tags, merge_tags


def test_mandatory_keys_win() -> None:
    mandatory = mandatory_tags(
        tenant="acme", cost_center="CC-1", tier="premium", environment="prod"
    )
    assert tuple(mandatory) == MANDATORY_KEYS
    merged = merge_tags(mandatory, {"tenant": "evil", "team": "fraud"}, {"cost-center": "x"})
    assert merged["tenant"] == "acme" and merged["cost-center"] == "CC-1"
    assert merged["team"] == "fraud" and merged["managed-by"] == "tenantry"
