"""The WebSocket layer's own refusals, answered with the codes docs/protocol.md documents.

``websockets`` stops reading a message as soon as its length passes ``max_size`` (so an
oversized frame never costs more than that much memory) and fails the connection with the
standard 1009. regstream's contract for an oversized client frame is ``frame_too_large``
(close 4500, "do not reconnect with the same state"), whichever layer notices it: the server
sets ``max_size`` to ``max_frame_bytes`` and :class:`GatewayWire` translates that one failure,
sending the same ``error`` frame and close the sans-I/O core sends for a frame it refuses.
Every other failure (1002 protocol error, 1007 invalid UTF-8, ...) keeps its standard code.
"""

from __future__ import annotations

from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode as WsCloseCode
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from gateway.core import frames
from gateway.core.errors import FrameTooLarge


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
