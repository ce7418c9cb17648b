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


def test_the_tag_policy_is_written_in_one_module() -> None:
    """Only tenantry.tags spells the policy's own keys; every other module calls it."""
    from tests.conftest import ROOT

    own = [f'"{k}"' for k in MANDATORY_KEYS if k not in ("tenant", "tier", "environment")]
    spelled = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "components" / "tenantry").rglob("*.py")
        if any(k in p.read_text("utf-8") for k in own)
    )
    assert spelled == ["components/tenantry/tags.py"]


def test_platform_resources_are_tagged_as_the_reserved_platform_tenant() -> None:
    from tenantry.spec import PLATFORM_STACK
    from tenantry.tags import PLATFORM_TENANT

    assert PLATFORM_TENANT == PLATFORM_STACK
