"""The gateway against a real broker: handshake, subscriptions, live delivery, filters, static
files and the ops endpoints. One gateway subprocess serves the whole module."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from schemas.codec import AvroCodec
from streams.kafka import committed_consumer
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.test_gateway_helpers import (
    GatewayProcess,
    WsClient,
    positions_of,
    produce_batches,
    token,
)
from tests.kafka_broker import BrokerHandle

TOPIC = "DecisionMade"


def module_settings(kafka_broker: BrokerHandle) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        input_prefix=f"g{suffix}.events.",
        live_prefix=f"g{suffix}.live.",
        dlq_topic=f"g{suffix}.events.dlq",
        agents_topic=f"g{suffix}.ref.agents",
        audit_topic=f"g{suffix}.gateway.audit",
        partitions=3,
    )


@pytest.fixture(scope="module")
def gw_settings(kafka_broker: BrokerHandle) -> Settings:
    settings = module_settings(kafka_broker)
    asyncio.run(create_topics(settings))
    return settings


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    (root / "index.html").write_text("<!doctype html><title>regstream</title>")
    (root / "client.js").write_text("export const ok = true;\n")
    (root.parent / "secret.txt").write_text("do not serve")
    return root


@pytest.fixture(scope="module")
def gateway(
    gw_settings: Settings, static_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    proc = GatewayProcess(
        gw_settings,
        tmp_path_factory.mktemp("gwlogs"),
        static_dir=static_root,
        allowed_origins='["https://dash.example.com"]',
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


async def subscribed(gateway: GatewayProcess, settings: Settings, **sub: object) -> WsClient:
    client = await WsClient.open(gateway.url, token(settings))
    assert (await client.next())["op"] == "hello"
    await client.send({"op": "subscribe", "id": "s", "topic": TOPIC, **sub})
    await client.until("subscribed")
    return client


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read(), reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("Content-Type", "")


# -- handshake ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_credentials"),
        ({"Authorization": "Bearer not-a-jwt"}, 401, "invalid_credentials"),
        ({"Origin": "https://evil.example.net"}, 403, "origin_not_allowed"),
    ],
)
async def test_refused_handshakes_answer_http_with_a_json_reason(
    gateway: GatewayProcess, gw_settings: Settings, headers: dict[str, str], status: int, code: str
) -> None:
    if "Origin" in headers:
        headers = {**headers, "Authorization": f"Bearer {token(gw_settings)}"}
    with pytest.raises(InvalidStatus) as caught:
        await asyncio.wait_for(connect(gateway.url, additional_headers=headers), 15)
    reply = caught.value.response
    assert reply.status_code == status
    assert f'"error":"{code}"' in reply.body.decode()


async def test_expired_and_query_string_tokens_are_refused(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    expired = token(gw_settings, lifetime_s=60, extra_claims={"iat": 1, "exp": 61})
    with pytest.raises(InvalidStatus) as caught:
        await connect(gateway.url, additional_headers={"Authorization": f"Bearer {expired}"})
    assert caught.value.response.status_code == 401
    assert b"credentials_expired" in caught.value.response.body
    with pytest.raises(InvalidStatus) as caught:  # the query string is never read
        await connect(f"{gateway.url}?token={token(gw_settings)}")
    assert b"missing_credentials" in caught.value.response.body


async def test_browser_style_subprotocol_token_and_allowed_origin(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    ws = await connect(
        gateway.url,
        subprotocols=["regstream.v1", f"bearer.{token(gw_settings)}"],  # type: ignore[list-item]
        origin="https://dash.example.com",  # type: ignore[arg-type]
    )
    try:
        assert ws.subprotocol == "regstream.v1"  # never the token
        assert b'"op":"hello"' in (await asyncio.wait_for(ws.recv(), 10)).encode()
    finally:
        await ws.close()


# -- subscriptions and delivery -------------------------------------------------------------


async def test_earliest_replays_then_continues_live(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    before = await produce_batches(gw_settings, TOPIC, 6, 3)
    client = await subscribed(gateway, gw_settings, **{"from": "earliest"})
    try:
        after_subscribe = await produce_batches(gw_settings, TOPIC, 4, 2)
        ids = {e["event_id"] for e in await client.collect(len(before) + 8, 30)}
        assert set(before) | set(after_subscribe) <= ids
        positions = positions_of(client.events())
        assert len(positions) == len(set(positions)), "no duplicate within a connection"
        for p in {p for p, _, _ in positions}:
            mine = [(o, i) for q, o, i in positions if q == p]
            assert mine == sorted(mine), f"partition {p} out of order"
        assert (await client.until("checkpoint"))["token"].startswith("rt1.")
    finally:
        await client.close()


async def test_latest_delivers_only_new_events(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    await produce_batches(gw_settings, TOPIC, 3)
    client = await subscribed(gateway, gw_settings)
    try:
        fresh = await produce_batches(gw_settings, TOPIC, 5, 2)
        got = await client.collect(10, 30)
        assert [e["event_id"] for e in got if e["event_id"] in fresh] == [
            e["event_id"] for e in got
        ], "only events produced after the subscription"
        assert {e["event_id"] for e in got} == set(fresh)
    finally:
        await client.close()


async def test_from_timestamp_starts_per_partition_at_that_time(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    await produce_batches(gw_settings, TOPIC, 4)
    since = int(time.time() * 1000) + 1  # after every record written so far (producer clock)
    await asyncio.sleep(0.002)  # a clock condition: what is written next is stamped after `since`
    later = await produce_batches(gw_settings, TOPIC, 4)
    client = await subscribed(gateway, gw_settings, **{"from": {"timestamp": since}})
    try:
        got = await client.collect(4, 30)
        markers = await client.drained(gw_settings, TOPIC)
        assert {e["event_id"] for e in client.events()} - markers == set(later)
        assert {e["event_id"] for e in got} == set(later)
    finally:
        await client.close()


async def test_bounded_replay_ends_with_caught_up(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    await produce_batches(gw_settings, TOPIC, 3)
    until = int(time.time() * 1000) + 1
    client = await subscribed(
        gateway, gw_settings, **{"from": "earliest", "to": {"timestamp": until}}
    )
    try:
        await client.until("caught_up", 30)
        assert all(e["time"] is not None for e in client.events())
    finally:
        await client.close()


async def test_filters_select_server_side_and_positions_still_advance(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    client = await subscribed(
        gateway, gw_settings, filter={"severity": {"gte": "HIGH"}, "agent_id": "agent-aml"}
    )
    try:

        def make(agent: str, severity: str):  # type: ignore[no-untyped-def]
            def tweak(event: dict[str, Any]) -> None:
                event["agent_id"] = agent
                event["metadata"]["severity"] = severity

            return tweak

        hits = await produce_batches(gw_settings, TOPIC, 2, 2, tweak=make("agent-aml", "CRITICAL"))
        await produce_batches(gw_settings, TOPIC, 2, 2, tweak=make("agent-aml", "INFO"))
        await produce_batches(gw_settings, TOPIC, 2, 2, tweak=make("agent-kyc", "CRITICAL"))
        got = await client.collect(len(hits), 30)
        markers = await client.drained(gw_settings, TOPIC, tweak=make("agent-aml", "HIGH"))
        assert {e["event_id"] for e in client.events()} - markers == set(hits)
        assert all(e["payload"]["agent_id"] == "agent-aml" for e in got)
        checkpoint = await client.until("checkpoint", 15)
        assert checkpoint["token"]
    finally:
        await client.close()


async def test_unauthorized_topic_and_unknown_op_are_error_frames(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    client = await WsClient.open(gateway.url, token(gw_settings, topics=["Agent*"]))
    try:
        await client.send({"op": "subscribe", "id": "x", "topic": TOPIC})
        error = await client.until("error")
        assert (error["code"], error["id"]) == ("not_authorized", "x")
        await client.send({"op": "dance"})
        assert (await client.until("error"))["code"] == "bad_frame"
        await client.send({"op": "ping"})
        await client.until("pong")
    finally:
        await client.close()


# -- static files and ops -------------------------------------------------------------------


async def test_the_access_audit_records_a_whole_connection(
    gateway: GatewayProcess, gw_settings: Settings
) -> None:
    """Connect, subscribe, unsubscribe, leave: each is one entry on the audit topic, all naming
    the same session and instance (the core reports them, ``gateway.io.audit`` writes them)."""
    subject = f"auditor-{uuid.uuid4().hex[:8]}"
    client = await WsClient.open(gateway.url, token(gw_settings, subject))
    assert (await client.next())["op"] == "hello"
    await client.send({"op": "subscribe", "id": "a", "topic": TOPIC})
    await client.until("subscribed")
    await client.send({"op": "unsubscribe", "id": "a"})
    await client.until("unsubscribed")
    await client.close()
    entries = await audit_entries(gw_settings, subject, until_action="DISCONNECT")
    assert [(e["action"], e["details"].get("event")) for e in entries] == [
        ("CONNECT", None),
        ("SUBSCRIBE", None),
        ("SUBSCRIBE", "unsubscribe"),
        ("DISCONNECT", None),
    ]
    assert len({(e["details"]["session"], e["details"]["instance"]) for e in entries}) == 1
    assert entries[1]["topic"] == TOPIC and entries[1]["details"]["from"] == "latest"
    assert entries[-1]["details"]["by"] == "client" and entries[-1]["details"]["code"] == "1000"


async def audit_entries(
    settings: Settings, subject: str, *, until_action: str, timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """``subject``'s access-audit entries, read until one with ``until_action`` arrived."""
    codec = AvroCodec()
    consumer = committed_consumer(settings, settings.audit_topic)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not any(e["action"] == until_action for e in found):
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for rec in batch:
                        entry = codec.decode(rec.value).record
                        if entry["subject"] == subject:
                            found.append(entry)
    finally:
        await consumer.stop()
    return found


def test_static_files_with_types_and_no_traversal(gateway: GatewayProcess) -> None:
    status, body, kind = http_get(gateway.http("/"))
    assert (status, kind) == (200, "text/html; charset=utf-8") and b"regstream" in body
    status, body, kind = http_get(gateway.http("/client.js"))
    assert (status, kind) == (200, "text/javascript; charset=utf-8")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/nope.js"):
        assert http_get(gateway.http(path))[0] == 404, path


def test_ops_endpoints(gateway: GatewayProcess) -> None:
    assert http_get(gateway.http("/healthz", ops=True))[0] == 200
    status, body, _ = http_get(gateway.http("/readyz", ops=True))
    assert status == 200 and b'"broker":true' in body
    status, body, kind = http_get(gateway.http("/metrics", ops=True))
    assert status == 200 and kind.startswith("text/plain")
    for name in (
        b"regstream_gateway_connections",
        b"regstream_gateway_subscriptions",
        b"regstream_gateway_events_sent_total",
        b"regstream_gateway_bytes_sent_total",
        b"regstream_gateway_catchups_total",
        b"regstream_gateway_gaps_total",
        b"regstream_gateway_auth_failures_total",
        b"regstream_gateway_tail_lag",
    ):
        assert name in body, name
    assert http_get(gateway.http("/metrics"))[0] == 404  # not on the public port
