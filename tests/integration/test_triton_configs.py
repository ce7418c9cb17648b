"""Every generated config.pbtxt, loaded by a REAL tritonserver (the one bundled in the
nvidia-pytriton wheel, on CPU), and its served configuration read back with tritonclient.

Stand-ins: each model directory gets the generated ``config.pbtxt`` and a Python-backend
``model.py`` of the same signature that returns zeros. For formats other than ``python`` two
lines are rewritten for the stand-in and nothing else: the ``platform: ...`` line becomes
``backend: "python"`` (the real ONNX/PyTorch/TF/TensorRT backends and weights are not in the
wheel), and ``kind: KIND_GPU`` becomes ``kind: KIND_CPU`` (no GPU here). The rate limiter, the
queue policy, priorities, batch size, tensors and version policy are served as generated.
Stable and canary revisions share a model name, so they load on two servers in turn.

Skipped when the wheel's tritonserver is missing, except with CI=true, where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.engine import record_tenant, render_files
from tests.components.helpers import EXAMPLES, ROOT, tenants

pytestmark = pytest.mark.server

STAND_IN = '''\
import json
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """Stand-in with the generated signature: zeros of each output's type and dims."""

    def initialize(self, args):
        cfg = json.loads(args["model_config"])
        self.batching = cfg["max_batch_size"] > 0
        self.outputs = [(o["name"], o["data_type"], o["dims"]) for o in cfg["output"]]
        self.first_input = cfg["input"][0]["name"]

    def execute(self, requests):
        responses = []
        for request in requests:
            batch = pb_utils.get_input_tensor_by_name(request, self.first_input).as_numpy().shape[0]
            tensors = []
            for name, dtype, dims in self.outputs:
                shape = ([batch] if self.batching else []) + [d if d > 0 else 1 for d in dims]
                np_dtype = pb_utils.triton_string_to_numpy(dtype)
                value = np.full(shape, b"", dtype=object) if np_dtype == np.object_ \\
                    else np.zeros(shape, dtype=np_dtype)
                tensors.append(pb_utils.Tensor(name, value))
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
'''


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def tritonserver_dir() -> Path:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        _missing("nvidia-pytriton is not installed (no tritonserver binary)")
    base = Path(next(iter(spec.submodule_search_locations))) / "tritonserver"  # type: ignore[union-attr]
    if not (base / "bin" / "tritonserver").is_file():
        _missing(f"no tritonserver binary under {base}")
    return base


def stand_in_config(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.startswith("platform: "):
            line = 'backend: "python"'
        lines.append(line.replace("kind: KIND_GPU", "kind: KIND_CPU"))
    return "\n".join(lines) + "\n"


def generated_configs() -> dict[str, str]:
    """Bucket key -> config.pbtxt, exactly as `tenantry render` writes them."""
    out = {}
    for name in EXAMPLES:
        for path, data in render_files(
            record_tenant(name, ROOT / "tenants", ROOT / "stacks")
        ).items():
            if path.startswith("triton/"):
                out[path.removeprefix("triton/")] = data.decode()
    return out


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Server:
    def __init__(self, base: Path, work: Path, repo: Path) -> None:
        self.http, self.grpc, self.metrics = free_ports(3)
        ts = work / "ts"
        if not ts.exists():
            import shutil

            for part in ("bin", "backends", "caches"):
                shutil.copytree(base / part, ts / part)
            stub = (
                base / "python_backend_stubs" / f"{sys.version_info.major}."
                f"{sys.version_info.minor}" / "triton_python_backend_stub"
            )
            if not stub.is_file():
                _missing(f"no Python backend stub for Python {sys.version_info[:2]}")
            shutil.copy2(stub, ts / "backends" / "python" / "triton_python_backend_stub")
        libs = [
            str(sysconfig.get_config_var("LIBDIR")),
            str(Path(sysconfig.get_paths()["purelib"]) / "nvidia_pytriton.libs"),
        ]
        env = dict(
            os.environ,
            LD_LIBRARY_PATH=":".join([*libs, os.environ.get("LD_LIBRARY_PATH", "")]),
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        )
        self.log = (work / f"tritonserver-{repo.name}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                str(ts / "bin" / "tritonserver"),
                f"--model-repository={repo}",
                f"--backend-directory={ts / 'backends'}",
                f"--cache-directory={ts / 'caches'}",
                "--http-address=127.0.0.1",
                f"--http-port={self.http}",
                "--grpc-address=127.0.0.1",
                f"--grpc-port={self.grpc}",
                "--metrics-address=127.0.0.1",
                f"--metrics-port={self.metrics}",
                "--allow-gpu-metrics=false",
                "--disable-auto-complete-config",
                "--rate-limit=execution_count",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.logfile = Path(self.log.name)

    def wait_ready(self, timeout: float = 120) -> Any:
        import tritonclient.http as httpclient

        client = httpclient.InferenceServerClient(f"127.0.0.1:{self.http}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("tritonserver exited:\n" + self.logfile.read_text()[-4000:])
            try:
                if client.is_server_ready():
                    return client
            except Exception:
                pass
            time.sleep(0.5)
        pytest.fail("tritonserver not ready:\n" + self.logfile.read_text()[-4000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


CONFIGS = generated_configs()
REVISION_SETS = {  # one model name per repository: stable revisions, then canaries
    "stable": {
        k: v
        for k, v in CONFIGS.items()
        if any(
            k.split("/")[2] == f"v{m.version}" and k.split("/")[1] == m.name
            for t in tenants().values()
            for m in t.models
        )
    },
}
REVISION_SETS["canary"] = {k: v for k, v in CONFIGS.items() if k not in REVISION_SETS["stable"]}


@pytest.fixture(scope="module", params=sorted(REVISION_SETS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    base = tritonserver_dir()
    work = tmp_path_factory.mktemp("triton")
    repo = work / request.param
    for key, text in REVISION_SETS[request.param].items():
        _, model, rev, _, _ = key.split("/")
        mdir = repo / model
        (mdir / rev.removeprefix("v")).mkdir(parents=True)
        (mdir / "config.pbtxt").write_text(stand_in_config(text))
        (mdir / rev.removeprefix("v") / "model.py").write_text(STAND_IN)
    server = Server(base, work, repo)
    try:
        yield request.param, server.wait_ready()
    finally:
        server.stop()


def expected() -> dict[tuple[str, str], tuple[Any, Any]]:
    return {
        (m.name, v): (t, m)
        for t in tenants().values()
        for m in t.models
        for v in (m.version, *([m.canary.version] if m.canary else []))
    }


def test_every_generated_config_is_served_with_its_queue_policy(served: tuple[str, Any]) -> None:
    which, client = served
    keys = REVISION_SETS[which]
    assert keys, "nothing to load"
    want = expected()
    for key in keys:
        _, model, rev, _, _ = key.split("/")
        version = rev.removeprefix("v")
        t, m = want[(model, version)]
        assert client.is_model_ready(model, version), f"{model} v{version} not ready"
        cfg = client.get_model_config(model)
        assert cfg["max_batch_size"] == m.max_batch_size
        assert cfg["version_policy"] == {"specific": {"versions": [int(version)]}}
        db = cfg["dynamic_batching"]
        assert db["priority_levels"] == 2
        assert db["default_priority_level"] == t.tier.queue_priority
        assert db["max_queue_delay_microseconds"] > 0
        policy = db["default_queue_policy"]
        assert policy["timeout_action"] == "REJECT"
        assert policy["max_queue_size"] == t.quotas.max_queue_depth
        [group] = cfg["instance_group"]
        if m.gpu:
            assert group["rate_limiter"]["priority"] == t.tier.queue_priority
            assert group["rate_limiter"]["resources"] == [
                {"name": "tenantry_device", "global": False, "count": 1}
            ]
        assert [i["name"] for i in cfg["input"]] == [i.name for i in m.inputs]
        assert [o["name"] for o in cfg["output"]] == [o.name for o in m.outputs]


def test_a_served_model_answers(served: tuple[str, Any]) -> None:
    import tritonclient.http as httpclient

    which, client = served
    model, version = ("fraud-detector", "12") if which == "stable" else ("fraud-detector", "13")
    x = httpclient.InferInput("features", [3, 64], "FP32")
    x.set_data_from_numpy(np.ones((3, 64), dtype=np.float32))
    result = client.infer(model, [x], model_version=version)
    assert result.as_numpy("score").shape == (3, 1)
