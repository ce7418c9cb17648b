"""The Python blocks of docs/platform.md run, from the repository root."""

from __future__ import annotations

import os
import re

import pytest

from tests.components.helpers import ROOT

DOC = ROOT / "docs" / "platform.md"


def test_python_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
    assert blocks
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "all-disabled" in out and "gpu-operator" in out
