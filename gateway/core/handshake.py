"""What a WebSocket upgrade request must show before the JWT is even verified, without I/O.

The checks run cheapest first, so a hostile request costs as little as possible (the server
has already answered any method but GET with 405): the ``Origin`` (exactly one, ours or
allow-listed, never judged against the client's ``Host``), the offered subprotocols (if any is
named, ours must be among them: a client expecting another protocol is told so instead of being
answered in one it did not ask for), then where the bearer token is. The server then verifies
the token (maybe in a thread) and applies the connection caps. Sizes are bounded before this
runs: the HTTP parser refuses header lines over 8 KiB and more than 128 headers, and the whole
handshake must finish within ``handshake_timeout_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.auth import (
    BEARER_PREFIX,
    SUBPROTOCOL,
    Credentials,
    HeaderSource,
    extract_credentials,
    offered_subprotocols,
)
from gateway.core.errors import OriginNotAllowed, UnsupportedSubprotocol
from gateway.core.origin import OriginPolicy


def check_subprotocols(offered: Sequence[str]) -> None:
    """Offering nothing (or only the bearer slot) is fine; naming others but not ours is not."""
    named = [p for p in offered if not p.lower().startswith(BEARER_PREFIX)]
    if named and SUBPROTOCOL not in named:
        raise UnsupportedSubprotocol(f"offer {SUBPROTOCOL}; no other subprotocol is spoken")


def single_origin(headers: HeaderSource) -> str | None:
    """The request's ``Origin``; two of them are refused rather than picking one."""
    values = headers.get_all("Origin")
    if len(values) > 1:
        raise OriginNotAllowed("more than one Origin header")
    return values[0] if values else None


@dataclass(frozen=True)
class Handshake:
    """The request checks of one listening server; see the module docstring for the order."""

    origins: OriginPolicy

    def screen(self, headers: HeaderSource) -> Credentials:
        """Raise the :class:`~gateway.core.errors.HandshakeError` that refuses the request, or
        return its credentials, still unverified."""
        self.origins.check(single_origin(headers))
        check_subprotocols(offered_subprotocols(headers))
        return extract_credentials(headers)
