"""A scriptable stand-in for the gateway on a loopback port: the client's real socket code runs
against it, while each test decides exactly which frames come and how the connection dies.

Scripts are coroutines ``script(conn)`` run once per accepted connection; ``conn.next_frame()``
reads what the client sent (bounded wait), ``conn.send(...)`` answers, ``conn.kill()`` drops the
TCP connection without a close frame, as a SIGKILLed gateway does.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

WAIT_S = 10.0


class FakeConnection:
    def __init__(self, ws: ServerConnection, index: int) -> None:
        self.ws, self.index = ws, index
        self.authorization = ws.request.headers.get("Authorization") if ws.request else None

    async def next_frame(self, op: str | None = None) -> dict[str, Any]:
        """The next client frame (skipping acks), optionally checking its op."""
        while True:
            frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), WAIT_S))
            if frame.get("op") != "ack":
                break
        if op is not None:
            assert frame["op"] == op, frame
        return dict(frame)

    async def send(self, **frame: Any) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def confirm(self, sub_id: str, positions: dict[str, int] | None = None, epoch: str = "e1") -> None:  # fmt: skip
        """``subscribed``: the gateway answers every subscribe with it before any data."""
        await self.send(op="subscribed", id=sub_id, topic="DecisionMade", epoch=epoch,
                        positions=positions if positions is not None else {"0": 0})  # fmt: skip

    async def events(self, sub_id: str, offsets: list[int], topic: str = "DecisionMade") -> None:
        await self.send(op="batch", id=sub_id, events=[event(topic, 0, o) for o in offsets])

    def kill(self) -> None:
        self.ws.transport.abort()

    async def hold(self) -> None:
        """Keep the connection open until the client goes away."""
        await self.ws.wait_closed()


def event(topic: str, partition: int, offset: int, index: int = 0) -> dict[str, Any]:
    return {
        "position": {"topic": topic, "partition": partition, "offset": offset, "index": index},
        "event_id": f"{topic}-{partition}-{offset}-{index}",
        "type": topic,
        "time": 1,
        "payload": {"metadata": {"severity": "INFO"}},
        "enrichment": None,
    }


Script = Callable[[FakeConnection], Awaitable[None]]
Refusal = tuple[int, dict[str, str]]


class FakeGateway:
    """``scripts[i]`` serves connection i; ``refusals[i]`` refuses handshake i with HTTP;
    ``close_timeout`` None: the fake never gives up on a close handshake (websockets' default
    would cut the connection after 10 s, hiding a client that never completes it)."""

    def __init__(
        self,
        *scripts: Script,
        refusals: dict[int, Refusal] | None = None,
        close_timeout: float | None = 10.0,
    ) -> None:
        self.scripts = list(scripts)
        self.refusals = refusals or {}
        self.close_timeout = close_timeout
        self.handshakes = 0
        self.authorizations: list[str | None] = []
        self.connections: list[FakeConnection] = []
        self._server: Server | None = None
        self.errors: list[BaseException] = []
        self.connected = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        index = self.handshakes
        self.handshakes += 1
        self.authorizations.append(request.headers.get("Authorization"))
        if index in self.refusals:
            status, body = self.refusals[index]
            headers = Headers({"Content-Type": "application/json"})
            return Response(status, http.HTTPStatus(status).phrase, headers, orjson.dumps(body))
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = FakeConnection(ws, len(self.connections))
        self.connections.append(conn)
        self.connected.set()
        await conn.send(op="hello", version="regstream.v1", session=f"s{conn.index}",
                        heartbeat_s=20, limits={})  # fmt: skip
        if conn.index >= len(self.scripts):
            await conn.hold()
            return
        try:
            await self.scripts[conn.index](conn)
        except Exception as exc:  # surfaced by the test through `errors`
            self.errors.append(exc)
            raise

    async def __aenter__(self) -> FakeGateway:
        self._server = await serve(
            self._handler, "127.0.0.1", 0,
            subprotocols=["regstream.v1"],  # type: ignore[list-item]
            process_request=self._process_request, close_timeout=self.close_timeout,
        )  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
