"""The pgvector limits validation uses (tenantry.catalog.limits) hold on the real server the
suite runs: its version, every metric's operator class, and the index's dimension bound."""

from __future__ import annotations

import psycopg
import pytest

from tenantry.catalog.limits import PGVECTOR_TESTED, VECTOR_INDEXES

from .pg import PgServer

pytestmark = pytest.mark.server


def test_the_suite_runs_the_pgvector_version_the_limits_name(pg: PgServer) -> None:
    with pg.superuser() as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    assert row is not None and row[0] == PGVECTOR_TESTED


@pytest.mark.parametrize("key", sorted(VECTOR_INDEXES))
def test_each_metric_indexes_up_to_the_limit_and_not_one_more(
    pg: PgServer, key: tuple[str, str]
) -> None:
    limit = VECTOR_INDEXES[key]
    with pg.superuser() as conn:
        conn.execute("SET search_path TO public, extensions")
        for metric, opclass in sorted(limit.opclasses.items()):
            for dims, ok in ((limit.max_dimensions, True), (limit.max_dimensions + 1, False)):
                table = f"limit_{limit.method}_{metric}_{dims}"
                conn.execute(f"CREATE TABLE {table} (v {limit.column_type}({dims}))")
                create = f"CREATE INDEX ON {table} USING {limit.method} (v {opclass})"
                if ok:
                    conn.execute(create)
                else:
                    with pytest.raises(psycopg.Error, match=f"more than {limit.max_dimensions}"):
                        conn.execute(create)
                conn.execute(f"DROP TABLE {table}")
