"""Client frame parsing: valid frames, and hostile ones that must end as BadFrame/FrameTooLarge."""

from __future__ import annotations

import contextlib
import random

import orjson
import pytest

from gateway.core import frames
from gateway.core.commands import Gap
from gateway.core.errors import BadFrame, FrameTooLarge


def parse(data: str | bytes, max_bytes: int = 64 * 1024, max_depth: int = 32) -> frames.ClientFrame:
    frames.check_size(data, max_bytes)
    return frames.parse_frame(frames.decode_json(data, max_depth=max_depth))


def test_subscribe_defaults_and_forms() -> None:
    f = parse('{"op":"subscribe","id":"s1","topic":"DecisionMade"}')
    assert isinstance(f, frames.Subscribe) and f.start == "latest" and f.to is None
    f = parse(
        '{"op":"subscribe","id":"s1","topic":"T","from":{"timestamp":5},"to":{"offsets":{"0":9}}}'
    )
    assert isinstance(f, frames.Subscribe)
    assert f.start == frames.FromTimestamp(timestamp=5)
    assert isinstance(f.to, frames.ToOffsets) and f.to.by_partition() == {0: 9}
    f = parse(
        '{"op":"subscribe","id":"s1","topic":"T","from":{"token":"rt1.x"},"filter":{"severity":"HIGH"}}'
    )
    assert isinstance(f, frames.Subscribe) and isinstance(f.start, frames.FromToken)


@pytest.mark.parametrize(
    "frame",
    [
        '{"op":"unsubscribe","id":"s1"}',
        '{"op":"ack","seq":3}',
        '{"op":"ping"}',
        '{"op":"publish","id":"p1","type":"CollaborationEvent","event":{"metadata":{}}}',
    ],
)
def test_other_frames(frame: str) -> None:
    assert parse(frame).op == orjson.loads(frame)["op"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ("not json", "not valid JSON"),
        ("[1,2]", "JSON object"),
        ('"ping"', "JSON object"),
        ("{}", "unknown op"),
        ('{"op":"subscribe!"}', "unknown op"),
        ('{"op":["ping"]}', "unknown op"),
        ('{"op":"ping","extra":1}', "extra"),
        ('{"op":"subscribe","id":"s1"}', "topic"),
        ('{"op":"subscribe","id":7,"topic":"T"}', "id"),
        ('{"op":"subscribe","id":"","topic":"T"}', "id"),
        ('{"op":"subscribe","id":"' + "x" * 65 + '","topic":"T"}', "id"),
        ('{"op":"subscribe","id":"s","topic":"T","from":"yesterday"}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":"5"}}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":1.5}}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":true}}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":-1}}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":1e300}}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":' + "9" * 40 + "}}", "from"),
        ('{"op":"subscribe","id":"s","topic":"T","from":{"timestamp":1,"token":"a"}}', "from"),
        ('{"op":"subscribe","id":"s","topic":"T","to":{"offsets":{"0":-3}}}', "to"),
        ('{"op":"subscribe","id":"s","topic":"T","filter":[1]}', "filter"),
        ('{"op":"ack","seq":null}', "seq"),
        ('{"op":"publish","id":"p","type":"X","event":"str"}', "event"),
        ('{"op":"ping"}\u0000', "not valid JSON"),
        ('{"op":"ping", "op":"ping"', "not valid JSON"),
        ('{"a":"\\ud800"}', "not valid JSON"),
        ('{"a":NaN}', "not valid JSON"),
    ],
)
def test_bad_frames(data: str, needle: str) -> None:
    with pytest.raises(BadFrame) as info:
        parse(data)
    assert needle in info.value.message
    assert len(info.value.message) <= 200


def test_deep_nesting_refused() -> None:
    with pytest.raises(BadFrame, match="deeper"):
        parse('{"op":"ping","x":' + "[" * 40 + "]" * 40 + "}")
    with pytest.raises(BadFrame):  # beyond orjson's own limit
        parse("[" * 5000 + "]" * 5000, max_bytes=1 << 20)


def test_partition_keys_validated() -> None:
    f = parse('{"op":"subscribe","id":"s","topic":"T","to":{"offsets":{"p0":1}}}')
    assert isinstance(f, frames.Subscribe) and isinstance(f.to, frames.ToOffsets)
    with pytest.raises(BadFrame, match="partition"):
        f.to.by_partition()


def test_size_and_binary() -> None:
    with pytest.raises(FrameTooLarge):
        parse('{"op":"ping","x":"' + "é" * 600 + '"}', max_bytes=1024)
    with pytest.raises(FrameTooLarge):
        parse(b"\x00" * 2000, max_bytes=1024)
    with pytest.raises(BadFrame, match="binary"):
        parse(b'{"op":"ping"}')


def test_random_junk_never_escapes() -> None:
    rng = random.Random(7)
    alphabet = [*'{}[]":,0123456789.eE-+ntrufalsopigd\\ ', "\u00e9", "\ud7ff"]
    samples: list[str | bytes] = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(2000)
    ]
    samples += [rng.randbytes(rng.randint(0, 100)) for _ in range(200)]
    for data in samples:
        with contextlib.suppress(BadFrame, FrameTooLarge):  # anything else fails the test
            parse(data)


def test_server_frames_are_json() -> None:
    assert orjson.loads(frames.subscribed("s", "T", "E", {1: 5, 0: 2})) == {
        "op": "subscribed",
        "id": "s",
        "topic": "T",
        "epoch": "E",
        "positions": {"0": 2, "1": 5},
    }
    gap = orjson.loads(frames.gap(Gap("s", "T", 0, (3, 9), 9, "retention")))
    assert gap["range"] == [3, 9] and gap["earliest"] == 9
    assert orjson.loads(frames.gap(Gap("s", "T", 0, None, 0, "topic-recreated")))["range"] is None
    assert orjson.loads(frames.pong()) == {"op": "pong"}
