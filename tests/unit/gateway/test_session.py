"""Session-level behaviour: hello, limits, publish, checkpoints, expiry, drain, hostile input."""

from __future__ import annotations

import random
from typing import Any

import orjson

from gateway.core.commands import (
    Disconnected,
    Ended,
    Position,
    PublishEvent,
    ResolveTopic,
    StartCatchUp,
    StopCatchUp,
    UnwatchTopic,
    WatchTopic,
)
from gateway.core.errors import InternalError, PublishFailed, UnknownTopic
from tests.unit.gateway.helpers import NOW, TOPIC, Client, principal, record, snapshot

EVENT = {
    "metadata": {
        "event_id": "0d4f6c1e-8a0b-4e55-9a7e-1f2e3d4c5b6a",
        "event_type": "CollaborationEvent",
    }
}


def subscribed(
    c: Client, sub_id: str = "s1", bounds: dict[int, tuple[int, int]] | None = None
) -> None:
    c.send({"op": "subscribe", "id": sub_id, "topic": TOPIC})
    c.session.on_tail_position(TOPIC, {0: 10}, NOW)
    c.session.on_start_resolved(sub_id, snapshot(bounds or {0: (0, 10)}), NOW)
    c.pump()


def test_hello_then_ping() -> None:
    c = Client(rate_per_s=7)
    hello = c.frames[0]
    assert hello["op"] == "hello" and hello["version"] == "regstream.v1"
    assert hello["limits"]["rate_per_s"] == 7 and hello["heartbeat_s"] == 20
    assert c.send({"op": "ping"}) == [{"op": "pong"}]


def test_subscribe_commands_in_order() -> None:
    c = Client()
    c.send(
        {
            "op": "subscribe",
            "id": "s1",
            "topic": TOPIC,
            "from": {"timestamp": NOW - 9},
            "to": {"timestamp": NOW + 9},
        }
    )
    c.send({"op": "subscribe", "id": "s2", "topic": TOPIC})
    assert c.take_commands() == [
        WatchTopic(TOPIC),
        ResolveTopic("s1", TOPIC, (NOW - 9, NOW + 9)),
        ResolveTopic("s2", TOPIC, ()),
    ]


def test_subscription_refusals_keep_the_connection() -> None:
    c = Client(max_subscriptions=1, topics=frozenset({TOPIC, "DecisionMade"}))
    c.session.principal = principal(topics=("Agent*",))
    subscribed(c)
    codes = []
    for frame in (
        {"op": "subscribe", "id": "s1", "topic": TOPIC},
        {"op": "subscribe", "id": "s2", "topic": TOPIC},
        {"op": "unsubscribe", "id": "nope"},
    ):
        codes.append(c.send(frame)[-1]["code"])
    c.send({"op": "unsubscribe", "id": "s1"})
    codes += [
        c.send({"op": "subscribe", "id": "s3", "topic": t})[-1]["code"]
        for t in ("Nope", "DecisionMade")
    ]
    codes.append(
        c.send({"op": "subscribe", "id": "s4", "topic": TOPIC, "filter": {"x": 1}})[-1]["code"]
    )
    assert codes == [
        "duplicate_subscription",
        "too_many_subscriptions",
        "unknown_subscription",
        "unknown_topic",
        "not_authorized",
        "bad_filter",
    ]
    assert c.close is None and c.ops("unsubscribed") == [{"op": "unsubscribed", "id": "s1"}]
    assert c.ops("error")[0]["id"] == "s1"


def test_unsubscribe_stops_reader_and_unwatches() -> None:
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": "earliest"})
    c.session.on_start_resolved("s1", snapshot({0: (0, 10)}), NOW)
    (start,) = c.take_commands(StartCatchUp)
    c.commands.clear()
    c.send({"op": "unsubscribe", "id": "s1"})
    cmds = c.take_commands()
    assert cmds == [StopCatchUp("s1", start.reader), UnwatchTopic(TOPIC)]
    assert c.audit[-1] == Ended("s1", TOPIC, {0: 0}, caught_up=False)


def test_resolve_failure_is_an_error_frame() -> None:
    c = Client()
    c.send({"op": "subscribe", "id": "s1", "topic": "Ghost"})
    c.session.on_resolve_failed("s1", UnknownTopic("no topic 'Ghost'"), NOW)
    c.pump()
    assert c.ops("error")[-1] == {
        "op": "error",
        "code": "unknown_topic",
        "id": "s1",
        "message": "no topic 'Ghost'",
        "retriable": False,
    }
    assert "s1" not in c.session.subscriptions and c.close is None


def test_rate_limit_error_then_close() -> None:
    c = Client(rate_per_s=1, rate_burst=2, rate_strikes=2)
    assert c.send({"op": "ping"}) == [{"op": "pong"}]
    c.send({"op": "ping"}, now=NOW)
    err = c.send({"op": "subscribe", "id": "late", "topic": TOPIC})[-1]
    assert (err["code"], err["id"], err["retriable"]) == ("rate_limited", "late", True)
    assert c.send({"op": "ping"}, now=NOW + 1000) == [{"op": "pong"}]  # refilled; strikes reset
    for _ in range(3):
        c.send("garbage", now=NOW + 1000)
    assert c.close == (4004, "rate_limited")


def test_frame_too_large_is_terminal() -> None:
    c = Client(max_frame_bytes=100)
    c.send({"op": "ping", "pad": "x" * 200})
    assert c.ops("error")[-1]["code"] == "frame_too_large" and c.close == (4500, "frame_too_large")
    assert c.send({"op": "ping"}) == []  # closed: ignored


def test_publish_round_trip() -> None:
    c = Client(max_pending_publishes=1)
    c.send({"op": "publish", "id": "p1", "type": "CollaborationEvent", "event": EVENT})
    assert c.take_commands(PublishEvent) == [
        PublishEvent("p1", "CollaborationEvent", EVENT, EVENT["metadata"]["event_id"])
    ]
    assert (
        c.send({"op": "publish", "id": "p1", "type": "CollaborationEvent", "event": EVENT})[-1][
            "code"
        ]
        == "bad_frame"
    )
    assert (
        c.send({"op": "publish", "id": "p2", "type": "CollaborationEvent", "event": EVENT})[-1][
            "code"
        ]
        == "too_many_pending_publishes"
    )
    c.session.on_published("p1", Position("CollaborationEvent", 2, 41), NOW)
    c.session.on_published("p1", Position("CollaborationEvent", 2, 41), NOW)  # once only
    assert c.pump() == [
        {
            "op": "published",
            "id": "p1",
            "position": {"topic": "CollaborationEvent", "partition": 2, "offset": 41},
        }
    ]
    c.send({"op": "publish", "id": "p3", "type": "CollaborationEvent", "event": EVENT})
    c.session.on_publish_failed("p3", PublishFailed("schema: missing field content"), NOW)
    assert c.pump()[-1] == {
        "op": "error",
        "code": "publish_failed",
        "id": "p3",
        "message": "schema: missing field content",
        "retriable": False,
    }


def test_publish_refusals() -> None:
    c = Client()
    no_id: dict[str, Any] = {"metadata": {}}
    wrong_type = {"metadata": {"event_id": "e1", "event_type": "DecisionMade"}}
    assert [
        c.send({"op": "publish", "id": "p", "type": t, "event": e})[-1]["code"]
        for t, e in (
            ("DecisionMade", EVENT),
            ("CollaborationEvent", no_id),
            ("CollaborationEvent", wrong_type),
        )
    ] == ["not_authorized", "bad_frame", "bad_frame"]
    assert not c.take_commands(PublishEvent)


def test_checkpoint_every_n_events_and_when_quiet() -> None:
    c = Client(checkpoint_every_events=4, checkpoint_quiet_ms=300)
    c.session.tick(NOW + 10_000)
    assert not c.pump()  # nothing subscribed, nothing to checkpoint
    subscribed(c)
    c.session.tick(NOW + 299)
    assert not c.ops("checkpoint")
    c.session.tick(NOW + 300)  # quiet since subscribing
    assert len(c.ops("checkpoint")) == 1
    for o in range(10, 12):
        c.session.on_tail_record(record(0, o, 2, prev=o), NOW + 400)
    assert len(c.ops("checkpoint")) == 2  # 4 events
    c.session.tick(NOW + 10_000)
    assert len(c.ops("checkpoint")) == 2  # nothing moved since
    c.send({"op": "ack", "seq": 99})
    assert c.session.acked_seq == 2


def test_checkpoint_on_interval_under_a_steady_trickle() -> None:
    c = Client(checkpoint_quiet_ms=300, checkpoint_interval_ms=1000)
    subscribed(c)
    for i, o in enumerate(range(10, 30)):  # one event every 200 ms: never quiet
        c.session.on_tail_record(record(0, o, prev=o), NOW + 200 * i)
        c.session.tick(NOW + 200 * i)
    assert len(c.ops("checkpoint")) == 3  # at 1000, 2000 and 3000 ms


def test_checkpoint_carries_pending_token_resume() -> None:
    c = Client()
    subscribed(c)
    c.session.tick(NOW + 1000)
    token = c.last_token()
    c2 = Client()
    c2.send({"op": "subscribe", "id": "s1", "topic": TOPIC, "from": {"token": token}})
    subscribed(c2, "s2")  # resolves s2 while s1 is still pending
    c2.session.tick(NOW + 1000)
    state = c2.session.keyring.verify(c2.last_token(), subject="alice", now_ms=NOW)
    assert {s.id: s.offsets for s in state.subscriptions} == {"s1": {0: 10}, "s2": {0: 10}}


def test_jwt_expiry_closes_with_retry_and_token() -> None:
    c = Client(who=principal(expires_at_ms=NOW + 5000))
    subscribed(c)
    c.session.tick(NOW + 4999)
    assert c.close is None
    c.session.tick(NOW + 5000)
    c.pump()
    assert c.close == (4002, "auth_expired") and c.frames[-1]["op"] == "checkpoint"


def test_drain_final_checkpoint_then_retry_close() -> None:
    c = Client()
    subscribed(c)
    c.session.on_tail_record(record(0, 10, prev=10), NOW)
    c.session.begin_drain(NOW + 1)
    c.pump()
    assert [f["op"] for f in c.frames[-2:]] == ["event", "checkpoint"]
    assert c.close == (4000, "server_draining")
    state = c.session.keyring.verify(c.last_token(), subject="alice", now_ms=NOW)
    assert state.subscriptions[0].offsets == {0: 11}
    assert c.audit[-1] == Disconnected("gateway", "server_draining", 4000)
    c.session.on_tail_record(record(0, 11, prev=11), NOW)
    c.session.tick(NOW + 10_000)
    assert c.pump() == []


def test_internal_failure_closes_with_retry() -> None:
    c = Client()
    c.session.fail(InternalError("consumer crashed"), NOW)
    c.pump()
    assert c.close == (4001, "internal_error")


def test_hostile_frames_never_raise() -> None:
    rng = random.Random(11)
    c = Client(rate_per_s=1e9, rate_burst=10**9)
    leaves: list[Any] = [
        None,
        True,
        -1,
        0,
        2**70,
        1.5,
        "",
        "x" * 70,
        "latest",
        "earliest",
        [],
        {},
        "rt1.a.b.c",
    ]
    keys = [
        "op",
        "id",
        "topic",
        "from",
        "to",
        "filter",
        "type",
        "event",
        "seq",
        "token",
        "timestamp",
        "offsets",
        "severity",
        "metadata",
        "event_id",
    ]
    ops = ["subscribe", "unsubscribe", "ack", "publish", "ping", "pong", 7]

    def junk(depth: int) -> object:
        if depth > 3 or rng.random() < 0.4:
            return rng.choice(leaves)
        if rng.random() < 0.3:
            return [junk(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): junk(depth + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(3000):
        frame = junk(1)
        if isinstance(frame, dict) and rng.random() < 0.8:
            frame["op"] = rng.choice(ops)
        try:
            data = orjson.dumps(frame, option=orjson.OPT_PASSTHROUGH_SUBCLASS).decode()
        except orjson.JSONEncodeError:
            data = str(frame)
        c.send(data)
        assert c.close is None, c.frames[-1]
    assert len(c.ops("error")) > 1000


def test_only_sessions_the_clock_matters_to_want_every_tick() -> None:
    c = Client(who=principal(expires_at_ms=NOW + 60_000))
    subscribed(c)
    c.session.tick(NOW + 1000)  # the subscribe moved positions: checkpointed now
    c.pump()
    c.session.on_send_buffer(0, NOW + 1000)  # the I/O layer wrote it all out
    assert not c.session.wants_tick(NOW + 1000, 5000), "quiet: the odd tick is enough"
    c.session.on_tail_record(record(0, 10, prev=10), NOW + 1000)
    assert c.session.wants_tick(NOW + 1000, 5000), "delivered: a checkpoint is due soon"
    c.session.tick(NOW + 2000)
    c.pump()
    c.session.on_send_buffer(0, NOW + 2000)
    assert not c.session.wants_tick(NOW + 2000, 5000)
    assert c.session.wants_tick(NOW + 56_000, 5000), "the JWT expires within that time"
    c.send({"op": "subscribe", "id": "b", "topic": TOPIC, "to": {"timestamp": NOW + 9000}})
    c.session.on_start_resolved("b", snapshot({0: (0, 11)}), NOW + 2000)
    c.session.tick(NOW + 3000)
    assert c.session.wants_tick(NOW + 3000, 5000), "a to.timestamp bound waits for the clock"
