"""``tenantry gpus``: the local GPUs as NVML reports them, checked against the catalog."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from ..gpus import NoDriverError, catalog_entry, differences, inventory
from .common import EXIT_OK, UsageError, add_format, write_json


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gpus", help="inventory of this node's GPUs (NVML) vs the catalog")
    add_format(p)
    p.set_defaults(func=run, nvml=None)


def run(args: argparse.Namespace) -> int:
    try:
        gpus = inventory(args.nvml)
    except NoDriverError as exc:
        raise UsageError(f"no GPU inventory on this machine: {exc}") from None
    report: list[dict[str, Any]] = []
    for g in gpus:
        model = catalog_entry(g)
        report.append(
            {
                **asdict(g),
                "catalog_model": model.name if model else None,
                "differences": differences(g, model),
            }
        )
    if args.format == "json":
        write_json({"gpus": report})
        return EXIT_OK
    if not gpus:
        print("NVML is up but reports no GPU")
    for g, r in zip(gpus, report, strict=True):
        mig = (
            "not supported"
            if g.mig_current is None
            else f"current {'on' if g.mig_current else 'off'}, "
            f"pending {'on' if g.mig_pending else 'off'}"
        )
        print(
            f"GPU {g.index}: {g.name} {g.uuid} PCI {g.pci_device_id}, {g.memory_mib} MiB, "
            f"MIG {mig}; catalog: {r['catalog_model'] or 'no match'}"
        )
        for p in g.profiles:
            print(
                f"  {p.name:<12} {p.nvml_profile:<40} id {p.profile_id:>2}: "
                f"{p.compute_slices} compute / {p.memory_slices} memory slices, "
                f"{p.memory_mib} MiB, {p.multiprocessors} SMs, max {p.instance_count}, "
                f"starts {list(p.starts)}"
            )
        for i in g.instances:
            print(f"  instance {i.id}: {i.profile} at {i.start}:{i.size}")
        for d in r["differences"]:
            print(f"  difference: {d}")
        if not r["differences"]:
            print("  catalog and hardware agree")
    return EXIT_OK
