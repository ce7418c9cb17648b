"""Git plumbing for pull-request previews: which tenants a change touches, and a checkout of
the repository at a base ref. Plain subprocess calls to ``git``; pure otherwise."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Files whose change can alter every tenant's plan.
SHARED_PREFIXES = (
    "components/",
    "stacks/Pulumi.platform.yaml",
    "stacks/__main__.py",
    "pyproject.toml",
    "Pulumi.yaml",
)


class GitError(Exception):
    """A git command failed (unknown ref, not a repository)."""


def _git(repo: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def changed_files(repo: Path, ref: str) -> list[str]:
    """Files changed between the merge base of ``ref`` and the working tree (committed,
    staged, unstaged and untracked), as repository-relative POSIX paths."""
    base = _git(repo, "merge-base", ref, "HEAD").decode().strip()
    tracked = _git(repo, "diff", "--name-only", "--no-renames", base).decode().splitlines()
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard").decode().splitlines()
    return sorted(set(tracked) | set(untracked))


def affected_tenants(
    changed: Iterable[str], tenants: Iterable[str], tenants_dir: str = "tenants"
) -> list[str]:
    """Tenants whose own file changed, or all of them when shared code or config changed.
    A tenant file deleted by the change is included (its plan shows the removal)."""
    names = set(tenants)
    picked: set[str] = set()
    for path in changed:
        if path.startswith(SHARED_PREFIXES):
            return sorted(names | picked)
        p = PurePosixPath(path)
        if p.parent.as_posix() == tenants_dir and p.suffix in (".yaml", ".yml"):
            picked.add(p.stem)
    return sorted(picked)


def export_tree(repo: Path, ref: str, dest: Path) -> Path:
    """Write the repository's tree at ``ref`` into ``dest`` (like a checkout, no .git)."""
    data = _git(repo, "archive", "--format=tar", ref)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def files_at(repo: Path, ref: str, directory: Path) -> dict[str, bytes]:
    """The files directly in ``directory`` (a path inside the working tree of ``repo``) as
    they are at ``ref``: file name -> content; empty when the directory did not exist."""
    top = Path(_git(repo, "rev-parse", "--show-toplevel").decode().strip())
    try:
        rel = directory.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        raise GitError(f"{directory} is not inside the git repository {top}") from None
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(f"unknown git ref {ref!r} (a branch, tag or commit)") from None
    listing = _git(repo, "ls-tree", "--name-only", ref, "--", f"{rel}/").decode().splitlines()
    out = {}
    for path in listing:
        out[PurePosixPath(path).name] = _git(repo, "show", f"{ref}:{path}")
    return out
