"""The recording engine: run a stack program in-process under Pulumi's mock runtime, record
every registered resource, and write them out (Kubernetes YAML, Triton configs, JSON)."""

from .recorder import SECRET, UNKNOWN, Record, close_runtime, freeze_heap, record
from .stack import RenderError, record_platform, record_stack, record_tenant, stack_config
from .writers import WriteError, render_files, write_atomic

__all__ = [
    "SECRET",
    "UNKNOWN",
    "Record",
    "RenderError",
    "WriteError",
    "close_runtime",
    "freeze_heap",
    "record",
    "record_platform",
    "record_stack",
    "record_tenant",
    "render_files",
    "stack_config",
    "write_atomic",
]
