"""Where cost events and the audit trail land: names, policies, trail selectors, collector
values and the cost-event CronJob (pure), pinned."""

from __future__ import annotations

import gc
import json
import warnings

import kubernetes_validate
import pytest

with warnings.catch_warnings():  # parliament 1.6.4 leaves its data files open at import
    warnings.simplefilter("ignore", ResourceWarning)
    import parliament

    gc.collect()

from tenantry.aws.names import TenantNames
from tenantry.observability import delivery as d
from tests.components.helpers import platform, tenants


def _names() -> d.DeliveryNames:
    return d.delivery_names(platform())


def _starts(value: str, prefixes: list[str]) -> bool:
    return any(value.startswith(p) for p in prefixes)


def test_names_are_valid_bucket_names_and_never_a_tenants() -> None:
    n = _names()
    for bucket in (n.store_bucket, n.audit_bucket):
        assert 3 <= len(bucket) <= 63 and bucket == bucket.lower()
        assert bucket.startswith("tenantry-platform-prod-")
    assert n.trail_arn == (
        "arn:aws:cloudtrail:us-east-1:111122223333:trail/tenantry-platform-prod-access"
    )


def test_trail_records_tenant_buckets_and_never_its_own() -> None:
    n = _names()
    [data, management] = d.trail_selectors(n)
    fields = {f["field"]: f for f in data["fieldSelectors"]}
    assert fields["eventCategory"]["equals"] == ["Data"]
    assert fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    arn = fields["resources.ARN"]

    def logged(object_arn: str) -> bool:
        return _starts(object_arn, arn["startsWiths"]) and not _starts(
            object_arn, arn["notStartsWiths"]
        )

    for t in tenants().values():
        bucket = TenantNames(t.name, "111122223333", "us-east-1").bucket_arn
        assert logged(f"{bucket}/models/x/v1/x/config.pbtxt"), t.name
    assert not logged(f"{n.bucket_arn(n.audit_bucket)}/cloudtrail/AWSLogs/x")  # no loop
    assert not logged(f"{n.bucket_arn(n.store_bucket)}/cost-events/x")
    assert not logged("arn:aws:s3:::someone-elses-bucket/x")
    # KMS calls are management events: not excluded
    assert management["fieldSelectors"] == [{"field": "eventCategory", "equals": ["Management"]}]


def test_audit_bucket_lets_only_this_trail_write_its_logs() -> None:
    n = _names()
    doc = d.audit_bucket_policy(n).to_dict()
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    write = by_sid["CloudTrailWrite"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Resource"].endswith("/cloudtrail/AWSLogs/111122223333/*")
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == n.trail_arn
    assert by_sid["DenyInsecureTransport"]["Effect"] == "Deny"


@pytest.mark.parametrize("which", ["collector", "audit", "store"])
def test_policies_pass_parliament(which: str) -> None:
    n = _names()
    key = "arn:aws:kms:us-east-1:111122223333:key/0000aaaa-0000-0000-0000-000000000000"
    doc = {
        "collector": d.collector_policy(n, key),
        "audit": d.audit_bucket_policy(n),
        "store": d.store_bucket_policy(n),
    }[which]
    findings = [
        parliament.enhance_finding(f)
        for f in parliament.analyze_policy_string(doc.to_json()).findings
    ]
    bad = [(f.issue, f.severity) for f in findings if f.severity not in ("MUTE", "INFO", "LOW")]
    assert not bad, [(f.issue, f.severity, f.detail) for f in findings]


def test_collector_writes_events_only() -> None:
    n = _names()
    key = "arn:aws:kms:us-east-1:111122223333:key/k"
    [write, kms] = d.collector_policy(n, key).to_dict()["Statement"]
    assert write["Action"] == "s3:PutObject"
    assert all(r.endswith("/cost-events/*") for r in write["Resource"])
    assert kms["Resource"] == key and "kms:ViaService" in kms["Condition"]["StringEquals"]
    trust = d.collector_trust(n, "ml-serving").to_dict()["Statement"][0]
    tags = trust["Condition"]["StringEquals"]
    assert tags["aws:RequestTag/kubernetes-namespace"] == "monitoring"
    assert tags["aws:RequestTag/kubernetes-service-account"] == d.COLLECTOR


def test_collector_values_route_logs_to_both_buckets() -> None:
    n = _names()
    values = d.collector_values(n)
    assert values["image"]["repository"] == "otel/opentelemetry-collector-contrib"
    cfg = values["config"]
    logs = cfg["service"]["pipelines"]["logs"]
    assert logs["receivers"] == ["otlp"]
    assert logs["exporters"] == ["awss3/store", "awss3/audit"]
    buckets = {e["s3uploader"]["s3_bucket"] for e in cfg["exporters"].values()}
    assert buckets == {n.store_bucket, n.audit_bucket}
    assert {e["marshaler"] for e in cfg["exporters"].values()} == {"body"}
    assert n.collector_url == "http://tenantry-otel-collector.monitoring.svc:4318"


def test_cost_event_cronjob_is_a_valid_restricted_job() -> None:
    settings = platform().model_copy(
        update={
            "observability": platform().observability.model_copy(
                update={"cost_events_image": "registry.example/tenantry:1"}
            )
        }
    )
    job = d.cost_events_cronjob(settings, "registry.example/tenantry:1", {"managed-by": "tenantry"})
    kubernetes_validate.validate(job, "1.33.0", strict=True)
    spec = job["spec"]
    assert spec["schedule"] == "1-59/5 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    command = container["command"]
    assert command[:3] == ["tenantry", "cost", "--events"]
    assert command[command.index("--otlp") + 1] == _names().collector_url
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_knative_serves_queue_proxy_metrics_in_the_prometheus_format() -> None:
    assert json.dumps(d.knative_observability(), sort_keys=True) == json.dumps(
        {
            "metrics.request-metrics-backend-destination": "prometheus",
            "request-metrics-protocol": "prometheus",
        },
        sort_keys=True,
    )


def test_collector_values_pass_the_pinned_charts_own_schema() -> None:
    """Helm merges the values over the chart's values.yaml (null removes a key) and validates
    the result against values.schema.json; the same here, with the pinned chart's files."""
    import copy

    import jsonschema
    import yaml

    from tenantry.platform.charts import OTEL_COLLECTOR
    from tests.components.helpers import ROOT

    charts = ROOT / "tests" / "data" / "charts"
    base = f"{OTEL_COLLECTOR.chart}-{OTEL_COLLECTOR.version}"
    defaults = yaml.safe_load((charts / f"{base}.values.yaml").read_text("utf-8"))
    schema = json.loads((charts / f"{base}.values.schema.json").read_text("utf-8"))

    def merge(a: dict, b: dict) -> dict:  # type: ignore[type-arg]
        out = copy.deepcopy(a)
        for k, v in b.items():
            if v is None:
                out.pop(k, None)
            elif isinstance(v, dict) and isinstance(out.get(k), dict):
                out[k] = merge(out[k], v)
            else:
                out[k] = v
        return out

    ours = d.collector_values(_names())
    merged = merge(defaults, ours)
    schema.pop("$schema", None)
    validator = jsonschema.Draft7Validator(schema)
    assert not [e.message for e in validator.iter_errors(merged)]
    # every top-level key we set is one the chart has
    assert set(ours) <= set(defaults) | {"fullnameOverride"}
    assert "memory_limiter" in merged["config"]["processors"]  # the pipeline names it
    bad = copy.deepcopy(merged)
    bad["mode"] = "cronjob"
    assert list(validator.iter_errors(bad)), "the schema is not blind"
