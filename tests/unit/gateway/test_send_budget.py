"""Bytes queued per client and per process are bounded where the records are taken: a session
asks for room before a record becomes a frame, is demoted without it, and comes back exactly
where it stopped; the process budget is shared and sheds its biggest holders when full."""

from __future__ import annotations

from gateway.core.budget import SendBudget
from gateway.core.commands import StartCatchUp, StopCatchUp
from gateway.core.config import SessionConfig
from gateway.core.session import Session
from tests.unit.gateway.helpers import KEYRING, NOW, TOPIC, Client, principal, record, snapshot


def catching_up(c: Client, end: int = 100) -> StartCatchUp:
    """`s1` from earliest on a partition holding ``end`` records, tail level with the end."""
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": "earliest"})
    c.session.on_tail_position(TOPIC, {0: end}, NOW)
    c.session.on_start_resolved("s1", snapshot({0: (0, end)}), NOW)
    (start,) = c.take_commands(StartCatchUp)
    c.session.on_send_buffer(0, NOW)  # the I/O layer sent everything so far
    return start


def frame_bytes() -> int:
    c = Client()
    start = catching_up(c)
    before = c.session.queued
    c.session.on_catchup_record("s1", start.reader, record(0, 0, 10, prev=0), NOW)
    return c.session.queued - before


def test_a_catch_up_batch_is_taken_only_as_far_as_the_send_room() -> None:
    """A reader hands over 40 records of ~6 KB at once; only what fits the 20 KB room becomes
    frames, the reader is stopped, and the next one starts at the first record not taken."""
    size = frame_bytes()
    c = Client(send_high_bytes=20_000, send_low_bytes=5_000)
    start = catching_up(c)
    for o in range(40):
        c.session.on_catchup_record("s1", start.reader, record(0, o, 10, prev=o), NOW)
    c.session.on_catchup_position("s1", start.reader, {0: 40}, NOW)
    taken = len(c.delivered()) // 10
    assert 20_000 <= c.session.queued < 20_000 + size + 100  # the last frame crossed the room
    assert c.take_commands(StopCatchUp) == [StopCatchUp("s1", start.reader)]
    assert c.session.subscriptions["s1"].next == {0: taken}  # the position report is ignored
    c.session.on_send_buffer(4_000, NOW)  # drained below the low watermark
    (again,) = c.take_commands(StartCatchUp)
    assert again.positions == {0: taken}
    for o in range(taken, 40):
        c.session.on_catchup_record("s1", again.reader, record(0, o, 10, prev=o), NOW)
        c.session.on_send_buffer(0, NOW)
    assert c.delivered() == [(0, o, i) for o in range(40) for i in range(10)]


def test_a_tail_record_without_room_stays_in_kafka() -> None:
    c = Client(send_high_bytes=20_000, send_low_bytes=5_000)
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC})
    c.session.on_tail_position(TOPIC, {0: 10}, NOW)
    c.session.on_start_resolved("s1", snapshot({0: (0, 10)}), NOW)
    c.session.on_send_buffer(19_999, NOW)
    c.session.on_tail_record(record(0, 10, 10, prev=10), NOW)
    c.session.on_tail_record(record(0, 11, 10, prev=11), NOW)
    assert c.delivered() == [(0, 10, i) for i in range(10)]  # the one frame that crosses
    c.session.on_send_buffer(0, NOW)
    (start,) = c.take_commands(StartCatchUp)
    assert start.positions == {0: 11}


def two_sessions(total: int) -> tuple[SendBudget, Client, Client]:
    budget = SendBudget(total)
    config = SessionConfig(send_high_bytes=1 << 20, send_low_bytes=1 << 10, slow_close_ms=1000)
    a, b = (
        Client(
            Session(principal(), KEYRING, session_id=n, now_ms=NOW, config=config, budget=budget)
        )
        for n in ("a", "b")
    )
    return budget, a, b


def test_the_process_budget_is_shared_and_demotes_whoever_finds_it_full() -> None:
    budget, a, b = two_sessions(100_000)
    catching_up(a)
    start_b = catching_up(b)
    a.session.on_send_buffer(100_000, NOW)  # a never reads: it holds the whole budget
    assert budget.used >= 100_000
    b.session.on_catchup_record("s1", start_b.reader, record(0, 0, prev=0), NOW)
    assert b.delivered() == [] and b.take_commands(StopCatchUp)
    b.session.tick(NOW + 5000)
    b.pump()
    assert b.close is None  # b's own queue is empty: the process is full, b is not slow
    a.session.tick(NOW + 999)
    a.pump()
    assert a.close is None
    a.session.tick(NOW + 1000)
    a.pump()
    assert a.close == (4003, "slow_consumer")
    assert budget.used >= 100_000  # until a's connection is really gone
    a.session.on_released()
    assert budget.used == b.session.queued
    b.session.tick(NOW + 5001)
    (again,) = b.take_commands(StartCatchUp)
    assert again.positions == {0: 0}


def test_shedding_closes_the_biggest_holders_until_under_the_low_mark() -> None:
    budget = SendBudget(1000)
    assert budget.shed([("x", 900)], 0) == []  # room left: nobody is shed
    budget.add(1000)
    assert budget.shed([("small", 100), ("big", 600), ("mid", 300)], 0) == ["big"]
    assert budget.shed([("small", 100), ("mid", 300)], 600) == []  # already being freed
    budget.add(500)  # 1500 used: 750 above the low mark
    assert budget.shed([("small", 100), ("big", 600), ("mid", 500)], 0) == ["big", "mid"]
    assert SendBudget().shed([("x", 1 << 40)], 0) == []  # no total: no shedding


def test_released_sessions_give_their_bytes_back() -> None:
    budget, a, b = two_sessions(1 << 30)
    a.session.on_send_buffer(12_345, NOW)
    assert budget.used == 12_345 + b.session.queued
    a.session.on_released()
    assert a.session.queued == 0 and budget.used == b.session.queued
