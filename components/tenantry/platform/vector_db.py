"""``VectorDatabase``: the shared pgvector database, connected to or created on RDS
(``tenantry:platform:VectorDatabase``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..spec.platform import ExistingVectorDb, RdsVectorDb

PG_PORT = 5432
PASSWORD_CONFIG = "tenantry:vectorDbPassword"


def connection(
    host: Any, port: Any, dbname: str, user: str, password: Any, sslmode: str
) -> dict[str, Any]:
    """The ``vectorDb`` output's shape (:data:`tenantry.platform_ref.PLATFORM_OUTPUTS`)."""
    return {
        "host": host,
        "port": port,
        "dbname": dbname,
        "user": user,
        "password": password,
        "sslmode": sslmode,
    }


@dataclass(frozen=True, kw_only=True)
class VectorDatabaseArgs:
    """``settings``: the platform settings' ``vectorDb`` (``existing`` or ``rds``).
    ``password``: the admin password (the secret ``tenantry:vectorDbPassword``). From the
    cluster: ``subnet_ids``, ``vpc_id``, ``cluster_security_group_id``. ``kms_key_arn``: the
    platform key (storage, Performance Insights). ``identifier``: the RDS instance, subnet
    group and security group name. ``tags``: the platform's tags."""

    settings: ExistingVectorDb | RdsVectorDb
    password: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    vpc_id: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    identifier: str
    tags: Mapping[str, str]


class VectorDatabase(pulumi.ComponentResource):
    """The vector database tenant stacks create their schemas in; one explicit choice,
    ``vectorDb.kind``:

    - ``existing``: no resource; the connection is the settings' host/port/dbname/user/
      sslmode and the secret ``tenantry:vectorDbPassword``.
    - ``rds``: ``<name>-subnets`` (``aws.rds.SubnetGroup`` over the cluster's subnets),
      ``<name>-sg`` (``aws.ec2.SecurityGroup`` in the cluster's VPC, no rules of its own),
      ``<name>-from-cluster`` (``aws.vpc.SecurityGroupIngressRule``: TCP 5432 from the
      cluster security group only) and ``<name>-instance`` (``aws.rds.Instance``:
      PostgreSQL ``engineVersion`` (>= 15 for pgvector), storage encrypted with the
      platform key, gp3 with autoscaling to ``maxAllocatedStorageGib``, not publicly
      accessible, Multi-AZ by default, backups kept ``backupRetentionDays``, deletion
      protection on and a final snapshot on delete, minor versions upgraded automatically,
      tags copied to snapshots; master password = the secret ``tenantry:vectorDbPassword``);
      sslmode ``require`` (RDS PostgreSQL 15+ forces TLS by default).

    ``connection``: the ``vectorDb`` output, a secret.
    """

    TYPE = "tenantry:platform:VectorDatabase"

    def __init__(
        self, name: str, args: VectorDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        settings, identifier, tags = args.settings, args.identifier, args.tags
        kms_key_arn, subnet_ids = args.kms_key_arn, args.subnet_ids
        vpc_id, cluster_security_group_id = args.vpc_id, args.cluster_security_group_id
        password = args.password
        secret = pulumi.Output.secret(password)
        self.instance: aws.rds.Instance | None = None
        if isinstance(settings, ExistingVectorDb):
            conn: pulumi.Output[dict[str, Any]] = pulumi.Output.from_input(
                connection(
                    settings.host,
                    settings.port,
                    settings.dbname,
                    settings.user,
                    secret,
                    settings.sslmode,
                )
            )
        else:
            child = pulumi.ResourceOptions(parent=self)
            subnets = aws.rds.SubnetGroup(
                f"{name}-subnets",
                name=identifier,
                description="tenantry: vector database in the cluster's private subnets",
                subnet_ids=subnet_ids,
                tags=dict(tags),
                opts=child,
            )
            sg = aws.ec2.SecurityGroup(
                f"{name}-sg",
                name=identifier,
                description="tenantry: vector database, PostgreSQL from the cluster only",
                vpc_id=vpc_id,
                tags=dict(tags),
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-cluster",
                security_group_id=sg.id,
                referenced_security_group_id=cluster_security_group_id,
                ip_protocol="tcp",
                from_port=PG_PORT,
                to_port=PG_PORT,
                description="PostgreSQL from the EKS cluster security group",
                tags=dict(tags),
                opts=child,
            )
            self.instance = aws.rds.Instance(
                f"{name}-instance",
                identifier=identifier,
                engine="postgres",
                engine_version=settings.engine_version,
                instance_class=settings.instance_class,
                allocated_storage=settings.allocated_storage_gib,
                max_allocated_storage=settings.max_allocated_storage_gib,
                storage_type="gp3",
                storage_encrypted=True,
                kms_key_id=kms_key_arn,
                db_name=settings.dbname,
                username=settings.user,
                password=secret,
                port=PG_PORT,
                db_subnet_group_name=subnets.name,
                vpc_security_group_ids=[sg.id],
                publicly_accessible=False,
                multi_az=settings.multi_az,
                backup_retention_period=settings.backup_retention_days,
                deletion_protection=settings.deletion_protection,
                skip_final_snapshot=False,
                final_snapshot_identifier=f"{identifier}-final",
                auto_minor_version_upgrade=True,
                copy_tags_to_snapshot=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=kms_key_arn,
                tags=dict(tags),
                opts=child,
            )
            conn = pulumi.Output.all(self.instance.address, self.instance.port, secret).apply(
                lambda a: connection(a[0], a[1], settings.dbname, settings.user, a[2], "require")
            )
        self.connection: pulumi.Output[dict[str, Any]] = pulumi.Output.secret(conn)
        self.register_outputs({"connection": self.connection})
