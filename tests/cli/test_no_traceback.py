"""No traceback, ever: every subcommand against every kind of bad input ends with its
documented exit code and one-line errors that say what to fix; ``--format json`` reports
the same as JSON on stdout.

Kinds of bad input: bad YAML, an invalid spec, a file that cannot be read (not text, a
broken link), a missing stack config, an unknown tenant, an empty registry, a missing
tenants directory, a missing stack program, a bad platform config.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tenantry.cli.main import main
from tests.conftest import ROOT

EXAMPLES = ("acme", "globex")  # a premium tenant with a canary, a shared one with a CPU model


def workspace(tmp: Path) -> tuple[Path, Path]:
    tenants, stacks = tmp / "tenants", tmp / "stacks"
    tenants.mkdir()
    stacks.mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.platform.yaml", stacks)
    shutil.copy(ROOT / "stacks" / "__main__.py", stacks)
    for name in EXAMPLES:
        shutil.copy(ROOT / "tenants" / f"{name}.yaml", tenants)
    # the stack configs the generator writes for these paths
    assert main(["stacks", "--write", "--tenants", str(tenants), "--stacks", str(stacks)]) == 0
    return tenants, stacks


def bad_yaml(t: Path, s: Path) -> str:
    (t / "broken.yaml").write_text("metadata: {name: broken\nspec: [\n")
    return "broken"


def invalid_spec(t: Path, s: Path) -> str:
    text = (t / "globex.yaml").read_text().replace("tier: shared", "tier: gold")
    (t / "globex.yaml").write_text(text)
    return "globex"


def not_text(t: Path, s: Path) -> str:
    (t / "binary.yaml").write_bytes(b"\xff\xfe\x00not text")
    return "binary"


def broken_link(t: Path, s: Path) -> str:
    (t / "gone.yaml").symlink_to(t / "nowhere.yaml")
    return "gone"


def missing_stack_config(t: Path, s: Path) -> str:
    (s / "Pulumi.globex.yaml").unlink()
    return "globex"


def unknown_tenant(t: Path, s: Path) -> str:
    return "nobody"


def empty_registry(t: Path, s: Path) -> str:
    for f in t.iterdir():
        f.unlink()
    return "nobody"


def missing_tenants_dir(t: Path, s: Path) -> str:
    shutil.rmtree(t)
    return "acme"


def missing_stack_program(t: Path, s: Path) -> str:
    (s / "__main__.py").unlink()
    return "acme"


def bad_platform(t: Path, s: Path) -> str:
    path = s / "Pulumi.platform.yaml"
    path.write_text(path.read_text().replace("maxNodes: 8", "maxNodes: many"))
    return "acme"


KINDS: dict[str, Callable[[Path, Path], str]] = {
    "bad_yaml": bad_yaml,
    "invalid_spec": invalid_spec,
    "not_text": not_text,
    "broken_link": broken_link,
    "missing_stack_config": missing_stack_config,
    "unknown_tenant": unknown_tenant,
    "empty_registry": empty_registry,
    "missing_tenants_dir": missing_tenants_dir,
    "missing_stack_program": missing_stack_program,
    "bad_platform": bad_platform,
}


def commands(name: str, t: Path, s: Path, out: Path) -> dict[str, list[str]]:
    dirs = ["--tenants", str(t), "--stacks", str(s)]
    return {
        "validate": ["validate", str(t), "--stacks", str(s)],
        "plan": ["plan", *dirs],
        "plan_one": ["plan", name, *dirs],
        "render": ["render", name, "--out", str(out), *dirs],
        "render_platform": ["render", "platform", "--out", str(out), *dirs],
        "cost": ["cost", *dirs],
        "cost_actual": ["cost", "--actual", "--prometheus", "http://127.0.0.1:1", *dirs],
        "stacks": ["stacks", *dirs],
        "gpu_plan": ["gpu", "plan", "--tenants", str(t), "--stacks", str(s)],
        "verify": ["verify", name, "--url", "127.0.0.1:1", *dirs],
        "fleet": ["fleet", "preview", "--tenant", name, *dirs],
        "init": ["init", "newco", "--tier", "shared", "--cost-center", "CC-4242", *dirs],
    }


# The documented exit code of each command for each kind of bad input (0: it runs, with
# warnings where there are some; 1: invalid input or a failed check; 2: cannot run as asked).
INVALID = {
    "validate": 1,
    "plan": 1,
    "plan_one": 1,
    "render": 1,
    "render_platform": 1,
    "cost": 1,
    "cost_actual": 1,
    "stacks": 1,
    "gpu_plan": 1,
    "verify": 1,
    "fleet": 1,
    "init": 0,  # its own file is valid: a broken neighbour does not stop it
}
EXPECTED: dict[str, dict[str, int]] = {
    "bad_yaml": INVALID,
    "invalid_spec": INVALID,
    "not_text": INVALID,
    "broken_link": INVALID,
    "missing_stack_config": {
        **{c: 0 for c in INVALID},
        "stacks": 1,  # says which config is missing and the command that writes it
        "fleet": 1,  # refuses to deploy without it
        "verify": 1,  # the endpoint 127.0.0.1:1 is unreachable: a failed check
        "cost_actual": 1,  # so is Prometheus at 127.0.0.1:1
    },
    "unknown_tenant": {
        **{c: 0 for c in INVALID},
        "cost_actual": 1,
        "plan_one": 2,
        "render": 2,
        "verify": 2,
        "fleet": 2,
    },
    "empty_registry": {
        "validate": 1,
        "plan": 1,
        "plan_one": 1,
        "render": 2,
        "render_platform": 0,  # a platform without tenants is a valid start
        "cost": 1,
        "cost_actual": 1,
        "stacks": 1,  # the stack configs left have no tenant file: it names them
        "gpu_plan": 0,
        "verify": 2,
        "fleet": 2,
        "init": 0,
    },
    "missing_tenants_dir": {**{c: 2 for c in INVALID}},
    "missing_stack_program": {  # what runs the stack program cannot run as asked
        **{c: 0 for c in INVALID},
        "plan": 2,
        "plan_one": 2,
        "render": 2,
        "render_platform": 2,
        "verify": 1,  # the endpoint 127.0.0.1:1 is unreachable: a failed check
        "cost_actual": 1,
        "fleet": 2,  # no Pulumi CLI here
    },
    "bad_platform": {**{c: 2 for c in INVALID}},
}
JSON = {"validate", "plan", "plan_one", "render", "render_platform", "cost", "cost_actual"}
JSON |= {"stacks", "gpu_plan"}
JSON |= {"verify", "fleet", "init"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def check_output(code: int, out: str, err: str, json_out: bool) -> None:
    assert "Traceback" not in out + err
    assert code != 3, f"internal error: {err}"
    errors = [line for line in err.splitlines() if line.startswith("tenantry: error: ")]
    if json_out:
        doc = json.loads(out)
        if code and isinstance(doc, dict) and "exitCode" in doc:
            assert doc["exitCode"] == code and doc["ok"] is False and doc["error"]
        return
    if code:
        # the last line of stderr says what failed and how to fix it, in one line
        assert errors, err
        last = err.splitlines()[-1]
        assert last.startswith("tenantry: error: ") and len(last) < 600
        fix = (
            "run ",
            "pass ",
            "fix",
            "accepted",
            "give ",
            "choose",
            "write one",
            "create",
            "install ",
            "check ",
        )
        assert any(f in last for f in fix), last


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_subcommand_against_every_bad_input(
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TENANTRY_VERIFY_TOKEN", raising=False)
    results = {}
    for command in EXPECTED[kind]:
        for json_out in (False, True):
            work = tmp_path / f"{command}-{int(json_out)}"
            work.mkdir()
            t, s = workspace(work)
            capsys.readouterr()
            name = KINDS[kind](t, s)
            argv = commands(name, t, s, work / "out")[command]
            if json_out:
                if command not in JSON:
                    continue
                argv = [*argv, "--format", "json"]
            code, out, err = run(argv, capsys)
            check_output(code, out, err, json_out)
            results[(command, json_out)] = code
    expected = {
        (c, j): code
        for c, code in EXPECTED[kind].items()
        for j in (False, True)
        if not j or c in JSON
    }
    assert results == expected


def test_argument_errors_are_one_line_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["plan", "--format", "yaml"], ["nope"], ["render"], ["gpu"], []):
        code, out, err = run(argv, capsys)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("tenantry: error: ")
        assert "--help" in err
    code, out, _ = run(["plan", "--format", "json", "--bogus"], capsys)
    assert code == 2 and json.loads(out)["exitCode"] == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("tenantry ")


def test_an_unexpected_failure_is_one_line_with_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenantry.cli import schema

    def boom(*_: object) -> str:
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(schema, "json_schema_text", boom)
    code, out, err = run(["schema"], capsys)
    assert code == 3 and out == "" and "Traceback" not in err
    assert err == (
        "tenantry: error: internal error: RuntimeError: something broke (a bug in tenantry: "
        "please report it; TENANTRY_DEBUG=1 shows the traceback)\n"
    )


@pytest.mark.parametrize("target", ["acme", "platform"])
def test_an_out_path_the_file_system_refuses_is_a_usage_error_not_a_bug(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out under a regular file (or on a file system that takes no files): exit 2 naming
    --out, not 'internal error: FileExistsError ... .tmp' with exit 3."""
    t, s = workspace(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / "render"
    code, stdout, err = run(
        ["render", target, "--out", str(out), "--tenants", str(t), "--stacks", str(s)], capsys
    )
    check_output(code, stdout, err, json_out=False)
    assert code == 2 and str(out) in err.splitlines()[-1] and ".tmp" not in err


def test_a_path_the_file_system_refuses_is_named_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The class, at the top: any OSError on a path (here a stack config that is a
    directory) is one line naming the path, exit 2; an OSError naming no path is a bug."""
    t, s = workspace(tmp_path)
    (s / "Pulumi.acme.yaml").unlink()
    (s / "Pulumi.acme.yaml").mkdir()
    code, stdout, err = run(["stacks", "--write", "--tenants", str(t), "--stacks", str(s)], capsys)
    check_output(code, stdout, err, json_out=False)
    assert code == 2 and "Pulumi.acme.yaml" in err.splitlines()[-1]
