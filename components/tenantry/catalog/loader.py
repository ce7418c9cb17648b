"""Loads the catalog data files once and validates their internal consistency."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

from .models import GeneralInstanceType, GpuModel, InstanceType, MigProfile

_NAME_MEMORY = re.compile(r"^\d+g\.(\d+)gb(\+me)?$")


def _read(name: str) -> dict[str, Any]:
    text = resources.files("tenantry.catalog").joinpath("data", name).read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict), f"catalog file {name} must hold a mapping"
    return data


@cache
def gpu_models() -> dict[str, GpuModel]:
    """Every GPU model in the catalog, by name (e.g. ``H100-80GB``)."""
    data = _read("gpus.yaml")
    geometries = data["geometries"]
    out: dict[str, GpuModel] = {}
    for gpu_name, g in data["gpus"].items():
        geo = geometries[g["geometry"]]
        profiles = []
        for pname, p in g["profiles"].items():
            kind = geo["kinds"][p["kind"]]
            m = _NAME_MEMORY.match(pname)
            if m is None:
                raise ValueError(f"catalog: profile name {pname!r} of {gpu_name} is malformed")
            profiles.append(
                MigProfile(
                    name=pname,
                    kind=p["kind"],
                    compute_slices=kind["compute"],
                    memory_slices=kind["memory"],
                    max_count=kind["maxCount"],
                    starts=tuple(kind["starts"]),
                    nvml_profile=kind["nvml"],
                    memory_gib=float(m.group(1)),
                    usable_memory_gib=p.get("usableMemoryGiB"),
                )
            )
        out[gpu_name] = GpuModel(
            name=gpu_name,
            compute_slices=geo["computeSlices"],
            memory_slices=geo["memorySlices"],
            memory_gib=g["memoryGiB"],
            placements_verified=g["placementsVerified"],
            pci_device_ids=tuple(g["pciDeviceIds"]),
            nvml_names=tuple(g["nvmlNames"]),
            profiles=tuple(profiles),
        )
    return out


@cache
def instance_types() -> dict[str, InstanceType]:
    """Every GPU instance type in the catalog, by EC2 name (e.g. ``p5.48xlarge``)."""
    data = _read("instances.yaml")
    models = gpu_models()
    out: dict[str, InstanceType] = {}
    for name, it in data["instanceTypes"].items():
        if it["gpuModel"] not in models:
            raise ValueError(f"catalog: {name} names unknown GPU model {it['gpuModel']!r}")
        out[name] = InstanceType(
            name=name,
            gpu_model=it["gpuModel"],
            gpus=it["gpus"],
            vcpu=it["vcpu"],
            memory_gib=it["memoryGiB"],
            on_demand_hourly_usd=float(it["onDemandHourlyUsd"]),
            price_date=str(data["priceDate"]),
            price_region=data["priceRegion"],
        )
    return out


@cache
def general_instance_types() -> dict[str, GeneralInstanceType]:
    """General-purpose (CPU) instance types by EC2 name (e.g. ``m7i.xlarge``): the price of
    the cluster's general nodes, where CPU-only models run."""
    data = _read("instances.yaml")
    return {
        name: GeneralInstanceType(
            name=name,
            vcpu=it["vcpu"],
            memory_gib=it["memoryGiB"],
            on_demand_hourly_usd=float(it["onDemandHourlyUsd"]),
            price_date=str(data["priceDate"]),
            price_region=data["priceRegion"],
        )
        for name, it in data.get("generalInstanceTypes", {}).items()
    }
