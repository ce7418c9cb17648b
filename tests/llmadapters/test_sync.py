"""The shared runtimes' adapter sync (:mod:`tenantry.llmadapters`) against S3 (moto,
in process): it publishes exactly the adapters of the rendered ConfigMap, each only when its
files have the declared digest, under its runtime name, with the base model path vLLM's
filesystem resolver compares; it retires a version after the grace period; every bad input
is one line. The real vLLM serving what it publishes: tests/llm/test_runtime_adapters.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantry.artifacts import directory_digest
from tenantry.aws.llm_policies import AdapterObject, shared_runtime_policy
from tenantry.k8s.llm_inference_service import (
    AdapterGrant,
    runtime_adapters,
    runtime_model,
)
from tenantry.llmadapters.sync import AdaptersError, Syncer, parse_adapters
from tenantry.spec.resolved import ResolvedLlmAdapter

BASE = "llama-3-8b"
BUCKET = "tenantry-acme-111122223333"
MODEL_PATH = "/mnt/models"


def _adapter_dir(root: Path, seed: int) -> Path:
    """A PEFT-shaped adapter directory (config + weights bytes; the sync does not parse the
    weights, vLLM does: tests/llm)."""
    root.mkdir(parents=True)
    config = {"peft_type": "LORA", "r": 8, "base_model_name_or_path": "meta-llama/x"}
    (root / "adapter_config.json").write_text(json.dumps(config))
    (root / "adapter_model.safetensors").write_bytes(bytes([seed]) * 1024)
    return root


def _upload(s3: Any, src: Path, prefix: str) -> None:
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=BUCKET, Key=prefix + f.relative_to(src).as_posix(), Body=f.read_bytes()
        )


def _grant(name: str, path: str, digest: str) -> AdapterGrant:
    a = ResolvedLlmAdapter(name, f"acme-{name}", BASE, path, digest, 8, 1000, 4)
    return AdapterGrant("acme", "premium", BUCKET, a)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _never(name: str) -> str | None:
    raise AssertionError(f"{name} unloaded, but nothing retires")


class Runtime:
    """What the sync asks of vLLM: unload a name (the real one: tests/llm). ``down`` makes
    it fail as a runtime that does not answer."""

    def __init__(self) -> None:
        self.unloaded: list[str] = []
        self.down = False

    def __call__(self, name: str) -> str | None:
        if self.down:
            return "http://127.0.0.1:8000 did not answer: refused"
        self.unloaded.append(name)
        return None


def _desired(grants: list[AdapterGrant]) -> dict[str, Any]:
    return parse_adapters(json.dumps(runtime_adapters(BASE, grants)), "adapters.json", BASE)


def test_publishes_verified_adapters_under_their_runtime_names(s3: Any, tmp_path: Path) -> None:
    src = _adapter_dir(tmp_path / "src", 1)
    _upload(s3, src, "adapters/support/v1/")
    grant = _grant("support", "adapters/support/v1/", directory_digest(src))
    root = tmp_path / "adapters"
    syncer = Syncer(s3, root, MODEL_PATH, _never)
    report = syncer.sync(_desired([grant]))
    name = runtime_model("acme-support", grant.adapter.digest)
    assert report.published == [name] and not report.failed
    published = root / name
    assert (published / "adapter_model.safetensors").read_bytes() == bytes([1]) * 1024
    config = json.loads((published / "adapter_config.json").read_text())
    # vLLM's filesystem resolver serves it only for the path vllm serve was given
    assert config["base_model_name_or_path"] == MODEL_PATH and config["peft_type"] == "LORA"
    assert syncer.sync(_desired([grant])).published == []  # nothing to do the second time
    assert sorted(p.name for p in root.iterdir()) == [".staging", name]


def test_a_digest_mismatch_is_never_published_and_the_others_are(s3: Any, tmp_path: Path) -> None:
    good, bad = _adapter_dir(tmp_path / "good", 1), _adapter_dir(tmp_path / "bad", 2)
    _upload(s3, good, "adapters/good/")
    _upload(s3, bad, "adapters/bad/")
    declared = directory_digest(good)  # bad's files do not have this digest
    grants = [_grant("good", "adapters/good/", declared), _grant("bad", "adapters/bad/", declared)]
    root = tmp_path / "adapters"
    report = Syncer(s3, root, MODEL_PATH, _never).sync(_desired(grants))
    bad_name = runtime_model("acme-bad", declared)
    assert report.published == [runtime_model("acme-good", declared)]
    assert list(report.failed) == [bad_name]
    assert f"the files' digest is {directory_digest(bad)}" in report.failed[bad_name]
    assert "\n" not in report.failed[bad_name]
    assert not (root / bad_name).exists()
    assert not any((root / ".staging").iterdir())  # the partial copy is gone


def test_a_directory_that_is_not_a_lora_adapter_is_refused(s3: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "weights.bin").write_bytes(b"x")
    _upload(s3, src, "adapters/odd/")
    grant = _grant("odd", "adapters/odd/", directory_digest(src))
    report = Syncer(s3, tmp_path / "adapters", MODEL_PATH, _never).sync(_desired([grant]))
    (reason,) = report.failed.values()
    assert "no readable adapter_config.json" in reason


def test_an_unreadable_prefix_is_one_line_and_retried_later(s3: Any, tmp_path: Path) -> None:
    grant = _grant("gone", "adapters/gone/", "sha256:" + "1" * 64)
    now = [0.0]
    syncer = Syncer(s3, tmp_path / "adapters", MODEL_PATH, _never, retry_s=60, clock=lambda: now[0])
    (reason,) = syncer.sync(_desired([grant])).failed.values()
    assert "no files" in reason
    assert syncer.sync(_desired([grant])).failed == {}  # not retried before retry_s
    now[0] = 61
    assert len(syncer.sync(_desired([grant])).failed) == 1


def test_a_replaced_version_is_unloaded_before_its_files_go(s3: Any, tmp_path: Path) -> None:
    """Grace, then unload from vLLM, then (after the drain) delete: vLLM must never hold a
    name whose directory is gone (a reload from a missing path kills its engine)."""
    v1, v2 = _adapter_dir(tmp_path / "v1", 1), _adapter_dir(tmp_path / "v2", 2)
    _upload(s3, v1, "adapters/support/v1/")
    _upload(s3, v2, "adapters/support/v2/")
    g1 = _grant("support", "adapters/support/v1/", directory_digest(v1))
    g2 = _grant("support", "adapters/support/v2/", directory_digest(v2))
    now = [0.0]
    root = tmp_path / "adapters"
    runtime = Runtime()
    syncer = Syncer(s3, root, MODEL_PATH, runtime, grace_s=300, drain_s=60,
                    clock=lambda: now[0])  # fmt: skip
    syncer.sync(_desired([g1]))
    old, new = (runtime_model("acme-support", g.adapter.digest) for g in (g1, g2))
    assert syncer.sync(_desired([g2])).published == [new]
    assert (root / old).exists()  # a gateway on its previous routes still reaches it
    now[0] = 299
    assert syncer.sync(_desired([g2])).removed == [] and runtime.unloaded == []
    now[0] = 300
    runtime.down = True  # vLLM does not answer: nothing is deleted, retried next pass
    report = syncer.sync(_desired([g2]))
    assert report.removed == [] and "not unloaded from the runtime, kept" in report.failed[old]
    assert (root / old).exists()
    runtime.down = False
    report = syncer.sync(_desired([g2]))
    assert report.unloaded == [old] and report.removed == [] and (root / old).exists()
    now[0] = 359
    assert syncer.sync(_desired([g2])).removed == []
    now[0] = 360
    assert syncer.sync(_desired([g2])).removed == [old]
    assert runtime.unloaded == [old]
    assert sorted(p.name for p in root.iterdir() if p.name[0] != ".") == [new]


def test_the_configmap_names_exactly_the_prefixes_the_runtime_role_reads() -> None:
    """The sync reads what the ConfigMap names with the runtime's role; both come from the
    same grants, so the role never lacks a prefix the sync needs, nor holds one it does not
    (tests/aws/test_moto_isolation.py: the role is refused everything else)."""
    grants = [
        _grant("support", "adapters/support/v1/", "sha256:" + "1" * 64),
        _grant("chat", "adapters/chat/v2/", "sha256:" + "2" * 64),
    ]
    uris = {a["uri"] for a in runtime_adapters(BASE, grants)["adapters"].values()}
    policy = shared_runtime_policy(
        [AdapterObject("acme", f"arn:aws:s3:::{BUCKET}", g.adapter.path) for g in grants],
        region="us-east-1",
        account_id="111122223333",
    )
    reads = {
        r.removeprefix("arn:aws:s3:::").removesuffix("*")
        for st in policy.statements
        if st.sid.startswith("Read")
        for r in st.resources
    }
    assert {u.removeprefix("s3://") for u in uris} == reads


OK = {"servedName": "acme-x", "tenant": "acme", "uri": f"s3://{BUCKET}/adapters/x/",
      "digest": "sha256:" + "a" * 64}  # fmt: skip
NAME = "acme-x--" + "a" * 64


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"baseModel": "other", "adapters": {}}, "field baseModel: got \"other\""),
        ({"baseModel": BASE}, "exactly the fields baseModel, adapters"),
        ({"baseModel": BASE, "adapters": {"acme-x": OK}}, "<servedName>--<digest hex>"),
        ({"baseModel": BASE, "adapters": {"../etc--" + "a" * 64: {**OK, "servedName": "../etc"}}},
         "[a-z0-9-] only"),
        ({"baseModel": BASE, "adapters": {NAME: {**OK, "uri": "s3://b/adapters/x"}}},
         "key prefix ending in /"),
        ({"baseModel": BASE, "adapters": {NAME: {**OK, "uri": f"s3://{BUCKET}/a/../b/"}}},
         "key prefix ending in /"),
        ({"baseModel": BASE, "adapters": {NAME: {**OK, "digest": "sha256:x"}}}, "64 lower-case"),
        ({"baseModel": BASE, "adapters": {NAME: {**OK, "extra": 1}}}, "exactly the fields"),
    ],
)  # fmt: skip
def test_a_bad_adapters_file_is_one_line_naming_the_field(doc: Any, expected: str) -> None:
    text = json.dumps(doc, indent=2)
    with pytest.raises(AdaptersError) as exc:
        parse_adapters(text, "adapters.json", BASE)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("adapters.json:") and expected in msg, msg


def test_the_command_refuses_a_bad_file_in_one_line_before_writing(tmp_path: Path) -> None:
    bad = tmp_path / "adapters.json"
    bad.write_text('{"baseModel": "other", "adapters": {}}')
    out = subprocess.run(
        [sys.executable, "-m", "tenantry.llmadapters", "--adapters", str(bad), "--dir",
         str(tmp_path / "dir"), "--base-model-path", MODEL_PATH, "--base-model", BASE,
         "--vllm-url", "http://127.0.0.1:9", "--once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("tenantry-llmadapters: error:")
    assert "baseModel" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "dir").exists()
