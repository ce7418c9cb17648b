"""Reading tenant files: malformed, empty, binary, duplicate keys, multi-document, registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.spec import PlatformSettings, SpecError, load_registry, load_tenant
from tests.conftest import TENANTS, example_text


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (b"", "empty", None),
        (b"# only a comment\n", "empty", None),
        (b"\x00\xff\xfe\x81", "not_text", None),
        (b"apiVersion: [\n", "yaml_invalid", 2),
        (b"a: 1\na: 2\n", "yaml_invalid", 2),
        (b"- 1\n- 2\n", "dict_type", None),
        (b"just text\n", "dict_type", None),
        (b"a: 1\n---\nb: 2\n", "yaml_invalid", None),
        (b"a: !!python/object:os.system x\n", "yaml_invalid", 1),
    ],
)
def test_bad_files(
    tmp_path: Path, platform: PlatformSettings, content: bytes, code: str, line: int | None
) -> None:
    f = tmp_path / "acme.yaml"
    f.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_tenant(f, platform)
    [problem] = info.value.problems
    assert (problem.code, problem.line, problem.file) == (code, line, str(f))
    assert problem.accepted


def test_duplicate_key_inside_the_spec_is_caught(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    text = example_text("acme").replace("  tier: premium\n", "  tier: premium\n  tier: shared\n")
    f = tmp_path / "acme.yaml"
    f.write_text(text)
    with pytest.raises(SpecError, match="duplicate key 'tier'"):
        load_tenant(f, platform)


def test_registry_collects_problems_of_every_file(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    (tmp_path / "acme.yaml").write_text(example_text("acme"))
    (tmp_path / "globex.yaml").write_text(example_text("globex").replace("tier: shared", "tier: x"))
    (tmp_path / "notes.txt").write_text("ignored: not a tenant file")
    (tmp_path / "empty.yml").write_text("")
    reg = load_registry([tmp_path], platform)
    assert set(reg.tenants) == {"acme"}
    assert {(Path(p.file).name, p.code) for p in reg.problems} == {
        ("globex.yaml", "literal_error"),
        ("empty.yml", "empty"),
    }
    assert not reg.ok


def test_same_tenant_in_two_directories(tmp_path: Path, platform: PlatformSettings) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "acme.yaml").write_text(example_text("acme"))
    reg = load_registry([TENANTS, other], platform)
    errors = [p for p in reg.problems if p.severity == "error"]
    # each file is told where the other one is, both with the line of metadata.name
    assert [(p.file, p.code, p.path, p.line) for p in errors] == [
        (str(TENANTS / "acme.yaml"), "name_duplicate", "metadata.name", 5),
        (str(other / "acme.yaml"), "name_duplicate", "metadata.name", 5),
    ]
    assert f"also declared in {other / 'acme.yaml'}:5" in errors[0].message
    assert f"also declared in {TENANTS / 'acme.yaml'}:5" in errors[1].message
    assert "acme" not in reg.tenants


@pytest.mark.parametrize(
    ("content", "given", "column"),
    [
        ("apiVersion: tenantry.dev/v1alpha1\nspec:\n  tier: [shared\n", "tier: [shared", True),
        ("a: 1\na: 2\n", "a: 2", True),
        ("spec:\n  tier: shared\n  models:\n    - name: a\n   - name: b\n", "- name: b", True),
    ],
)
def test_a_yaml_error_names_its_column_and_the_line_given(
    tmp_path: Path, platform: PlatformSettings, content: str, given: str | None, column: bool
) -> None:
    """'not valid YAML: while parsing a flow sequence ...' said neither where on the line
    nor what was written: the source line where the broken construct starts is the value
    given, and the message has the column."""
    f = tmp_path / "acme.yaml"
    f.write_text(content)
    with pytest.raises(SpecError) as info:
        load_tenant(f, platform)
    [problem] = info.value.problems
    assert problem.code == "yaml_invalid" and problem.accepted
    assert ("(column " in problem.message) == column
    if given is not None:
        assert problem.value == given
    else:
        assert isinstance(problem.value, str) and problem.value
