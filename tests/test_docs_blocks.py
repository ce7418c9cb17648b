"""Every ``python`` block in README.md and docs/*.md runs (docs/library.md, "Code blocks in
these docs run", defines the two markers):

- ``<!-- docs: output -->`` on the line before a ``text`` block that follows a python block:
  the python block's standard output is exactly that text;
- ``<!-- docs: no-run: <reason> -->`` on the line before a python block: not run; the reason
  is required and there are at most :data:`MAX_NO_RUN` of them.

Each block runs on its own (a fresh namespace), from the repository root, in this process.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!--\s*docs:\s*(output|no-run)(?::\s*(.*?))?\s*-->\s*$")
MAX_NO_RUN = 3


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    marker: str | None  # "output" / "no-run"
    reason: str
    end: int  # 0-based index of the closing fence line
    index: int  # its place among the file's blocks (0-based)


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` with the marker on the line before each (blank lines
    between the marker and the fence are allowed)."""
    lines = path.read_text("utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{path}:{i + 1}: code block is never closed")
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = MARKER.match(lines[k]) if k >= 0 else None
        found.append(
            Block(
                path=path,
                line=i + 1,
                language=opening.group(1),
                code="\n".join(lines[i + 1 : j]) + "\n",
                marker=marker.group(1) if marker else None,
                reason=(marker.group(2) or "") if marker else "",
                end=j,
                index=len(found),
            )
        )
        i = j + 1
    return found


def python_blocks() -> list[tuple[Block, Block | None]]:
    """Each python block and the ``docs: output`` text block that follows it, if any."""
    out: list[tuple[Block, Block | None]] = []
    for path in DOCS:
        found = blocks(path)
        for n, block in enumerate(found):
            if block.language not in ("python", "py", "python3"):
                continue
            nxt = found[n + 1] if n + 1 < len(found) else None
            expected = nxt if nxt is not None and nxt.marker == "output" else None
            out.append((block, expected))
    return out


PYTHON = python_blocks()


def _id(item: tuple[Block, Block | None]) -> str:
    return f"{item[0].path.relative_to(ROOT)}:{item[0].line}"


@pytest.mark.parametrize("item", PYTHON, ids=[_id(i) for i in PYTHON])
def test_python_block_runs(
    item: tuple[Block, Block | None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    block, expected = item
    if block.marker == "no-run":
        pytest.skip(f"docs: no-run: {block.reason}")
    monkeypatch.chdir(ROOT)
    where = f"{block.path.relative_to(ROOT)}:{block.line}"
    exec(compile(block.code, where, "exec"), {"__name__": "__docs__"})
    printed = capsys.readouterr().out
    if expected is None:
        return
    if os.environ.get("TENANTRY_UPDATE_GOLDEN"):
        # Found again by its place: an earlier output block of this file rewritten in this
        # run moves the lines (updates change what is in output blocks, never their number).
        current = blocks(block.path)[expected.index]
        lines = block.path.read_text("utf-8").splitlines(keepends=True)
        start = current.line  # the line after the opening fence (0-based)
        lines[start : current.end] = [printed]
        block.path.write_text("".join(lines), "utf-8")
    else:
        assert printed == expected.code, (
            f"{where}: the output block below it is stale (TENANTRY_UPDATE_GOLDEN=1 pytest "
            "tests/test_docs_blocks.py)"
        )


def test_markers_are_used_as_documented() -> None:
    problems: list[str] = []
    no_run = 0
    for path in DOCS:
        found = blocks(path)
        for n, block in enumerate(found):
            where = f"{path.relative_to(ROOT)}:{block.line}"
            if block.marker == "no-run":
                no_run += 1
                if block.language not in ("python", "py", "python3"):
                    problems.append(f"{where}: no-run marks a {block.language or 'plain'} block")
                if not block.reason:
                    problems.append(f"{where}: no-run without a reason")
            if block.marker == "output":
                before = found[n - 1] if n else None
                if block.language != "text" or before is None or before.language != "python":
                    problems.append(f"{where}: docs: output must mark a text block after python")
    assert problems == []
    assert no_run <= MAX_NO_RUN, f"{no_run} blocks marked no-run (at most {MAX_NO_RUN})"
    assert PYTHON, "no python block found: the parser is broken"
    assert any(b.path.name == "library.md" for b, _ in PYTHON)


def test_update_rewrites_each_output_block_of_a_file_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two stale output blocks in one file: rewriting the first (to a different length)
    must not move where the second is written."""
    doc = tmp_path / "two.md"
    pair = "```python\nprint({text!r})\n```\n\n<!-- docs: output -->\n```text\nstale\n```\n"
    doc.write_text(
        pair.format(text="one\ntwo\nthree") + "\nprose\n\n" + pair.format(text="four"),
        "utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setenv("TENANTRY_UPDATE_GOLDEN", "1")
    found = blocks(doc)
    for item in ((found[0], found[1]), (found[2], found[3])):
        test_python_block_runs(item, monkeypatch, capsys)
    monkeypatch.delenv("TENANTRY_UPDATE_GOLDEN")
    updated = blocks(doc)
    assert [b.code for b in updated[1::2]] == ["one\ntwo\nthree\n", "four\n"]
    assert len(updated) == 4
