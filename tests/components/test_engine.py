"""The recording engine and ``tenantry render``: repeatable, masked, atomic."""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import pulumi
import pytest

from tenantry.cli.main import main
from tenantry.engine import SECRET, UNKNOWN, WriteError, record, record_tenant, write_atomic
from tenantry.spec import SpecError

from .helpers import ROOT


def test_records_are_repeatable_in_one_process() -> None:
    a = record_tenant("umbrella", ROOT / "tenants", ROOT / "stacks")
    b = record_tenant("globex", ROOT / "tenants", ROOT / "stacks")
    c = record_tenant("umbrella", ROOT / "tenants", ROOT / "stacks")
    assert a == c and a != b
    assert [r.urn for r in a] == sorted(r.urn for r in a)
    assert all(r.urn.startswith("urn:pulumi:umbrella::tenantry::") for r in a)


def test_secrets_masked_and_deploy_time_values_unknown() -> None:
    def program() -> None:
        from pulumi_kubernetes.core.v1 import ConfigMap

        first = ConfigMap("first", metadata={"name": "first"}, data={"a": "b"})
        ConfigMap(
            "second",
            metadata={"name": "second"},
            data={"token": pulumi.Output.secret("hunter2"), "from": first.id},
        )

    recs = {r.name: r for r in record(program, stack="t")}
    data = recs["second"].inputs["data"]
    assert data == SECRET or data["token"] == SECRET
    assert "hunter2" not in repr(recs["second"].inputs)
    plain = record(lambda: _cm_with_id_ref(), stack="t")
    assert {r.name: r for r in plain}["ref"].inputs["data"] == {"from": UNKNOWN}


def _cm_with_id_ref() -> None:
    from pulumi_kubernetes.core.v1 import ConfigMap

    first = ConfigMap("first", metadata={"name": "first"})
    ConfigMap("ref", metadata={"name": "ref"}, data={"from": first.id})


def test_program_errors_propagate() -> None:
    def program() -> None:
        raise pulumi.RunError("boom")

    with pytest.raises(pulumi.RunError, match="boom"):
        record(program, stack="t")
    assert record(lambda: None, stack="t") == []  # and the runtime is usable again


def test_platform_stack_program_requires_the_vector_db_password() -> None:
    import runpy

    program = ROOT / "stacks" / "__main__.py"
    with pytest.raises(pulumi.RunError, match="tenantry:vectorDbPassword"):
        record(
            lambda: runpy.run_path(str(program), run_name="__main__"), stack="platform", config={}
        )


def test_platform_stack_program_requires_its_own_triton_admin_secret() -> None:
    """The vector database's password alone is not enough: the Triton admin secret is its
    own config, named with the command that sets it."""
    import runpy

    program = ROOT / "stacks" / "__main__.py"
    with pytest.raises(pulumi.RunError) as exc:
        record(
            lambda: runpy.run_path(str(program), run_name="__main__"),
            stack="platform",
            config={"tenantry:vectorDbPassword": "pw"},
        )
    message = str(exc.value)
    assert "tenantry:tritonAdminSecret" in message
    assert "pulumi config set --secret tenantry:tritonAdminSecret" in message


def test_the_program_comes_from_the_stacks_directory(tmp_path: Path) -> None:
    """No path into the library's own checkout: a stacks directory without a program is
    named, and another directory's program is the one that runs."""
    from tenantry.engine import RenderError, record_platform

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.platform.yaml", stacks)
    with pytest.raises(RenderError, match=r"__main__\.py.*no stack program"):
        record_tenant("acme", ROOT / "tenants", stacks)
    with pytest.raises(RenderError, match="no stack program"):
        record_platform(ROOT / "tenants", stacks)
    (stacks / "__main__.py").write_text(
        "import pulumi\npulumi.CustomResource('test:index:Marker', 'marker', {})\n"
    )
    assert [r.name for r in record_tenant("acme", ROOT / "tenants", stacks)] == ["marker"]


def render_acme(out: Path, tenants: Path = ROOT / "tenants", stacks: Path = ROOT / "stacks") -> int:
    """``tenantry render acme --out OUT`` on the given tenant and stack directories."""
    return main(
        ["render", "acme", "--out", str(out), "--tenants", str(tenants), "--stacks", str(stacks)]
    )


def test_render_cli_writes_and_replaces_atomically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "render" / "acme"
    assert render_acme(out) == 0
    assert (out / "kubernetes/acme/inferenceservice-fraud-detector.yaml").is_file()
    assert (out / "triton/models/fraud-detector/v13/fraud-detector/config.pbtxt").is_file()
    assert (
        "26 Kubernetes object(s), 3 Triton config(s)" in capsys.readouterr().out
    )  # +allow-llm-gateway
    (out / "stale.yaml").write_text("x")
    assert render_acme(out) == 0
    assert not (out / "stale.yaml").exists()  # replaced whole
    assert [p.name for p in out.parent.iterdir()] == ["acme"]  # no temp dirs left


def bad_tenant_dirs(tmp_path: Path) -> tuple[Path, Path]:
    tenants, stacks = tmp_path / "tenants", tmp_path / "stacks"
    tenants.mkdir()
    shutil.copytree(ROOT / "stacks", stacks)
    text = (ROOT / "tenants" / "acme.yaml").read_text("utf-8")
    (tenants / "acme.yaml").write_text(text.replace("gpu: 1g.10gb", "gpu: 9g.99gb"))
    return tenants, stacks


def test_render_of_an_invalid_tenant_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenants, stacks = bad_tenant_dirs(tmp_path)
    assert render_acme(tmp_path / "out" / "acme", tenants, stacks) == 1
    err = capsys.readouterr().err
    assert "spec.models[0].gpu" in err and "nothing was written" in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SpecError):
        record_tenant("acme", tenants, stacks)


def test_render_of_an_invalid_tenant_keeps_a_previous_render(tmp_path: Path) -> None:
    tenants, stacks = bad_tenant_dirs(tmp_path)
    out = tmp_path / "acme"
    assert render_acme(out) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert render_acme(out, tenants, stacks) == 1
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme", "stacks", "tenants"]


def test_unknown_tenant_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["render", "nobody", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_write_atomic_refuses_a_directory_that_is_not_a_render(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(WriteError, match="not a tenantry render"):
        write_atomic({"a.yaml": b"x"}, out)
    assert (out / "notes.txt").read_text() == "keep me"
    with pytest.raises(WriteError, match="outside"):
        write_atomic({"../escape.yaml": b"x"}, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_recording_leaves_the_sdk_and_pickle_as_it_found_them() -> None:
    import pickle

    from tenantry import _sdk

    trace = _sdk._resource_module._get_stack_trace
    setitems = pickle._Pickler.__dict__["_batch_setitems"]
    paused: list[bool] = []

    def program() -> None:
        paused.append(not gc.isenabled())
        raise pulumi.RunError("boom")

    with pytest.raises(pulumi.RunError):
        record(program, stack="t")
    assert paused == [True] and gc.isenabled()  # collector paused inside, back on after
    gc.disable()
    try:
        record(lambda: None, stack="t")
        assert not gc.isenabled()  # a caller's own pause is left as it was
    finally:
        gc.enable()
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0], threshold[1], 2)
    try:
        full = gc.get_stats()[2]["collections"]
        for _ in range(4):
            record(lambda: None, stack="t")
        # What young collections promote is freed only by full ones: they must still run.
        assert gc.get_stats()[2]["collections"] >= full + 1
    finally:
        gc.set_threshold(*threshold)
    main_module = sys.modules["__main__"]
    records = record_tenant("acme", ROOT / "tenants", ROOT / "stacks")
    assert sys.modules["__main__"] is main_module  # the stack program ran as its own __main__
    assert any(r.type.startswith("pulumi-python:dynamic") for r in records)
    # The SDK wraps this once more per dynamic provider it serializes and never unwraps it:
    # left alone, a few hundred tenants in one process end in RecursionError.
    assert pickle._Pickler.__dict__["_batch_setitems"] is setitems
    assert _sdk._resource_module._get_stack_trace is trace
