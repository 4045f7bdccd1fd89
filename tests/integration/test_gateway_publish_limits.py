"""Client publish (acks=all, exactly once after dedupe by event_id across a cut connection) and
the per-connection limits with their documented codes, against a real gateway process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from schemas.codec import AvroCodec
from streams.samples import SampleEvents
from streams.settings import Settings
from tests.integration.helpers import read_all
from tests.integration.test_gateway import module_settings
from tests.integration.test_gateway_helpers import (
    GatewayProcess,
    WsClient,
    running_gateway,
    token,
)
from tests.kafka_broker import BrokerHandle

TYPE = "CollaborationEvent"


@pytest.fixture(scope="module")
def limited(
    kafka_broker: BrokerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    with running_gateway(
        module_settings(kafka_broker),
        tmp_path_factory.mktemp("gwlimits"),
        max_frame_bytes=2048,
        rate_per_s=5,
        rate_burst=5,
        max_subscriptions=2,
        max_connections_per_subject=3,
    ) as proc:
        yield proc


def publisher_token(settings: Settings, sub: str = "pat") -> str:
    return token(settings, sub, publish=[TYPE])


async def test_publish_retried_across_a_cut_connection_lands_once_after_dedupe(
    limited: GatewayProcess,
) -> None:
    settings = limited.settings
    event = SampleEvents(seed=11).next(TYPE)
    frame = {"op": "publish", "id": "req-1", "type": TYPE, "event": event}
    first = await WsClient.open(limited.url, publisher_token(settings))
    await first.next()  # hello
    await first.send(frame)
    assert first.ws.transport is not None
    first.ws.transport.abort()  # cut before any answer can arrive

    retry = await WsClient.open(limited.url, publisher_token(settings))
    try:
        await retry.send(frame)
        published = await retry.until("published", 30)
        assert published["id"] == "req-1"
        assert published["position"]["topic"] == TYPE
    finally:
        await retry.close()
    records = await read_all(settings, settings.catalog.input_topic(TYPE), 1, timeout_s=10)
    codec = AvroCodec()
    ids = [codec.decode(r.value).record["metadata"]["event_id"] for r in records if r.value]
    assert 1 <= len(ids) <= 2, "once, or twice when the first attempt landed unanswered"
    assert set(ids) == {event["metadata"]["event_id"]}, "exactly one event after dedupe"


async def test_invalid_or_unauthorized_publishes_are_refused(limited: GatewayProcess) -> None:
    settings = limited.settings
    client = await WsClient.open(limited.url, publisher_token(settings, "pia"))
    try:
        bad = SampleEvents(seed=3).next(TYPE)
        bad["kind"] = "NOT_A_KIND"
        await client.send({"op": "publish", "id": "bad", "type": TYPE, "event": bad})
        error = await client.until("error", 15)
        assert (error["id"], error["code"], error["retriable"]) == ("bad", "publish_failed", False)
        other = SampleEvents(seed=4).next("DecisionMade")
        await client.send({"op": "publish", "id": "no", "type": "DecisionMade", "event": other})
        assert (await client.until("error", 15))["code"] == "not_authorized"
        # accepted before, and then crashed the worker (its latency overflowed Avro's long)
        ancient = SampleEvents(seed=5).next(TYPE)
        ancient["metadata"]["occurred_at"] = -(2**63)
        await client.send({"op": "publish", "id": "old", "type": TYPE, "event": ancient})
        error = await client.until("error", 15)
        assert (error["id"], error["code"], error["retriable"]) == ("old", "publish_failed", False)
        assert "occurred_at" in error["message"]
    finally:
        await client.close()


async def test_oversized_frame_closes_with_4500(limited: GatewayProcess) -> None:
    client = await WsClient.open(limited.url, token(limited.settings, "olga"))
    await client.send({"op": "ping", "pad": "x" * 4096})
    code, reason = await client.closed()
    assert (code, reason) == (4500, "frame_too_large")


async def test_rate_limit_answers_rate_limited(limited: GatewayProcess) -> None:
    client = await WsClient.open(limited.url, token(limited.settings, "rita"))
    try:
        for _ in range(15):
            await client.send({"op": "ping"})
        error = await client.until("error", 15)
        assert (error["code"], error["retriable"]) == ("rate_limited", True)
    finally:
        await client.close()


async def test_too_many_subscriptions(limited: GatewayProcess) -> None:
    client = await WsClient.open(limited.url, token(limited.settings, "sam"))
    try:
        for i in range(3):
            await client.send({"op": "subscribe", "id": f"s{i}", "topic": "DecisionMade"})
        error = await client.until("error", 15)
        assert (error["code"], error["id"]) == ("too_many_subscriptions", "s2")
    finally:
        await client.close()


async def test_connections_per_subject_cap_is_http_429(limited: GatewayProcess) -> None:
    jwt = token(limited.settings, "cap")
    clients = [await WsClient.open(limited.url, jwt) for _ in range(3)]
    try:
        with pytest.raises(InvalidStatus) as caught:
            await connect(limited.url, additional_headers={"Authorization": f"Bearer {jwt}"})
        assert caught.value.response.status_code == 429
        assert b"too_many_connections" in caught.value.response.body
    finally:
        for client in clients:
            await client.close()
    again = await admitted(limited.url, jwt)  # the caps are released when connections close
    await again.close()


async def admitted(url: str, jwt: str, timeout_s: float = 15.0) -> WsClient:
    """A connection once the gateway admits one (it releases a closed one's place as soon as it
    has seen the close, which may be just after the client saw it): retried while refused."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                return await WsClient.open(url, jwt)
            except InvalidStatus as refused:
                assert refused.response.status_code == 429
                await asyncio.sleep(0.05)  # poll interval of a bounded wait


def test_log_never_contains_a_token(limited: GatewayProcess, tmp_path: Path) -> None:
    logs = b"".join(p.read_bytes() for p in limited.log_dir.glob("*.log"))
    assert b"eyJ" not in logs, "a JWT (base64 JSON header) appeared in the gateway log"
    assert b"rt1." not in logs, "a resume token appeared in the gateway log"
