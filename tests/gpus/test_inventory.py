"""`tenantry gpus` against a fake NVML (always) and the real one (marked gpu)."""

from __future__ import annotations

import argparse
import json

import pytest

from tenantry.cli import gpus as gpus_cli
from tenantry.cli.common import UsageError
from tenantry.gpus import NoDriverError, catalog_entry, differences, inventory
from tests.gpus.fake_nvml import FakeNvml


def test_inventory_reads_every_fact() -> None:
    inv = inventory(FakeNvml())
    h100, a100 = inv
    assert (h100.name, h100.pci_device_id, h100.memory_mib) == (
        "NVIDIA H100 80GB HBM3",
        "0x233010DE",
        81559,
    )
    assert (h100.mig_current, h100.mig_pending) == (True, True)
    assert (a100.mig_current, a100.mig_pending) == (False, True)
    p3g = next(p for p in h100.profiles if p.name == "3g.40gb")
    assert (
        p3g.nvml_profile,
        p3g.profile_id,
        p3g.compute_slices,
        p3g.memory_slices,
        p3g.instance_count,
        p3g.multiprocessors,
        p3g.starts,
    ) == ("NVML_GPU_INSTANCE_PROFILE_3_SLICE", 9, 3, 4, 2, 60, (0, 4))
    assert [(i.profile, i.start, i.size) for i in h100.instances] == [
        ("4g.40gb", 0, 4),
        ("3g.40gb", 4, 4),
    ]
    assert a100.instances == ()  # MIG off: nothing exists


def test_catalog_agrees_with_the_fake_hardware() -> None:
    for g in inventory(FakeNvml()):
        model = catalog_entry(g)
        assert model is not None
        assert differences(g, model) == []
    assert [catalog_entry(g).name for g in inventory(FakeNvml())] == [  # type: ignore[union-attr]
        "H100-80GB",
        "A100-40GB",
    ]


def test_every_difference_is_reported() -> None:
    fake = FakeNvml()
    fake.drop(1, 0x9)  # a pre-R525 driver without 1g.10gb on A100-40GB
    fake.patch(0, 0x2, starts=(0,), max=1, mib=40000)
    fake.gpus[0]["name"] = "NVIDIA H100 SXM5 80GB"
    h100, a100 = inventory(fake)
    assert differences(a100, catalog_entry(a100)) == [
        "profile 1g.10gb: in the catalog, not reported by the driver"
    ]
    diffs = differences(h100, catalog_entry(h100))  # matched by PCI id despite the name
    assert "profile 3g.40gb: max count catalog 2, hardware 1" in diffs
    assert "profile 3g.40gb: starts catalog [0, 4], hardware [0]" in diffs
    assert any(d.startswith("profile 3g.40gb: usable memory catalog 39.5") for d in diffs)
    assert any("name 'NVIDIA H100 SXM5 80GB'" in d for d in diffs)


def test_unknown_device_is_reported() -> None:
    fake = FakeNvml()
    fake.gpus[1].update(name="NVIDIA L4", pci=0x27B810DE)
    diffs = differences(inventory(fake)[1], None)
    assert "matches no catalog GPU model" in diffs[0]


def _run(fake: FakeNvml, as_json: bool, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = gpus_cli.run(argparse.Namespace(format="json" if as_json else "text", nvml=fake))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(FakeNvml(), True, capsys)
    assert code == 0
    data = json.loads(out)
    assert [g["catalog_model"] for g in data["gpus"]] == ["H100-80GB", "A100-40GB"]
    assert data["gpus"][0]["uuid"].startswith("GPU-1111")
    code, out, _ = _run(FakeNvml(), False, capsys)
    assert code == 0 and "MIG current on, pending on" in out and "starts [0, 4]" in out


def test_no_driver_says_so_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="no NVIDIA driver") as info:
        _run(FakeNvml(driver=False), False, capsys)
    assert info.value.code == 2 and capsys.readouterr().out == ""
    with pytest.raises(NoDriverError):
        inventory(FakeNvml(driver=False))


@pytest.mark.gpu
def test_real_nvml() -> None:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except pynvml.NVMLError as exc:
        pytest.skip(f"no NVIDIA driver here: {exc}")
    inv = inventory(pynvml)
    assert inv, "NVML initialised but reports no GPU"
    for g in inv:
        assert g.uuid.startswith(("GPU-", "MIG-")) and g.memory_mib > 0
        model = catalog_entry(g)
        if model is not None and g.mig_current is not None:
            assert g.profiles, "a MIG-capable GPU reports its GPU-instance profiles"
