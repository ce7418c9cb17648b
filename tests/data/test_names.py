"""Identifier validation: the first fence before any SQL is built (pure, no server)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.data.names import IdentifierError, check_identifier, tenant_identifier

SAFE = re.compile(r"[a-z][a-z0-9_]{0,62}")
DNS = st.from_regex(r"\A[a-z]([-a-z0-9]{0,38}[a-z0-9])?\Z")


@given(st.text(max_size=80))
def test_accepts_only_plain_lower_case_ascii(value: str) -> None:
    try:
        assert check_identifier("vectorNamespaces.name", value) == value
    except IdentifierError as exc:
        assert exc.field == "vectorNamespaces.name"
        assert str(exc).startswith("vectorNamespaces.name: ")
        assert "accepted: 1-63 characters" in str(exc)
    else:
        assert SAFE.fullmatch(value)


@given(DNS, DNS)
def test_tenant_identifier_is_one_to_one(a: str, b: str) -> None:
    ia, ib = tenant_identifier(a), tenant_identifier(b)
    assert SAFE.fullmatch(ia) and ia.startswith("tenant_")
    assert (ia == ib) == (a == b)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('x"; drop t; --', "contains ' \"-;'"),  # sorted set of the offending characters
        ("d\u00f6cs", "contains '\u00f6'"),
        ("1abc", "must start with a letter"),
        ("x" * 64, "64 characters, more than 63"),
        ("pg_toast", "reserved by PostgreSQL or the platform"),
        ("", "empty"),
    ],
)
def test_error_names_the_problem(value: str, reason: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        check_identifier("name", value)
    assert exc.value.reason == reason
