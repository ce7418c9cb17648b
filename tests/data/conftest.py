"""Session fixture: one real PostgreSQL + pgvector for tests/data (see tests/data/pg.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import server_missing

from .pg import PgServer, find_bin_dir, running_server

REPORTS: list[str] = []  # text blocks the tests want in the terminal summary (CI logs)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            "PostgreSQL binaries not found: `pip install pgserver` (bundles PostgreSQL 16 "
            "with pgvector) or set TENANTRY_PG_BIN"
        )
        server_missing(reason)
    with running_server(bin_dir) as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTS:
        terminalreporter.write_sep("=", "vector database: isolation and per-tenant limits")
    for block in REPORTS:
        terminalreporter.write_line(block)
