"""Frame parsing, subscription frames and publish bookkeeping (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.client.messages import MalformedFrame, events_of, parse_gap
from gateway.client.progress import CatchUpTracker
from gateway.client.publishing import complete_event, request_id, should_retry
from gateway.client.subscriptions import SubscriptionSpec


def event(offset: int, index: int = 0) -> dict[str, object]:
    return {
        "position": {"topic": "DecisionMade", "partition": 1, "offset": offset, "index": index},
        "event_id": f"e-{offset}-{index}",
        "type": "DecisionMade",
        "time": 1_700_000_000_000,
        "payload": {"metadata": {"severity": "HIGH"}, "agent_id": "agent-kyc"},
        "enrichment": {"agent_name": "KYC"},
        "future_field": "ignored",
    }


def test_event_and_batch_frames() -> None:
    [one] = events_of({"op": "event", "id": "feed", "event": event(3)})
    assert (one.subscription, one.position.offset, one.severity) == ("feed", 3, "HIGH")
    many = events_of({"op": "batch", "id": "feed", "events": [event(4, 0), event(4, 1)]})
    assert [e.event_id for e in many] == ["e-4-0", "e-4-1"]


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "event", "event": event(1)},
        {"op": "event", "id": "f", "event": {"event_id": "x"}},
        {"op": "event", "id": "f", "event": {**event(1), "position": {"topic": "T", "partition": -1, "offset": 0, "index": 0}}},
        {"op": "event", "id": "f", "event": {**event(1), "position": {"topic": "T", "partition": True, "offset": 0, "index": 0}}},
        {"op": "batch", "id": "f", "events": "nope"},
    ],
)  # fmt: skip
def test_positions_are_never_guessed(bad: dict[str, object]) -> None:
    with pytest.raises(MalformedFrame):
        events_of(bad)


def test_gap_frames() -> None:
    gap = parse_gap({"op": "gap", "id": "feed", "topic": "T", "partition": 0, "range": [10, 20], "earliest": 20, "reason": "retention"})  # fmt: skip
    assert (gap.range, gap.earliest, gap.reason) == ((10, 20), 20, "retention")
    recreated = parse_gap({"op": "gap", "id": "feed", "topic": "T", "partition": 2, "range": None, "earliest": 0, "reason": "topic-recreated"})  # fmt: skip
    assert recreated.range is None and recreated.partition == 2


def test_subscribe_frames() -> None:
    spec = SubscriptionSpec("feed", "DecisionMade", {"severity": {"gte": "HIGH"}}, "earliest")
    assert spec.frame() == {
        "op": "subscribe", "id": "feed", "topic": "DecisionMade",
        "from": "earliest", "filter": {"severity": {"gte": "HIGH"}},
    }  # fmt: skip
    assert spec.frame("rt1.tok")["from"] == {"token": "rt1.tok"}
    when = datetime(2026, 1, 1, tzinfo=UTC)
    timed = SubscriptionSpec("q", "AuditTrailEntry", start=when, to={0: 5, 1: 7})
    assert timed.frame()["from"] == {"timestamp": 1_767_225_600_000}
    assert timed.frame("tok")["to"] == {"offsets": {"0": 5, "1": 7}}  # `to` is never in tokens
    assert timed.replays and not SubscriptionSpec("l", "T").replays
    with pytest.raises(ValueError):
        SubscriptionSpec("n", "T", start=datetime(2026, 1, 1)).frame()


def test_publish_keeps_the_event_id_for_every_retry() -> None:
    event = {"session_id": "s-1", "sender_id": "u-1", "content": "ok"}
    full = complete_event("CollaborationEvent", event, source="dash", now_ms=5)
    meta = full["metadata"]
    assert meta["event_type"] == "CollaborationEvent" and meta["occurred_at"] == 5
    assert "metadata" not in event  # the caller's dict is left alone
    again = complete_event("CollaborationEvent", full, source="other")
    assert again["metadata"] == meta  # given fields are kept, above all event_id
    assert request_id(meta["event_id"]) == request_id(again["metadata"]["event_id"])
    assert len(request_id("x" * 100)) == 64


def test_publish_retry_decision() -> None:
    assert should_retry({"code": "rate_limited"}, 1, 8)
    assert should_retry({"code": "publish_failed", "retriable": True}, 1, 8)
    assert not should_retry({"code": "publish_failed", "retriable": False}, 1, 8)
    assert not should_retry({"code": "not_authorized", "retriable": False}, 1, 8)
    assert not should_retry({"code": "rate_limited"}, 9, 8)


def test_catching_up_ends_on_fresh_events_or_a_quiet_checkpoint() -> None:
    t = CatchUpTracker(live_lag_ms=5_000, quiet_ms=200)
    t.replaying()
    t.on_event(event_time_ms=0, now_ms=60_000)  # an old event: still replaying
    t.on_checkpoint(now_ms=60_050)  # a checkpoint right after data: not quiet
    assert t.catching_up
    t.on_checkpoint(now_ms=60_300)
    assert not t.catching_up
    t.replaying()
    t.on_event(event_time_ms=59_000, now_ms=60_000)
    assert not t.catching_up


def test_recovery_start_and_verification() -> None:
    from gateway.client.recovery import MARGIN_MS, recovery_start, starts_in_time

    latest = SubscriptionSpec("f", "T")
    assert recovery_start(latest, 100_000 + MARGIN_MS) == {"timestamp": 100_000}
    assert recovery_start(SubscriptionSpec("f", "T", start="earliest"), 5) == "earliest"
    assert recovery_start(SubscriptionSpec("f", "T", start=7), 10**9) == {"timestamp": 7}
    floor, marks = {0: 10, 1: 20}, {0: 15}
    assert starts_in_time({0: 15, 1: 20}, floor, marks)
    assert starts_in_time({0: 3, 1: 0, 2: 0}, floor, marks)
    assert not starts_in_time({0: 16, 1: 20}, floor, marks)
    assert not starts_in_time({0: 0, 1: 21}, floor, marks)
    assert not starts_in_time({0: 0, 1: 0, 2: 1}, floor, marks)  # a partition never seen: from 0
