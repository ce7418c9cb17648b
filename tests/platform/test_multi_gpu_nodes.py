"""The platform declares a tenant's own nodes from the plan's whole-pod node count: initech
(isolated) with only clinical-llm at gpus: 3, replicas: 5 gets a node group of 3
p5.48xlarge nodes (two 3-GPU pods fit a node), MIG disabled on every GPU."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tenantry.engine import record_platform
from tests.components.helpers import ROOT
from tests.platform.helpers import by_name

P = "platform"


def test_the_tenants_node_group_holds_every_pod_whole(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    shutil.copytree(ROOT / "tenants", tenants)
    path = tenants / "initech.yaml"
    d = yaml.safe_load(path.read_text("utf-8"))
    d["spec"]["models"] = []
    d["spec"]["llms"][0].update(gpus=3, replicas=5)
    d["spec"]["quotas"]["gpus"] = {"gpu": 15}
    # the LLM replicas' CPU and memory (defaults: tenantry.spec.llm_sizing) count too
    d["spec"]["quotas"].update(cpu=512, memoryGiB=16384)
    path.write_text(yaml.safe_dump(d, sort_keys=False), "utf-8")
    recs = by_name(record_platform(tenants, ROOT / "stacks"))
    ng = recs[f"{P}-pool-h100-tenant-initech-node-group"].inputs
    # 15 GPUs would fit 2 nodes of 8, but the fifth 3-GPU pod fits neither
    assert ng["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 3}
    assert ng["labels"]["nvidia.com/mig.config"] == "all-disabled"
