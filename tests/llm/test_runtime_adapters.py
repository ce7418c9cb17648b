"""Runtime adapter loading on the real vLLM (issue 20: adding, changing or removing one
tenant's adapter must not restart the shared runtime for everyone).

One vLLM (the session's, started once with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING`` and the
filesystem resolver over its ``resolver/`` directory, as the render starts the shared
runtime), the real adapter sync (``python -m tenantry.llmadapters``, a process following its
adapters file as the pod's container follows the mounted ConfigMap) reading S3 (moto), and
the real gateway reloading its routes file. Every file the sync and the gateway read is the
data of the ConfigMaps the platform renders (:func:`tenantry.k8s.llm_gateway.request_path_objects`)
for the grants of each step; the test then checks through the gateway: an adapter added
after start answers 200 with the greedy output of the same weights freshly loaded into
vLLM; a changed adapter (new digest) answers with the new weights' output; a removed one is
404; vLLM's process is the same one throughout and the rendered LLMInferenceService never
changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantry.artifacts import directory_digest
from tenantry.devserver.llm import GatewayServer, running_llm_gateway
from tenantry.k8s.llm_gateway import request_path_objects
from tenantry.k8s.llm_inference_service import (
    ADAPTER_CONFIG_KEY,
    AdapterGrant,
    adapters_config_map,
    runtime_model,
    runtime_name,
)
from tenantry.spec.resolved import ResolvedLlmAdapter
from tests.aws.moto_server import Moto, moto_server
from tests.llm.conftest import VllmServer, call, call_full
from tests.llm.test_gateway import xfcc
from tests.platform.test_shared_llms import _settings

pytestmark = pytest.mark.server
BASE = "tiny-base"
TENANT = "tenant-c"
SERVED = f"{TENANT}-late"  # adapter "late" of tenant-c, granted only after vLLM started
BUCKET = "tenantry-tenant-c"
LABELS = {"tenant": "platform"}
PROMPT = {"prompt": "the tenant asks the model", "max_tokens": 8, "temperature": 0}
SETTLE_S = 120  # the sync's and the gateway's polling, on a loaded 2-core box


def _grant(path: str, digest: str) -> AdapterGrant:
    adapter = ResolvedLlmAdapter("late", SERVED, BASE, path, digest, 8, 10_000_000, 8)
    return AdapterGrant(TENANT, "premium", BUCKET, adapter)


# The other tests' grants (tests/llm/test_gateway.py): the fixture's adapters of tenant-a and
# tenant-b under the placeholder digest, which docs/llm/build_fixture.py published in the
# server's resolver directory. They stay granted at every step, so the sync (which owns that
# directory) keeps them: present, they are never fetched.
def _placeholder(tenant: str) -> AdapterGrant:
    adapter = ResolvedLlmAdapter(
        "adapter", f"{tenant}-adapter", BASE, "adapters/adapter/", "sha256:" + "0" * 64, 8,
        10_000_000, 8,
    )  # fmt: skip
    return AdapterGrant(tenant, "shared", f"tenantry-{tenant}", adapter)


OTHERS = [_placeholder("tenant-a"), _placeholder("tenant-b")]


def _render(grants: list[AdapterGrant]) -> dict[tuple[str, str], dict[str, Any]]:
    grants = [*OTHERS, *grants]
    settings = _settings(llmPrefixCaching="per-tenant-salt", base={"name": BASE})
    return {
        (o["kind"], o["metadata"]["name"]): o
        for o in request_path_objects(settings, grants, LABELS)
    }


def _swap(path: Path, text: str) -> None:
    """Replace ``path`` in one rename, as the kubelet swaps a ConfigMap volume's files."""
    tmp = path.with_suffix(".new")
    tmp.write_text(text)
    os.replace(tmp, path)


def _until(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + SETTLE_S
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {SETTLE_S}s: {what}")
        time.sleep(0.5)


def _greedy(
    url: str, model: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    status, out, _ = call_full(f"{url}/v1/completions", {"model": model, **PROMPT}, headers)
    return status, out


def _reference(vllm: str, name: str, path: Path) -> str:
    """The greedy output of the adapter at ``path``, loaded into vLLM under a fresh name."""
    status, out = call(f"{vllm}/v1/load_lora_adapter", {"lora_name": name, "lora_path": str(path)})
    assert status == 200, out
    status, out = _greedy(vllm, name)
    assert status == 200, out
    return str(out["choices"][0]["text"])


@pytest.fixture(scope="module")
def s3() -> Iterator[Moto]:
    with moto_server(iam_auth=False) as moto:
        moto.client("s3").create_bucket(Bucket=BUCKET)
        yield moto


def _upload(moto: Moto, src: Path, prefix: str) -> str:
    s3 = moto.client("s3")
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=BUCKET, Key=prefix + f.relative_to(src).as_posix(), Body=f.read_bytes()
        )
    return directory_digest(src)


def test_adapters_come_change_and_go_without_restarting_the_runtime(
    vllm_server: VllmServer, s3: Moto, tmp_path: Path
) -> None:
    root, proc, vllm = vllm_server.root, vllm_server.process, vllm_server.url
    if root is None:
        pytest.skip("TENANTRY_TEST_VLLM_URL without TENANTRY_TEST_VLLM_ROOT: no resolver dir")
    resolver = root / "resolver"
    pid = proc.pid if proc is not None else None
    adapters_file = tmp_path / "adapters.json"
    cm = ("ConfigMap", adapters_config_map(BASE))
    llmisvc = ("LLMInferenceService", runtime_name(BASE))

    before = _render([])
    _swap(adapters_file, before[cm]["data"][ADAPTER_CONFIG_KEY])
    routes = json.loads(before[("ConfigMap", "tenantry-llm-routes")]["data"]["routes.json"])
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3.admin_key,
        "AWS_SECRET_ACCESS_KEY": s3.admin_secret,
    }
    sync_log = tmp_path / "sync.log"
    with sync_log.open("wb") as out:
        sync = subprocess.Popen(
            [sys.executable, "-m", "tenantry.llmadapters", "--adapters", str(adapters_file),
             "--dir", str(resolver), "--base-model-path", str(root / "base"),
             "--base-model", BASE, "--region", "us-east-1", "--s3-endpoint", s3.endpoint,
             "--vllm-url", vllm, "--interval", "0.5", "--grace", "0", "--drain", "0",
             "--retry", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        with running_llm_gateway(
            routes, {BASE: vllm}, extra_args=["--reload-interval", "0.5"]
        ) as gw:
            _steps(vllm, root, gw, s3, adapters_file, sync_log, before, cm, llmisvc)
    finally:
        sync.terminate()
        sync.wait(timeout=30)
        # vLLM keeps every name it resolved or loaded registered (resolve_lora never forgets
        # one): leave the session's server as the other tests expect it
        _, models = call(f"{vllm}/v1/models")
        for m in models.get("data", []):
            if m["id"].startswith((f"{SERVED}--", "reference-")):
                call(f"{vllm}/v1/unload_lora_adapter", {"lora_name": m["id"]})
    if proc is not None:
        assert proc.poll() is None and proc.pid == pid  # the same vLLM process throughout


def _steps(
    vllm: str,
    root: Path,
    gw: GatewayServer,
    s3: Moto,
    adapters_file: Path,
    sync_log: Path,
    before: dict[tuple[str, str], dict[str, Any]],
    cm: tuple[str, str],
    llmisvc: tuple[str, str],
) -> None:
    resolver = root / "resolver"
    me = xfcc(TENANT)

    def apply(grants: list[AdapterGrant]) -> dict[tuple[str, str], dict[str, Any]]:
        objs = _render(grants)
        # the runtime's object is the one the platform rendered before any adapter existed
        assert objs[llmisvc] == before[llmisvc]
        _swap(adapters_file, objs[cm]["data"][ADAPTER_CONFIG_KEY])
        _swap(gw.routes, objs[("ConfigMap", "tenantry-llm-routes")]["data"]["routes.json"])
        return objs

    def answer(accept: Callable[[int, dict[str, Any]], bool]) -> Callable[[], Any]:
        def check() -> tuple[int, dict[str, Any]] | None:
            status, out = _greedy(gw.url, SERVED, me)
            return (status, out) if accept(status, out) else None

        return check

    def text(out: dict[str, Any]) -> str:
        return str(out["choices"][0]["text"])

    assert _greedy(gw.url, SERVED, me)[0] == 404  # not granted yet
    base_text = text(_greedy(vllm, BASE)[1])

    # 0. declared with a digest its files do not have: never published; the gateway, whose
    #    routes already name it, answers its own 404 (not vLLM's, which names the runtime's
    #    internal name and the base model)
    v1 = _upload(s3, root / "adapter-c", "adapters/late/v1/")
    wrong = "sha256:" + "f" * 64
    apply([_grant("adapters/late/v1/", wrong)])
    _until(
        "the sync refuses the mismatched digest",
        lambda: f"adapter {runtime_model(SERVED, wrong)} not published" in sync_log.read_text(),
    )
    assert f"the files' digest is {v1}" in sync_log.read_text()
    status, out = _greedy(gw.url, SERVED, me)
    assert status == 404 and out["error"]["code"] == "model_not_found", out
    assert BASE not in json.dumps(out) and "--" not in json.dumps(out)
    assert not (resolver / runtime_model(SERVED, wrong)).exists()

    # 1. added after vLLM started: served through the gateway, the adapter's own output
    apply([_grant("adapters/late/v1/", v1)])
    ref_c = _reference(vllm, "reference-c", root / "adapter-c")
    _, out = _until("the added adapter answers", answer(lambda st, _: st == 200))
    assert out["model"] == SERVED  # the caller's name, not the runtime's
    assert text(out) == ref_c != base_text
    assert (resolver / runtime_model(SERVED, v1)).is_dir()

    # 2. changed (other weights, a new digest): the new weights' output
    v2 = _upload(s3, root / "adapter-b", "adapters/late/v2/")
    assert v2 != v1
    apply([_grant("adapters/late/v2/", v2)])
    ref_b = _reference(vllm, "reference-b", root / "adapter-b")
    assert ref_b != ref_c
    _, out = _until(
        "the changed adapter answers with other weights",
        answer(lambda st, o: st == 200 and text(o) != ref_c),
    )
    assert text(out) == ref_b and out["model"] == SERVED
    old = resolver / runtime_model(SERVED, v1)
    _until("the replaced version is removed", lambda: not old.exists())

    # 3. removed: 404 through the gateway, its files gone from the runtime pod
    apply([])
    _, out = _until("the removed adapter is refused", answer(lambda st, _: st == 404))
    assert out["error"]["code"] == "model_not_found"
    gone = resolver / runtime_model(SERVED, v2)
    _until("its files are removed", lambda: not gone.exists())
    # both versions were unloaded from vLLM before their files went: asked for directly, a
    # retired name is a plain 404 and vLLM stays up (a registered name whose directory is
    # gone would make the engine reload from a missing path and die: docs/llm.md "Changes")
    _, models = call(f"{vllm}/v1/models")
    assert not [m["id"] for m in models["data"] if m["id"].startswith(f"{SERVED}--")]
    for version in (v1, v2):
        status, out = _greedy(vllm, runtime_model(SERVED, version))
        assert status == 404, out
    assert _greedy(vllm, BASE)[0] == 200
    refused = [line for line in sync_log.read_text().splitlines() if "not published" in line]
    assert refused and all(runtime_model(SERVED, wrong) in line for line in refused)
    # the other tests' adapters were kept all along (granted at every step)
    for tenant in ("tenant-a", "tenant-b"):
        assert (resolver / runtime_model(f"{tenant}-adapter", "sha256:" + "0" * 64)).is_dir()
    assert "tenant-a-adapter--" not in sync_log.read_text()
    # the management paths stay closed to tenants throughout
    status, _ = call(f"{gw.url}/v1/load_lora_adapter", {"lora_name": "x", "lora_path": "/"}, me)
    assert status == 404
