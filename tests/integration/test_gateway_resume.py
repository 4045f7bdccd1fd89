"""Resume across instances and crashes, gaps for deleted data and recreated topics, forged tokens,
and the SIGTERM drain, against the real broker and real gateway processes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import NewTopic, RecordsToDelete

from gateway.core.tokens import ResumeKeyring, SubscriptionPosition
from gateway.io.settings import GatewaySettings
from streams.kafka import admin_client, reliable_producer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.test_gateway_helpers import (
    GatewayProcess,
    WsClient,
    batch_value,
    positions_of,
    produce_batches,
    token,
)

TOPIC = "AgentStatusUpdate"
Start = Callable[..., GatewayProcess]


@pytest.fixture
async def topics(settings: Settings) -> Settings:
    await create_topics(settings)
    return settings


@pytest.fixture
async def start_gateway(topics: Settings, tmp_path: Path) -> AsyncIterator[Start]:
    started: list[GatewayProcess] = []

    def start(**gateway: object) -> GatewayProcess:
        proc = GatewayProcess(topics, tmp_path, **gateway).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


async def open_sub(gw: GatewayProcess, settings: Settings, start: object = "earliest") -> WsClient:
    client = await WsClient.open(gw.url, token(settings))
    await client.send({"op": "subscribe", "id": "feed", "topic": TOPIC, "from": start})
    await client.until("subscribed")
    return client


async def test_resume_on_another_instance_after_sigkill(
    topics: Settings, start_gateway: Start
) -> None:
    first, second = start_gateway(), start_gateway()
    ids = await produce_batches(topics, TOPIC, 10, 2)
    client = await open_sub(first, topics)
    seen = await client.collect(20)
    checkpoint = await client.settled_checkpoint()
    first.kill()  # no drain, no goodbye
    await client.closed(15)
    more = await produce_batches(topics, TOPIC, 5, 2)

    resumed = await open_sub(second, topics, {"token": checkpoint["token"]})
    try:
        await resumed.collect(10, 30)
        markers = await resumed.drained(topics, TOPIC)
        got = [e for e in resumed.events() if e["event_id"] not in markers]
        assert resumed.frames and not [f for f in resumed.frames if f["op"] == "gap"]
        before = set(positions_of(seen))
        after = set(positions_of(got))
        assert {e["event_id"] for e in seen} | {e["event_id"] for e in got} == set(ids) | set(more)
        assert not before & after, "the checkpoint covered everything delivered before it"
    finally:
        await resumed.close()


async def test_deleted_records_become_an_explicit_gap(
    topics: Settings, start_gateway: Start
) -> None:
    gw = start_gateway()
    await produce_batches(topics, TOPIC, 3, partition=0)
    client = await open_sub(gw, topics)
    await client.collect(3)
    checkpoint = await client.settled_checkpoint()
    await client.close()
    await produce_batches(topics, TOPIC, 7, partition=0)
    live_topic = topics.catalog.live_topic(TOPIC)
    admin = admin_client(topics)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(live_topic, 0): RecordsToDelete(8)})
    finally:
        await admin.close()

    resumed = await open_sub(gw, topics, {"token": checkpoint["token"]})
    try:
        gap = await resumed.until("gap", 15)
        assert (gap["partition"], gap["range"], gap["earliest"], gap["reason"]) == (
            0,
            [3, 8],
            8,
            "retention",
        )
        events = await resumed.collect(2, 15)
        assert [p for p in positions_of(events) if p[0] == 0] == [(0, 8, 0), (0, 9, 0)]
    finally:
        await resumed.close()


async def test_recreated_topic_is_a_topic_recreated_gap(
    topics: Settings, start_gateway: Start
) -> None:
    gw = start_gateway()
    await produce_batches(topics, TOPIC, 4)
    client = await open_sub(gw, topics)
    await client.collect(4)
    checkpoint = await client.settled_checkpoint()
    epoch = next(f for f in client.frames if f["op"] == "subscribed")["epoch"]
    await client.close()
    live_topic = topics.catalog.live_topic(TOPIC)
    admin = admin_client(topics)
    await admin.start()
    try:
        await admin.delete_topics([live_topic])
        deadline = time.monotonic() + 30
        while live_topic in await admin.list_topics():
            assert time.monotonic() < deadline, "topic deletion did not finish within 30 s"
            await asyncio.sleep(0.2)
        while True:
            try:
                await admin.create_topics([NewTopic(live_topic, 3, 1)])
                break
            except Exception:
                assert time.monotonic() < deadline, "could not recreate the topic within 30 s"
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    fresh = await produce_batches(topics, TOPIC, 2)

    resumed = await open_sub(gw, topics, {"token": checkpoint["token"]})
    try:
        sub = next(f for f in resumed.frames if f["op"] == "subscribed")
        assert sub["epoch"] != epoch
        gaps = [await resumed.until("gap", 15) for _ in range(3)]
        assert {g["reason"] for g in gaps} == {"topic-recreated"}
        assert sorted(g["partition"] for g in gaps) == [0, 1, 2]
        assert {e["event_id"] for e in await resumed.collect(2, 30)} == set(fresh)
    finally:
        await resumed.close()


async def test_tampered_token_closes_with_a_terminal_code(
    topics: Settings, start_gateway: Start
) -> None:
    gw = start_gateway()
    client = await open_sub(gw, topics)
    await produce_batches(topics, TOPIC, 1)
    checkpoint = await client.settled_checkpoint()
    await client.close()
    tampered = checkpoint["token"][:-3] + (
        "AAA" if not checkpoint["token"].endswith("AAA") else "BBB"
    )
    again = await WsClient.open(gw.url, token(topics))
    await again.send({"op": "subscribe", "id": "feed", "topic": TOPIC, "from": {"token": tampered}})
    error = await again.until("error")
    assert error["code"] == "token_forged"
    assert (await again.closed())[0] == 4510
    other = await WsClient.open(gw.url, token(topics, sub="mallory"))
    await other.send(
        {"op": "subscribe", "id": "feed", "topic": TOPIC, "from": {"token": checkpoint["token"]}}
    )
    assert (await other.closed())[0] == 4512


async def test_sigterm_drains_with_a_checkpoint_and_a_retry_code(
    topics: Settings, start_gateway: Start
) -> None:
    gw = start_gateway(drain_deadline_s=5)
    client = await open_sub(gw, topics)
    await produce_batches(topics, TOPIC, 3)
    await client.collect(3)
    checkpoints_before = len([f for f in client.frames if f["op"] == "checkpoint"])
    gw.signal(signal.SIGTERM)
    code, reason = await client.closed(15)
    assert (code, reason) == (4000, "server_draining")
    last = [f for f in client.frames if f["op"] == "checkpoint"]
    assert len(last) > checkpoints_before or last, "a final checkpoint came before the close"
    assert client.frames[-1]["op"] == "checkpoint"
    assert gw.wait(15) == 0


async def test_a_token_before_a_commit_marker_is_no_gap_past_the_horizon(
    topics: Settings, start_gateway: Start
) -> None:
    """Three records in one transaction (offsets 0-2, its commit marker at 3), an hour old. A
    client read them all; its token says 3, one past the last record. Resumed under a 1 s replay
    horizon once the marker too is older than that, nothing was lost: no gap, and the next
    record is delivered. (Kafka's time index counts the marker, stamped at commit time.)"""
    gw = start_gateway()
    topic = topics.catalog.live_topic(TOPIC)
    an_hour_ago = int(time.time() * 1000) - 3_600_000
    samples = SampleEvents(seed=3)
    producer = reliable_producer(topics, transactional_id=f"horizon-test-{topic}")
    await producer.start()
    try:
        async with producer.transaction():
            for _ in range(3):
                value = batch_value(TOPIC, [samples.next(TOPIC)])
                await producer.send_and_wait(topic, value, partition=0, timestamp_ms=an_hour_ago)
    finally:
        await producer.stop()
    committed_ms = time.time() * 1000
    first = await WsClient.open(gw.url, token(topics, replay_horizon_s=7200))
    await first.send({"op": "subscribe", "id": "feed", "topic": TOPIC, "from": "earliest"})
    subscribed = await first.until("subscribed")
    assert positions_of(await first.collect(3)) == [(0, 0, 0), (0, 1, 0), (0, 2, 0)]
    await first.close()
    keys, active = GatewaySettings().resume_key_set(topics)
    position = SubscriptionPosition("feed", TOPIC, subscribed["epoch"], {0: 3, 1: 0, 2: 0}, None)
    resume = ResumeKeyring(keys, active=active).issue("alice", [position], int(time.time() * 1000))

    # The horizon is a clock condition: wait for the clock to pass it (no process is awaited).
    await asyncio.sleep(max(0.0, committed_ms + 1500 - time.time() * 1000) / 1000)
    resumed = await WsClient.open(gw.url, token(topics, replay_horizon_s=1))
    await resumed.send({"op": "subscribe", "id": "feed", "topic": TOPIC, "from": {"token": resume}})
    await resumed.until("subscribed")
    await produce_batches(topics, TOPIC, 1, partition=0)
    got = await resumed.collect(1)

    assert [f for f in resumed.frames if f["op"] == "gap"] == []
    assert positions_of(got) == [(0, 4, 0)]
    await resumed.close()
