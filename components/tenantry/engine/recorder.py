"""Record every resource a Pulumi program registers, under the mock runtime (no CLI, no cloud).

:func:`record` may be called any number of times in one process: each call resets the Pulumi
runtime settings, the root stack resource and the config, and gets a fresh monitor. The
records come back sorted by URN, so the result does not depend on the order in which the
SDK's worker threads happened to register resources.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import (
    MockCallArgs,
    MockResourceArgs,
    Mocks,
    reset_options,
    set_all_config,
    set_mocks,
)

from .. import _sdk
from .._sdk import Unknown
from ..platform_ref import placeholder_outputs

UNKNOWN = "<unknown: after deploy>"
SECRET = "<secret>"
STACK_TYPE = "pulumi:pulumi:Stack"


DEFAULT_PROVIDER = "default"  # a custom resource's provider when none is explicit


@dataclass(frozen=True)
class Record:
    """One registered resource: type token, logical name, URN, parent URN (None for the
    stack's direct children), custom (provider-managed) or component, and its inputs with
    secrets replaced by ``SECRET`` and values known only after deployment by ``UNKNOWN``.

    Engine wiring, kept out of :meth:`to_data` (the plan document): ``dependencies``, the
    URNs the resource waits for (``depends_on`` and the resources its input values come
    from, as the SDK sends them to the engine), and ``provider``, the URN of an explicit
    provider (empty for the default one)."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any] = field(compare=True)
    dependencies: frozenset[str] = field(default=frozenset(), compare=False)
    provider: str = field(default="", compare=False)

    def to_data(self) -> dict[str, Any]:
        """The plan document's view; a custom resource (not itself a provider) also shows its
        ``provider``: the
        explicit provider's URN, or ``default`` (the engine's default provider of its
        package, configured from the environment: for Kubernetes, the local kubeconfig)."""
        data = {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
        }
        if self.custom and not self.type.startswith("pulumi:providers:"):
            data["provider"] = self.provider or DEFAULT_PROVIDER
        return data


def _mask(value: Any) -> Any:
    """A secret's shape with every value replaced: a Secret's ``stringData`` stays a mapping
    of its keys (so the manifest is still a valid object), but no value is shown."""
    if _sdk.is_rpc_secret(value):
        return _mask(_sdk.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {str(k): _mask(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return SECRET


def clean(value: Any) -> Any:
    """Plain data: secrets masked, unknowns marked, mapping keys sorted."""
    if isinstance(value, str):  # the common case first
        return UNKNOWN if value == _sdk.UNKNOWN else value
    if value is None or isinstance(value, bool | int):
        return value
    if _sdk.is_rpc_secret(value):
        return _mask(value)
    if isinstance(value, Unknown) or value == _sdk.UNKNOWN:
        return UNKNOWN
    if isinstance(value, Mapping):
        return {str(k): clean(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


def _subclasses(cls: type) -> list[type]:
    out: list[type] = []
    subs: list[type] = cls.__subclasses__()
    for sub in subs:
        out += [sub, *_subclasses(sub)]
    return out


def _dynamic_outputs(type_token: str) -> list[str]:
    """Output properties a dynamic resource class declares (``role: Output[str]``): only its
    provider's ``create`` knows them, so offline they are values known after deployment."""
    from pulumi.dynamic import Resource

    for cls in _subclasses(Resource):
        if f"pulumi-python:{_sdk.dynamic_type_name(cls)}" == type_token:
            return sorted(getattr(cls, "__annotations__", {}))
    return []


# What the data sources a program reads answer offline: their shape, every value UNKNOWN
# (an adopted EKS cluster is known only to the account it lives in).
LOOKUPS: dict[str, dict[str, Any]] = {
    "aws:eks/getCluster:getCluster": {
        "name": UNKNOWN,
        "arn": UNKNOWN,
        "endpoint": UNKNOWN,
        "version": UNKNOWN,
        "certificateAuthorities": [{"data": UNKNOWN}],
        "vpcConfig": {
            "clusterSecurityGroupId": UNKNOWN,
            "vpcId": UNKNOWN,
            "subnetIds": [UNKNOWN],
        },
    },
}


class OfflineMocks(Mocks):
    """Every resource echoes its inputs; what only a deployment knows (ids, ARNs) is UNKNOWN."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return UNKNOWN, {**state, "outputs": placeholder_outputs(UNKNOWN)}
        if args.typ.startswith("pulumi-python:dynamic"):
            for key in _dynamic_outputs(args.typ):
                state.setdefault(key, UNKNOWN)
        if args.typ.startswith("aws:"):
            state.setdefault("arn", UNKNOWN)
        return UNKNOWN, state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return dict(LOOKUPS.get(args.token, {})), []  # (result, no check failures)


_SCALARS = (str, bool, int, float, type(None))
NOT_PLAIN, PLAIN, WITH_UNKNOWNS = 0, 1, 2


def _plain(value: Any) -> int:
    """``PLAIN`` for JSON-like data (what a protobuf ``Struct`` holds as it is, without the
    SDK's serializer), ``WITH_UNKNOWNS`` for JSON-like data with ``Unknown`` values in it,
    else ``NOT_PLAIN`` (assets, resources, ...)."""
    if isinstance(value, _SCALARS):
        return PLAIN
    if isinstance(value, Unknown):
        return WITH_UNKNOWNS
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return NOT_PLAIN
        items: Iterable[Any] = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return NOT_PLAIN
    kind = PLAIN
    for v in items:
        k = _plain(v)
        if k == NOT_PLAIN:
            return NOT_PLAIN
        kind = max(kind, k)
    return kind


def _struct(state: dict[str, Any], plain: Mapping[str, Any] | None = None) -> struct_pb2.Struct:
    """``rpc.serialize_properties(state, {})``; for plain data (the usual case) without an
    event loop, giving the same message (checked by a test): a top-level None is left out,
    everything else kept as it is. ``plain``: a mapping already known to be ``PLAIN``, whose
    values ``state`` may share (the mocks' state echoes the inputs) and need no second look."""
    known = plain or {}
    if not all(isinstance(k, str) for k in state) or any(
        v is not known.get(k) and _plain(v) != PLAIN for k, v in state.items()
    ):
        return _sdk.sync_await(_sdk.serialize_properties(state, {}))
    out = struct_pb2.Struct()
    out.update({k: v for k, v in state.items() if v is not None})
    return out


class _Signed(Exception):
    """A struct with Pulumi's signature key: a secret, asset, archive, resource or output."""


def _from_value(v: struct_pb2.Value, unknowns: list[bool]) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        if v.string_value == _sdk.UNKNOWN:
            unknowns.append(True)
            return Unknown()
        return v.string_value
    if kind == "number_value":
        return v.number_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return _from_struct(v.struct_value, unknowns)
    if kind == "list_value":
        return [_from_value(x, unknowns) for x in v.list_value.values]
    return None


def _from_struct(s: struct_pb2.Struct, unknowns: list[bool]) -> dict[str, Any]:
    if _sdk.SIGNATURE_KEY in s.fields:
        raise _Signed
    out = {}
    for k, v in s.fields.items():
        value = _from_value(v, unknowns)
        if value is not None:  # as the SDK: a None value is an absent key
            out[k] = value
    return out


def _inputs(props: struct_pb2.Struct) -> tuple[Any, int]:
    """``_sdk.deserialize_properties(props, keep_unknowns=True)`` and its :func:`_plain` kind.
    Plain data (no signature key anywhere: the usual case) is read straight off the message,
    giving the same result (checked by a test) and its kind on the way (``PLAIN``, or
    ``WITH_UNKNOWNS`` when an unknown was read); anything signed takes the SDK's
    deserializer, and then a walk for its kind."""
    unknowns: list[bool] = []
    try:
        inputs = _from_struct(props, unknowns)
    except _Signed:
        inputs = _sdk.deserialize_properties(props, keep_unknowns=True)
        return inputs, _plain(inputs)
    return inputs, WITH_UNKNOWNS if unknowns else PLAIN


class _RecordingMonitor(_sdk.MockMonitor):  # type: ignore[misc]
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Record] = []
        self._lock = Lock()

    def _register(self, request: Any, inputs: Any, kind: int) -> Any:
        """``MockMonitor.RegisterResource``, given the inputs deserialized with unknowns and
        their :func:`_plain` kind.

        ``MockMonitor`` deserializes them again and serializes the mock's state through the
        SDK's async serializer on an event loop of the executor thread: most of the
        recorder's time, and each poll of that loop hands the GIL back to the program's
        thread. For plain data (the usual case) this answers the same without either; the
        mocks get the same inputs and the engine the same state (both checked by tests).
        Anything else (assets, resource references, transforms) takes ``MockMonitor``'s
        own path."""
        if request.transforms or kind == NOT_PLAIN:
            return super().RegisterResource(request)
        if kind == WITH_UNKNOWNS:  # what ``MockMonitor`` passes: deserialized without unknowns
            inputs = _sdk.deserialize_properties(request.object)
        urn = self.make_urn(request.parent, request.type, request.name)
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=bool(request.custom),
        )
        id_, state = self.mocks.new_resource(args)
        id_ = id_ or ""  # what the response carries for None
        self.resources[urn] = _sdk.MockMonitor.ResourceRegistration(urn, id_, state)
        plain = inputs if kind == PLAIN else None
        return _sdk.RegisterResourceResponse(urn=urn, id=id_, object=_struct(state, plain))

    def RegisterResource(self, request: Any) -> Any:
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        inputs, kind = _inputs(request.object)
        response = self._register(request, inputs, kind)
        parent = request.parent or None
        if parent and parent.split("::")[2].split("$")[-1] == STACK_TYPE:
            parent = None  # the stack's direct children
        rec = Record(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=parent,
            custom=bool(request.custom),
            inputs=clean(inputs),
            dependencies=frozenset(request.dependencies).union(
                *(deps.urns for deps in request.propertyDependencies.values())
            ),
            provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
        )
        with self._lock:
            self.records.append(rec)
        return response


@contextmanager
def _offline_runtime() -> Iterator[None]:
    """Around one recording:

    - the SDK shortcuts of :func:`tenantry._sdk.offline_shortcuts` (no source positions the
      mock monitor discards; the pickler that ``pulumi.dynamic`` patches restored);
    - pause the cyclic garbage collector: a recording allocates tens of thousands of
      futures, tasks and ``Output`` objects that live until it ends, so collections during it walk
      them again and again and free next to nothing (about 7% of a tenant's recording).
      Afterwards the collector runs as its own schedule would have: the young generations
      every time, and all of them every ``threshold2``-th time (what survives a young
      collection is promoted, and only a full one frees it once it is garbage: without
      it, a process recording 400 tenants grew by 200 MiB).

    All are restored afterwards, so a real deployment in the same process is unaffected."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _sdk.offline_shortcuts():
            yield
    finally:
        if collecting:
            gc.enable()
            _collect_after_pause()


def _collect_after_pause() -> None:
    """One collection where the collector's own schedule would have run one: a full
    collection once ``threshold2`` young-generation collections have passed since the last
    (counted by the collector itself), a young-generation collection otherwise."""
    full = gc.get_count()[2] >= gc.get_threshold()[2]
    gc.collect(2 if full else 1)


def record(
    program: Callable[[], Any],
    *,
    stack: str,
    project: str = "tenantry",
    config: Mapping[str, str] | None = None,
    mocks: Mocks | None = None,
) -> list[Record]:
    """Run ``program`` (which declares resources) and return what it registered.

    ``config`` is the stack config as Pulumi passes it (``"tenantry:tenant": "acme"``; objects
    as JSON text). ``mocks`` answer each registration's state and each invoke (default
    :class:`OfflineMocks`: what only a deployment knows is ``UNKNOWN``). Exceptions from the
    program propagate after the runtime has settled.
    """
    monitor = _RecordingMonitor(mocks or OfflineMocks())
    reset_options(project=project, stack=stack, preview=False)
    set_all_config(dict(config or {}), secret_keys=[])
    set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    _sdk.clear_pending()

    def run() -> None:
        program()

    try:
        with _offline_runtime():
            _sdk.run_program(run)
    finally:
        _sdk.clear_pending()
    urns = [r.urn for r in monitor.records]
    duplicates = sorted({u for u in urns if urns.count(u) > 1})
    if duplicates:  # the real engine refuses these; the mock monitor does not (pitfall P9)
        raise ValueError(f"duplicate resource URNs: {duplicates}")
    return sorted(monitor.records, key=lambda r: r.urn)


def freeze_heap() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach, after one
    collection. Call it once, after the first recording (when the SDKs and the provider
    modules are imported), in a process that records many stacks: each recording allocates
    thousands of short-lived objects, and every full collection would otherwise walk the
    ~200,000 objects of the imported SDKs again (tens of ms each; :func:`record` runs one
    every ``threshold2``-th recording, 10 by default).
    What is frozen is never freed, so call it at a point where little garbage is alive."""
    gc.collect()
    gc.freeze()


def close_runtime() -> None:
    """Close the event loop the Pulumi runtime ran on (for a process that is about to exit:
    an unclosed loop torn down during interpreter shutdown prints a spurious traceback)."""
    import asyncio
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if not loop.is_closed() and not loop.is_running():
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
