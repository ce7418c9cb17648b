"""The relations a vector namespace creates in its tenant's schema, on the real server.

PostgreSQL keeps tables and indexes in one name space per schema (``pg_class``), so two of
a tenant's vector namespaces may not lead to the same relation name: validation refuses
``docs`` next to ``docs_embedding_hnsw`` or ``docs_pkey``
(:func:`tenantry.data.names.relation_names`). These tests pin that the names it keeps apart
are exactly the ones the backend creates, and what the server does with a clash.
"""

from __future__ import annotations

import secrets

import pytest

from tenantry.data.backend import NamespaceSpec, RoleLimits, TenantStore
from tenantry.data.names import relation_names
from tenantry.data.pgvector import PgVectorBackend

from .pg import PgServer

pytestmark = pytest.mark.server
LIMITS = RoleLimits(
    connection_limit=5,
    statement_timeout_ms=30_000,
    lock_timeout_ms=5_000,
    idle_in_transaction_session_timeout_ms=60_000,
)


def relations(pg: PgServer, schema: str) -> dict[str, str]:
    """relname -> relkind of every relation in ``schema``."""
    with pg.superuser() as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s",
            (schema,),
        ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def test_a_namespace_creates_exactly_the_relations_validation_keeps_apart(pg: PgServer) -> None:
    backend = PgVectorBackend(pg.admin.connect)
    store = TenantStore.for_tenant("relation-names")
    backend.ensure_tenant(store, secrets.token_urlsafe(24), LIMITS)
    backend.ensure_namespace(NamespaceSpec(store, "docs", 8, "cosine"))
    assert set(relations(pg, store.schema)) == set(relation_names("docs"))


def test_a_clashing_name_leaves_the_other_namespace_without_its_index(pg: PgServer) -> None:
    """Why the rule exists: with a table named like the other namespace's index, the
    backend's ``CREATE INDEX IF NOT EXISTS`` finds the relation and skips - the namespace
    is created without its HNSW index, and nothing says so."""
    backend = PgVectorBackend(pg.admin.connect)
    store = TenantStore.for_tenant("relation-clash")
    backend.ensure_tenant(store, secrets.token_urlsafe(24), LIMITS)
    backend.ensure_namespace(NamespaceSpec(store, "docs_embedding_hnsw", 8, "cosine"))
    backend.ensure_namespace(NamespaceSpec(store, "docs", 8, "cosine"))
    assert relations(pg, store.schema)["docs_embedding_hnsw"] == "r"  # a table, not an index
    with pg.superuser() as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'docs'",
            (store.schema,),
        ).fetchall()
    assert [r[0] for r in rows] == ["docs_pkey"]  # no HNSW index on docs
