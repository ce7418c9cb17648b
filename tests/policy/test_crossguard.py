"""The CrossGuard pack reports exactly what the offline runner reports (same rules), run in
the pack's own environment (`.venv-policy`, made by .ci/run)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tenantry.policy import evaluate
from tests.conftest import ROOT
from tests.policy.test_rules import CASES, CTX, compliant

POLICY_PYTHON = ROOT / ".venv-policy" / "bin" / "python"


def _crossguard(resources: list, tenants: frozenset[str]) -> list[dict[str, str]]:  # type: ignore[type-arg]
    if not POLICY_PYTHON.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POLICY_PYTHON} missing: .ci/run must create the policy environment")
        pytest.skip(
            "no .venv-policy (python3 -m venv .venv-policy && .venv-policy/bin/pip "
            "install -r components/tenantry/policy/pack/requirements.txt)"
        )
    payload = {
        "tenants": sorted(tenants),
        "resources": [
            {"type": r.type, "name": r.name, "props": r.props, "provider": r.provider}
            for r in resources
        ],
    }
    proc = subprocess.run(
        [str(POLICY_PYTHON), str(Path(__file__).with_name("crossguard_probe.py"))],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[dict[str, str]] = json.loads(proc.stdout)
    return result


def test_crossguard_and_offline_agree() -> None:
    for resources in [compliant()] + [case[1] for case in CASES]:
        offline = sorted(
            (f"tenantry-{v.rule}", f"{v.resource}: {v.message}") for v in evaluate(resources, CTX)
        )
        pack = sorted((v["policy"], v["message"]) for v in _crossguard(resources, CTX.tenants))
        assert pack == offline


def test_violations_carry_the_resource_urn() -> None:
    resources = CASES[2][1]  # a bucket without public access blocks
    [violation, *_] = _crossguard(resources, CTX.tenants)
    assert violation["urn"].startswith("urn:pulumi:s::p::aws:s3/bucketV2:BucketV2::bucket")
