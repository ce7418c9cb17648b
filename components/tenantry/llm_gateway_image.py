"""The requirements of the LLM gateway's image (``.ci/llm-gateway.Dockerfile``), from
pyproject.toml (the one place their version ranges live): the ``gateway`` extra and the project
dependencies the gateway and the shared runtimes' adapter sync (``tenantry.llmadapters``, which
reads adapters from S3 with boto3) import (:data:`RUNTIME`). Nothing else of Tenantry (Pulumi,
Triton's client) goes into the image: neither imports it (tests/unit/test_gateway_image.py
runs their imports with only these installed).

``python -m tenantry.llm_gateway_image [pyproject.toml]`` prints them, one a line (standard
library only: it runs before anything is installed).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

RUNTIME = frozenset({"pydantic", "pyyaml", "prometheus-client", "boto3"})  # normalized names


def normalized(requirement: str) -> str:
    """The distribution name of a requirement string, normalized (PEP 503)."""
    name = re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    chosen = [r for r in project["dependencies"] if normalized(r) in RUNTIME]
    missing = RUNTIME - {normalized(r) for r in chosen}
    if missing:
        raise SystemExit(f"{pyproject}: no dependency named {sorted(missing)}")
    return chosen + list(project["optional-dependencies"]["gateway"])


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("pyproject.toml")
    sys.stdout.write("\n".join(requirements(path)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
