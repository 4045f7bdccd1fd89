"""Properties of the frame parser, over generated input (hypothesis):

* anything at all (text, bytes, JSON of any shape, valid frames with fields swapped for
  arbitrary JSON) ends as a typed frame or as the documented protocol errors, ``BadFrame`` and
  ``FrameTooLarge``; nothing else escapes, and a session fed the same never raises;
* every valid frame survives JSON → parse → dump unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core import frames
from gateway.core.errors import BadFrame, FrameTooLarge
from tests.unit.gateway.helpers import Client

MAX_BYTES, MAX_DEPTH = 64 * 1024, 32
PROFILE = settings(
    max_examples=300,
    deadline=None,  # the machine is shared: no timing assertions, not even hypothesis' own
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow],
)
INT64 = 2**63 - 1


def json_of(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )


# What a frame carries faithfully (orjson reads integers past 64 bits as floats) ...
json_values = json_of(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
# ... and what a hostile client may send: any number JSON can spell.
wild_json = json_of(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats()
    | st.text(max_size=20)
).map(lambda value: json.dumps(value))


def parse(data: str | bytes) -> frames.ClientFrame:
    frames.check_size(data, MAX_BYTES)
    return frames.parse_frame(frames.decode_json(data, max_depth=MAX_DEPTH))


def parses_or_refuses(data: str | bytes) -> None:
    try:
        parse(data)
    except (BadFrame, FrameTooLarge) as refused:
        assert 0 < len(refused.message) <= 200


# -- valid frames ---------------------------------------------------------------------------

ids = st.text(min_size=1, max_size=64)
offsets = st.integers(min_value=0, max_value=INT64)
starts = st.one_of(
    st.sampled_from(["latest", "earliest"]),
    st.builds(lambda t: {"timestamp": t}, offsets),
    st.builds(lambda t: {"token": t}, st.text(min_size=1, max_size=80)),
)
ends = st.one_of(
    st.builds(lambda t: {"timestamp": t}, offsets),
    st.builds(
        lambda o: {"offsets": o},
        st.dictionaries(st.integers(0, 4095).map(str), offsets, max_size=4),
    ),
)
subscribes = st.fixed_dictionaries(
    {"op": st.just("subscribe"), "id": ids, "topic": st.text(min_size=1, max_size=249)},
    optional={
        "filter": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
        "from": starts,
        "to": ends,
    },
)
valid_frames = st.one_of(
    subscribes,
    st.fixed_dictionaries({"op": st.just("unsubscribe"), "id": ids}),
    st.fixed_dictionaries({"op": st.just("ack"), "seq": offsets}),
    st.fixed_dictionaries({"op": st.just("ping")}),
    st.fixed_dictionaries(
        {
            "op": st.just("publish"),
            "id": ids,
            "type": st.text(min_size=1, max_size=128),
            "event": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
        }
    ),
)


@PROFILE
@given(valid_frames)
def test_valid_frames_round_trip(frame: dict[str, Any]) -> None:
    data = orjson.dumps(frame).decode()
    parsed = parse(data)
    assert parsed.model_dump(by_alias=True, exclude_unset=True) == frame


# -- hostile input --------------------------------------------------------------------------


@PROFILE
@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused(data: str) -> None:
    parses_or_refuses(data)


@PROFILE
@given(st.binary(max_size=300))
def test_any_bytes_are_refused(data: bytes) -> None:
    try:
        parse(data)
    except (BadFrame, FrameTooLarge):
        return
    raise AssertionError("a binary frame was accepted on regstream.v1")


@PROFILE
@given(wild_json)
def test_any_json_parses_or_is_refused(data: str) -> None:
    parses_or_refuses(data)


@PROFILE
@given(valid_frames, st.data())
def test_valid_frames_with_a_field_swapped_for_any_json(
    frame: dict[str, Any], data: st.DataObject
) -> None:
    """The nastiest inputs are almost right: one field replaced by any value, or one added."""
    key = data.draw(st.sampled_from([*frame, "op", "id", "from", "to", "seq", "x"]))
    mutated = {**frame, key: json.loads(data.draw(wild_json))}
    parses_or_refuses(json.dumps(mutated))


@PROFILE
@given(st.text(max_size=300) | st.binary(max_size=100) | wild_json)
def test_a_session_never_raises_on_any_frame(data: str | bytes) -> None:
    client = Client()
    replies = client.send(data)
    assert all(f["op"] in ("error", "pong", "checkpoint") for f in replies), replies
    assert client.close is None or client.close[0] >= 4000
