"""Every private Pulumi SDK internal Tenantry touches, in this one module, with the SDK
releases they were tested on.

The recording engine (offline plans and renders, :mod:`tenantry.testing`) runs programs
under the SDK's mock runtime, resets it between programs, reads what the SDK sends its
monitor and skips work the monitor discards. For that it uses names the SDK does not
document (``_sync_await``, ``settings.SETTINGS``, ``resource._get_stack_trace``, the mock
monitor's internals, the wire format's signature key and unknown marker, dynamic resources'
``_resource_type_name``) and undoes one side effect of ``pulumi.dynamic`` on the standard
library's ``pickle._Pickler``. Any minor SDK release may rename one of them. So:

- ``pyproject.toml`` allows only :data:`TESTED` (the SDK releases the test suite ran on);
- every name is looked up when this module is imported: a missing one raises
  :class:`SdkIncompatible`, naming it, the installed SDK and the tested range, instead of an
  ``AttributeError`` deep inside ``tenantry plan``;
- a test (``tests/unit/test_sdk_internals.py``) fails with a clear message when the installed
  SDK is outside :data:`TESTED`, and checks that the pin in ``pyproject.toml`` says the same.

Nothing else in Tenantry imports ``pulumi.runtime`` internals; grep for this module's names.
"""

import importlib
import pickle
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import Any, TypeVar

T = TypeVar("T")

# The SDK releases the suite ran on (lowest and the first release above the newest tested);
# the dependency pin in pyproject.toml must say the same (a test checks it).
TESTED_FROM = (3, 260, 0)
TESTED_BELOW = (3, 273, 0)
TESTED = f">={TESTED_FROM[0]}.{TESTED_FROM[1]},<{TESTED_BELOW[0]}.{TESTED_BELOW[1]}"


def _parse(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


def sdk_version() -> str:
    """The installed ``pulumi`` distribution's version (``"unknown"`` when not installed as
    a distribution)."""
    try:
        return _dist_version("pulumi")
    except PackageNotFoundError:
        return "unknown"


def untested_version(version: str | None = None) -> str | None:
    """``None`` when ``version`` (default: the installed SDK) is in :data:`TESTED`, else a
    message that names it, the tested range and what to do."""
    version = version or sdk_version()
    if version != "unknown" and TESTED_FROM <= _parse(version) < TESTED_BELOW:
        return None
    return (
        f"pulumi {version} is not a release Tenantry was tested with (tested: pulumi{TESTED}); "
        f"Tenantry's recording engine uses SDK internals listed in {__name__}, which a minor "
        f"release may rename. Install a tested release (pip install 'pulumi{TESTED}'), or "
        "run the test suite on this one and widen TESTED_FROM/TESTED_BELOW and the pin in "
        "pyproject.toml together."
    )


class SdkIncompatible(ImportError):
    """The installed Pulumi SDK lacks an internal the recording engine needs."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tenantry's recording engine needs {name}, which pulumi {sdk_version()} does "
            f"not have (tested: pulumi{TESTED}); install a tested release: "
            f"pip install 'pulumi{TESTED}'"
        )


def _internal(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SdkIncompatible(f"{module}.{name}") from exc


def _member(owner: Any, name: str, where: str) -> None:
    if not hasattr(owner, name):
        raise SdkIncompatible(f"{where}.{name}")


# --- the internals, looked up once -------------------------------------------------------
_sync_await: Callable[[Awaitable[Any]], Any] = _internal("pulumi.runtime.sync_await", "_sync_await")
_SETTINGS: Any = _internal("pulumi.runtime.settings", "SETTINGS")
_member(_SETTINGS, "rpc_manager", "pulumi.runtime.settings.SETTINGS")
_member(_SETTINGS, "outputs", "pulumi.runtime.settings.SETTINGS")
_run_pulumi_func: Callable[[Callable[[], None]], Awaitable[None]] = _internal(
    "pulumi.runtime.stack", "run_pulumi_func"
)
_resource_module: Any = importlib.import_module("pulumi.runtime.resource")
_member(_resource_module, "_get_stack_trace", "pulumi.runtime.resource")
_member(pickle, "_Pickler", "pickle")

MockMonitor: Any = _internal("pulumi.runtime.mocks", "MockMonitor")
"""The SDK's mock resource monitor (``make_urn``, ``resources``, ``ResourceRegistration``,
``mocks``): the recorder subclasses it."""
for _name in ("make_urn", "ResourceRegistration", "RegisterResource"):
    _member(MockMonitor, _name, "pulumi.runtime.mocks.MockMonitor")

UNKNOWN: str = _internal("pulumi.runtime.rpc", "UNKNOWN")
"""The wire value of an output known only after deployment."""
SIGNATURE_KEY: str = _internal("pulumi.runtime.rpc", "_special_sig_key")
"""The key that marks a secret, asset, archive, resource or output on the wire."""
SECRET_SIGNATURE: str = _internal("pulumi.runtime.rpc", "_special_secret_sig")
serialize_properties: Callable[..., Awaitable[Any]] = _internal(
    "pulumi.runtime.rpc", "serialize_properties"
)
deserialize_properties: Callable[..., Any] = _internal(
    "pulumi.runtime.rpc", "deserialize_properties"
)
is_rpc_secret: Callable[[Any], bool] = _internal("pulumi.runtime.rpc", "is_rpc_secret")
unwrap_rpc_secret: Callable[[Any], Any] = _internal("pulumi.runtime.rpc", "unwrap_rpc_secret")
Unknown: type = _internal("pulumi.output", "Unknown")
"""The SDK's in-process marker of an unknown value."""
RegisterResourceResponse: Any = _internal(
    "pulumi.runtime.proto.resource_pb2", "RegisterResourceResponse"
)
StackTrace: Any = _internal("pulumi.runtime.proto.source_pb2", "StackTrace")


def sync_await(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion on the SDK's event loop (``_sync_await``)."""
    result: T = _sync_await(awaitable)
    return result


def run_program(program: Callable[[], None]) -> None:
    """Run ``program`` as the SDK runs a stack's program and wait until every registration
    it started has settled (``run_pulumi_func``); its exceptions propagate."""
    sync_await(_run_pulumi_func(program))


def clear_pending() -> None:
    """Forget what the runtime keeps between programs: outstanding RPCs and outputs."""
    _SETTINGS.rpc_manager.clear()
    _SETTINGS.outputs.clear()


def dynamic_type_name(cls: type) -> str:
    """``pulumi.dynamic.Resource`` subclasses' type name (``_resource_type_name``), or ``""``."""
    return str(getattr(cls, "_resource_type_name", ""))


def _no_stack_trace() -> Any:
    return StackTrace()


@contextmanager
def offline_shortcuts() -> Iterator[None]:
    """Around one recorded program, restored afterwards (a real deployment in the same
    process is unaffected):

    - skip the source position the SDK computes for every resource
      (``resource._get_stack_trace``: a full ``traceback.extract_stack`` and a URI per
      frame, deeper the more components nest); the mock monitor discards it;
    - undo ``pulumi.dynamic.serialize_provider``'s patch of ``pickle._Pickler._batch_setitems``:
      it wraps the method in one more sorting wrapper on every dynamic resource and never
      unwraps it, so a process that records many stacks with dynamic resources nests them
      until ``RecursionError`` (about 950 serializations)."""
    saved_trace = _resource_module._get_stack_trace
    saved_setitems = pickle._Pickler.__dict__.get("_batch_setitems")
    _resource_module._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        _resource_module._get_stack_trace = saved_trace
        if saved_setitems is not None:
            pickle._Pickler._batch_setitems = saved_setitems  # type: ignore[attr-defined]


# --- the component provider host (multi-language package, tenantry.component_package) -----
# ``pulumi.provider.experimental`` exports only ``component_provider_host``; the provider class
# it runs (schema inference and the host's argument mapping) is not in its ``__all__``.


def component_provider(components: Sequence[type[Any]], name: str, version: str) -> Any:
    """The SDK's ``ComponentProvider`` for ``components``: what
    ``component_provider_host(components, name, version=version)`` serves, built in-process
    (it infers the schema with the SDK's analyzer; no gRPC server is started)."""
    provider_cls = _internal("pulumi.provider.experimental.component", "ComponentProvider")
    return provider_cls(list(components), name, None, version)


def host_args(provider: Any, component: str, inputs: Mapping[str, Any]) -> Any:
    """What the host passes as ``args`` to ``component``'s constructor for ``inputs`` keyed
    as the schema names them (``ComponentProvider.construct`` -> ``map_inputs``): a dict with
    the Python field names, nested types as dicts, enums as members. Raises the SDK's
    ``InputPropertyError`` for a missing required input."""
    definition = provider._component_defs[component]
    return provider.map_inputs(dict(inputs), definition)
