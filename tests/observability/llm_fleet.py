"""The example tenants with a second tenant on the shared base model: globex also holds an
adapter (``helper``, 20,000 tokens/min) on ``llama-3-8b`` next to acme's ``support-agent``
(60,000/min). The fleet of docs/cost.md's split example and of the metering end-to-end test."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import TENANTS

GLOBEX_ADAPTER = """  llmAdapters:
    - name: helper
      baseModel: llama-3-8b
      path: adapters/helper/v1/
      digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
      rank: 8
      tokensPerMinute: 20000
"""


def two_tenant_fleet(into: Path) -> Path:
    """Copy the example tenant files into ``into`` and give globex its adapter (and its own
    KMS key: a shared runtime reads adapters only from tenant-key buckets)."""
    into.mkdir(parents=True, exist_ok=True)
    for f in TENANTS.glob("*.yaml"):
        shutil.copy(f, into / f.name)
    globex = into / "globex.yaml"
    text = globex.read_text("utf-8")
    storage = "  storage: {retentionDays: 90, versioning: true, encryption: platform-key}\n"
    assert storage in text, "tenants/globex.yaml changed: update this fixture"
    text = text.replace(
        storage,
        GLOBEX_ADAPTER + storage.replace("platform-key", "tenant-key"),
    )
    globex.write_text(text, "utf-8")
    return into
