"""The WebSocket layer's own refusals, answered with the codes docs/protocol.md documents.

``websockets`` stops reading a message as soon as its length passes ``max_size`` (so an
oversized frame never costs more than that much memory) and fails the connection with the
standard 1009. regstream's contract for an oversized client frame is ``frame_too_large``
(close 4500, "do not reconnect with the same state"), whichever layer notices it: the server
sets ``max_size`` to ``max_frame_bytes`` and :class:`GatewayWire` translates that one failure,
sending the same ``error`` frame and close the sans-I/O core sends for a frame it refuses.
Every other failure (1002 protocol error, 1007 invalid UTF-8, ...) keeps its standard code.

It also writes the gateway's messages itself, synchronously (:meth:`GatewayWire.write`), so
that fan-out costs no copy of a shared body per client (STYLE.md §11): a data frame goes out
as three WebSocket frames of one text message: its own small head (``{"op":"batch","id":…,
"events":``), the body as a continuation frame whose payload is the shared bytes object itself,
written to every connection as it is, and a final ``}``. Server frames are not masked, so the
body's bytes are the same for everyone; only a few header bytes are built per client. On a
plain TCP connection whose transport holds nothing, the three go out in one ``writev`` system
call straight from those objects (asyncio on Python 3.11 would join them, or send each with a
call of its own); anything the socket does not take is handed to the transport, which buffers
it and sends it when the socket is writable, as it does for everything else. With permessage-deflate negotiated each
connection compresses on its own, and messages go through ``websockets`` as a whole.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode as WsCloseCode
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from gateway.core import frames
from gateway.core.errors import FrameTooLarge
from gateway.core.records import TAIL, SharedFrame

TEXT, CONTINUATION, FIN = 0x1, 0x0, 0x80
LAST_FRAGMENT = bytes((FIN | CONTINUATION, len(TAIL))) + TAIL


def frame_header(first: int, length: int) -> bytes:
    """RFC 6455 §5.2 header of an unmasked frame: FIN + opcode byte, then the payload length."""
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


class GatewayWire(ServerConnection):
    """A ``websockets`` server connection whose "message too big" failure is close 4500."""

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        fail = protocol.fail

        def fail_as_documented(code: int, reason: str = "") -> None:
            if code == WsCloseCode.MESSAGE_TOO_BIG and protocol.state is OPEN:
                err = FrameTooLarge(f"frame exceeds {protocol.max_message_size} bytes")
                protocol.send_text(frames.error(err))
                fail(int(err.close_code), err.code)
            else:
                fail(code, reason)

        protocol.fail = fail_as_documented  # type: ignore[method-assign]
        super().__init__(protocol, *args, **kwargs)
        self._fd: int | None = None  # the socket to write to directly; found on first use
        self._fd_known = False

    def write(self, message: bytes | SharedFrame) -> bool:
        """Write one text message now, without waiting (the caller watches ``paused``).
        False when the connection is no longer open: nothing was written."""
        if self.protocol.state is not OPEN:
            return False
        if self.protocol.extensions or not isinstance(message, SharedFrame):
            self.protocol.send_text(bytes(message))  # small frames, or compressed per client
            self.send_data()
            return True
        head, body = message.head, message.body
        # this client's head, then the header of the body's frame: small, built per client
        parts = [
            frame_header(TEXT, len(head)) + head + frame_header(CONTINUATION, len(body)),
            body,  # the shared object itself, never copied here
            LAST_FRAGMENT,
        ]
        transport = self.transport
        fd = self._plain_fd()
        if fd is not None and not transport.get_write_buffer_size() and not transport.is_closing():
            parts = _written(parts, _writev(fd, parts))  # one system call, no copy
        for part in parts:  # what the socket did not take: the transport buffers and sends it
            transport.write(part)
        return True

    def _plain_fd(self) -> int | None:
        """The socket's descriptor when writing to it directly is the same as the transport
        writing (a plain TCP transport, not TLS); None otherwise."""
        if not self._fd_known:
            transport, self._fd_known = self.transport, True
            sock = transport.get_extra_info("socket")
            if sock is not None and transport.get_extra_info("ssl_object") is None:
                self._fd = int(sock.fileno())
        return self._fd


def _writev(fd: int, parts: list[bytes]) -> int:
    """Bytes the socket took at once (0 when it would block or failed: the transport then
    writes all of it itself and meets the error the usual way)."""
    try:
        return os.writev(fd, parts)
    except OSError:
        return 0


def _written(parts: list[bytes], n: int) -> list[bytes]:
    """What is left of ``parts`` once their first ``n`` bytes went out (a view, not a copy)."""
    left: list[bytes] = []
    for part in parts:
        if n >= len(part):
            n -= len(part)
            continue
        left.append(memoryview(part)[n:] if n else part)  # type: ignore[arg-type]
        n = 0
    return left
