"""What to do when a connection ends or is refused: decided from numbers, never from text.

Close codes (docs/protocol.md §8, ``gateway.core.errors.CloseCode``): the **range alone** says whether
to reconnect: 4000-4499 yes (and resume), 4500-4999 no. Inside the retry range two codes also
say *how*: 4002 wants a fresh JWT first, 4004 a longer wait. Codes outside 4000-4999 (1001 going
away, 1006 no close frame at all because the process died, 1011...) describe the transport, not
our state, so they are retried like a network failure.

Handshake refusals come as HTTP statuses with a JSON ``error`` code (§1): 429 and 5xx are
retried with backoff; 401 ``credentials_expired`` is retried after refreshing the JWT (when a
refresh callback exists); other 4xx are final.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.errors import (
    TERMINAL_RANGE,
    CloseCode,
    closing_errors,
    is_retriable_close,
    token_rejecting_codes,
)

TOKEN_REJECTED = token_rejecting_codes()
"""Terminal codes that blame the resume token: starting over without it is legitimate."""

CLOSING_ERRORS = frozenset(
    cls.code for code, cls in closing_errors().items() if code in TERMINAL_RANGE
)
"""``error`` codes sent right before a terminal close. Such a frame may name the subscription
that caused it, but it ends the connection, not just that subscription: the close decides."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The reaction to one ended or refused connection."""

    reconnect: bool
    refresh_credentials: bool = False
    longer_backoff: bool = False
    token_rejected: bool = False


def decide_close(code: int | None) -> Decision:
    """Reaction to a close code (None: no close frame was received, e.g. the gateway died)."""
    if code is None or code not in range(4000, 5000):
        return Decision(reconnect=True)
    if is_retriable_close(code):
        return Decision(
            reconnect=True,
            refresh_credentials=code == CloseCode.AUTH_EXPIRED,
            longer_backoff=code == CloseCode.RATE_LIMITED,
        )
    return Decision(reconnect=False, token_rejected=code in TOKEN_REJECTED)


def decide_handshake(status: int, code: str) -> Decision:
    """Reaction to an HTTP refusal of the upgrade (``code`` from its JSON body, or "")."""
    if status == 429 or status >= 500:
        return Decision(reconnect=True, longer_backoff=status == 429)
    if status == 401 and code == "credentials_expired":
        return Decision(reconnect=True, refresh_credentials=True)
    return Decision(reconnect=False)
