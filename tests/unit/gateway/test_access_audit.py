"""What the core reports for the access audit and the metrics, and the one place that turns a
report into an ``AccessAuditEntry``: typed outputs, not bytes or dicts read by the I/O layer."""

from __future__ import annotations

import orjson

from gateway.core.commands import (
    Connected,
    Disconnected,
    Ended,
    Gap,
    Position,
    Published,
    Subscribed,
)
from gateway.io.audit import Who, access_entry
from schemas.access import Action, Via
from tests.unit.gateway.helpers import NOW, TOPIC, Client, record, snapshot

EVENT = {
    "metadata": {
        "event_id": "0d4f6c1e-8a0b-4e55-9a7e-1f2e3d4c5b6a",
        "event_type": "CollaborationEvent",
        "source": "dashboard",
        "occurred_at": NOW,
        "severity": "INFO",
        "headers": {},
    },
    "session_id": "s-9",
    "kind": "MESSAGE",
    "sender_id": "u-1",
    "content": "Approved.",
}
EVENT_ID = EVENT["metadata"]["event_id"]  # type: ignore[index]
WHO = Who("alice", "c1", "10.0.0.7:5123", "gw-1")


def test_a_session_reports_its_whole_life_once() -> None:
    c = Client()
    assert c.audit == [Connected("default")]
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": "earliest"})
    c.session.on_start_resolved("s1", snapshot({0: (3, 10)}), NOW)
    c.send({"op": "publish", "id": "p1", "type": "CollaborationEvent", "event": EVENT})
    c.session.on_published("p1", Position("CollaborationEvent", 2, 41), NOW)
    c.send({"op": "unsubscribe", "id": "s1"})
    c.session.begin_drain(NOW)
    c.session.on_disconnected("client", "closed", 1000)  # after the core's close: not again
    c.pump()
    assert c.audit[1:] == [
        Subscribed("s1", TOPIC, "earliest", {0: 3}, None, 0),
        Published("CollaborationEvent", EVENT_ID, Position("CollaborationEvent", 2, 41)),
        Ended("s1", TOPIC, {0: 3}, caught_up=False),
        Disconnected("gateway", "server_draining", 4000),
    ]


def test_a_connection_cut_or_left_is_reported_by_the_core() -> None:
    cut, left = Client(), Client()
    cut.session.on_disconnected("gateway", "keepalive_timeout")
    left.session.on_disconnected("client", "closed", 1001)
    cut.pump(), left.pump()
    assert cut.audit[-1] == Disconnected("gateway", "keepalive_timeout")
    assert left.audit[-1] == Disconnected("client", "closed", 1001)
    assert cut.session.closed is not None and cut.close is None  # nothing left to send


def test_gaps_are_typed_next_to_their_frames() -> None:
    """The I/O layer counts gaps from the typed reports, never by reading frame bytes."""
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": "earliest"})
    c.session.on_start_resolved("s1", snapshot({0: (0, 10)}), NOW)
    c.pump()
    c.session.on_catchup_record("s1", 1, record(0, 7, prev=5), NOW)  # the log lost 0..4
    c.pump()
    assert c.gaps == [Gap("s1", TOPIC, 0, (0, 5), 5, "retention")]
    (frame,) = c.ops("gap")
    assert frame == orjson.loads(orjson.dumps({
        "op": "gap", "id": "s1", "topic": TOPIC, "partition": 0, "range": [0, 5],
        "earliest": 5, "reason": "retention"}))  # fmt: skip


def test_entries_name_the_connection_and_the_instance() -> None:
    entries = [
        access_entry(action, WHO)
        for action in (
            Connected("ops"),
            Subscribed("s1", TOPIC, "latest", {0: 5}, None, 0),
            Subscribed("s2", TOPIC, "timestamp", {0: 1}, 1_700_000_000_000, 1),
            Ended("s2", TOPIC, {0: 9}, caught_up=True),
            Ended("s1", TOPIC, {0: 7}, caught_up=False),
            Published("CollaborationEvent", "e-1", Position("CollaborationEvent", 2, 41)),
            Disconnected("gateway", "slow_consumer", 4003),
            Disconnected("gateway", "keepalive_timeout"),
        )
    ]
    assert [e.action for e in entries] == [
        Action.CONNECT,
        Action.SUBSCRIBE,
        Action.REPLAY,
        Action.REPLAY,
        Action.SUBSCRIBE,
        Action.PUBLISH,
        Action.DISCONNECT,
        Action.DISCONNECT,
    ]
    for e in entries:
        assert (e.subject, e.via, e.client_address) == ("alice", Via.GATEWAY, "10.0.0.7:5123")
        assert e.details["session"] == "c1" and e.details["instance"] == "gw-1"
    assert entries[2].range_from == {0: 1} and entries[2].range_to == "1700000000000"
    assert entries[2].details["gaps"] == "1" and entries[2].details["from"] == "timestamp"
    assert entries[3].range_to == {0: 9} and entries[3].details["event"] == "caught_up"
    assert entries[5].topic == "CollaborationEvent" and entries[5].details["offset"] == "41"
    assert entries[6].details["code"] == "4003" and "code" not in entries[7].details
