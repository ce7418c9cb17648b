"""Synthetic, valid tenant files for the plan benchmark (seeded, so every run plans the same
fleet): every tier, CPU-only and GPU models, MIG profiles the platform's shared pools offer
(H100-80GB on ``h100``, A100-40GB on ``a100``), whole GPUs, canaries, vector namespaces, and
dedicated node groups (own MIG layouts) for the isolated and dedicated tiers."""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from typing import Any

import yaml

TIERS = ("shared", "premium", "isolated", "dedicated")
# Profiles the example platform's shared pools offer (stacks/Pulumi.platform.yaml).
SHARED_PROFILES = ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "1g.5gb", "2g.10gb", "3g.20gb")
ISOLATED_PROFILES = ("3g.40gb", "4g.40gb", "7g.80gb", "gpu")
# Dedicated node groups: instance type, MIG layout per GPU (None: whole GPUs).
NODE_GROUPS: tuple[tuple[str, dict[str, int] | None], ...] = (
    ("p5.48xlarge", {"3g.40gb": 2}),
    ("p5.48xlarge", {"1g.10gb": 7}),
    ("p4d.24xlarge", {"2g.10gb": 3}),
    ("p5en.48xlarge", None),
)
FORMATS = ("onnx", "pytorch", "tensorflow", "tensorrt", "python")
DTYPES = ("FP32", "FP16", "INT64", "INT32")
METRICS = ("cosine", "l2", "inner_product")
WORDS = ("ranker", "embedder", "classifier", "detector", "tagger", "scorer", "parser", "summary")


def _model(rng: random.Random, i: int, gpu: str | None) -> dict[str, Any]:
    fmt = "python" if gpu is None and rng.random() < 0.5 else rng.choice(FORMATS[:4])
    lo = rng.randint(1, 3)
    m: dict[str, Any] = {
        "name": f"{rng.choice(WORDS)}-{i}",
        "format": fmt,
        "version": str(rng.randint(1, 40)),
        "cpu": rng.choice((1, 2, 4)),
        "memoryGiB": rng.choice((2, 4, 8, 16)),
        "minReplicas": lo,
        "maxReplicas": lo + rng.randint(0, 3),
        "maxBatchSize": rng.choice((1, 4, 16, 32)),
        "inputs": [
            {"name": "input", "dataType": rng.choice(DTYPES), "dims": [rng.randint(1, 512)]}
        ],
        "outputs": [{"name": "output", "dataType": "FP32", "dims": [rng.randint(1, 64)]}],
        "p99LatencyMs": rng.choice((20, 50, 120, 500)),
    }
    if gpu is not None:
        m["gpu"] = gpu
    if rng.random() < 0.3:
        m["canary"] = {"version": str(int(m["version"]) + 1), "trafficPercent": rng.choice((5, 10))}
    # the onboarding gate (onboarding.requireArtifactDigest) wants them above the shared tier;
    # derived from the name, so the random sequence (and every other field) stays the same
    for v in (m, m.get("canary")):
        if v is not None:
            seed = f"{m['name']}@{v['version']}".encode()
            v["artifact"] = {"digest": "sha256:" + hashlib.sha256(seed).hexdigest()}
    return m


def tenant(rng: random.Random, index: int) -> dict[str, Any]:
    """One valid tenant document (quotas sized to the models' demand at maxReplicas)."""
    name = f"bench{index:04d}"
    tier = TIERS[index % len(TIERS)] if index < len(TIERS) else rng.choice(TIERS)
    groups: list[dict[str, Any]] = []
    offered: list[str] = []
    if tier == "dedicated" or (tier == "isolated" and rng.random() < 0.5):
        for j, (itype, layout) in enumerate(rng.sample(NODE_GROUPS, rng.randint(1, 2))):
            lo = rng.randint(0, 1) if j else rng.randint(1, 2)
            ng: dict[str, Any] = {
                "name": f"ng{j}",
                "instanceType": itype,
                "minSize": lo,
                "maxSize": lo + rng.randint(1, 2),
                "capacityType": rng.choice(("on-demand", "spot")),
            }
            if layout:
                ng["migLayout"] = dict(layout)
            groups.append(ng)
            offered += list(layout) if layout else ["gpu"]
    if not groups:
        offered = list(ISOLATED_PROFILES if tier == "isolated" else SHARED_PROFILES)
    models = [
        _model(rng, i, None if rng.random() < 0.2 else rng.choice(offered))
        for i in range(rng.randint(1, 4))
    ]
    gpus: Counter[str] = Counter()
    cpu = mem = 0.0
    for m in models:
        n = m["maxReplicas"] * (2 if "canary" in m else 1)
        cpu += n * m["cpu"]
        mem += n * m["memoryGiB"]
        if "gpu" in m:
            gpus[m["gpu"]] += n
    # Dedicated capacity must hold the minimum demand: grow maxSize where it would not.
    for ng in groups:
        per_node = (sum((ng.get("migLayout") or {"gpu": 1}).values())) * 8
        need = max((gpus[g] for g in (ng.get("migLayout") or {"gpu": 1})), default=0)
        ng["maxSize"] = max(ng["maxSize"], math.ceil(need / per_node) + 1)
    spec: dict[str, Any] = {
        "tier": tier,
        "region": "us-east-1",
        "quotas": {
            "cpu": math.ceil(cpu) + 4,
            "memoryGiB": math.ceil(mem) + 16,
            "gpus": dict(sorted(gpus.items())),
        },
        "models": models,
        "storage": {"retentionDays": rng.choice((30, 90, 365)), "versioning": True},
        "access": {
            "admins": [f"arn:aws:iam::111122223333:role/{name}-ml-admin"],
            "allowedNamespaces": [f"{name}-apps"],
        },
    }
    if not gpus:
        del spec["quotas"]["gpus"]
    if groups:
        spec["nodeGroups"] = groups
    if tier == "shared" and rng.random() < 0.5:
        spec["storage"]["encryption"] = "platform-key"
    if rng.random() < 0.6:
        spec["vectorNamespaces"] = [
            {
                "name": f"ns{k}",
                "dimension": rng.choice((64, 384, 768)),
                "metric": rng.choice(METRICS),
            }
            for k in range(rng.randint(1, 3))
        ]
    return {
        "apiVersion": "tenantry.dev/v1alpha1",
        "kind": "Tenant",
        "metadata": {
            "name": name,
            "displayName": f"Bench tenant {index}",
            "costCenter": f"CC-{1000 + index % 97}",
            "owner": f"ml@{name}.example",
            "labels": {"team": rng.choice(WORDS)},
        },
        "spec": spec,
    }


def tenant_files(n: int, seed: int) -> dict[str, str]:
    """``{name: YAML text}`` for ``n`` tenants."""
    rng = random.Random(seed)
    out = {}
    for i in range(n):
        doc = tenant(rng, i)
        out[doc["metadata"]["name"]] = yaml.safe_dump(doc, sort_keys=False)
    return out
