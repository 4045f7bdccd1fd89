"""Tail / catch-up hand-over, markers, retention, slow clients, filters, `to` bounds."""

from __future__ import annotations

from typing import Any

from gateway.core.commands import StartCatchUp, StopCatchUp, UnwatchTopic
from gateway.core.records import SharedFrame
from tests.unit.gateway.helpers import NOW, TOPIC, Client, event, record, snapshot


def at_tail(c: Client, bounds: dict[int, tuple[int, int]] | None = None, **sub: Any) -> None:
    """Subscribe `s1` from latest with the tail reader level with the log end."""
    bounds = bounds or {0: (0, 10)}
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, **sub})
    c.session.on_tail_position(TOPIC, {p: b[1] for p, b in bounds.items()}, NOW)
    c.session.on_start_resolved("s1", snapshot(bounds), NOW)
    c.pump()
    c.commands.clear()


def test_tail_delivers_in_order_and_skips_duplicates() -> None:
    c = Client()
    at_tail(c)
    for o in (10, 11, 11, 9, 12):
        c.session.on_tail_record(record(0, o, 2, prev=o), NOW)
    c.pump()
    assert c.delivered() == [(0, o, i) for o in (10, 11, 12) for i in (0, 1)]
    assert c.ops("batch")[0]["events"][1]["position"] == {
        "topic": TOPIC,
        "partition": 0,
        "offset": 10,
        "index": 1,
    }


def test_markers_between_records_are_not_a_gap() -> None:
    """Transaction markers occupy offsets; `prev_offset` says nothing was skipped."""
    c = Client()
    at_tail(c)
    c.session.on_tail_record(record(0, 10, prev=10), NOW)
    c.session.on_tail_record(record(0, 12, prev=11), NOW)  # 11 was a commit marker
    c.pump()
    assert c.delivered() == [(0, 10, 0), (0, 12, 0)] and not c.commands


def test_hole_on_tail_catch_up_then_rejoin_without_gap_or_duplicate() -> None:
    c = Client()
    at_tail(c)
    c.session.on_tail_record(record(0, 10, prev=10), NOW)
    c.session.on_tail_record(record(0, 14, prev=13), NOW)  # 11..12 never reached this session
    c.pump()
    (start,) = c.take_commands(StartCatchUp)
    assert start.positions == {0: 11}
    c.session.on_tail_record(record(0, 15, prev=15), NOW)  # ignored while catching up
    for o in (11, 12, 13, 14):
        c.session.on_catchup_record("s1", start.reader, record(0, o, prev=o), NOW)
    c.pump()
    assert c.take_commands(StopCatchUp) == []  # tail is at 16, we are at 15
    c.session.on_catchup_record("s1", start.reader, record(0, 15, prev=15), NOW)
    assert c.take_commands(StopCatchUp) == [StopCatchUp("s1", start.reader)]
    c.session.on_catchup_record("s1", start.reader, record(0, 16, prev=16), NOW)  # stale reader
    c.session.on_tail_record(record(0, 16, prev=16), NOW)
    c.pump()
    assert c.delivered() == [(0, o, 0) for o in range(10, 17)]


def test_catch_up_position_steps_over_trailing_markers() -> None:
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": "earliest"})
    c.session.on_tail_position(TOPIC, {0: 6}, NOW)
    c.session.on_start_resolved("s1", snapshot({0: (0, 6)}), NOW)
    (start,) = c.take_commands(StartCatchUp)
    for o in range(0, 4):
        c.session.on_catchup_record("s1", start.reader, record(0, o, prev=o), NOW)
    c.session.on_catchup_position("s1", start.reader, {0: 6}, NOW)  # 4, 5: markers
    c.pump()
    assert c.take_commands(StopCatchUp) and c.session.subscriptions["s1"].next == {0: 6}
    c.session.on_catchup_position("s1", 999, {0: 60}, NOW)  # unknown reader: ignored
    assert c.session.subscriptions["s1"].next == {0: 6}


def test_retention_during_catch_up_is_reported() -> None:
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": "earliest"})
    c.session.on_start_resolved("s1", snapshot({0: (0, 10)}), NOW)
    c.pump()
    (start,) = c.take_commands(StartCatchUp)
    c.session.on_catchup_record("s1", start.reader, record(0, 0, prev=0), NOW)
    c.session.on_catchup_record(
        "s1", start.reader, record(0, 7, prev=5), NOW
    )  # reset to log start 5
    c.pump()
    (gap,) = c.ops("gap")
    assert (gap["range"], gap["earliest"], gap["reason"]) == ([1, 5], 5, "retention")
    assert c.delivered() == [(0, 0, 0), (0, 7, 0)]


def test_tail_position_past_next_means_missed() -> None:
    """Tail records fed while the subscription was pending were ignored: catch up."""
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC})
    c.session.on_tail_position(TOPIC, {0: 10}, NOW)
    c.session.on_tail_record(record(0, 10, prev=10), NOW)  # pending: not delivered
    c.session.on_start_resolved("s1", snapshot({0: (0, 10)}), NOW)  # log end was read earlier
    c.pump()
    assert c.take_commands(StartCatchUp)[0].positions == {0: 10}


def test_slow_client_demoted_and_recovers_without_loss() -> None:
    c = Client(send_high_bytes=100_000, send_low_bytes=10_000)
    at_tail(c)
    c.session.on_tail_record(record(0, 10, prev=10), NOW)
    c.session.on_send_buffer(500_000, NOW)
    for o in (11, 12, 13):
        c.session.on_tail_record(record(0, o, prev=o), NOW)  # not taken: Kafka holds them
    c.pump()
    assert c.delivered() == [(0, 10, 0)] and not c.commands
    c.session.on_send_buffer(50_000, NOW)  # between the watermarks: still slow
    assert not c.take_commands()
    c.session.on_send_buffer(5_000, NOW)
    (start,) = c.take_commands(StartCatchUp)
    assert start.positions == {0: 11}
    c.session.on_send_buffer(500_000, NOW)  # slow again: the reader is stopped, not buffered
    assert c.take_commands(StopCatchUp) == [StopCatchUp("s1", start.reader)]
    c.session.on_catchup_record("s1", start.reader, record(0, 11, prev=11), NOW)  # in flight
    c.session.on_catchup_position("s1", start.reader, {0: 14}, NOW)
    assert c.delivered() == [(0, 10, 0)]
    c.session.on_send_buffer(0, NOW)
    (again,) = c.take_commands(StartCatchUp)
    assert again.positions == {0: 11} and again.reader != start.reader
    for o in (11, 12, 13):
        c.session.on_catchup_record("s1", again.reader, record(0, o, prev=o), NOW)
    c.session.on_tail_record(record(0, 14, prev=14), NOW)
    c.pump()
    assert c.take_commands(StopCatchUp)
    assert c.delivered() == [(0, o, 0) for o in range(10, 15)]


def test_slow_for_too_long_closes_with_retry_and_token() -> None:
    c = Client(send_high_bytes=1000, send_low_bytes=100, slow_close_ms=1000)
    at_tail(c)
    c.session.on_send_buffer(5000, NOW)
    c.session.tick(NOW + 999)
    c.session.tick(NOW + 1000)
    c.pump()
    assert c.close == (4003, "slow_consumer") and c.ops("checkpoint")
    assert any(isinstance(cmd, UnwatchTopic) for cmd in c.commands)


def test_filtered_records_still_advance_positions() -> None:
    c = Client()
    at_tail(c, filter={"severity": {"gte": "HIGH"}})
    c.session.on_tail_record(record(0, 10, events=[event(), event(severity="HIGH")], prev=10), NOW)
    c.session.on_tail_record(record(0, 11, events=[event(), event()], prev=11), NOW)
    c.session.tick(NOW + 1000)
    c.pump()
    assert c.delivered() == [(0, 10, 1)] and c.ops("event")  # lone event → `event` frame
    state = c.session.keyring.verify(c.last_token(), subject="alice", now_ms=NOW)
    assert state.subscriptions[0].offsets == {0: 12}


def test_one_serialization_shared_by_clients_with_the_same_filter() -> None:
    a, b, other = Client(), Client(), Client()
    for c in (a, b):
        at_tail(c, filter={"agent_id": "agent-1"})
    at_tail(other, filter={"agent_id": "agent-2"})
    shared = record(0, 10, 3, prev=10)
    outs = []
    for c in (a, b, other):
        c.session.on_tail_record(shared, NOW)
        outs.append(c.session.take().frames)
    (fa,), (fb,), () = outs
    assert isinstance(fa, SharedFrame) and isinstance(fb, SharedFrame) and fa.body is fb.body
    assert bytes(fa) == bytes(fb)
    assert len(shared._encoded) == 2  # one per distinct filter


def test_to_offsets_bound_ends_with_caught_up() -> None:
    c = Client()
    c.send(
        {
            "op": "subscribe",
            "id": "s1",
            "topic": TOPIC,
            "from": "earliest",
            "to": {"offsets": {"0": 3}},
        }
    )
    c.session.on_tail_position(TOPIC, {0: 5, 1: 9}, NOW)
    c.session.on_start_resolved("s1", snapshot({0: (0, 5), 1: (0, 9)}), NOW)
    c.pump()
    (start,) = c.take_commands(StartCatchUp)
    assert start.positions == {0: 0}  # partition 1 not asked for
    for o in range(3):
        c.session.on_catchup_record("s1", start.reader, record(0, o, prev=o), NOW)
    c.pump()
    assert c.delivered() == [(0, 0, 0), (0, 1, 0), (0, 2, 0)]
    assert c.ops("caught_up") == [{"op": "caught_up", "id": "s1"}]
    assert "s1" not in c.session.subscriptions and c.take_commands(StopCatchUp)


def test_to_timestamp_bound() -> None:
    c = Client()
    to = NOW + 50
    at_tail(c, {0: (0, 10), 1: (0, 4)}, to={"timestamp": to})
    c.session.on_tail_record(record(0, 10, prev=10, ts=to - 1), NOW)
    c.session.on_tail_record(record(0, 11, prev=11, ts=to), NOW)  # at the bound: not delivered
    c.pump()
    assert c.delivered() == [(0, 10, 0)] and not c.ops("caught_up")
    c.session.tick(to + 1000)  # partition 1 idle, but within producer clock slack
    c.pump()
    assert not c.ops("caught_up")
    c.session.tick(to + 2000)
    c.pump()
    assert c.ops("caught_up")


def test_to_already_reached_at_subscribe() -> None:
    c = Client()
    c.send(
        {
            "op": "subscribe",
            "id": "s1",
            "topic": TOPIC,
            "from": {"timestamp": NOW - 10},
            "to": {"timestamp": NOW - 5},
        }
    )
    c.session.on_start_resolved(
        "s1", snapshot({0: (0, 9)}, times={NOW - 10: {0: 4}, NOW - 5: {0: 4}}), NOW
    )
    c.pump()
    assert [f["op"] for f in c.frames[1:]] == ["subscribed", "caught_up"]
