"""End to end on this machine: a REAL tritonserver (the nvidia-pytriton wheel's) serves the
stand-in models of two tenants (globex: a GPU model and a CPU-only model; acme: two GPU
models), a REAL Prometheus server (Debian's package) scrapes it through the tenants'
generated PodMonitors (translated the way the Prometheus Operator does,
``tenantry.devserver.prometheus``) with their generated rules loaded, a known load goes to
every model, and ``tenantry cost --actual`` against that Prometheus must report, per tenant,
the requests that were sent and the compute seconds Triton itself reports, within 5%.

One tritonserver plays every model pod of both tenants: each tenant's emulated pod points
at it, and the monitor's own model filter is what keeps each tenant's series apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tenantry.cli.main import main
from tenantry.devserver import TritonUnavailable, running_tritonserver, write_standin
from tenantry.devserver.prometheus import (
    ContainerPort,
    LocalPod,
    PrometheusServer,
    PrometheusUnavailable,
    pod_monitor_scrape_configs,
    running_prometheus,
)
from tenantry.k8s.inference_service import model_labels
from tenantry.observability.monitor import pod_monitor
from tenantry.observability.prometheus import PrometheusClient
from tenantry.observability.rules import RuleSettings, rates_for, rule_groups
from tenantry.spec import load_platform, load_registry
from tenantry.triton import model_config, serving_caps
from tenantry.verify.checks import _inputs
from tenantry.verify.endpoint import TritonEndpoint
from tests.conftest import ROOT, STACKS, TENANTS, server_missing

pytestmark = pytest.mark.server
PLATFORM = load_platform(STACKS)
REGISTRY = load_registry([TENANTS], PLATFORM).tenants
SERVED = ("globex", "acme")
# Known load: requests per model, and the work each stand-in does per execution (sleep).
SENT = {"intent-classifier": 60, "language-id": 40, "fraud-detector": 50, "risk-embedder": 30}
SLEEP_MS = {"intent-classifier": 40, "language-id": 25, "fraud-detector": 30, "risk-embedder": 50}
TOLERANCE = 0.05


@dataclass(frozen=True)
class Run:
    prometheus: PrometheusServer
    # model -> what Triton's own statistics API counted during the load (after - before:
    # Triton also counts the model_warmup requests it runs at load, which were not sent)
    triton_stats: dict[str, dict[str, Any]]
    scraped_seconds: float  # how long Prometheus had been scraping when the load ended


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    repo = tmp_path_factory.mktemp("repo")
    for name in SERVED:
        t = REGISTRY[name]
        caps = serving_caps(t)
        for m in t.models:
            config = model_config(m, t.tier, caps, m.version, t.name)
            write_standin(repo, m.name, m.version, config, {"sleep_ms": str(SLEEP_MS[m.name])})
    try:
        triton_cm = running_tritonserver(
            repo, ["--disable-auto-complete-config", "--rate-limit=execution_count"]
        )
        triton = triton_cm.__enter__()
    except TritonUnavailable as exc:
        server_missing(str(exc))
    try:
        metrics_port = int(triton.metrics_url.rsplit(":", 1)[1])
        scrape, groups = [], []
        for name in SERVED:
            t = REGISTRY[name]
            monitor = pod_monitor(t, triton_metrics_port=metrics_port, interval="250ms")
            # The pod's queue-proxy port anchors the Triton endpoint (see monitor.py); no
            # queue-proxy runs here, so that endpoint's own target stays down.
            pod = LocalPod(
                f"{name}-predictor-00001-deployment-0",
                name,
                model_labels(t, t.models[0]),
                [ContainerPort("queue-proxy", "http-usermetric", "127.0.0.1:9")],
            )
            scrape += pod_monitor_scrape_configs(monitor, [pod])
            groups += rule_groups(
                t, rates_for(t, PLATFORM), RuleSettings(usage_interval="1s", slo_interval="1s")
            )
        try:
            prom_cm = running_prometheus(scrape, groups, evaluation_interval="1s")
            prom = prom_cm.__enter__()
        except PrometheusUnavailable as exc:
            server_missing(str(exc))
        try:
            client = PrometheusClient(prom.url)
            started = time.monotonic()
            _wait(lambda: _triton_targets_up(client), "both tenants' Triton targets up")
            # samples of every counter before the load: increase() extrapolates up to about a
            # scrape interval past the last sample and half of one before the first (Triton's
            # model_warmup makes it non-zero), so the longer the series and the shorter the
            # scrape interval (250 ms here), the smaller that share
            time.sleep(6)
            endpoint = TritonEndpoint(triton.http_url, "http", None, 30.0)
            before = _statistics(endpoint)
            for name in SERVED:
                for m in REGISTRY[name].models:
                    inputs = _inputs(m)
                    outputs = [o.name for o in m.outputs]
                    for _ in range(SENT[m.name]):
                        endpoint.infer(m.name, m.version, inputs, outputs)
            time.sleep(10)  # flat tail: later samples, rules evaluated on them
            scraped = time.monotonic() - started
            after = _statistics(endpoint)
            delta = {
                model: {
                    key: {
                        "count": after[model][key]["count"] - before[model][key]["count"],
                        "ns": after[model][key]["ns"] - before[model][key]["ns"],
                    }
                    for key in after[model]
                }
                for model in after
            }
            yield Run(prom, delta, scraped)
        finally:
            prom_cm.__exit__(None, None, None)
    finally:
        triton_cm.__exit__(None, None, None)


def _statistics(endpoint: TritonEndpoint) -> dict[str, dict[str, dict[str, int]]]:
    """Triton's statistics API: per model, each inference_stats entry's count and ns."""
    stats = endpoint._client.get_inference_statistics()
    return {
        s["name"]: {
            key: {"count": int(v.get("count", 0)), "ns": int(v.get("ns", 0))}
            for key, v in s["inference_stats"].items()
        }
        for s in stats["model_stats"]
    }


def _triton_targets_up(client: PrometheusClient) -> bool:
    ups = client.query('up{endpoint="triton"}')
    return len(ups) == 2 and all(u.value == 1 for u in ups)


def _wait(ready: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _cost(
    capsys: pytest.CaptureFixture[str], url: str, *extra: str, mode: str = "--actual"
) -> tuple[int, str]:
    """``tenantry cost <mode>`` over the 10 minutes ending now (every sample of the run)."""
    argv = ["cost", mode, "--prometheus", url, "--window", "10m", "--at", str(time.time())]
    code = main([*argv, "--tenants", str(TENANTS), "--stacks", str(STACKS), *extra])
    return code, capsys.readouterr().out


def _compute_seconds(stats: dict[str, Any]) -> float:
    parts = ("compute_input", "compute_infer", "compute_output")
    return sum(int(stats[p]["ns"]) for p in parts) / 1e9


def test_showback_matches_what_was_sent_and_what_triton_reports(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cost(capsys, run.prometheus.url, "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    by_tenant = {t["tenant"]: t for t in doc["tenants"]}
    assert set(by_tenant) == set(REGISTRY)  # every tenant file appears, measured or not
    for name in SERVED:
        t = REGISTRY[name]
        measured = by_tenant[name]["measured"]
        sent = sum(SENT[m.name] for m in t.models)
        triton_requests = sum(run.triton_stats[m.name]["success"]["count"] for m in t.models)
        assert triton_requests == sent
        assert measured["requests"] == pytest.approx(sent, rel=TOLERANCE), name
        assert measured["successes"] == pytest.approx(sent, rel=TOLERANCE), name
        triton_compute = sum(_compute_seconds(run.triton_stats[m.name]) for m in t.models)
        assert measured["computeSeconds"] == pytest.approx(triton_compute, rel=TOLERANCE), name
        # ... and Triton's compute is at least the work the stand-ins were told to do
        floor = sum(SENT[m.name] * SLEEP_MS[m.name] / 1000 for m in t.models)
        assert floor <= triton_compute <= floor * 1.25, (name, floor, triton_compute)
        models = {m["model"]: m for m in by_tenant[name]["models"]}
        assert set(models) == {m.name for m in t.models}
        for m in t.models:
            got = models[m.name]
            assert got["version"] == m.version
            assert got["requests"] == pytest.approx(SENT[m.name], rel=TOLERANCE), m.name
            assert got["computeSeconds"] == pytest.approx(
                _compute_seconds(run.triton_stats[m.name]), rel=TOLERANCE
            )
            # one pod held the model the whole time it was scraped: replica-seconds are
            # that time; GPU-seconds weigh it by the slice's share of its GPU (1g.* = 1/7)
            assert 0.5 * run.scraped_seconds < got["replicaSeconds"] <= run.scraped_seconds + 2
            if m.gpu:
                assert got["gpuSeconds"] == pytest.approx(
                    got["replicaSeconds"] * got["gpuShare"],
                    rel=1e-3,  # both rounded to 3 decimals
                )
                assert got["cpuSeconds"] == 0
            else:
                assert got["cpuSeconds"] == pytest.approx(got["replicaSeconds"] * m.cpu)
                assert got["gpuSeconds"] == 0
            assert got["costUsd"] > 0
    assert by_tenant["initech"]["measured"]["requests"] == 0
    assert by_tenant["initech"]["estimate"]["monthlyUsdMin"] > 0
    print(
        "e2e showback:",
        {
            n: (by_tenant[n]["measured"]["requests"], by_tenant[n]["measured"]["computeSeconds"])
            for n in SERVED
        },
    )


def test_showback_by_cost_center_csv_and_table(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import io

    code, out = _cost(capsys, run.prometheus.url, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    levels = {(r["level"], r["cost_center"], r["tenant"], r["model"]) for r in rows}
    assert ("cost_center", "CC-2210", "", "") in levels
    assert ("tenant", "CC-1042", "acme", "") in levels
    assert ("model", "CC-2210", "globex", "language-id") in levels
    globex = next(r for r in rows if r["level"] == "tenant" and r["tenant"] == "globex")
    cc = next(r for r in rows if r["level"] == "cost_center" and r["cost_center"] == "CC-2210")
    assert float(globex["requests"]) == float(cc["requests"]) > 0
    assert float(globex["estimate_monthly_usd_min"]) > 0
    code, out = _cost(capsys, run.prometheus.url)
    assert code == 0
    assert "language-id v1" in out and "cost center CC-1042" in out
    lines = out.rstrip().splitlines()
    total = next(i for i, line in enumerate(lines) if line.startswith("TOTAL"))
    assert lines[total + 1].startswith("(measured:")
    (base,) = lines[total + 2 :]  # one line per shared base model; no tokens metered here
    assert base.startswith("shared base model llama-3-8b: ")
    assert base.endswith("not attributed: no measured tokens on it")


def test_cost_events_follow_the_documented_schema(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cost(capsys, run.prometheus.url, mode="--events")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    schema = json.loads((ROOT / "docs" / "cost-event.schema.json").read_text("utf-8"))
    for event in events:
        jsonschema.validate(event, schema)
    by = {(e["tenant"], e["model"]): e for e in events}
    assert set(by) == {(n, m.name) for n in SERVED for m in REGISTRY[n].models}
    lang = by[("globex", "language-id")]
    assert lang["requests"] == pytest.approx(SENT["language-id"], rel=TOLERANCE)
    assert lang["pricing"]["instance_type"] == "m7i.xlarge" and lang["pricing"]["vcpus"] == 1
    assert lang["cost_estimate_usd"] == pytest.approx(
        lang["replica_seconds"] * 0.2016 / 4 / 3600, rel=1e-3
    )
    assert lang["inference_ms_mean"] >= SLEEP_MS["language-id"]
    assert not lang["degraded"] and lang["error_ratio"] is None  # no sidecar here
    assert len({e["event_id"] for e in events}) == len(events)


def test_unreachable_prometheus_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:9"
    argv = ["cost", "--actual", "--prometheus", url, "--tenants", str(TENANTS)]
    code = main([*argv, "--stacks", str(STACKS)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("tenantry: error: cannot query Prometheus at http://127.0.0.1:9")
    assert captured.err.rstrip().endswith("check --prometheus and that it loads the tenants' rules")
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--actual"], "--actual and --events need --prometheus URL"),
        (["--actual", "--prometheus", "p:9090"], "accepted is an http(s) URL"),
        (["--actual", "--prometheus", "http://x", "--window", "30x"], "--window: '30x'"),
        (["--actual", "--prometheus", "http://x", "--at", "yesterday"], "--at 'yesterday'"),
        (["--window", "5m"], "go with --actual or --events"),
    ],
)
def test_bad_invocations(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cost", *argv, "--tenants", str(TENANTS), "--stacks", str(STACKS)])
    assert code == 2
    assert message in capsys.readouterr().err


def test_prometheus_config_is_what_the_operator_would_generate() -> None:
    """The translation the e2e relies on, pinned: operator rules first, then the monitor's."""
    t = REGISTRY["globex"]
    pod = LocalPod("p", "globex", model_labels(t, t.models[0]), [])
    jobs = pod_monitor_scrape_configs(pod_monitor(t), [pod])
    assert [j["job_name"] for j in jobs] == [
        f"podMonitor/globex/tenantry-globex/{i}" for i in range(3)
    ]
    triton = jobs[0]["relabel_configs"]
    assert triton[0] == {"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}
    assert {
        "action": "keep",
        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
        "regex": "http-usermetric",
    } in triton
    assert triton[-3]["replacement"] == "${1}:8002" and triton[-3]["target_label"] == "__address__"
    assert jobs[0]["honor_labels"] is False
    assert Path(ROOT / "docs" / "cost-event.schema.json").exists()


def test_every_dashboard_query_runs_on_the_real_prometheus(run: Run) -> None:
    """Dashboards read recorded series only; every query parses and runs as written, and
    the served tenants' panels have data."""
    from tenantry.observability.dashboards import fleet_dashboard, queries, tenant_dashboard

    client = PrometheusClient(run.prometheus.url)
    boards = [fleet_dashboard()] + [tenant_dashboard(t) for t in REGISTRY.values()]
    for board in boards:
        for expr in queries(board):
            client.query(expr)  # raises PrometheusError on a bad query
    globex = tenant_dashboard(REGISTRY["globex"])
    by_model = next(p for p in globex["panels"] if p["title"] == "Requests/s by model")
    series = client.query(by_model["targets"][0]["expr"])
    assert {x.labels["model"] for x in series} == {"intent-classifier", "language-id"}
    fleet = fleet_dashboard()
    cost = next(p for p in fleet["panels"] if p["title"] == "Cost by tenant (USD/h)")
    assert {x.labels["tenant"] for x in client.query(cost["targets"][0]["expr"])} == set(SERVED)


def test_events_reach_an_otlp_collector_as_log_records(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--otlp`` posts an ExportLogsServiceRequest in OTLP/HTTP's JSON encoding: the body
    parses with opentelemetry-proto's own message types, one record per event, the event's
    JSON line as the body (what the collector's awss3 exporter writes with marshaler body).
    The receiving end here is a plain HTTP listener: no OpenTelemetry collector runs on
    this machine."""
    import http.server
    import threading

    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    received: list[tuple[str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append((self.path, self.headers["Content-Type"], self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        argv = ["cost", "--events", "--prometheus", run.prometheus.url, "--window", "10m"]
        where = ["--tenants", str(TENANTS), "--stacks", str(STACKS)]
        code = main([*argv, "--at", str(time.time()), "--otlp", url, *where])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == "" and "sent 4 cost event(s)" in captured.err
    [(path, content_type, body)] = received
    assert (path, content_type) == ("/v1/logs", "application/json")
    request = json_format.Parse(body, ExportLogsServiceRequest())
    [resource] = request.resource_logs
    records = resource.scope_logs[0].log_records
    schema = json.loads((ROOT / "docs" / "cost-event.schema.json").read_text("utf-8"))
    tenants_seen = set()
    for record in records:
        event = json.loads(record.body.string_value)
        jsonschema.validate(event, schema)
        attrs = {a.key: a.value.string_value for a in record.attributes}
        assert attrs["event_id"] == event["event_id"] and attrs["tenant"] == event["tenant"]
        tenants_seen.add(event["tenant"])
    assert len(records) == 4 and tenants_seen == set(SERVED)


def test_event_windows_align_so_reruns_repeat_ids() -> None:
    from tenantry.cli.showback import aligned_end

    assert aligned_end(1_000_000 + 59, 300) == 999_900  # a minute to settle
    assert aligned_end(1_000_000 + 61, 300) == 999_900
    assert aligned_end(1_000_200 + 60, 300) == 1_000_200
