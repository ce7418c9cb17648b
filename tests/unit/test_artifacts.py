"""The artifact digest: the canonical walk, checked against sha256sum and sort themselves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tenantry.artifacts import DigestError, Entry, artifact_prefix, digest_of, directory_digest
from tenantry.cli.main import main

TREE = {
    "model.onnx": b"\x00\x01weights",
    "a-b": b"dash sorts before slash",
    "a/b": b"nested",
    "a.b": b"dot",
    "A": b"upper case sorts first",
    "sub dir/with space.bin": b"spaces are fine",
    "caf\u00e9/\u00e9t\u00e9.txt": b"non-ASCII names, as UTF-8 bytes",
    "empty.bin": b"",
}


def make(root: Path, tree: dict[str, bytes]) -> Path:
    for rel, data in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def shell_digest(root: Path) -> str:
    """The docs' pipeline of standard tools, run for real."""
    if not all(shutil.which(t) for t in ("find", "sort", "xargs", "sha256sum")):
        pytest.skip("coreutils/findutils not available")
    out = subprocess.run(
        "find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -r -d '\\n' sha256sum | sha256sum",
        shell=True,
        cwd=root,
        capture_output=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout.decode()
    return "sha256:" + out.split()[0]


def test_digest_equals_the_sha256sum_pipeline(tmp_path: Path) -> None:
    root = make(tmp_path / "v1", TREE)
    (root / "an empty dir").mkdir()  # directories are not entries
    assert directory_digest(root) == shell_digest(root)


def test_any_change_changes_the_digest(tmp_path: Path) -> None:
    base = directory_digest(make(tmp_path / "a", TREE))
    changed = dict(TREE, **{"model.onnx": b"\x00\x01weightz"})
    renamed = {("model2.onnx" if k == "model.onnx" else k): v for k, v in TREE.items()}
    added = dict(TREE, **{"extra.txt": b""})
    for i, tree in enumerate((changed, renamed, added)):
        assert directory_digest(make(tmp_path / f"t{i}", tree)) != base


def test_order_is_by_path_bytes_not_by_listing_order() -> None:
    entries = [Entry("b", "0" * 64), Entry("a/b", "1" * 64), Entry("a-b", "2" * 64)]
    assert digest_of(entries) == digest_of(list(reversed(entries)))


@pytest.mark.parametrize(
    "bad", ["", "a//b", "./a", "a/../b", "line\nbreak", "back\\slash"], ids=repr
)
def test_non_canonical_paths_are_refused(bad: str) -> None:
    from tenantry.artifacts import check_path

    with pytest.raises(DigestError):
        check_path(bad)


def test_symlinks_and_empty_directories_are_refused(tmp_path: Path) -> None:
    root = make(tmp_path / "v1", {"model.onnx": b"x"})
    (root / "link").symlink_to(root / "model.onnx")
    with pytest.raises(DigestError, match="symbolic links"):
        directory_digest(root)
    (root / "link").unlink()
    (root / "linked-dir").symlink_to(tmp_path)
    with pytest.raises(DigestError, match="symbolic links"):
        directory_digest(root)
    empty = tmp_path / "empty"
    (empty / "only-a-dir").mkdir(parents=True)
    with pytest.raises(DigestError, match="no files"):
        directory_digest(empty)


def test_prefix_is_tritons_version_directory() -> None:
    assert artifact_prefix("fraud-detector", "12") == "models/fraud-detector/v12/fraud-detector/12/"


def test_cli_prints_the_digest_or_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make(tmp_path / "v1", TREE)
    assert main(["digest", str(root)]) == 0
    assert capsys.readouterr().out.strip() == shell_digest(root)
    assert main(["digest", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err and "Traceback" not in err
