"""Build a Triton model repository of stand-ins for generated configs.

A stand-in keeps the generated ``config.pbtxt`` except two lines: the ``platform:``/``backend:``
line becomes ``backend: "python"`` (the real ONNX/PyTorch/TensorFlow/TensorRT backends and
weights are not in the wheel) and ``kind: KIND_GPU`` becomes ``kind: KIND_CPU`` (no GPU here).
Batching, queue policy, priorities, rate limiter, tensors and version policy are served as
generated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

STANDIN_MODEL = Path(__file__).with_name("standin_model.py")
_PLATFORM = re.compile(r'^\s*(platform|backend)\s*:\s*"[^"]*"\s*\n', re.MULTILINE)
_KEY = re.compile(r"^models/(?P<model>[^/]+)/v(?P<version>\d+)/(?P=model)/config\.pbtxt$")


def standin_config(pbtxt: str, parameters: Mapping[str, str] | None = None) -> str:
    """The generated config as a python-backend, CPU stand-in, plus stand-in ``parameters``
    (``sleep_ms``, ``per_item_ms``, ``device_lock``: see ``standin_model.py``)."""
    body = _PLATFORM.sub("", pbtxt).replace("kind: KIND_GPU", "kind: KIND_CPU")
    text = 'backend: "python"\n' + body
    for key, value in sorted((parameters or {}).items()):
        text += f'parameters {{ key: "{key}" value: {{ string_value: "{value}" }} }}\n'
    return text


def write_standin(
    repository: Path,
    model: str,
    version: str,
    pbtxt: str,
    parameters: Mapping[str, str] | None = None,
) -> Path:
    """Write ``<repository>/<model>/config.pbtxt`` and ``<model>/<version>/model.py``."""
    root = repository / model
    (root / version).mkdir(parents=True, exist_ok=True)
    (root / "config.pbtxt").write_text(standin_config(pbtxt, parameters), "utf-8")
    (root / version / "model.py").write_text(STANDIN_MODEL.read_text("utf-8"), "utf-8")
    return root


def parse_config_key(key: str) -> tuple[str, str]:
    """``models/<model>/v<version>/<model>/config.pbtxt`` (the bucket key Tenantry writes)
    -> (model, version)."""
    m = _KEY.match(key)
    if m is None:
        raise ValueError(
            f"{key!r} is not a Tenantry model-config key "
            "(models/<model>/v<version>/<model>/config.pbtxt)"
        )
    return m["model"], m["version"]
