"""The example tenants are valid, cover every tier, and resolve as documented."""

from __future__ import annotations

from tenantry.spec import TIERS, PlatformSettings, load_registry
from tests.conftest import TENANTS


def test_examples_valid_with_one_warning(platform: PlatformSettings) -> None:
    reg = load_registry([TENANTS], platform)
    # umbrella's TensorFlow model is served by the frozen Triton 25.02 runtime
    assert [(p.file.rsplit("/", 1)[-1], p.code, p.severity) for p in reg.problems] == [
        ("umbrella.yaml", "format_frozen_runtime", "warning")
    ]
    assert set(reg.tenants) == {"acme", "globex", "initech", "umbrella"}


def test_examples_cover_every_tier_and_feature(platform: PlatformSettings) -> None:
    reg = load_registry([TENANTS], platform)
    assert {t.tier.name for t in reg.tenants.values()} == set(TIERS)
    gpu_models = {m.gpu_model for t in reg.tenants.values() for m in t.models if m.gpu_model}
    assert len(gpu_models) >= 2
    assert any(m.canary for t in reg.tenants.values() for m in t.models)
    assert all(t.vector_namespaces for t in reg.tenants.values())
    dedicated = reg.tenants["umbrella"].node_groups
    assert any(ng.gpu_model == "H100-80GB" for ng in dedicated)


def test_resolution_applies_tier_defaults_and_placements(platform: PlatformSettings) -> None:
    reg = load_registry([TENANTS], platform)
    globex = reg.tenants["globex"]
    shared = TIERS["shared"].defaults
    assert (globex.quotas.cpu, globex.quotas.memory_gib) == (shared.cpu, shared.memory_gib)
    assert globex.quotas.max_queue_depth == shared.max_queue_depth
    by_name = {m.name: m for m in globex.models}
    assert (by_name["intent-classifier"].target_kind, by_name["intent-classifier"].target) == (
        "shared-pool",
        "a100",
    )
    assert by_name["intent-classifier"].gpu_resource == "nvidia.com/mig-1g.5gb"
    assert by_name["language-id"].target_kind == "cpu-nodes"
    acme = {m.name: m for m in reg.tenants["acme"].models}
    assert (acme["fraud-detector"].target, acme["fraud-detector"].gpu_model) == (
        "h100",
        "H100-80GB",
    )
    umbrella = reg.tenants["umbrella"]
    assert {m.name: m.target for m in umbrella.models} == {
        "protein-folder": "h100",
        "variant-caller": "h200",
    }
    assert umbrella.node_groups[0].mig_config == "tenantry-2x3g.40gb"
    assert umbrella.node_groups[1].mig_config == "all-disabled"
    assert reg.tenants["acme"].quotas.cpu == 32  # explicit value wins over the tier default
