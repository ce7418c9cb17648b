"""`tenantry verify` against a REAL tritonserver (the nvidia-pytriton wheel's, on CPU) serving
python-backend stand-ins of the example tenants' models with their generated configs.

Server A serves globex and acme's stable revisions exactly as generated: every check passes.
Server B serves acme's canary revision and drifted copies of globex's models: queue cap
changed and the priority levels Tenantry no longer generates, an output's dims changed, and a
sleep that misses the p99 target. Each failing run
asserts the exact failure reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantry.cli.main import main
from tenantry.devserver import (
    TritonServer,
    TritonUnavailable,
    running_tritonserver,
    write_standin,
)
from tenantry.spec import ResolvedTenant, load_platform, load_registry
from tenantry.triton import model_config, serving_caps, versions
from tenantry.verify.percentile import DEFAULT_REQUESTS
from tests.conftest import STACKS, TENANTS, server_missing

pytestmark = pytest.mark.server
TENANTS_BY_NAME = load_registry([TENANTS], load_platform(STACKS)).tenants


def _generated(t: ResolvedTenant) -> dict[tuple[str, str], str]:
    caps = serving_caps(t)
    return {
        (m.name, v): model_config(m, t.tier, caps, v, t.name) for m in t.models for v in versions(m)
    }


def _serve(repo: Path) -> Iterator[TritonServer]:
    try:
        with running_tritonserver(
            repo, ["--disable-auto-complete-config", "--rate-limit=execution_count"]
        ) as server:
            yield server
    except TritonUnavailable as exc:
        server_missing(str(exc))


@pytest.fixture(scope="module")
def server_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = tmp_path_factory.mktemp("server-a")
    for name in ("globex", "acme"):
        t = TENANTS_BY_NAME[name]
        for m in t.models:
            write_standin(repo, m.name, m.version, _generated(t)[(m.name, m.version)])
    yield from _serve(repo)


@pytest.fixture(scope="module")
def server_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = tmp_path_factory.mktemp("server-b")
    acme = TENANTS_BY_NAME["acme"]
    fraud = next(m for m in acme.models if m.canary)
    assert fraud.canary is not None
    canary = fraud.canary.version
    write_standin(repo, fraud.name, canary, _generated(acme)[(fraud.name, canary)])
    globex = _generated(TENANTS_BY_NAME["globex"])
    intent = globex[("intent-classifier", "7")].replace("max_queue_size: 32", "max_queue_size: 33")
    # served as Tenantry generated it before priority levels were dropped (a stale repository)
    intent = intent.replace(
        "dynamic_batching {\n",
        "dynamic_batching {\n  priority_levels: 2\n  default_priority_level: 2\n",
    )
    write_standin(repo, "intent-classifier", "7", intent, {"sleep_ms": "60"})
    lang = globex[("language-id", "1")]
    lang = re.sub(r'(name: "lang"\s+data_type: TYPE_STRING\s+dims: \[ )1( \])', r"\g<1>2\2", lang)
    assert lang != globex[("language-id", "1")]
    write_standin(repo, "language-id", "1", lang)
    yield from _serve(repo)


# Passing runs use verify's default sample (tenantry.verify.percentile): the served configs keep
# a queue policy, which exposes tritonserver 2.51's 500 ms dynamic-batcher wait
# (docs/local-servers.md, 0.08-0.48% of sequential gRPC requests measured); over 500 requests
# the verdict allows 13 over the target, so a few stalls cannot fail a healthy model.
# Runs expected to fail keep 20 (one model sleeps 60 ms, all 20 over its 40 ms target).
PASSING_REQUESTS = DEFAULT_REQUESTS


def _verify(
    capsys: pytest.CaptureFixture[str],
    tenant: str,
    url: str,
    *extra: str,
    requests: int = 20,
) -> tuple[int, dict[tuple[str, str, str], dict[str, object]]]:
    code = main(
        [
            "verify",
            tenant,
            "--url",
            url,
            "--requests",
            str(requests),
            "--format",
            "json",
            "--tenants",
            str(TENANTS),
            "--stacks",
            str(STACKS),
            *extra,
        ]
    )
    out = json.loads(capsys.readouterr().out)
    return code, {(c["model"], c["version"], c["check"]): c for c in out["checks"]}


def test_passing_run(server_a: TritonServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = _verify(capsys, "globex", server_a.http_url, requests=PASSING_REQUESTS)
    assert code == 0, [(c["check"], c["detail"]) for c in checks.values() if not c["ok"]]
    assert set(checks) == {("-", "-", "server")} | {
        (m, v, c)
        for m, v in (("intent-classifier", "7"), ("language-id", "1"))
        for c in (
            "ready",
            "artifact",
            "signature",
            "config",
            "memory",
            "inference",
            "warm",
            "latency",
        )
    }
    assert str(checks[("intent-classifier", "7", "config")]["detail"]) == (
        "batch 16, no priority levels, queue 32 REJECT"
    )
    latency = str(checks[("language-id", "1", "latency")]["detail"])
    assert latency.startswith("p50 ") and "at most 13 of 500 over it" in latency
    # globex (shared) declares no digests; the python stand-ins report no memory
    skipped = {k[2] for k, c in checks.items() if c["skipped"]}
    assert skipped == {"artifact", "memory"}
    warm = checks[("intent-classifier", "7", "warm")]
    assert warm["ok"] and not warm["skipped"]
    assert str(warm["detail"]).startswith("2 execution(s) before the first request")


def test_passing_run_over_grpc_and_table(
    server_a: TritonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "verify",
            "acme",
            "--url",
            server_a.grpc_url,
            "--protocol",
            "grpc",
            "--revisions",
            "stable",
            "--requests",
            str(PASSING_REQUESTS),
            "--tenants",
            str(TENANTS),
            "--stacks",
            str(STACKS),
            "--skip-artifacts",
        ]
    )
    table = capsys.readouterr().out
    assert code == 0, table
    assert table.rstrip().endswith("13 passed, 0 failed, 4 skipped")


def test_canary_revision_at_its_own_url(
    server_b: TritonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = _verify(
        capsys,
        "acme",
        server_b.http_url,
        "--revisions",
        "canary",
        "--skip-artifacts",
        requests=PASSING_REQUESTS,
    )
    assert code == 0, [(c["check"], c["detail"]) for c in checks.values() if not c["ok"]]
    assert {v for _, v, _ in checks} == {"-", "13"}


def test_model_missing(server_a: TritonServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = _verify(capsys, "initech", server_a.http_url, "--skip-artifacts")
    assert code == 1
    failed = {k: c["detail"] for k, c in checks.items() if not c["ok"]}
    assert set(failed) == {("clinical-ner", "5", "ready"), ("summarizer", "2", "ready")}
    assert failed[("clinical-ner", "5", "ready")] == "the model version is not ready"


def test_drift_and_slo_failures(server_b: TritonServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = _verify(capsys, "globex", server_b.http_url)
    assert code == 1
    failed = {k: str(c["detail"]) for k, c in checks.items() if not c["ok"]}
    assert set(failed) == {
        ("intent-classifier", "7", "config"),
        ("intent-classifier", "7", "latency"),
        ("language-id", "1", "signature"),
        ("language-id", "1", "inference"),
    }
    assert failed[("intent-classifier", "7", "config")] == (
        "priority_levels: generated 0, served 2; default_priority_level: generated 0, served 2; "
        "max_queue_size: generated 32, served 33"
    )
    assert (
        "over 20 requests (20 over the target, slowest "
        in failed[("intent-classifier", "7", "latency")]
    )
    assert failed[("intent-classifier", "7", "latency")].endswith(
        "at most 3 of 20 over it (a model meeting it shows more with p < 0.001)"
    )
    assert "target p99 <= 40 ms" in failed[("intent-classifier", "7", "latency")]
    assert (
        failed[("language-id", "1", "signature")]
        == "outputs: declared [('lang', 'BYTES', (-1, 1))], served [('lang', 'BYTES', (-1, 2))]"
    )
    assert failed[("language-id", "1", "inference")] == "lang: expected [1, 1], got [1, 2]"


def test_server_down(capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = _verify(capsys, "globex", "127.0.0.1:9")
    assert code == 1
    [(key, check)] = checks.items()
    assert key == ("-", "-", "server") and not check["ok"]
    assert "Connection refused" in str(check["detail"])


def test_the_wave_gate_verifies_each_model_version_at_its_url(server_a: TritonServer) -> None:
    """What `fleet up --waves` runs per tenant: every model version at --verify-url."""
    import argparse

    from tenantry.cli import fleet

    p = argparse.ArgumentParser()
    fleet.add(p.add_subparsers())
    port = server_a.http_url.rsplit(":", 1)[1]
    args = p.parse_args(
        [
            "fleet",
            "up",
            "--waves",
            "--verify-url",
            "127.0.0.1:" + port,  # one server holds every model here
            "--verify-requests",
            str(PASSING_REQUESTS),
            "--skip-artifacts",
        ]
    )
    platform = load_platform(STACKS)
    verify = fleet._verifier(args, platform, TENANTS, STACKS)
    ok = verify(TENANTS_BY_NAME["globex"])
    assert ok.ok, ok.summary
    assert ok.summary == "18 checks passed"  # 2 models x (server + 8 checks)
    missing = verify(TENANTS_BY_NAME["initech"])
    assert not missing.ok
    assert missing.summary.startswith("2 of 4 checks failed: clinical-ner v5 ready:")
