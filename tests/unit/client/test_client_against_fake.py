"""The client's reconnect, resume, dedupe, gap, close-code and publish behaviour, against a
scripted fake gateway on loopback (the real gateway is in tests/integration/test_client*.py)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.client import (
    GAP_TOKEN_REJECTED,
    AuthenticationFailed,
    Backoff,
    Client,
    Event,
    Gap,
    ResumeTokenRejected,
    State,
    Subscription,
    SubscriptionRefused,
)
from tests.unit.client.fake_gateway import FakeConnection, FakeGateway

BOUND_S = 20.0


def fast() -> Backoff:
    return Backoff(base_s=0.01, cap_s=0.05)


async def take(sub: Subscription, count: int) -> list[Event | Gap]:
    out: list[Event | Gap] = []
    async with asyncio.timeout(BOUND_S):
        async for item in sub:
            out.append(item)
            if len(out) == count:
                break
    return out


def offsets(items: list[Event | Gap]) -> list[int | str]:
    return [i.position.offset if isinstance(i, Event) else f"gap:{i.reason}" for i in items]


async def test_resumes_from_the_checkpoint_after_a_killed_connection() -> None:
    async def first(conn: FakeConnection) -> None:
        sub = await conn.next_frame("subscribe")
        assert sub["from"] == "latest"
        await conn.send(op="subscribed", id="feed", topic="DecisionMade", epoch="e1", positions={"0": 0})  # fmt: skip
        await conn.events("feed", [0, 1, 2])
        await conn.send(op="checkpoint", seq=1, token="T-after-2")
        await conn.events("feed", [3, 4])
        conn.kill()  # no close frame, as with SIGKILL

    async def second(conn: FakeConnection) -> None:
        sub = await conn.next_frame("subscribe")
        assert sub["from"] == {"token": "T-after-2"} and sub["id"] == "feed"
        await conn.send(op="subscribed", id="feed", topic="DecisionMade", epoch="e1", positions={"0": 3})  # fmt: skip
        await conn.events("feed", [3, 4, 5, 6])  # 3 and 4 again: after the checkpoint
        await conn.hold()

    async with FakeGateway(first, second) as gw, Client(gw.url, token="jwt", backoff=fast()) as c:
        items = await take(c.subscribe("DecisionMade", id="feed"), 7)
        assert offsets(items) == [0, 1, 2, 3, 4, 5, 6]
        assert c.connections == 2 and c.resume_token == "T-after-2"
        assert gw.authorizations == ["Bearer jwt", "Bearer jwt"]
    assert not gw.errors


async def test_gaps_are_items_of_the_stream_in_order() -> None:
    async def script(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.confirm("feed", {"0": 8})
        await conn.events("feed", [8])
        await conn.send(op="gap", id="feed", topic="DecisionMade", partition=0, range=[9, 20], earliest=20, reason="retention")  # fmt: skip
        await conn.events("feed", [20])
        await conn.hold()

    async with FakeGateway(script) as gw, Client(gw.url, token="jwt", backoff=fast()) as c:
        items = await take(c.subscribe("DecisionMade", id="feed", start="earliest"), 3)
    assert offsets(items) == [8, "gap:retention", 20]
    gap = items[1]
    assert isinstance(gap, Gap) and gap.range == (9, 20) and gap.earliest == 20


async def test_a_recreated_topic_resets_dedupe() -> None:
    async def script(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.send(op="subscribed", id="feed", topic="DecisionMade", epoch="e1", positions={"0": 0})  # fmt: skip
        await conn.events("feed", [40, 41])
        await conn.send(op="gap", id="feed", topic="DecisionMade", partition=0, range=None, earliest=0, reason="topic-recreated")  # fmt: skip
        await conn.events("feed", [0, 1])
        await conn.hold()

    async with FakeGateway(script) as gw, Client(gw.url, token="jwt", backoff=fast()) as c:
        items = await take(c.subscribe("DecisionMade", id="feed"), 5)
    assert offsets(items) == [40, 41, "gap:topic-recreated", 0, 1]


async def test_terminal_close_raises_a_typed_error() -> None:
    async def script(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.send(op="error", code="token_forged", message="bad", retriable=False)
        await conn.ws.close(4510, "token_forged")

    async with FakeGateway(script) as gw, Client(gw.url, token="jwt", resume_token="old", backoff=fast()) as c:  # fmt: skip
        sub = c.subscribe("DecisionMade", id="feed")
        with pytest.raises(ResumeTokenRejected) as caught:
            await take(sub, 1)
        assert caught.value.close_code == 4510 and caught.value.code == "token_forged"
        assert gw.handshakes == 1  # never retried
        assert c.state is State.CLOSED


async def test_rejected_token_can_restart_with_an_explicit_gap() -> None:
    async def first(conn: FakeConnection) -> None:
        assert (await conn.next_frame("subscribe"))["from"] == {"token": "old"}
        await conn.ws.close(4511, "token_expired")

    async def second(conn: FakeConnection) -> None:
        assert (await conn.next_frame("subscribe"))["from"] == "latest"
        await conn.confirm("feed", {"0": 7})
        await conn.events("feed", [7])
        await conn.hold()

    async with (
        FakeGateway(first, second) as gw,
        Client(
            gw.url, token="jwt", resume_token="old", backoff=fast(), restart_on_token_rejection=True
        ) as c,
    ):
        items = await take(c.subscribe("DecisionMade", id="feed"), 2)
    assert offsets(items) == [f"gap:{GAP_TOKEN_REJECTED}", 7]


async def test_expired_jwt_is_refreshed_before_reconnecting() -> None:
    fresh = iter(["jwt-2", "jwt-3"])

    async def refresh() -> str:
        return next(fresh)

    async def first(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.send(op="checkpoint", seq=1, token="T1")
        await conn.ws.close(4002, "auth_expired")

    async def second(conn: FakeConnection) -> None:
        assert (await conn.next_frame("subscribe"))["from"] == {"token": "T1"}
        await conn.confirm("feed")
        await conn.events("feed", [1])
        await conn.hold()

    async with (
        FakeGateway(first, second) as gw,
        Client(gw.url, token="jwt-1", refresh_token=refresh, backoff=fast()) as c,
    ):
        await take(c.subscribe("DecisionMade", id="feed"), 1)
    assert gw.authorizations == ["Bearer jwt-1", "Bearer jwt-2"]


async def test_handshake_refusals() -> None:
    async def refresh() -> str:
        return "jwt-new"

    expired = (401, {"error": "credentials_expired", "message": "exp"})
    busy = (429, {"error": "too_many_connections", "message": "cap"})
    async with (
        FakeGateway(refusals={0: expired, 1: busy}) as gw,
        Client(gw.url, token="jwt-old", refresh_token=refresh, backoff=fast()) as c,
    ):
        c.subscribe("DecisionMade", id="feed")
        async with asyncio.timeout(BOUND_S):
            await gw.connected.wait()
    assert gw.authorizations == ["Bearer jwt-old", "Bearer jwt-new", "Bearer jwt-new"]

    invalid = (401, {"error": "invalid_credentials", "message": "signature"})
    async with FakeGateway(refusals={0: invalid}) as gw, Client(gw.url, token="x", backoff=fast()) as c:  # fmt: skip
        with pytest.raises(AuthenticationFailed) as caught:
            await take(c.subscribe("DecisionMade"), 1)
        assert (caught.value.status, caught.value.code) == (401, "invalid_credentials")


async def test_not_in_token_falls_back_to_the_original_start() -> None:
    async def script(conn: FakeConnection) -> None:
        assert (await conn.next_frame("subscribe"))["from"] == {"token": "T"}
        await conn.send(op="error", id="late", code="not_in_token", message="", retriable=False)
        assert (await conn.next_frame("subscribe"))["from"] == "earliest"
        await conn.confirm("late")
        await conn.events("late", [0])
        await conn.hold()

    async with FakeGateway(script) as gw, Client(gw.url, token="j", resume_token="T", backoff=fast()) as c:  # fmt: skip
        assert offsets(await take(c.subscribe("DecisionMade", id="late", start="earliest"), 1)) == [
            0
        ]


async def test_refused_subscription_and_caught_up() -> None:
    async def script(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.next_frame("subscribe")
        await conn.send(op="error", id="audit", code="not_authorized", message="no", retriable=False)  # fmt: skip
        await conn.confirm("q")
        await conn.events("q", [0, 1])
        await conn.send(op="caught_up", id="q")
        await conn.hold()

    async with FakeGateway(script) as gw, Client(gw.url, token="j", backoff=fast()) as c:
        denied = c.subscribe("AuditTrailEntry", id="audit")
        bounded = c.subscribe("DecisionMade", id="q", start="earliest", to={0: 2})
        with pytest.raises(SubscriptionRefused) as caught:
            await take(denied, 1)
        assert caught.value.code == "not_authorized"
        async with asyncio.timeout(BOUND_S):
            assert offsets([item async for item in bounded]) == [0, 1]  # then it ends by itself


async def test_leaving_after_break_does_not_wait_behind_the_backlog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``break`` out of a replay with far more on its way than the client buffers, then leave
    ``async with Client``: the close completes with the gateway's answer, however much data is
    in front of it. Neither side is given a close timeout here, so a client that stopped reading
    (and so never sees that answer) hangs instead of being rescued after 10 s."""
    from gateway.client import transport

    monkeypatch.setattr(transport, "CLOSE_TIMEOUT_S", None)

    async def script(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.confirm("replay")
        for offset in range(500):
            await conn.events("replay", [offset])
        await conn.hold()

    async with FakeGateway(script, close_timeout=None) as gw:
        try:
            async with asyncio.timeout(BOUND_S):
                async with Client(gw.url, token="j", backoff=fast(), max_queue=1) as c:
                    async for _ in c.subscribe("DecisionMade", id="replay", start="earliest"):
                        break
        finally:
            gw.connections[0].kill()  # a hung close ends here, so the test can report it
        assert c.state is State.CLOSED
        assert gw.connections[0].ws.close_code == 1000  # a clean close, not a cut


async def test_publish_is_retried_with_the_same_event_id() -> None:
    seen: list[dict[str, object]] = []

    async def first(conn: FakeConnection) -> None:
        seen.append(await conn.next_frame("publish"))
        conn.kill()  # before any answer: the client cannot know whether it landed

    async def second(conn: FakeConnection) -> None:
        frame = await conn.next_frame("publish")
        seen.append(frame)
        await conn.send(op="error", id=frame["id"], code="rate_limited", message="", retriable=True)  # fmt: skip
        frame = await conn.next_frame("publish")
        seen.append(frame)
        await conn.send(op="published", id=frame["id"], position={"topic": "CollaborationEvent", "partition": 2, "offset": 41})  # fmt: skip
        await conn.hold()

    async with FakeGateway(first, second) as gw, Client(gw.url, token="j", backoff=fast()) as c:
        async with asyncio.timeout(BOUND_S):
            result = await c.publish("CollaborationEvent", {"session_id": "s", "sender_id": "u", "content": "ok"})  # fmt: skip
    ids = {f["event"]["metadata"]["event_id"] for f in seen}  # type: ignore[index]
    assert len(seen) == 3 and len(ids) == 1 and result.event_id in ids
    assert (result.partition, result.offset) == (2, 41)


async def test_no_checkpoint_yet_recovers_from_before_the_first_confirmation() -> None:
    """Killed after `subscribed` and events but before any checkpoint named the subscription:
    the original `latest` would skip what was produced meanwhile, so the client recovers from a
    time before its first confirmation, drops what precedes its floor, and dedupes the rest."""
    frames: list[dict[str, object]] = []

    async def first(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.confirm("feed", {"0": 10})
        await conn.events("feed", [10, 11])
        conn.kill()

    async def second(conn: FakeConnection) -> None:
        frames.append(await conn.next_frame("subscribe"))
        await conn.confirm("feed", {"0": 4})
        await conn.events("feed", [4, 9, 10, 11, 12])  # 4 and 9 precede the floor
        await conn.hold()

    async with FakeGateway(first, second) as gw, Client(gw.url, token="j", backoff=fast()) as c:
        assert offsets(await take(c.subscribe("DecisionMade", id="feed"), 3)) == [10, 11, 12]
        assert c.repeats_dropped == 4
    start = frames[0]["from"]
    assert isinstance(start, dict) and "timestamp" in start


async def test_a_recovery_that_starts_too_late_falls_back_to_earliest() -> None:
    async def first(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.confirm("feed", {"0": 10})
        await conn.events("feed", [10])
        conn.kill()

    async def second(conn: FakeConnection) -> None:
        await conn.next_frame("subscribe")
        await conn.confirm("feed", {"0": 13})  # past offset 11, still needed
        await conn.events("feed", [13])  # stale: must never be delivered
        await conn.next_frame("unsubscribe")
        assert (await conn.next_frame("subscribe"))["from"] == "earliest"
        await conn.send(op="unsubscribed", id="feed")
        await conn.confirm("feed", {"0": 0})
        await conn.events("feed", [0, 10, 11, 12, 13])
        await conn.hold()

    async with FakeGateway(first, second) as gw, Client(gw.url, token="j", backoff=fast()) as c:
        assert offsets(await take(c.subscribe("DecisionMade", id="feed"), 4)) == [10, 11, 12, 13]
