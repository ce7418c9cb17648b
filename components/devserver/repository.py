"""Build a Triton model repository of stand-ins for generated configs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

STANDIN_MODEL = Path(__file__).with_name("standin_model.py")
_PLATFORM = re.compile(r'^\s*(platform|backend)\s*:\s*"[^"]*"\s*$', re.MULTILINE)


def standin_config(pbtxt: str, parameters: Mapping[str, str] | None = None) -> str:
    """The generated config with its platform/backend line replaced by the python backend
    (only that line: batching, queue policy, priorities and signature stay as generated),
    plus stand-in parameters (``sleep_ms``, ``device_lock``)."""
    text = 'backend: "python"\n' + _PLATFORM.sub("", pbtxt)
    for key, value in sorted((parameters or {}).items()):
        text += f'parameters {{ key: "{key}" value: {{ string_value: "{value}" }} }}\n'
    return text


def write_standin(
    repository: Path,
    model: str,
    versions: list[str],
    pbtxt: str,
    parameters: Mapping[str, str] | None = None,
) -> Path:
    """Write ``<repository>/<model>/config.pbtxt`` and one stand-in per version."""
    root = repository / model
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.pbtxt").write_text(standin_config(pbtxt, parameters), "utf-8")
    for version in versions:
        (root / version).mkdir(exist_ok=True)
        (root / version / "model.py").write_text(STANDIN_MODEL.read_text("utf-8"), "utf-8")
    return root
