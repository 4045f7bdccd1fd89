"""One WebSocket connection, from handshake to close, turned into a policy decision.

Everything the network can throw at a client ends here as :class:`ConnectionEnded`, carrying
the :class:`~gateway.client.policy.Decision` (reconnect or not, refresh the JWT, wait longer)
and, when the answer is "do not reconnect", the typed error to raise. The reconnect loop in
``connection.py`` never looks at exception types from ``websockets`` or the OS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from gateway.client.errors import (
    AuthenticationFailed,
    ClientError,
    ConnectionTerminated,
    HandshakeRejected,
    ResumeTokenRejected,
)
from gateway.client.policy import Decision, decide_close, decide_handshake

log = logging.getLogger("regstream.client")
SUBPROTOCOL = "regstream.v1"
MAX_FRAME_BYTES = 32 * 1024 * 1024  # a batch frame of many enriched events can be large
CLOSE_TIMEOUT_S: float | None = 10.0
"""How long a close waits for the gateway's answer (websockets' default), None: no limit."""


class ConnectionEnded(Exception):
    """One connection ended; carries what the policy decided and, if final, why."""

    def __init__(self, decision: Decision, failure: ClientError | None = None) -> None:
        self.decision, self.failure = decision, failure


def closed(code: int | None, reason: str, last_error: Mapping[str, Any] | None) -> ConnectionEnded:
    """A close frame (or none: ``code`` None); ``last_error`` is the ``error`` frame that the
    gateway sends before a terminal close, naming the reason in words a program can use."""
    decision = decide_close(code)
    failure: ClientError | None = None
    if not decision.reconnect and code is not None:
        err_code = last_error.get("code") if last_error else None
        cls = ResumeTokenRejected if decision.token_rejected else ConnectionTerminated
        failure = cls(code, reason, str(err_code) if err_code else None)
    return ConnectionEnded(decision, failure)


def refused(status: int, body: bytes) -> ConnectionEnded:
    """An HTTP refusal of the upgrade, with its ``{"error", "message"}`` body."""
    try:
        info = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        info = {}
    info = info if isinstance(info, dict) else {}
    code, message = str(info.get("error", "")), str(info.get("message", ""))
    decision = decide_handshake(status, code)
    cls = AuthenticationFailed if status in (401, 403) else HandshakeRejected
    return ConnectionEnded(decision, cls(status, code, message, retriable=decision.reconnect))


async def run_connection(
    url: str,
    jwt: str,
    *,
    origin: str | None,
    open_timeout_s: float,
    on_open: Callable[[asyncio.Queue[bytes]], None],
    on_frame: Callable[[str | bytes], Awaitable[None]],
    last_error: Callable[[], Mapping[str, Any] | None],
) -> None:
    """Connect, hand ``on_open`` the outbox a writer task drains, feed every received frame to
    ``on_frame`` in order; always ends by raising :class:`ConnectionEnded`."""
    try:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {jwt}"},
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            origin=origin,  # type: ignore[arg-type]
            open_timeout=open_timeout_s,
            max_size=MAX_FRAME_BYTES,
            close_timeout=CLOSE_TIMEOUT_S,
            proxy=None,
        ) as ws:
            outbox = asyncio.Queue[bytes]()
            writer = asyncio.create_task(_write(ws, outbox))
            on_open(outbox)
            try:
                while True:
                    await on_frame(await ws.recv())
            except asyncio.CancelledError:
                await _close_reading(ws)
                raise
            finally:
                writer.cancel()
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        raise closed(
            rcvd.code if rcvd else None, rcvd.reason if rcvd else "", last_error()
        ) from None
    except InvalidStatus as exc:
        raise refused(exc.response.status_code, bytes(exc.response.body or b"")) from None
    except (OSError, TimeoutError, WebSocketException) as exc:
        log.info("gateway unreachable: %s", exc.__class__.__name__)
        raise ConnectionEnded(decide_close(None)) from None


async def _close_reading(ws: ClientConnection) -> None:
    """Close as the application asked (``Client.close``), reading and discarding whatever is
    still in flight meanwhile: when the application had stopped reading (a ``break`` out of a
    replay), the gateway's answer to the close sits behind that backlog and would otherwise be
    seen only when the close times out."""
    discard = asyncio.create_task(_discard(ws))
    try:
        await ws.close()
    finally:
        discard.cancel()


async def _discard(ws: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in ws:
            pass


async def _write(ws: ClientConnection, outbox: asyncio.Queue[bytes]) -> None:
    while True:
        await ws.send((await outbox.get()).decode())
