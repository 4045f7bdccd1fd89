"""The resume table: every way a `from` position can meet the log."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.commands import StartCatchUp, StopCatchUp, WatchTopic
from gateway.core.tokens import ResumeKeyring, SubscriptionPosition
from tests.unit.gateway.helpers import KEYRING, NOW, TOPIC, Client, principal, record, snapshot


def token(
    offsets: dict[int, int],
    *,
    epoch: str = "E1",
    sub: str = "alice",
    keyring: ResumeKeyring = KEYRING,
    sub_id: str = "s1",
    topic: str = TOPIC,
    flt: dict[str, Any] | None = None,
    at: int = NOW,
) -> str:
    return keyring.issue(sub, [SubscriptionPosition(sub_id, topic, epoch, offsets, flt)], at)


def resume(
    c: Client,
    tok: str,
    bounds: dict[int, tuple[int, int]],
    *,
    epoch: str = "E1",
    tail: dict[int, int] | None = None,
    **extra: Any,
) -> None:
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": {"token": tok}, **extra})
    if c.close:
        return
    assert c.take_commands(WatchTopic)
    c.session.on_tail_position(TOPIC, tail or {p: b[1] for p, b in bounds.items()}, NOW)
    c.session.on_start_resolved("s1", snapshot(bounds, epoch), NOW)
    c.pump()


def test_empty_topic() -> None:
    for start in ("latest", "earliest"):
        c = Client()
        c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": start})
        c.session.on_tail_position(TOPIC, {0: 0}, NOW)
        c.session.on_start_resolved("s1", snapshot({0: (0, 0)}), NOW)
        c.pump()
        assert c.ops("subscribed")[0]["positions"] == {"0": 0}
        assert not c.take_commands(StartCatchUp)
        c.session.on_tail_record(record(0, 0, prev=0), NOW)
        c.pump()
        assert c.delivered() == [(0, 0, 0)]
    c = Client()
    resume(c, token({0: 0}), {0: (0, 0)})
    assert c.ops("subscribed")[0]["positions"] == {"0": 0} and not c.ops("gap")


def test_resume_from_a_position() -> None:
    c = Client()
    resume(c, token({0: 5, 1: 2}), {0: (0, 10), 1: (0, 2)})
    assert c.ops("subscribed")[0]["positions"] == {"0": 5, "1": 2}
    (start,) = c.take_commands(StartCatchUp)
    assert start.positions == {0: 5, 1: 2}
    for o in range(5, 10):
        c.session.on_catchup_record("s1", start.reader, record(0, o, prev=o), NOW)
    c.pump()
    assert c.delivered() == [(0, o, 0) for o in range(5, 10)]
    assert c.take_commands(StopCatchUp)  # level with the tail (10, 2): back on the tail


def test_same_position_replays_nothing() -> None:
    c = Client()
    resume(c, token({0: 10}), {0: (0, 10)})
    assert c.ops("subscribed")[0]["positions"] == {"0": 10}
    assert not c.take_commands(StartCatchUp) and not c.ops("gap") and not c.delivered()
    c.session.on_tail_record(record(0, 10, prev=10), NOW)
    c.pump()
    assert c.delivered() == [(0, 10, 0)]


def test_beyond_end_is_terminal() -> None:
    c = Client()
    resume(c, token({0: 15}), {0: (0, 10)})
    assert c.ops("error")[-1]["code"] == "position_beyond_end"
    assert c.close == (4520, "position_beyond_end")


def test_below_log_start_gap_then_earliest() -> None:
    c = Client()
    resume(c, token({0: 2}), {0: (5, 10)})
    (gap,) = c.ops("gap")
    assert (gap["range"], gap["earliest"], gap["reason"]) == ([2, 5], 5, "retention")
    assert c.frames.index(gap) > c.frames.index(c.ops("subscribed")[0])
    assert c.take_commands(StartCatchUp)[0].positions == {0: 5}


def test_recreated_topic_gap_then_earliest() -> None:
    c = Client()
    resume(c, token({0: 7}), {0: (0, 3)}, epoch="E2")
    (gap,) = c.ops("gap")
    assert (gap["range"], gap["earliest"], gap["reason"]) == (None, 0, "topic-recreated")
    assert c.ops("subscribed")[0]["epoch"] == "E2"
    assert c.take_commands(StartCatchUp)[0].positions == {0: 0}


@pytest.mark.parametrize(
    ("tok", "code"),
    [
        (token({0: 1}, at=NOW - 2 * 24 * 3600 * 1000), (4511, "token_expired")),
        (token({0: 1}, sub="mallory"), (4512, "token_foreign_subject")),
        (token({0: 1})[:-4] + "AAAA", (4510, "token_forged")),
        (token({0: 1}, keyring=ResumeKeyring({"k9": b"9" * 32})), (4513, "token_unknown_key")),
    ],
    ids=["expired", "another-subject", "tampered", "unknown-key"],
)
def test_refused_tokens_are_terminal(tok: str, code: tuple[int, str]) -> None:
    c = Client()
    resume(c, tok, {0: (0, 10)})
    assert c.close == code
    error = c.ops("error")[-1]
    assert (error["code"], error["retriable"]) == (code[1], False)
    assert error["id"] == "s1", "an error about a subscribe names that subscription"
    assert not c.ops("checkpoint")


def test_token_without_this_subscription_or_other_topic() -> None:
    c = Client()
    c.send({"op": "subscribe", "id": "other", "topic": TOPIC, "from": {"token": token({0: 1})}})
    assert c.ops("error")[-1]["code"] == "not_in_token" and c.close is None
    c.send(
        {"op": "subscribe", "id": "s1", "topic": "DecisionMade", "from": {"token": token({0: 1})}}
    )
    assert c.ops("error")[-1]["code"] == "bad_frame" and c.close is None


def test_partition_added_since_the_token() -> None:
    c = Client()
    resume(c, token({0: 4}), {0: (0, 4), 1: (3, 6)})
    assert c.ops("subscribed")[0]["positions"] == {"0": 4, "1": 3}
    assert c.ops("gap")[0]["range"] == [0, 3]


def test_token_filter_is_reused() -> None:
    c = Client()
    resume(c, token({0: 0}, flt={"severity": {"gte": "HIGH"}}), {0: (0, 0)})
    assert c.session.subscriptions["s1"].filter.spec == {"metadata.severity": {"gte": "HIGH"}}


def test_replay_horizon() -> None:
    c = Client(who=principal(replay_horizon_s=60))
    horizon = NOW - 60_000
    c.send({"op": "subscribe", "id": "old", "topic": TOPIC, "from": {"timestamp": horizon - 1}})
    assert c.ops("error")[-1]["code"] == "replay_horizon"
    # earliest is clamped to the horizon; a token older than it gets a "horizon" gap as soon as
    # its reader finds a record below the horizon, which is withheld, as every record below it
    c.send({"op": "subscribe", "id": "s0", "topic": TOPIC, "from": "earliest"})
    c.session.on_start_resolved("s0", snapshot({0: (0, 10)}, times={horizon: {0: 6}}), NOW)
    c.pump()
    assert c.ops("subscribed")[-1]["positions"] == {"0": 6} and not c.ops("gap")
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": {"token": token({0: 2})}})
    c.session.on_start_resolved("s1", snapshot({0: (0, 10)}, times={horizon: {0: 6}}), NOW)
    c.pump()
    (reader,) = [r for r in c.take_commands(StartCatchUp) if r.sub_id == "s1"]
    assert reader.positions == {0: 2} and not c.ops("gap")
    for offset in range(2, 8):
        c.session.on_catchup_record("s1", reader.reader, record(0, offset, prev=offset), NOW)
    c.pump()
    (gap,) = c.ops("gap")
    assert (gap["range"], gap["earliest"], gap["reason"]) == ([2, 6], 6, "horizon")
    assert [p for p in c.delivered() if p[1] < 6] == []
    assert [p[1] for p in c.delivered()] == [6, 7]


@pytest.mark.parametrize("horizon_offset", [None, 10])
def test_only_markers_below_the_horizon_are_no_gap(horizon_offset: int | None) -> None:
    """Records 0..8 delivered, a commit marker at 9, the log end at 10; the partition then stays
    idle past the replay horizon (offsets_for_times finds nothing, or the next record at 10).
    A token at 9 lost nothing: no gap, and the next record is delivered."""
    c = Client(who=principal(replay_horizon_s=60))
    horizon = NOW - 60_000
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": {"token": token({0: 9})}})
    end = 10 if horizon_offset is None else 11
    c.session.on_start_resolved(
        "s1", snapshot({0: (0, end)}, times={horizon: {0: horizon_offset}}), NOW
    )
    c.pump()
    assert c.ops("subscribed")[-1]["positions"] == {"0": 9}
    (reader,) = c.take_commands(StartCatchUp)
    if horizon_offset is None:  # the reader stepped over the marker, then a new record came
        c.session.on_catchup_position("s1", reader.reader, {0: 10}, NOW)
        c.session.on_catchup_record("s1", reader.reader, record(0, 10, prev=10), NOW)
    else:
        c.session.on_catchup_record("s1", reader.reader, record(0, 10, prev=9), NOW)
    c.pump()
    assert not c.ops("gap")
    assert [p[1] for p in c.delivered()] == [10]


def test_from_timestamp_uses_offsets_for_times() -> None:
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": {"timestamp": NOW - 5}})
    c.session.on_start_resolved(
        "s1", snapshot({0: (0, 10), 1: (0, 4)}, times={NOW - 5: {0: 7, 1: None}}), NOW
    )
    c.pump()
    assert c.ops("subscribed")[0]["positions"] == {"0": 7, "1": 4}
