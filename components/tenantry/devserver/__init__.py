"""Local development servers for tests, benchmarks and trying Tenantry without a cluster:
a real ``tritonserver`` from the ``nvidia-pytriton`` wheel, and python-backend stand-in
models that serve any signature from a generated ``config.pbtxt``."""

from .repository import STANDIN_MODEL, parse_config_key, standin_config, write_standin
from .triton import TritonServer, TritonUnavailable, running_tritonserver

__all__ = [
    "STANDIN_MODEL",
    "TritonServer",
    "TritonUnavailable",
    "parse_config_key",
    "running_tritonserver",
    "standin_config",
    "write_standin",
]
