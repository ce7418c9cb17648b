"""docs/limits.md states each limit the code checks, with the code's numbers."""

from __future__ import annotations

from tenantry.catalog import limits, runtimes
from tenantry.spec import hosts
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "limits.md").read_text()


def rows() -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("|").split("|")]
        for line in DOC.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def test_every_name_limit_has_its_row_with_its_number() -> None:
    found = {r[0]: r for r in rows()}
    for value in vars(limits).values():
        if isinstance(value, limits.NameLimit):
            assert value.what in found, value.what
            assert found[value.what][1] == str(value.max_length), value.what


def test_vector_index_limits_and_host_limits() -> None:
    table = {(r[0].split()[0].upper(), r[1].strip("`")): r for r in rows() if len(r) == 5}
    for (method, column), limit in limits.VECTOR_INDEXES.items():
        row = table[(method.upper(), column)]
        assert row[3] == f"1-{limit.max_dimensions}"
        for metric, opclass in limit.opclasses.items():
            assert f"`{opclass}`" in DOC and metric in DOC
    assert f"**{hosts.MAX_LABEL}**" in DOC and f"**{hosts.MAX_HOST}**" in DOC
    assert limits.PGVECTOR_TESTED in DOC


def test_every_runtime_image_is_stated() -> None:
    for rt in runtimes.RUNTIMES:
        assert f"`{rt.name}`" in DOC and f"`{rt.image.image}`" in DOC
