"""SQL identifiers for vector stores: validated before any SQL is built (pure, no Pulumi).

Every name that ends up in a statement passes :func:`check_identifier` first and is then
quoted with ``psycopg.sql.Identifier`` by the backend: validation is the first fence (a
hostile name never reaches a connection), quoting the second (nothing is interpolated).
"""

from __future__ import annotations

import re
from typing import Final

# Lower-case ASCII letter first, then lower-case letters, digits and underscores. No quotes,
# no spaces, no semicolons, no Unicode look-alikes, no upper case (PostgreSQL would fold it).
IDENTIFIER_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
MAX_IDENTIFIER_LENGTH: Final = 63  # PostgreSQL's NAMEDATALEN - 1; longer names are truncated
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
# Names PostgreSQL or the platform reserve: a tenant must never become one of these roles.
RESERVED: Final = frozenset({"public", "postgres", "extensions", "information_schema"})
RESERVED_PREFIXES: Final = ("pg_", "rds", "aurora", "tenantry_admin")
ACCEPTED: Final = (
    "1-63 characters: a lower-case ASCII letter, then lower-case ASCII letters, digits or "
    f"'_'; not {', '.join(sorted(RESERVED))} nor starting with "
    f"{', '.join(RESERVED_PREFIXES)}"
)

DEFAULT_PREFIX: Final = "tenant_"
EMBEDDING_COLUMN: Final = "embedding"


class IdentifierError(ValueError):
    """A name that may not become an SQL identifier; says which field and what is accepted."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {value!r} is not accepted ({reason}); accepted: {ACCEPTED}")


def check_identifier(field: str, value: object) -> str:
    """Return ``value`` if it is a safe identifier, else raise :class:`IdentifierError`."""
    if not isinstance(value, str):
        raise IdentifierError(field, value, f"expected a string, got {type(value).__name__}")
    if not value:
        raise IdentifierError(field, value, "empty")
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise IdentifierError(field, value, f"{len(value)} characters, more than 63")
    # `re.ASCII` is implied by the explicit classes; fullmatch also rejects a trailing newline.
    if not _IDENTIFIER.fullmatch(value):
        bad = sorted({c for c in value if not re.fullmatch(r"[a-z0-9_]", c)})
        detail = f"contains {''.join(bad)!r}" if bad else "must start with a letter"
        raise IdentifierError(field, value, detail)
    if value in RESERVED or value.startswith(RESERVED_PREFIXES):
        raise IdentifierError(field, value, "reserved by PostgreSQL or the platform")
    return value


def tenant_identifier(tenant: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Schema and role name of a tenant: ``tenant_`` + the tenant name with '-' as '_'.

    Tenant names are DNS labels (no '_'), so the mapping is one-to-one. The prefix keeps
    tenant roles apart from the cluster's own roles (a tenant called ``postgres`` stays
    harmless). Raises :class:`IdentifierError` naming ``tenant`` for anything else.
    """
    if not isinstance(tenant, str) or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", tenant):
        raise IdentifierError(
            "tenant", tenant, "a tenant name is a DNS label: lower-case letters, digits, '-'"
        )
    check_identifier("prefix", prefix.rstrip("_") or "x")
    return check_identifier("tenant", prefix + tenant.replace("-", "_"))


def index_name(table: str) -> str:
    """The HNSW index of a vector namespace's table (checked like every identifier)."""
    return check_identifier("vectorNamespaces.name", f"{table}_{EMBEDDING_COLUMN}_hnsw")


def relation_names(table: str) -> tuple[str, ...]:
    """Every relation a vector namespace's table brings into its tenant's schema: the table,
    its primary key's index (PostgreSQL names it ``<table>_pkey``: "CREATE TABLE", "the
    name of the index is <table>_pkey" unless that is taken) and its HNSW index. Tables and
    indexes share one name space per schema (``pg_class``), so two namespaces of a tenant
    may not share any of these names (the backend's ``CREATE INDEX IF NOT EXISTS`` would
    skip an index whose name another namespace's table holds)."""
    return (table, f"{table}_pkey", index_name(table))
