"""Catalog data: every GPU model and instance type is complete and consistent."""

from __future__ import annotations

import re

import pytest

from tenantry.catalog import gpu_models, instance_types

REQUIRED = ["A100-40GB", "A100-80GB", "H100-80GB", "H100-94GB", "H200-141GB", "A30-24GB"]


def test_required_gpu_models_present() -> None:
    assert set(REQUIRED) <= set(gpu_models())


@pytest.mark.parametrize("name", REQUIRED)
def test_profiles_are_consistent(name: str) -> None:
    gpu = gpu_models()[name]
    assert len(set(gpu.profile_names)) == len(gpu.profiles)
    for p in gpu.profiles:
        assert re.fullmatch(r"\d+g\.\d+gb(\+me)?", p.name)
        assert int(p.name.split("g", 1)[0]) == p.compute_slices
        assert p.nvml_profile.startswith("NVML_GPU_INSTANCE_PROFILE_")
        assert all(s >= 0 and s + p.memory_slices <= gpu.memory_slices for s in p.starts)
        if p.usable_memory_gib is not None:
            assert p.usable_memory_gib <= p.memory_gib + 0.5
    full = max(gpu.profiles, key=lambda p: p.compute_slices)
    assert full.compute_slices == gpu.compute_slices
    assert all(re.fullmatch(r"0x[0-9A-F]{4}10DE", i) for i in gpu.pci_device_ids)


def test_h100_profiles_by_name_match_the_user_guide() -> None:
    gpu = gpu_models()["H100-80GB"]
    assert gpu.profile_names == (
        "1g.10gb",
        "1g.10gb+me",
        "1g.20gb",
        "2g.20gb",
        "3g.40gb",
        "4g.40gb",
        "7g.80gb",
    )
    p3 = gpu.profile("3g.40gb")
    assert p3 is not None and (p3.memory_slices, p3.starts, p3.max_count) == (4, (0, 4), 2)


def test_instance_types() -> None:
    types = instance_types()
    p5 = types["p5.48xlarge"]
    assert (p5.gpu_model, p5.gpus, p5.vcpu, p5.memory_gib) == ("H100-80GB", 8, 192, 2048)
    assert types["p4d.24xlarge"].gpu_model == "A100-40GB"
    for it in types.values():
        assert it.gpu_model in gpu_models()
        assert it.on_demand_hourly_usd > 0
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", it.price_date)


def test_general_instance_types_price_a_vcpu_hour() -> None:
    from tenantry.catalog import general_instance_types

    general = general_instance_types()
    assert "m7i.xlarge" in general  # the platform's default cluster.systemInstanceType
    for it in general.values():
        assert it.vcpu > 0 and it.on_demand_hourly_usd > 0
        assert it.vcpu_hourly_usd == it.on_demand_hourly_usd / it.vcpu
        assert it.price_date == next(iter(instance_types().values())).price_date
    assert not set(general) & set(instance_types())
