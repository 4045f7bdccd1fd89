"""The WebSocket layer refuses an oversized message with the documented 4500, not 1009.

A real ``websockets`` server on a loopback port, with the gateway's connection class and an
echo handler in place of the gateway: what is tested is the wire, not the session."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from gateway.core.records import EncodedEvents, SharedFrame, data_heads
from gateway.io import wire
from gateway.io.wire import GatewayWire
from tests.pki import write_pair

LIMIT = 1024


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve(
        echo, "127.0.0.1", 0, max_size=LIMIT, create_connection=GatewayWire
    ) as running:
        yield running


async def client(server: Server) -> ClientConnection:
    port = server.sockets[0].getsockname()[1]
    return await asyncio.wait_for(connect(f"ws://127.0.0.1:{port}", max_size=None), 10)


async def received_until_close(ws: ClientConnection) -> list[str | bytes]:
    got: list[str | bytes] = []
    try:
        while True:
            got.append(await asyncio.wait_for(ws.recv(), 10))
    except ConnectionClosed:
        return got


async def test_a_message_at_the_limit_passes(server: Server) -> None:
    ws = await client(server)
    payload = "x" * LIMIT
    await ws.send(payload)
    assert await asyncio.wait_for(ws.recv(), 10) == payload
    await ws.close()


@pytest.mark.parametrize("size", [LIMIT + 1, 2 << 20])
async def test_an_oversized_message_closes_4500_after_an_error_frame(
    server: Server, size: int
) -> None:
    """Regression: a frame over the WebSocket layer's limit closed with 1009."""
    ws = await client(server)
    await ws.send("x" * size)
    got = await received_until_close(ws)
    assert ws.close_code == 4500 and ws.close_reason == "frame_too_large"
    assert [orjson.loads(m)["code"] for m in got] == ["frame_too_large"]


async def test_an_oversized_fragmented_message_closes_4500(server: Server) -> None:
    ws = await client(server)
    await ws.send(iter(["x" * 600, "x" * 600]))  # each fragment fits, the message does not
    await received_until_close(ws)
    assert ws.close_code == 4500


async def test_other_protocol_failures_keep_their_standard_codes(server: Server) -> None:
    ws = await client(server)
    ws.protocol.send_frame(Frame(Opcode.TEXT, b"\xff\xfe"))  # not UTF-8
    ws.send_data()
    await received_until_close(ws)
    assert ws.close_code == 1007


# -- the gateway's own writes: one body for every client --------------------------------------


@pytest.mark.parametrize("taken", [None, 0, 3, 40])  # what the socket takes at once (None: all)
@pytest.mark.parametrize("events", [1, 3, 400])  # 7-bit, 16-bit and 64-bit payload lengths
async def test_a_shared_body_is_written_as_the_same_object_to_every_client(
    events: int, taken: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [{"n": i, "pad": "x" * 200} for i in range(events)]
    shared = EncodedEvents(events, orjson.dumps(items if events > 1 else items[0]))
    handed: list[object] = []
    real_writev = os.writev

    def writev(fd: int, parts: list[bytes]) -> int:
        handed.extend(parts)
        if taken is None:
            return real_writev(fd, parts)
        return os.write(fd, b"".join(parts)[:taken])  # a socket that takes only a part

    monkeypatch.setattr(wire.os, "writev", writev)
    wires: list[GatewayWire] = []
    all_in = asyncio.Event()

    async def hold(ws: ServerConnection) -> None:
        assert isinstance(ws, GatewayWire)
        wires.append(ws)
        if len(wires) == 3:
            all_in.set()
        await ws.wait_closed()

    async with serve(hold, "127.0.0.1", 0, create_connection=GatewayWire, compression=None) as srv:
        clients = [await client(srv) for _ in range(3)]
        async with asyncio.timeout(10):
            await all_in.wait()  # the server side of each handshake completed
        for i, ws in enumerate(wires):
            assert ws.write(SharedFrame(data_heads(f"sub-{i}")[events > 1], shared))
            assert ws.write(b'{"op":"pong"}')  # a whole small message after it, in order
        for i, c in enumerate(clients):
            message = orjson.loads(await asyncio.wait_for(c.recv(), 10))
            assert message["id"] == f"sub-{i}"
            got = message["events"] if events > 1 else [message["event"]]
            assert [e["n"] for e in got] == list(range(events))
            assert orjson.loads(await asyncio.wait_for(c.recv(), 10)) == {"op": "pong"}
            await c.close()
    assert sum(part is shared.body for part in handed) == 3, "the body itself, for every client"


async def test_over_tls_a_shared_body_goes_through_the_transport(tmp_path: Path) -> None:
    """Writing to the socket directly would put plain bytes into a TLS stream: the direct
    write is for plain TCP only."""
    cert, key = write_pair(tmp_path, "wire")
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=cert)
    trust.check_hostname = False
    shared = EncodedEvents(2, orjson.dumps([{"n": 0}, {"n": 1}]))
    ready: asyncio.Future[GatewayWire] = asyncio.get_running_loop().create_future()

    async def hold(ws: ServerConnection) -> None:
        assert isinstance(ws, GatewayWire)
        ready.set_result(ws)
        await ws.wait_closed()

    async with serve(
        hold, "127.0.0.1", 0, ssl=served, create_connection=GatewayWire, compression=None
    ) as srv:
        port = srv.sockets[0].getsockname()[1]
        c = await connect(f"wss://127.0.0.1:{port}", ssl=trust, max_size=None)
        ws = await asyncio.wait_for(ready, 10)
        assert ws.write(SharedFrame(data_heads("t")[1], shared))
        message = orjson.loads(await asyncio.wait_for(c.recv(), 10))
        assert [e["n"] for e in message["events"]] == [0, 1]
        await c.close()
