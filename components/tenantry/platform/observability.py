"""``PlatformObservability``: what measures the tenants and keeps what they used and who
touched their data (``tenantry:platform:PlatformObservability``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.batch.v1 import CronJob
from pulumi_kubernetes.core.v1 import ConfigMap, ConfigMapPatch
from pulumi_kubernetes.helm.v3 import Release

from ..k8s.labels import MONITORING_NAMESPACE
from ..k8s.manifests import custom_resource
from ..observability.dashboards import dashboard_config_map, fleet_dashboard
from ..observability.delivery import (
    CLOUDTRAIL_PREFIX,
    DeliveryNames,
    audit_bucket_policy,
    collector_policy,
    collector_trust,
    collector_values,
    cost_events_cronjob,
    delivery_names,
    knative_observability,
    store_bucket_policy,
    trail_selectors,
)
from ..observability.llm_rules import platform_prometheus_rule
from ..spec import PlatformSettings
from .charts import (
    KNATIVE_NAMESPACE,
    KNATIVE_OBSERVABILITY_CONFIG_MAP,
    OTEL_COLLECTOR,
    PROMETHEUS_OPERATOR_CRDS,
)
from .helm import helm_release

PATCH_FORCE = "pulumi.com/patchForce"


@dataclass(frozen=True, kw_only=True)
class PlatformObservabilityArgs:
    """``names``: the buckets', trail's and role's names; ``settings``: the platform
    settings (observability section, environment); ``cluster_name`` and ``platform_key_arn``
    from the cluster and key components; ``tags``/``labels``: the platform's tag policy."""

    names: DeliveryNames
    settings: PlatformSettings
    cluster_name: pulumi.Input[str]
    platform_key_arn: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(
        cls,
        settings: PlatformSettings,
        *,
        cluster_name: pulumi.Input[str],
        platform_key_arn: pulumi.Input[str],
        tags: Mapping[str, str],
    ) -> PlatformObservabilityArgs:
        return cls(
            names=delivery_names(settings),
            settings=settings,
            cluster_name=cluster_name,
            platform_key_arn=platform_key_arn,
            tags=dict(tags),
            labels=dict(sorted(tags.items())),
        )


class PlatformObservability(pulumi.ComponentResource):
    """Creates (children named ``<name>-...``; Kubernetes objects in ``monitoring``, which,
    like Prometheus and Grafana, is a prerequisite - docs/observability.md):

    - ``operator-crds``: Helm release of the pinned ``prometheus-operator-crds`` chart
      (PodMonitor and PrometheusRule for the tenant stacks), unless
      ``observability.installPrometheusOperatorCrds`` is false;
    - ``store``: S3 bucket ``tenantry-platform-<env>-cost-events-<account>`` (public access
      blocked, ACLs off, SSE-KMS with the platform key, versioned, TLS only); events expire
      after ``observability.costEventsRetentionDays``;
    - ``audit``: S3 bucket ``tenantry-platform-<env>-audit-<account>`` with Object Lock in
      compliance mode for ``observability.auditRetentionDays`` (nobody, root included, can
      change or delete an object before then), SSE-S3, versioned, TLS only, writable by
      CloudTrail for this account's trail;
    - ``trail``: CloudTrail trail ``tenantry-platform-<env>-access`` into ``audit``
      (``cloudtrail/``), log-file validation on: S3 data events on every tenant bucket and
      management events (KMS use of tenant keys included) (:func:`..observability.delivery.
      trail_selectors`);
    - ``collector-role`` (+ ``-policy``, ``-pod-identity``): the collector's IAM role,
      Pod Identity for ``monitoring/tenantry-otel-collector``, PutObject under
      ``cost-events/`` of both buckets only;
    - ``otel-collector``: Helm release of the pinned ``opentelemetry-collector`` chart
      (OTLP/HTTP in, both buckets out; :func:`..observability.delivery.collector_values`);
    - ``fleet-dashboard``: the fleet's Grafana dashboard ConfigMap;
    - ``llm-metering``: PrometheusRule ``tenantry-llm-metering``, token metering, GPU-second
      and cost split of the shared base LLMs, and the gateway's token-budget and
      metering-blind alerts (:func:`..observability.llm_rules.platform_prometheus_rule`),
      only when ``llmBaseModels`` declares any;
    - ``knative-observability``: a patch of Knative's ``config-observability`` so
      queue-proxy serves its metrics in the Prometheus format;
    - ``cost-events``: the CronJob that sends every window's cost events to the collector,
      only when ``observability.costEventsImage`` is set.
    """

    TYPE = "tenantry:platform:PlatformObservability"

    def __init__(
        self,
        name: str,
        args: PlatformObservabilityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        n, obs = args.names, args.settings.observability
        tags, labels = dict(args.tags), dict(args.labels)
        child = pulumi.ResourceOptions(parent=self)

        self.operator_crds: Release | None = None
        if obs.install_prometheus_operator_crds:
            self.operator_crds = helm_release(
                f"{name}-operator-crds", PROMETHEUS_OPERATOR_CRDS, {}, parent=self
            )

        self.store = self._bucket(f"{name}-store", n.store_bucket, tags, lock_days=None)
        self._encryption(f"{name}-store", self.store, "aws:kms", args.platform_key_arn)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-store-lifecycle",
            bucket=self.store.id,
            rules=[self._expire("expire-cost-events", obs.cost_events_retention_days)],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-store-policy",
            bucket=self.store.id,
            policy=store_bucket_policy(n).to_json(),
            opts=child,
        )

        self.audit = self._bucket(
            f"{name}-audit", n.audit_bucket, tags, lock_days=obs.audit_retention_days
        )
        self._encryption(f"{name}-audit", self.audit, "AES256", None)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-audit-lifecycle",
            bucket=self.audit.id,
            rules=[self._expire("expire-after-retention", obs.audit_retention_days + 1)],
            opts=child,
        )
        audit_policy = aws.s3.BucketPolicy(
            f"{name}-audit-policy",
            bucket=self.audit.id,
            policy=audit_bucket_policy(n).to_json(),
            opts=child,
        )
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=n.trail,
            s3_bucket_name=self.audit.bucket,
            s3_key_prefix=CLOUDTRAIL_PREFIX,
            enable_log_file_validation=True,
            include_global_service_events=True,
            is_multi_region_trail=False,
            advanced_event_selectors=[
                aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                    name=sel["name"],
                    field_selectors=[
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field=f["field"],
                            equals=f.get("equals"),
                            starts_withs=f.get("startsWiths"),
                            not_starts_withs=f.get("notStartsWiths"),
                        )
                        for f in sel["fieldSelectors"]
                    ],
                )
                for sel in trail_selectors(n)
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[audit_policy]),
        )

        role = aws.iam.Role(
            f"{name}-collector-role",
            name=n.collector_role,
            path="/tenantry/",
            assume_role_policy=pulumi.Output.from_input(args.cluster_name).apply(
                lambda c: collector_trust(n, c).to_json()
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-collector-policy",
            role=role.id,
            policy=pulumi.Output.from_input(args.platform_key_arn).apply(
                lambda k: collector_policy(n, k).to_json()
            ),
            opts=child,
        )
        aws.eks.PodIdentityAssociation(
            f"{name}-collector-pod-identity",
            cluster_name=args.cluster_name,
            namespace=MONITORING_NAMESPACE,
            service_account=OTEL_COLLECTOR.release,
            role_arn=role.arn,
            tags=tags,
            opts=child,
        )
        self.collector = helm_release(
            f"{name}-otel-collector", OTEL_COLLECTOR, collector_values(n), parent=self
        )

        board = dashboard_config_map(fleet_dashboard(), MONITORING_NAMESPACE, labels)
        ConfigMap(
            f"{name}-fleet-dashboard", metadata=board["metadata"], data=board["data"], opts=child
        )
        self.llm_metering: CustomResource | None = None
        if args.settings.llm_base_models:
            self.llm_metering = custom_resource(
                f"{name}-llm-metering", platform_prometheus_rule(args.settings, labels), child
            )
        ConfigMapPatch(
            f"{name}-knative-observability",
            metadata={
                "name": KNATIVE_OBSERVABILITY_CONFIG_MAP,
                "namespace": KNATIVE_NAMESPACE,
                "annotations": {PATCH_FORCE: "true"},
            },
            data=knative_observability(),
            opts=child,
        )
        self.cost_events: CronJob | None = None
        if obs.cost_events_image:
            job = cost_events_cronjob(args.settings, obs.cost_events_image, labels)
            self.cost_events = CronJob(
                f"{name}-cost-events",
                metadata=job["metadata"],
                spec=job["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.collector]),
            )
        self.register_outputs(
            {
                "costEventsBucket": self.store.bucket,
                "auditBucket": self.audit.bucket,
                "trail": n.trail,
            }
        )

    def _encryption(
        self, name: str, bucket: aws.s3.Bucket, algorithm: str, key: pulumi.Input[str] | None
    ) -> None:
        """Default encryption: SSE-KMS with ``key`` (bucket key on), or SSE-S3."""
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=algorithm, kms_master_key_id=key
                    ),
                    bucket_key_enabled=True if key is not None else None,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _expire(rule_id: str, days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
        return aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=rule_id,
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=1
            ),
        )

    def _bucket(
        self, name: str, bucket: str, tags: Mapping[str, str], *, lock_days: int | None
    ) -> aws.s3.Bucket:
        """A private, versioned bucket; with ``lock_days``, Object Lock in compliance mode
        (it can only be enabled when the bucket is created)."""
        child = pulumi.ResourceOptions(parent=self)
        b = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket,
            object_lock_enabled=lock_days is not None,
            tags=dict(tags),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=b.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=b.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=b.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        if lock_days is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=b.id,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode="COMPLIANCE", days=lock_days
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            )
        return b
