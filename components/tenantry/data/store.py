"""``TenantVectorStore``: a tenant's isolated vector namespaces, declared from its tenant file.

No ``from __future__ import annotations``: :class:`AdminArgs` is part of
:class:`tenantry.tenant.TenantArgs`, whose annotations Pulumi's schema inference reads as
objects."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from ..spec import ResolvedTenant
from ..spec.tiers import VectorDbLimits
from ..tags import tenant_tags
from .backend import NamespaceSpec, RoleLimits, TenantStore
from .pgvector import check_namespace
from .provider import BACKENDS
from .resources import TenantStoreResource, VectorNamespaceResource

SECRET_NAME = "tenantry-vector-db"


class AdminArgs(TypedDict):
    """The platform's admin login for the shared vector database (pass secrets from the
    platform stack; the component marks the whole mapping secret anyway)."""

    host: pulumi.Input[str]
    """The database server's host name."""
    port: pulumi.Input[int]
    """The database server's TCP port (PostgreSQL's default is 5432)."""
    dbname: pulumi.Input[str]
    """The shared database that holds every tenant's schema."""
    user: pulumi.Input[str]
    """The platform's admin login (owns the tenants' schemas, tables and roles)."""
    password: pulumi.Input[str]
    """The admin login's password (pass a secret)."""
    sslmode: NotRequired[pulumi.Input[str]]
    """libpq ``sslmode`` of the admin connection (default ``require``)."""


def role_limits(limits: VectorDbLimits) -> RoleLimits:
    """The tenant file's (or tier's) vector-database limits as the role enforces them (ms)."""
    return RoleLimits(
        connection_limit=limits.connection_limit,
        statement_timeout_ms=limits.statement_timeout_seconds * 1000,
        lock_timeout_ms=limits.lock_timeout_seconds * 1000,
        idle_in_transaction_session_timeout_ms=limits.idle_in_transaction_timeout_seconds * 1000,
    )


def limits_input(limits: RoleLimits) -> dict[str, int]:
    """The store resource's ``limits`` input (see :mod:`.provider`)."""
    return {
        "connectionLimit": limits.connection_limit,
        "statementTimeoutMs": limits.statement_timeout_ms,
        "lockTimeoutMs": limits.lock_timeout_ms,
        "idleInTransactionSessionTimeoutMs": limits.idle_in_transaction_session_timeout_ms,
    }


@dataclass(frozen=True, kw_only=True)
class TenantVectorStoreArgs:
    """``tenant``: the resolved tenant (its ``spec.vectorNamespaces`` and
    ``spec.quotas.vectorDb``). ``admin``: the platform's admin login (:class:`AdminArgs`, the
    platform stack's ``vectorDb`` output). ``replace_namespaces``: namespaces whose dimension
    or metric change may destroy their data in this deployment (see
    :class:`TenantVectorStore`). ``backend``: ``pgvector``."""

    tenant: ResolvedTenant
    admin: AdminArgs
    replace_namespaces: Sequence[str] = ()
    backend: str = "pgvector"


class TenantVectorStore(pulumi.ComponentResource):
    """A tenant's vector store on the shared database, one child per fact:

    - ``<name>-store`` (dynamic, ``TenantVectorSchema``): schema and login role
      ``tenant_<tenant>`` with a generated password (secret output). The admin login owns the
      schema; the role gets USAGE on it and on the shared ``extensions`` schema, nothing else;
      PUBLIC has nothing on the database, ``public`` or the tenant schema. The role's
      connection limit and statement, lock and idle-in-transaction timeouts come from
      ``spec.quotas.vectorDb`` (the tier's defaults for what the file leaves out).
    - ``<name>-<namespace>`` (dynamic, ``VectorNamespace``), one per ``spec.vectorNamespaces``:
      table ``id text, embedding vector(dimension), metadata jsonb`` with an HNSW index using
      the metric's operator class; the role may SELECT/INSERT/UPDATE/DELETE rows only.
      Default: retained on delete (``retainOnDelete: false`` in the tenant file drops it).
    - ``<name>-credentials`` (``kubernetes:core/v1:Secret`` ``tenantry-vector-db`` in the
      tenant's namespace): libpq variables ``PGHOST``, ``PGPORT``, ``PGDATABASE``,
      ``PGUSER``, ``PGPASSWORD``, ``PGSSLMODE`` for ``envFrom``.

    Why a store component plus one resource per namespace, not one component per namespace:
    the role and its password belong to the tenant, not to a namespace; namespaces are then
    replaced or dropped one by one without rotating the tenant's credentials.

    ``replace_namespaces`` is the explicit, per-deployment opt-in for a dimension or metric
    change (which destroys the table's data): list the namespace names for one ``pulumi up``.
    It is not a tenant-file field on purpose, so an approval cannot linger for later changes.
    Invalid names, an unsupported backend or a dimension the backend cannot index raise
    ``ValueError`` here, before any resource is registered.
    """

    TYPE = "tenantry:data:TenantVectorStore"

    schema: pulumi.Output[str]
    role: pulumi.Output[str]
    password: pulumi.Output[str]

    @staticmethod
    def check(args: TenantVectorStoreArgs) -> list[NamespaceSpec]:
        """The namespaces ``args`` declare, each checked (names, backend, dimension, the
        replace opt-in); raises ``ValueError`` naming the field. Nothing is declared."""
        tenant, backend = args.tenant, args.backend
        store = TenantStore.for_tenant(tenant.name)
        if backend not in BACKENDS:
            raise ValueError(
                f"backend: {backend!r} is not supported; accepted: {', '.join(BACKENDS)}"
            )
        specs = [
            NamespaceSpec(store, ns.name, ns.dimension, ns.metric)
            for ns in tenant.vector_namespaces
        ]
        for spec in specs:
            check_namespace(spec)
        unknown = sorted(set(args.replace_namespaces) - {s.name for s in specs})
        if unknown:
            raise ValueError(
                f"replace_namespaces: {unknown} are not vector namespaces of "
                f"tenant {tenant.name}; accepted: {[s.name for s in specs]}"
            )
        return specs

    def __init__(
        self, name: str, args: TenantVectorStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        tenant, admin, backend = args.tenant, args.admin, args.backend
        replace_namespaces = args.replace_namespaces
        specs = self.check(args)
        limits = role_limits(tenant.quotas.vector_db)
        super().__init__(self.TYPE, name, None, opts)
        secret_admin = pulumi.Output.secret(dict(admin))
        common: dict[str, Any] = {"backend": backend, "admin": secret_admin, "tenant": tenant.name}
        child = pulumi.ResourceOptions(parent=self)
        self.store = TenantStoreResource(
            f"{name}-store",
            {**common, "limits": limits_input(limits)},
            pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(additional_secret_outputs=["password", "admin"])
            ),
        )
        self.namespaces: dict[str, VectorNamespaceResource] = {}
        for spec, ns in zip(specs, tenant.vector_namespaces, strict=True):
            self.namespaces[spec.name] = VectorNamespaceResource(
                f"{name}-{spec.name}",
                {
                    **common,
                    "name": spec.name,
                    "dimension": spec.dimension,
                    "metric": spec.metric,
                    "retainOnDelete": ns.retain_on_delete,
                    "allowDataLoss": spec.name in replace_namespaces,
                },
                pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=[self.store], additional_secret_outputs=["admin"]
                    ),
                ),
            )
        self.schema = self.store.schema
        self.role = self.store.role
        self.password = pulumi.Output.secret(self.store.password)
        self.secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SECRET_NAME, namespace=tenant.name, labels=tenant_tags(tenant)
            ),
            type="Opaque",
            string_data={
                "PGHOST": secret_admin.apply(lambda a: str(a["host"])),
                "PGPORT": secret_admin.apply(lambda a: str(a["port"])),
                "PGDATABASE": secret_admin.apply(lambda a: str(a["dbname"])),
                "PGSSLMODE": secret_admin.apply(lambda a: str(a.get("sslmode") or "require")),
                "PGUSER": self.role,
                "PGPASSWORD": self.password,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.namespaces.values())),
        )
        self.register_outputs(
            {
                "schema": self.schema,
                "role": self.role,
                "password": self.password,
                "namespaces": {k: v.id for k, v in self.namespaces.items()},
                "secretName": SECRET_NAME,
            }
        )
