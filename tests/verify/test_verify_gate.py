"""`tenantry verify`'s onboarding checks against real servers: the artifact digest against
the bucket (a real moto S3 server), warm-up (a real tritonserver serving a stand-in with a
cold start, with and without the generated ``model_warmup``) and memory against the MIG
slice.

Memory: the wheel's tritonserver has only the python backend, which fills no
``memory_usage`` in Triton's statistics (ONNX Runtime and TensorRT do), and there is no GPU
here for ``nv_gpu_memory_*`` metrics. So the memory tests run the real server's statistics
through an endpoint that adds the ``memory_usage`` entry such a backend would report, in
Triton's own format, and feed real-format metrics text to the parser.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantry.artifacts import artifact_prefix, directory_digest
from tenantry.cli.main import main
from tenantry.devserver import STANDIN_MODEL, TritonServer, write_standin
from tenantry.spec.model import Artifact
from tenantry.verify import TritonEndpoint, verify_tenant
from tenantry.verify.checks import GIB, cold_threshold_ms, slice_memory_bytes
from tenantry.verify.endpoint import device_memory_from_metrics
from tests.aws.moto_server import Moto, moto_server
from tests.conftest import STACKS, TENANTS
from tests.verify.test_verify_real_triton import TENANTS_BY_NAME, _generated, _serve

pytestmark = pytest.mark.server


def _strip_warmup(pbtxt: str) -> str:
    return re.sub(r"model_warmup \[.*?\n\]\n", "", pbtxt, flags=re.DOTALL)


@pytest.fixture(scope="module")
def acme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """acme's stable revisions as generated; risk-embedder's stand-in starts cold (1.5 s on
    its first execution), which its generated warm-up absorbs during load."""
    repo = tmp_path_factory.mktemp("acme")
    acme = TENANTS_BY_NAME["acme"]
    for m in acme.models:
        params = {"cold_start_ms": "1500"} if m.name == "risk-embedder" else {}
        write_standin(repo, m.name, m.version, _generated(acme)[(m.name, m.version)], params)
    yield from _serve(repo)


@pytest.fixture(scope="module")
def cold_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """globex's intent-classifier served WITHOUT its generated warm-up, cold for 1.5 s."""
    repo = tmp_path_factory.mktemp("cold")
    globex = TENANTS_BY_NAME["globex"]
    m = next(m for m in globex.models if m.name == "intent-classifier")
    pbtxt = _strip_warmup(_generated(globex)[(m.name, m.version)])
    assert "model_warmup" not in pbtxt
    write_standin(repo, m.name, m.version, pbtxt, {"cold_start_ms": "1500"})
    yield from _serve(repo)


def test_a_cold_model_is_caught_and_the_warmup_absorbs_a_cold_start(
    acme_server: TritonServer, cold_server: TritonServer
) -> None:
    globex = TENANTS_BY_NAME["globex"]
    intent = dataclasses.replace(
        globex, models=tuple(m for m in globex.models if m.name == "intent-classifier")
    )
    cold_ms = cold_threshold_ms(intent.models[0])
    assert cold_ms == 1000.0  # 10 x 40 ms is below the 1 s floor
    results = verify_tenant(intent, TritonEndpoint(cold_server.http_url), _generated(globex), 5)
    [warm] = [r for r in results if r.check == "warm"]
    assert not warm.ok
    assert "model_warmup: generated [('zero-batch-1', 1), ('zero-batch-16', 16)], served []" in (
        warm.detail
    )
    assert "no execution before verify's first request" in warm.detail
    assert re.search(r"the first request took \d+\.\d ms, over 1000 ms", warm.detail)
    acme = TENANTS_BY_NAME["acme"]
    stable = verify_tenant(
        acme, TritonEndpoint(acme_server.http_url), _generated(acme), 5, revisions="stable"
    )
    warm_ok = {r.model: r for r in stable if r.check == "warm"}
    assert all(r.ok for r in warm_ok.values()), warm_ok
    assert warm_ok["risk-embedder"].detail.startswith("2 execution(s) before the first request")


class ReportsMemory(TritonEndpoint):
    """The real server's statistics, plus the ``memory_usage`` a GPU backend reports."""

    def __init__(self, url: str, gpu_bytes: dict[str, int]) -> None:
        super().__init__(url)
        self.gpu_bytes = gpu_bytes

    def statistics(self, model: str, version: str) -> dict[str, Any]:
        stats = super().statistics(model, version)
        assert stats["memory_usage"] == []  # what the python backend reports
        if model in self.gpu_bytes:
            stats["memory_usage"] = [{"type": "GPU", "id": 0, "byte_size": self.gpu_bytes[model]}]
        return stats


def test_a_model_over_its_slice_memory_fails(acme_server: TritonServer) -> None:
    acme = TENANTS_BY_NAME["acme"]
    fraud, embedder = acme.models
    assert slice_memory_bytes(fraud) == int(9.75 * GIB)  # 1g.10gb: usable, not nominal
    assert slice_memory_bytes(embedder) == int(19.62 * GIB)  # 2g.20gb
    endpoint = ReportsMemory(
        acme_server.http_url, {"fraud-detector": 12 * GIB, "risk-embedder": 8 * GIB}
    )
    results = verify_tenant(acme, endpoint, _generated(acme), 5, revisions="stable")
    memory = {r.model: r for r in results if r.check == "memory"}
    assert not memory["fraud-detector"].ok
    assert memory["fraud-detector"].detail == (
        "the model holds 12.00 GiB: over the 1g.10gb slice's 9.75 GiB"
    )
    assert memory["risk-embedder"].ok
    assert memory["risk-embedder"].detail == "model 8.00 GiB within the 2g.20gb slice's 19.62 GiB"


def test_triton_gpu_memory_metrics_are_read() -> None:
    text = "\n".join(
        [
            "# HELP nv_gpu_memory_total_bytes GPU total memory, in bytes",
            "# TYPE nv_gpu_memory_total_bytes gauge",
            'nv_gpu_memory_total_bytes{gpu_uuid="MIG-0b5c7f6a"} 10468982784',
            "# HELP nv_gpu_memory_used_bytes GPU used memory, in bytes",
            "# TYPE nv_gpu_memory_used_bytes gauge",
            'nv_gpu_memory_used_bytes{gpu_uuid="MIG-0b5c7f6a"} 9663676416',
            'nv_inference_count{model="fraud-detector",version="12"} 3',
        ]
    )
    assert device_memory_from_metrics(text) == (9663676416, 10468982784)
    assert device_memory_from_metrics('nv_inference_count{model="m",version="1"} 3') is None
    # the text format allows a timestamp after the value (Prometheus "Exposition formats")
    stamped = 'nv_gpu_memory_used_bytes{gpu_uuid="a"} 5 1700000000000\n'
    stamped += 'nv_gpu_memory_total_bytes{gpu_uuid="a"} 10 1700000000000\n'
    assert device_memory_from_metrics(stamped) == (5, 10)


@pytest.fixture(scope="module")
def s3() -> Iterator[Moto]:
    with moto_server(iam_auth=False) as m:
        yield m


def test_artifact_digest_is_checked_against_the_bucket(
    acme_server: TritonServer,
    s3: Moto,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tenant's CI uploads the version directory and declares its digest; verify reads
    the bucket back through the CLI (boto3 against the moto server) and compares."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.admin_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.admin_secret)
    acme = TENANTS_BY_NAME["acme"]
    client = s3.client("s3")
    bucket = "tenantry-acme-verify"
    client.create_bucket(Bucket=bucket)
    text = (TENANTS / "acme.yaml").read_text()
    for m in acme.models:
        version_dir = tmp_path / m.name / m.version
        version_dir.mkdir(parents=True)
        shutil.copy(STANDIN_MODEL, version_dir / "model.py")
        (version_dir / "weights.bin").write_bytes(m.name.encode() * 1000)
        for f in sorted(version_dir.iterdir()):
            client.put_object(
                Bucket=bucket, Key=artifact_prefix(m.name, m.version) + f.name, Body=f.read_bytes()
            )
        assert m.artifact is not None and m.artifact.digest is not None
        text = text.replace(m.artifact.digest, directory_digest(version_dir))
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    (tenants / "acme.yaml").write_text(text)

    def run() -> dict[str, dict[str, Any]]:
        main(
            [
                "verify",
                "acme",
                "--url",
                acme_server.http_url,
                "--revisions",
                "stable",
                "--requests",
                "5",
                "--format",
                "json",
                "--tenants",
                str(tenants),
                "--stacks",
                str(STACKS),
                "--bucket",
                bucket,
                "--s3-endpoint-url",
                s3.endpoint,
            ]
        )
        out = json.loads(capsys.readouterr().out)
        return {c["model"]: c for c in out["checks"] if c["check"] == "artifact"}

    good = run()
    assert all(c["ok"] and not c["skipped"] for c in good.values()), good
    assert good["fraud-detector"]["detail"].startswith("bucket holds sha256:")
    # someone overwrites the weights after review
    key = artifact_prefix("fraud-detector", "12") + "weights.bin"
    client.put_object(Bucket=bucket, Key=key, Body=b"not what was reviewed")
    bad = run()
    assert not bad["fraud-detector"]["ok"] and bad["risk-embedder"]["ok"]
    assert re.fullmatch(
        r"declared sha256:[0-9a-f]{64}, bucket holds sha256:[0-9a-f]{64}: not the reviewed "
        r"artifact",
        bad["fraud-detector"]["detail"],
    )


def test_unreadable_bucket_and_oci_artifacts(acme_server: TritonServer) -> None:
    acme = TENANTS_BY_NAME["acme"]
    fraud = acme.models[0]
    image = Artifact(image="registry.example.com/acme/fraud@sha256:" + "c" * 64)
    pinned = dataclasses.replace(acme, models=(dataclasses.replace(fraud, artifact=image),))

    def unreachable(model: str, version: str) -> str:
        raise ConnectionError("Could not connect to the endpoint URL")

    results = verify_tenant(
        pinned,
        TritonEndpoint(acme_server.http_url),
        _generated(acme),
        5,
        revisions="stable",
        artifacts=unreachable,
    )
    [art] = [r for r in results if r.check == "artifact"]
    assert art.ok and "oci://registry.example.com/acme/fraud@sha256:" in art.detail
    results = verify_tenant(
        acme, TritonEndpoint(acme_server.http_url), _generated(acme), 5, artifacts=unreachable
    )
    arts = [r for r in results if r.check == "artifact"]
    assert arts and all(not r.ok for r in arts)
    assert arts[0].detail == "cannot read the artifact: Could not connect to the endpoint URL"
