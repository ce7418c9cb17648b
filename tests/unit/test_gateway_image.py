"""The LLM gateway's image (.ci/llm-gateway.Dockerfile; no image can be built on these
machines: no container runtime): the requirements it installs cover every distribution the
gateway and the adapter sync import (boto3 for the sync; no Pulumi among them), and it runs
what the platform's Deployment runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tenantry.k8s.llm_gateway import GATEWAY_PORT, METRICS_PORT

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / ".ci" / "llm-gateway.Dockerfile"


def _script() -> ModuleType:
    from tenantry import llm_gateway_image

    return llm_gateway_image


# Run in a fresh interpreter in which only the interpreter's own modules, tenantry and the
# distributions named in argv[1] can be imported: what the image holds.
PROBE = """
import importlib.abc, importlib.metadata as md, json, sys
allowed = set(json.loads(sys.argv[1]))
owners = md.packages_distributions()
def norm(n): return n.replace("_", "-").replace(".", "-").lower()
class Image(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "tenantry" or top in sys.modules:
            return None
        dists = owners.get(top, [])  # none: the interpreter's own (e.g. _sysconfigdata)
        if dists and not any(norm(d) in allowed for d in dists):
            raise ModuleNotFoundError(f"not in the image: {top}", name=name)
        return None
sys.meta_path.insert(0, Image())
import tenantry.llmgateway.cli, tenantry.llmgateway.server, tenantry.llmgateway.limits
import tenantry.llmadapters.cli, tenantry.llmadapters.sync, boto3
import redis.asyncio  # loaded with --redis
print("ok")
"""


def closure(wanted: set[str]) -> set[str]:
    """``wanted`` and every distribution they require (markers evaluated here)."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    mod = _script()
    out, todo = set(wanted), list(wanted)
    while todo:
        for r in requires(todo.pop()) or []:
            req = Requirement(r)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue  # an extra's, or another Python's
            name = mod.normalized(req.name)
            if name not in out:
                out.add(name)
                todo.append(name)
    return out


def test_the_image_requirements_are_enough_to_run_the_gateway() -> None:
    mod = _script()
    wanted = {mod.normalized(r) for r in mod.requirements(ROOT / "pyproject.toml")}
    assert wanted == {"pydantic", "pyyaml", "prometheus-client", "boto3", "aiohttp", "redis"}
    allowed = closure(wanted)
    assert not {"pulumi", "pulumi-aws", "tritonclient"} & allowed

    def probe(names: set[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(sorted(names))],
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = probe(allowed)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok", ok.stderr[-2000:]
    # the probe can fail: without aiohttp the gateway does not start
    broken = probe(allowed - {"aiohttp"})
    assert broken.returncode != 0 and "not in the image: aiohttp" in broken.stderr


def test_the_dockerfile_builds_what_the_deployment_runs() -> None:
    text = DOCKERFILE.read_text()
    assert "PYTHONPATH=components python -m tenantry.llm_gateway_image pyproject.toml" in text
    assert 'ENTRYPOINT ["python", "-m", "tenantry.llmgateway"]' in text
    assert f"EXPOSE {GATEWAY_PORT} {METRICS_PORT}" in text
    assert "USER 1000:1000" in text  # the pod's runAsUser (tenantry.k8s.inference_service)
