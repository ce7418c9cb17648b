"""Running one stack: the interface the fleet orchestrates, and the Pulumi Automation API
implementation of it (needs the ``pulumi`` CLI on PATH; the orchestration is tested with an
injected runner instead)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Action = Literal["preview", "up", "destroy"]


@dataclass(frozen=True)
class StackResult:
    stack: str
    ok: bool
    summary: str  # one line: "3 to create, 1 to update" or the error
    changes: dict[str, int] = field(default_factory=dict)


class StackRunner(Protocol):
    def run(self, action: Action, stack: str, config: dict[str, object]) -> StackResult: ...


class CliMissing(RuntimeError):
    """The Pulumi CLI is not installed, so no stack can be previewed or deployed."""


def pulumi_cli() -> str | None:
    return shutil.which("pulumi")


def config_json(config: Mapping[str, object]) -> str:
    """``config`` in the shape ``pulumi config --json`` prints and ``pulumi config set-all
    --json`` reads back: ``{key: {"value": text, "secret": false}}``, plus ``"objectValue"``
    for a mapping or list, so the CLI stores it as a typed YAML value, not as a string of
    JSON (pulumi/pulumi#19427; CLI docs, "pulumi config set-all": "--json ... in the format
    produced by 'pulumi config --json'").

    A value already encrypted in the stack's file (``{secure: ...}``) is left out: it is
    there under that stack's secrets provider, and only the CLI may write it.
    """
    out: dict[str, dict[str, object]] = {}
    for key, value in sorted(config.items()):
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            continue
        if isinstance(value, Mapping | list | tuple):
            text = json.dumps(value, sort_keys=True)
            out[key] = {"value": text, "objectValue": json.loads(text), "secret": False}
        else:
            out[key] = {"value": _scalar(value), "secret": False}
    return json.dumps(out, sort_keys=True)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class AutomationRunner:
    """Local program (this repository's ``Pulumi.yaml``), one stack per tenant, config set
    from the generated ``stacks/Pulumi.<stack>.yaml`` values passed in ``config``, with
    their types kept (:func:`config_json`)."""

    def __init__(self, work_dir: Path) -> None:
        if pulumi_cli() is None:
            raise CliMissing(
                "the Pulumi CLI is not on PATH: install it "
                "(https://www.pulumi.com/docs/install/) to preview or deploy stacks"
            )
        self.work_dir = work_dir

    def run(self, action: Action, stack: str, config: dict[str, object]) -> StackResult:
        from pulumi import automation as auto

        try:
            s = auto.create_or_select_stack(stack_name=stack, work_dir=str(self.work_dir))
            s.set_all_config_json(config_json(config))
            if action == "preview":
                preview = s.preview(color="never")
                counts = {str(k): int(v) for k, v in preview.change_summary.items()}
            elif action == "up":
                up = s.up(color="never")
                counts = {str(k): int(v) for k, v in (up.summary.resource_changes or {}).items()}
            else:
                down = s.destroy(color="never")
                counts = {str(k): int(v) for k, v in (down.summary.resource_changes or {}).items()}
        except auto.errors.CommandError as exc:
            return _failed(stack, exc)
        return StackResult(stack, True, _summary(counts), counts)


def _failed(stack: str, exc: Exception) -> StackResult:
    """The last line of a Pulumi CLI error (its own summary of what went wrong)."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return StackResult(stack, False, lines[-1][:300] if lines else "pulumi failed")


def _summary(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(counts.items()) if n) or "no changes"


class GitRollback:
    """A tenant's last good state from its stack history, restored from git.

    ``last_good``: the ``git.head`` the Pulumi CLI records in the environment of every
    update run inside a git repository, of the stack's most recent *successful* update
    (``pulumi stack history``; Automation API ``Stack.history``). ``restore``: the
    repository at that commit (``git archive``) in a temporary directory, run with this
    checkout's virtualenv but the commit's own ``components/`` first on ``PYTHONPATH``, so
    the program, the library and the tenant file are all the commit's; the stack config is
    that commit's ``stacks/Pulumi.<stack>.yaml``. ``fixed`` overrides the history with one
    commit for every stack (``--last-good REF``)."""

    def __init__(self, work_dir: Path, fixed: str | None = None) -> None:
        self.work_dir = work_dir
        self.fixed = fixed

    def last_good(self, stack: str) -> str | None:
        if self.fixed is not None:
            return self.fixed
        from pulumi import automation as auto

        try:
            s = auto.select_stack(stack_name=stack, work_dir=str(self.work_dir))
            history = s.history()
        except auto.errors.CommandError:
            return None
        for update in history:  # newest first
            env = update.environment or {}
            if update.kind == "update" and update.result == "succeeded" and env.get("git.head"):
                return str(env["git.head"])
        return None

    def restore(self, stack: str, commit: str) -> StackResult:
        import subprocess
        import tempfile

        import yaml
        from pulumi import automation as auto

        with tempfile.TemporaryDirectory(prefix="tenantry-rollback-") as tmp:
            archive = subprocess.run(
                ["git", "-C", str(self.work_dir), "archive", "--format=tar", commit],
                capture_output=True,
                check=False,
            )
            if archive.returncode != 0:
                return StackResult(stack, False, f"git archive {commit}: {archive.stderr!r}")
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            root = Path(tmp)
            venv = self.work_dir / ".venv"
            if venv.exists():
                (root / ".venv").symlink_to(venv)
            config_file = root / "stacks" / f"Pulumi.{stack}.yaml"
            if not config_file.exists():
                return StackResult(stack, False, f"{commit} has no stacks/Pulumi.{stack}.yaml")
            config = dict((yaml.safe_load(config_file.read_text("utf-8")) or {}).get("config", {}))
            env = {"PYTHONPATH": str(root / "components")}
            try:
                s = auto.create_or_select_stack(
                    stack_name=stack,
                    work_dir=tmp,
                    opts=auto.LocalWorkspaceOptions(env_vars=env),
                )
                s.set_all_config_json(config_json(config))
                up = s.up(color="never")
            except auto.errors.CommandError as exc:
                return _failed(stack, exc)
        counts = {str(k): int(v) for k, v in (up.summary.resource_changes or {}).items()}
        return StackResult(stack, True, f"restored {commit[:12]}: {_summary(counts)}", counts)
