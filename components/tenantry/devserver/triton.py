"""Start a real ``tritonserver`` (the binary the ``nvidia-pytriton`` wheel ships) on a model
repository, bound to 127.0.0.1 on free ports, and stop it afterwards.

Quirks handled (docs/local-servers.md, which also records the batcher stall): the Python
backend stub for this interpreter is copied next to the backend; ``LD_LIBRARY_PATH`` points at
this interpreter's libpython and the wheel's bundled libraries; this venv's ``bin`` comes first
on ``PATH`` so the stub imports this venv's numpy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .process import free_port, serving


class TritonUnavailable(RuntimeError):
    """The tritonserver binary (nvidia-pytriton wheel) is not installed here."""


@dataclass(frozen=True)
class TritonServer:
    http_url: str  # host:port, as tritonclient expects
    grpc_url: str
    metrics_url: str
    log: Path
    process: subprocess.Popen[bytes]


def _wheel_dir() -> Path:
    try:
        import pytriton
    except ImportError as exc:
        raise TritonUnavailable("nvidia-pytriton is not installed") from exc
    root = Path(pytriton.__file__).parent / "tritonserver"
    if not (root / "bin" / "tritonserver").exists():
        raise TritonUnavailable(f"no tritonserver binary under {root}")
    return root


def _prepare(workdir: Path) -> tuple[Path, Path, dict[str, str]]:
    root = _wheel_dir()
    backends = workdir / "backends"
    shutil.copytree(root / "backends", backends)
    shutil.copytree(root / "caches", workdir / "caches")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
    shutil.copy2(stub, backends / "python" / "triton_python_backend_stub")
    site = Path(sysconfig.get_paths()["purelib"])
    libs = [str(sysconfig.get_config_var("LIBDIR")), str(site / "nvidia_pytriton.libs")]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")]).rstrip(":")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return root / "bin" / "tritonserver", backends, env


@contextlib.contextmanager
def running_tritonserver(
    repository: Path, extra_args: Sequence[str] = (), startup_timeout: float = 90.0
) -> Iterator[TritonServer]:
    """Run tritonserver on ``repository`` until the ``with`` block ends.

    Raises :class:`TritonUnavailable` when the binary is missing and RuntimeError (with the
    server log's tail) when it exits early or is not ready within ``startup_timeout``."""
    with tempfile.TemporaryDirectory(prefix="tenantry-triton-") as tmp:
        work = Path(tmp)
        binary, backends, env = _prepare(work)
        http, grpc, metrics = free_port(), free_port(), free_port()
        log = work / "tritonserver.log"
        args = [
            str(binary),
            f"--model-repository={repository}",
            f"--backend-directory={backends}",
            f"--cache-directory={work / 'caches'}",
            "--http-address=127.0.0.1",
            f"--http-port={http}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={grpc}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={metrics}",
            "--allow-gpu-metrics=false",
            "--strict-readiness=true",
            *extra_args,
        ]
        ready = f"http://127.0.0.1:{http}/v2/health/ready"
        with serving(
            args, log, ready, startup_timeout, env=env, keep_log_env="TENANTRY_KEEP_TRITON_LOG"
        ) as proc:
            yield TritonServer(
                f"127.0.0.1:{http}", f"127.0.0.1:{grpc}", f"127.0.0.1:{metrics}", log, proc
            )
