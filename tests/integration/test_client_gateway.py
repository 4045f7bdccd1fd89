"""The Python client SDK against the real gateway (a subprocess) and the real broker.

Events are written straight to ``live.<type>`` as the pipeline would write them (EventBatch
records built with the pipeline's own functions), so every expected position and id is known;
the whole system with the Faust worker is exercised by tests/e2e.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import RecordsToDelete
from aiokafka.structs import TopicPartition

from gateway.client import Backoff, Client, Event, Gap, ResumeTokenRejected, Subscription
from gateway.core.auth import mint_token
from gateway.io.settings import DEV_JWT_KID, load_gateway_settings
from schemas.codec import AvroCodec
from streams.kafka import admin_client, reliable_producer
from streams.settings import Settings
from streams.topics import create_topics
from tests.e2e.processes import Gateway, running
from tests.unit.replay.factories import batch, events

TOPIC = "DecisionMade"
WAIT_S = 90.0
CODEC = AvroCodec()
DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "client.md"


def jwt(settings: Settings, *, sub: str = "tester", lifetime_s: int = 3600, **claims: Any) -> str:
    gw = load_gateway_settings()
    return mint_token(
        settings.jwt_secret.get_secret_value(), sub=sub, audience=gw.jwt_audience,
        issuer=gw.jwt_issuer, now_s=int(time.time()), kid=DEV_JWT_KID,
        lifetime_s=lifetime_s, **claims,
    )  # fmt: skip


def fresh(count: int) -> list[dict[str, Any]]:
    out = events(TOPIC, count, seed=int(uuid.uuid4().int % 1000))
    for record in out:
        record["metadata"]["event_id"] = str(uuid.uuid4())
    return out


async def produce(settings: Settings, batches: list[list[dict[str, Any]]], partition: int = 0) -> list[str]:  # fmt: skip
    """Write one EventBatch per list to live.decision_made; return the event ids in order."""
    producer = reliable_producer(settings)
    await producer.start()
    try:
        topic = settings.catalog.live_topic(TOPIC)
        for records in batches:
            value = CODEC.encode("EventBatch", batch(TOPIC, records, source_partition=partition))
            await producer.send_and_wait(topic, value, key=b"k", partition=partition)
    finally:
        await producer.stop()
    return [r["metadata"]["event_id"] for records in batches for r in records]


async def collect(sub: Subscription, want: set[str], into: list[Event | Gap]) -> None:
    """Read until every id in ``want`` was seen (bounded by the caller's timeout)."""
    seen = {i.event_id for i in into if isinstance(i, Event)}
    async for item in sub:
        into.append(item)
        if isinstance(item, Event):
            seen.add(item.event_id)
        if want <= seen:
            return


def event_ids(items: list[Event | Gap]) -> list[str]:
    return [i.event_id for i in items if isinstance(i, Event)]


@pytest.fixture
async def topics(settings: Settings) -> AsyncIterator[Settings]:
    await create_topics(settings)
    yield settings


@pytest.fixture
def gateway(topics: Settings, tmp_path: Path) -> Iterator[Gateway]:
    with running(Gateway(topics, tmp_path)) as gw:
        assert isinstance(gw, Gateway)
        yield gw


def quick() -> Backoff:
    return Backoff(base_s=0.05, cap_s=1.0)


@pytest.mark.parametrize("checkpointed", [False, True], ids=["no-checkpoint-yet", "from-token"])
async def test_sigkilled_gateway_loses_and_repeats_nothing(
    topics: Settings, gateway: Gateway, checkpointed: bool
) -> None:
    """Killed mid-stream, events produced while it is down, restarted: every event exactly once.

    ``no-checkpoint-yet``: the kill comes before any checkpoint named the subscription (the
    client recovers, see gateway/client/recovery.py); ``from-token``: after one (resume).
    """
    settings = topics
    tokens = asyncio.Event()
    async with Client(
        gateway.ws_url, token=jwt(settings), backoff=quick(), on_checkpoint=lambda _: tokens.set()
    ) as client:
        sub = client.subscribe(TOPIC, id="feed")
        async with asyncio.timeout(WAIT_S):
            await sub.subscribed.wait()
        before = await produce(settings, [fresh(3) for _ in range(20)])
        got: list[Event | Gap] = []
        async with asyncio.timeout(WAIT_S):
            await collect(sub, set(before[:30]), got)  # mid-stream: some delivered, some not
            if checkpointed:
                await tokens.wait()
                before += await produce(settings, [fresh(3) for _ in range(20)])
                await collect(sub, set(before[:75]), got)
        if checkpointed:
            assert client.resume_token is not None
        gateway.kill()
        during = await produce(settings, [fresh(3) for _ in range(10)])  # while it is down
        gateway.start()
        after = await produce(settings, [fresh(2) for _ in range(10)])
        expected = before + during + after
        async with asyncio.timeout(WAIT_S):
            await collect(sub, set(expected), got)
        assert event_ids(got) == expected  # nothing missing, nothing twice, in partition order
        assert not [i for i in got if isinstance(i, Gap)]
        assert client.connections == 2


async def test_resume_below_retention_is_a_gap(topics: Settings, gateway: Gateway) -> None:
    settings = topics
    token = jwt(settings)
    checkpointed = asyncio.Event()
    async with Client(
        gateway.ws_url, token=token, backoff=quick(), on_checkpoint=lambda _: checkpointed.set()
    ) as first:
        sub = first.subscribe(TOPIC, id="feed", start="earliest")
        ids = await produce(settings, [fresh(2) for _ in range(3)])  # offsets 0..2
        got: list[Event | Gap] = []
        async with asyncio.timeout(WAIT_S):
            await collect(sub, set(ids), got)
            checkpointed.clear()
            await checkpointed.wait()  # the quiet checkpoint after the last delivery
        resume = first.resume_token
    later = await produce(settings, [fresh(2) for _ in range(5)])  # offsets 3..7
    admin = admin_client(settings)
    await admin.start()
    try:  # retention took offsets 3..5 before the client came back
        tp = TopicPartition(settings.catalog.live_topic(TOPIC), 0)
        await admin.delete_records({tp: RecordsToDelete(before_offset=6)})
    finally:
        await admin.close()
    async with Client(gateway.ws_url, token=token, resume_token=resume, backoff=quick()) as second:
        sub = second.subscribe(TOPIC, id="feed", start="earliest")
        got = []
        async with asyncio.timeout(WAIT_S):
            await collect(sub, set(later[6:]), got)
    gap = got[0]
    assert isinstance(gap, Gap), got[0]
    assert (gap.partition, gap.range, gap.earliest, gap.reason) == (0, (3, 6), 6, "retention")
    assert event_ids(got) == later[6:]


async def test_expired_jwt_is_refreshed_and_nothing_is_lost(
    topics: Settings, gateway: Gateway
) -> None:
    settings = topics
    refreshed = asyncio.Event()

    async def refresh() -> str:
        refreshed.set()
        return jwt(settings)

    short = jwt(settings, lifetime_s=2)  # the gateway closes 4002 when it expires
    async with Client(gateway.ws_url, token=short, refresh_token=refresh, backoff=quick()) as c:
        sub = c.subscribe(TOPIC, id="feed")
        async with asyncio.timeout(WAIT_S):
            await sub.subscribed.wait()
        first = await produce(settings, [fresh(2)])
        got: list[Event | Gap] = []
        async with asyncio.timeout(WAIT_S):
            await collect(sub, set(first), got)
            await refreshed.wait()
        second = await produce(settings, [fresh(2)])
        async with asyncio.timeout(WAIT_S):
            await collect(sub, set(second), got)
    assert event_ids(got) == first + second
    assert c.connections >= 2


async def test_a_tampered_resume_token_is_refused(topics: Settings, gateway: Gateway) -> None:
    token = jwt(topics)
    async with Client(gateway.ws_url, token=token, resume_token="rt1.r1.AAAA.BBBB", backoff=quick()) as c:  # fmt: skip
        with pytest.raises(ResumeTokenRejected) as caught:
            async with asyncio.timeout(WAIT_S):
                async for _ in c.subscribe(TOPIC, id="feed"):
                    pass
    assert caught.value.close_code == 4510


async def test_publish_lands_on_the_input_topic(topics: Settings, gateway: Gateway) -> None:
    from tests.integration.helpers import read_all

    token = jwt(topics, publish=["CollaborationEvent"])
    event = {"session_id": "session-1", "kind": "MESSAGE", "sender_id": "analyst-1",
             "receiver_id": "agent-kyc", "message_type": "TEXT", "status": "SENT",
             "content": "Approved, go ahead."}  # fmt: skip
    async with Client(gateway.ws_url, token=token, backoff=quick()) as c:
        async with asyncio.timeout(WAIT_S):
            result = await c.publish("CollaborationEvent", event)
    records = await read_all(topics, topics.catalog.input_topic("CollaborationEvent"), 1)
    [decoded] = [CODEC.decode(r.value) for r in records if r.value is not None]
    assert decoded.record["metadata"]["event_id"] == result.event_id
    assert (result.partition, result.offset) == (records[0].partition, records[0].offset)


async def test_the_documented_example_runs(topics: Settings, gateway: Gateway) -> None:
    """The first Python example of docs/reference/client.md, run as written."""
    code = DOC.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "client.md", "exec"), namespace)
    records = fresh(6)
    for record, severity in zip(records, ["LOW", "HIGH", "INFO", "CRITICAL", "HIGH", "DEBUG"], strict=True):  # fmt: skip
        record["metadata"]["severity"] = severity
    ids = await produce(topics, [records])
    async with asyncio.timeout(WAIT_S):
        seen = await namespace["watch"](gateway.ws_url, jwt(topics), 3)
    assert seen == [ids[1], ids[3], ids[4]]
