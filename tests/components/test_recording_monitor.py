"""The recorder's monitor answers exactly as the SDK's ``MockMonitor`` would, without its
second deserialization and its event-loop serializer (``tenantry.engine.recorder``)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from google.protobuf import struct_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.runtime import MockResourceArgs

from tenantry import _sdk as sdk
from tenantry._sdk import Unknown
from tenantry.engine import SECRET, UNKNOWN, record, recorder
from tenantry.engine.recorder import NOT_PLAIN, PLAIN, _inputs, _plain, _struct

SECRET_SIG = {sdk.SIGNATURE_KEY: sdk.SECRET_SIGNATURE}
keys = st.text(min_size=1, max_size=6)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.just(sdk.UNKNOWN),
)
plain = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
        inner.map(lambda v: {**SECRET_SIG, "value": v}),
    ),
    max_leaves=25,
)

unsigned = st.recursive(  # no signature key anywhere: what the recorder reads itself
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


def _sdk(state: dict[str, Any]) -> struct_pb2.Struct:
    return sdk.sync_await(sdk.serialize_properties(state, {}))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, plain, max_size=6))
def test_plain_state_is_serialized_as_the_sdk_does(state: dict[str, Any]) -> None:
    assert _plain(state) == PLAIN
    assert _struct(state) == _sdk(state)


def _marked(value: Any) -> Any:
    """``value`` with each ``Unknown`` (equal only to itself) replaced by a marker."""
    if isinstance(value, Unknown):
        return "<Unknown>"
    if isinstance(value, dict):
        return {k: _marked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_marked(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, st.one_of(unsigned, plain), max_size=6))
def test_inputs_are_deserialized_as_the_sdk_does(state: dict[str, Any]) -> None:
    message = _sdk(state)
    ours, kind = _inputs(message)
    theirs = sdk.deserialize_properties(message, keep_unknowns=True)
    assert _marked(ours) == _marked(theirs)
    assert repr(_marked(ours)) == repr(_marked(theirs))  # same key order, same float/int types
    assert kind == _plain(theirs)  # the kind found while reading is the kind of what was read


def test_signed_inputs_take_the_sdk_deserializer() -> None:
    message = _sdk({"asset": pulumi.StringAsset("text"), "n": 1})
    ours, kind = _inputs(message)
    assert kind == NOT_PLAIN
    assert isinstance(ours["asset"], pulumi.StringAsset) and ours["asset"].text == "text"
    assert ours["n"] == 1.0


class _Spy(recorder.OfflineMocks):
    """The recorder's mocks, noting what they are given."""

    def __init__(self, seen: list[tuple[str, Any]]) -> None:
        self.seen = seen

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.seen.append((args.name, args.inputs))
        return super().new_resource(args)


def _run_both(program: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record ``program`` with the recorder's monitor, then with ``MockMonitor``'s own
    ``RegisterResource``; return (mock inputs, records) of each."""
    out = []
    for sdk_path in (False, True):
        seen: list[tuple[str, Any]] = []
        with monkeypatch.context() as m:
            if sdk_path:
                m.setattr(
                    recorder._RecordingMonitor,
                    "_register",
                    lambda self, request, inputs, kind: sdk.MockMonitor.RegisterResource(
                        self, request
                    ),
                )
            records = record(program, stack="s", mocks=_Spy(seen))
        out.append((sorted(seen, key=lambda x: x[0]), records))
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.one_of(unsigned, plain))
def test_mocks_and_dependents_see_what_mock_monitor_gives_them(
    payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def program() -> None:
        a = pulumi.CustomResource("test:index:A", "a", {"payload": payload, "n": 1})
        pulumi.CustomResource("test:index:B", "b", {"echo": a.payload})  # type: ignore[attr-defined]

    fast, slow = _run_both(program, monkeypatch)
    assert fast == slow


def test_state_that_is_not_plain_data_takes_the_sdk_serializer() -> None:
    state = {"asset": pulumi.StringAsset("text"), "n": 1}
    assert _plain(state) != PLAIN
    assert _struct(state) == _sdk(state)


def test_inputs_that_are_not_plain_data_are_still_recorded() -> None:
    def program() -> None:
        res = pulumi.CustomResource(
            "test:index:Thing",
            "thing",
            {"asset": pulumi.StringAsset("hello"), "token": pulumi.Output.secret("s3cr3t")},
        )
        pulumi.CustomResource("test:index:User", "user", {"of": res.id, "n": 2, "tags": {"a": "b"}})

    records = {r.name: r for r in record(program, stack="s")}
    assert records["thing"].inputs["token"] == SECRET
    assert isinstance(records["thing"].inputs["asset"], pulumi.StringAsset)
    assert records["thing"].inputs["asset"].text == "hello"
    # the mock's id is not known offline, so the dependent input is unknown
    assert records["user"].inputs == {"n": 2, "of": UNKNOWN, "tags": {"a": "b"}}
