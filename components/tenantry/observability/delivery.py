"""Where cost events and the access audit trail land, as plain data (pure): names, bucket
and IAM policies, the CloudTrail event selectors, the OpenTelemetry collector's Helm values
and the cost-event CronJob. :class:`tenantry.platform.observability.PlatformObservability`
declares them.

The path of one event::

    Prometheus (tenant rules) --tenantry cost --events (CronJob, every window)--> collector
      (OTLP/HTTP, otlp receiver) --awss3 "store"--> s3://<store>/cost-events/...  (expires)
                                  --awss3 "audit"--> s3://<audit>/cost-events/... (Object Lock)

The audit bucket also receives the CloudTrail trail that records S3 data events on every
tenant bucket and the management events, among them every KMS call on the tenant keys
(CloudTrail records KMS API calls as management events; KMS has no data events - CloudTrail
API reference, AdvancedFieldSelector: ``eventSource`` can only exclude
``kms.amazonaws.com``). The trail does not record data events on the audit bucket itself:
logging the bucket that receives the trail's own log files loops (CloudTrail User Guide,
"Logging data events").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..aws.policy import (
    PolicyDocument,
    Statement,
    document,
    grant_encrypt_via_s3,
    pod_identity_trust,
)
from ..k8s.labels import MONITORING_NAMESPACE
from ..spec import PLATFORM_STACK, PlatformSettings

EVENTS_PREFIX = "cost-events/"
CLOUDTRAIL_PREFIX = "cloudtrail"
COLLECTOR = "tenantry-otel-collector"  # release, fullname, service and service account
COLLECTOR_OTLP_HTTP_PORT = 4318
EVENTS_JOB = "tenantry-cost-events"


@dataclass(frozen=True)
class DeliveryNames:
    """Deterministic names of the platform's event store, audit bucket and trail."""

    environment_prefix: str  # tenantry-platform-<environment>
    account_id: str
    region: str
    partition: str = "aws"

    @property
    def store_bucket(self) -> str:
        return f"{self.environment_prefix}-cost-events-{self.account_id}"

    @property
    def audit_bucket(self) -> str:
        return f"{self.environment_prefix}-audit-{self.account_id}"

    @property
    def trail(self) -> str:
        return f"{self.environment_prefix}-access"

    @property
    def collector_role(self) -> str:
        return f"{self.environment_prefix}-otel-collector"

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    @property
    def trail_arn(self) -> str:
        return f"arn:{self.partition}:cloudtrail:{self.region}:{self.account_id}:trail/{self.trail}"

    @property
    def tenant_bucket_prefix(self) -> str:
        """Every tenant bucket is ``tenantry-<tenant>-...`` (tenantry.aws.names)."""
        return f"arn:{self.partition}:s3:::tenantry-"

    @property
    def collector_url(self) -> str:
        return f"http://{COLLECTOR}.{MONITORING_NAMESPACE}.svc:{COLLECTOR_OTLP_HTTP_PORT}"


def delivery_names(settings: PlatformSettings) -> DeliveryNames:
    """The names of ``settings``' platform (prefix ``tenantry-platform-<environment>``, as
    every platform resource; tenantry.platform.names)."""
    prefix = f"tenantry-{PLATFORM_STACK}-{settings.environment}"
    return DeliveryNames(prefix, settings.account_id, settings.region)


def _deny_insecure(bucket_arn: str) -> Statement:
    return Statement(
        "DenyInsecureTransport",
        "Deny",
        ("s3:*",),
        (bucket_arn, f"{bucket_arn}/*"),
        principals="*",
        conditions={"Bool": {"aws:SecureTransport": "false"}},
    )


def store_bucket_policy(n: DeliveryNames) -> PolicyDocument:
    """TLS only."""
    return document(_deny_insecure(n.bucket_arn(n.store_bucket)))


def audit_bucket_policy(n: DeliveryNames) -> PolicyDocument:
    """TLS only; CloudTrail may check the bucket's ACL and write under
    ``cloudtrail/AWSLogs/<account>/`` for this account's trail only (CloudTrail User Guide,
    "Amazon S3 bucket policy for CloudTrail", with ``aws:SourceArn``)."""
    arn = n.bucket_arn(n.audit_bucket)
    source = {"StringEquals": {"aws:SourceArn": n.trail_arn}}
    return document(
        _deny_insecure(arn),
        Statement(
            "CloudTrailAclCheck",
            "Allow",
            ("s3:GetBucketAcl",),
            (arn,),
            principals={"Service": "cloudtrail.amazonaws.com"},
            conditions=source,
        ),
        Statement(
            "CloudTrailWrite",
            "Allow",
            ("s3:PutObject",),
            (f"{arn}/{CLOUDTRAIL_PREFIX}/AWSLogs/{n.account_id}/*",),
            principals={"Service": "cloudtrail.amazonaws.com"},
            conditions={
                "StringEquals": {
                    "aws:SourceArn": n.trail_arn,
                    "s3:x-amz-acl": "bucket-owner-full-control",
                }
            },
        ),
    )


def trail_selectors(n: DeliveryNames) -> list[dict[str, Any]]:
    """Advanced event selectors (CloudTrail API ``AdvancedEventSelector``; the field
    selectors of one selector must all match): every S3 object operation on a tenant bucket
    (``tenantry-<tenant>-...``) but none on the platform's own buckets (the audit bucket
    receives this trail), and all management events (KMS calls on tenant keys included)."""
    platform_buckets = f"arn:{n.partition}:s3:::{n.environment_prefix}-"
    return [
        {
            "name": "S3 object operations on tenant buckets",
            "fieldSelectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {
                    "field": "resources.ARN",
                    "startsWiths": [n.tenant_bucket_prefix],
                    "notStartsWiths": [platform_buckets],
                },
            ],
        },
        {
            "name": "Management events, KMS key use included",
            "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}],
        },
    ]


def collector_trust(n: DeliveryNames, cluster_name: str) -> PolicyDocument:
    """EKS Pod Identity: only this cluster's agent, only for the collector's service
    account in ``monitoring``."""
    return pod_identity_trust(n.account_id, cluster_name, MONITORING_NAMESPACE, COLLECTOR)


def collector_policy(n: DeliveryNames, store_key_arn: str) -> PolicyDocument:
    """Write events under ``cost-events/`` of both buckets, nothing else; encrypt with the
    platform key only through S3, only for the store."""
    store = n.bucket_arn(n.store_bucket)
    audit = n.bucket_arn(n.audit_bucket)
    return document(
        Statement(
            "WriteCostEvents",
            "Allow",
            ("s3:PutObject",),
            (f"{store}/{EVENTS_PREFIX}*", f"{audit}/{EVENTS_PREFIX}*"),
        ),
        grant_encrypt_via_s3(store_key_arn, n.region, store),
    )


# The collector container's requests and limits (chart value ``resources``; the chart sets
# none by default). Memory: the chart's default ``memory_limiter`` processor, which the logs
# pipeline runs first, limits itself to a share of the container's memory limit
# (``limit_percentage``), so the limit must exist. Ephemeral storage: the collector writes
# nothing to disk (no file storage extension, the exporters' queues are in memory), so only
# its logs and writable layer. Chosen bounds, not measured figures.
COLLECTOR_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "200m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
    "limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "1Gi"},
}


def collector_values(n: DeliveryNames) -> dict[str, Any]:
    """Helm values of the ``opentelemetry-collector`` chart: a Deployment of the contrib
    image (the ``awss3`` exporter is in contrib only) with :data:`COLLECTOR_RESOURCES`,
    OTLP/HTTP in, both buckets out with
    ``marshaler: body`` (each object holds the events' JSON lines), nothing else
    (the chart's default receivers and pipelines removed)."""

    def s3(bucket: str) -> dict[str, Any]:
        return {
            "s3uploader": {
                "region": n.region,
                "s3_bucket": bucket,
                "s3_prefix": EVENTS_PREFIX.rstrip("/"),
                "s3_partition_format": "year=%Y/month=%m/day=%d/hour=%H",
                "compression": "gzip",
            },
            "marshaler": "body",
        }

    return {
        "mode": "deployment",
        "fullnameOverride": COLLECTOR,
        "resources": COLLECTOR_RESOURCES,
        "image": {"repository": "otel/opentelemetry-collector-contrib"},
        "command": {"name": "otelcol-contrib"},
        "serviceAccount": {"create": True, "name": COLLECTOR},
        "ports": {
            name: {"enabled": False}
            for name in ("otlp", "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
        },
        "config": {
            "receivers": {
                "otlp": {
                    "protocols": {"http": {"endpoint": "${env:MY_POD_IP}:4318"}, "grpc": None}
                },
                "jaeger": None,
                "zipkin": None,
                "prometheus": None,
            },
            "processors": {"batch": {"timeout": "10s"}},
            "exporters": {"awss3/store": s3(n.store_bucket), "awss3/audit": s3(n.audit_bucket)},
            "service": {
                "pipelines": {
                    "logs": {
                        "receivers": ["otlp"],
                        "processors": ["memory_limiter", "batch"],
                        "exporters": ["awss3/store", "awss3/audit"],
                    },
                    "metrics": None,
                    "traces": None,
                }
            },
        },
    }


def cost_events_cronjob(
    settings: PlatformSettings, image: str, labels: dict[str, str]
) -> dict[str, Any]:
    """The CronJob that runs ``tenantry cost --events --otlp`` once per window (a minute
    after each window closes, so its samples have settled); restricted security context,
    no service-account token (it needs none)."""
    obs = settings.observability
    minutes = obs.cost_events_window_minutes
    n = delivery_names(settings)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": EVENTS_JOB, "namespace": MONITORING_NAMESPACE, "labels": labels},
        "spec": {
            "schedule": f"1-59/{minutes} * * * *" if minutes > 1 else "* * * * *",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 60 * minutes,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "metadata": {"labels": {**labels, "app.kubernetes.io/name": EVENTS_JOB}},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": 65532,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "containers": [
                                {
                                    "name": "cost-events",
                                    "image": image,
                                    "command": [
                                        "tenantry",
                                        "cost",
                                        "--events",
                                        "--prometheus",
                                        obs.prometheus_url,
                                        "--window",
                                        f"{minutes}m",
                                        "--otlp",
                                        n.collector_url,
                                    ],
                                    "securityContext": {
                                        "allowPrivilegeEscalation": False,
                                        "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]},
                                    },
                                    # ephemeral storage bounded as on every container
                                    # (sched21): a read-only root file system and no
                                    # volumes, so only its logs count against it
                                    "resources": {
                                        "requests": {
                                            "cpu": "100m",
                                            "memory": "256Mi",
                                            "ephemeral-storage": "64Mi",
                                        },
                                        "limits": {
                                            "cpu": "1",
                                            "memory": "512Mi",
                                            "ephemeral-storage": "256Mi",
                                        },
                                    },
                                }
                            ],
                        },
                    },
                }
            },
        },
    }


def knative_observability() -> dict[str, str]:
    """Keys of Knative's ``config-observability`` that make queue-proxy serve its request
    metrics (depth, durations) in the Prometheus format on port 9091: Knative >= 1.19
    (OpenTelemetry: ``request-metrics-protocol``) and earlier releases
    (``metrics.request-metrics-backend-destination``); each release ignores the other's
    key (knative/serving ``config-observability.yaml``)."""
    return {
        "request-metrics-protocol": "prometheus",
        "metrics.request-metrics-backend-destination": "prometheus",
    }
