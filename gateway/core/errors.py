"""Every way the gateway can refuse something, in one tree, with the close-code table.

Clients decide what to do from numbers, never from message text (centrifuge's
``disconnect.go`` habit): a close code in 4000-4499 means "reconnect (with backoff) and resume
from your last checkpoint token", 4500-4999 means "do not reconnect with the same state". Errors
answered with an ``error`` frame carry a string ``code`` and a ``retriable`` flag instead.

::

    GatewayError                      code, retriable, close_code (None = answered by a frame)
    ├── RequestError                  error frame; the connection stays open
    │   ├── BadFrame                  not JSON, wrong shape, unknown op, too deep
    │   │   └── BadFilter             filter cannot be compiled
    │   ├── UnknownSubscription       unsubscribe of an id that is not active
    │   ├── DuplicateSubscription     subscribe with an id already in use
    │   ├── TooManySubscriptions      per-connection cap reached
    │   ├── NotAuthorized             JWT grants no read/publish on that topic/type
    │   ├── UnknownTopic              no such topic
    │   ├── ReplayTooOld              `from.timestamp` older than the JWT replay horizon
    │   ├── NotInToken                resume token holds no position for that subscription
    │   ├── RateLimited               frame dropped by the token bucket (retriable)
    │   ├── TooManyPendingPublishes   publish window full (retriable)
    │   └── PublishFailed             the broker or the codec refused (retriable per instance)
    ├── ClosingError                  the connection is closed with `close_code`
    │   ├── ServerDraining     4000   retry: instance shutting down, resume elsewhere
    │   ├── InternalError      4001   retry
    │   ├── AuthExpired        4002   retry with a fresh JWT
    │   ├── SlowConsumer       4003   retry: send queue stayed above the watermark too long
    │   ├── RateLimitExceeded  4004   retry after backoff: kept flooding past the bucket
    │   ├── FrameTooLarge      4500   don't
    │   ├── ResumeTokenError          don't (start over without the token: ``drops_token``)
    │   │   ├── TokenForged        4510   bad signature, tampered or malformed
    │   │   ├── TokenExpired       4511
    │   │   ├── TokenForeignSubject 4512  issued to another `sub`
    │   │   └── TokenUnknownKey    4513   key id not (or no longer) configured
    │   └── PositionBeyondEnd  4520   don't: a resume position past the log end is a bug
    │                                 (``drops_token`` too)
    └── HandshakeError                refused before the upgrade, answered with HTTP + JSON
        ├── UnsupportedSubprotocol  400   subprotocols offered, none of them regstream.v1
        ├── AuthError
        │   ├── MissingCredentials  401
        │   ├── InvalidCredentials  401   signature, algorithm, aud, iss, kid, lifetime, claims
        │   └── CredentialsExpired  401
        ├── OriginNotAllowed    403   not ours, not allow-listed (or sent twice)
        ├── TooManyConnections  429   per subject or per IP (retriable)
        └── AuthUnavailable     503   JWKS endpoint unreachable (retriable)
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class CloseCode(IntEnum):
    """The WebSocket close codes the gateway uses. The range alone says whether to reconnect."""

    SERVER_DRAINING = 4000
    INTERNAL_ERROR = 4001
    AUTH_EXPIRED = 4002
    SLOW_CONSUMER = 4003
    RATE_LIMITED = 4004
    FRAME_TOO_LARGE = 4500
    TOKEN_FORGED = 4510
    TOKEN_EXPIRED = 4511
    TOKEN_FOREIGN_SUBJECT = 4512
    TOKEN_UNKNOWN_KEY = 4513
    POSITION_BEYOND_END = 4520


RETRY_RANGE = range(4000, 4500)
TERMINAL_RANGE = range(4500, 5000)


def is_retriable_close(code: int) -> bool:
    """What a client must conclude from a close code: True means reconnect and resume."""
    return code in RETRY_RANGE


class GatewayError(Exception):
    """Base of every refusal; carries what a client needs to react without parsing text."""

    code: ClassVar[str] = "error"
    close_code: ClassVar[CloseCode | None] = None
    default_retriable: ClassVar[bool] = False

    def __init__(self, message: str = "", *, retriable: bool | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.retriable = self.default_retriable if retriable is None else retriable


# -- answered with an error frame ---------------------------------------------------------------


class RequestError(GatewayError):
    """A refused client frame; answered with ``error {code, message, id?}``."""


class BadFrame(RequestError):
    code = "bad_frame"


class BadFilter(BadFrame):
    code = "bad_filter"


class UnknownSubscription(RequestError):
    code = "unknown_subscription"


class DuplicateSubscription(RequestError):
    code = "duplicate_subscription"


class TooManySubscriptions(RequestError):
    code = "too_many_subscriptions"


class NotAuthorized(RequestError):
    code = "not_authorized"


class UnknownTopic(RequestError):
    code = "unknown_topic"


class ReplayTooOld(RequestError):
    code = "replay_horizon"


class NotInToken(RequestError):
    code = "not_in_token"


class RateLimited(RequestError):
    code = "rate_limited"
    default_retriable = True


class TooManyPendingPublishes(RequestError):
    code = "too_many_pending_publishes"
    default_retriable = True


class PublishFailed(RequestError):
    code = "publish_failed"


# -- answered by closing the connection ---------------------------------------------------------


class ClosingError(GatewayError):
    """An error that ends the connection; ``retriable`` follows from the close-code range.
    ``drops_token``: the close blames the client's resume token, so starting over without it
    (and telling the user about the discontinuity) is the way on."""

    close_code: ClassVar[CloseCode] = CloseCode.INTERNAL_ERROR
    drops_token: ClassVar[bool] = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message, retriable=is_retriable_close(self.close_code))


class ServerDraining(ClosingError):
    code = "server_draining"
    close_code = CloseCode.SERVER_DRAINING


class InternalError(ClosingError):
    code = "internal_error"
    close_code = CloseCode.INTERNAL_ERROR


class AuthExpired(ClosingError):
    code = "auth_expired"
    close_code = CloseCode.AUTH_EXPIRED


class SlowConsumer(ClosingError):
    code = "slow_consumer"
    close_code = CloseCode.SLOW_CONSUMER


class RateLimitExceeded(ClosingError):
    code = "rate_limited"
    close_code = CloseCode.RATE_LIMITED


class FrameTooLarge(ClosingError):
    code = "frame_too_large"
    close_code = CloseCode.FRAME_TOO_LARGE


class ResumeTokenError(ClosingError):
    """The resume token cannot be trusted; the client must start over without it."""

    drops_token = True


class TokenForged(ResumeTokenError):
    code = "token_forged"
    close_code = CloseCode.TOKEN_FORGED


class TokenExpired(ResumeTokenError):
    code = "token_expired"
    close_code = CloseCode.TOKEN_EXPIRED


class TokenForeignSubject(ResumeTokenError):
    code = "token_foreign_subject"
    close_code = CloseCode.TOKEN_FOREIGN_SUBJECT


class TokenUnknownKey(ResumeTokenError):
    code = "token_unknown_key"
    close_code = CloseCode.TOKEN_UNKNOWN_KEY


class PositionBeyondEnd(ClosingError):
    code = "position_beyond_end"
    close_code = CloseCode.POSITION_BEYOND_END
    drops_token = True


# -- handshake (HTTP, before the upgrade) -------------------------------------------------------


class HandshakeError(GatewayError):
    """Refused handshake; the server answers ``http_status`` with ``{"error": code, "message"}``."""

    http_status: ClassVar[int] = 400


class UnsupportedSubprotocol(HandshakeError):
    code = "unsupported_subprotocol"


class AuthError(HandshakeError):
    """The credentials are missing or not acceptable."""

    http_status = 401


class MissingCredentials(AuthError):
    code = "missing_credentials"


class InvalidCredentials(AuthError):
    code = "invalid_credentials"


class CredentialsExpired(AuthError):
    code = "credentials_expired"


class OriginNotAllowed(HandshakeError):
    code = "origin_not_allowed"
    http_status = 403


class TooManyConnections(HandshakeError):
    code = "too_many_connections"
    http_status = 429
    default_retriable = True


class AuthUnavailable(HandshakeError):
    code = "auth_unavailable"
    http_status = 503
    default_retriable = True


def closing_errors() -> dict[int, type[ClosingError]]:
    """The close-code table as code → error class (docs/protocol.md mirrors it; a test checks)."""
    found: dict[int, type[ClosingError]] = {}
    pending: list[type[ClosingError]] = [ClosingError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__subclasses__() or cls is ClosingError:
            continue
        found[int(cls.close_code)] = cls
    return dict(sorted(found.items()))


def token_rejecting_codes() -> frozenset[int]:
    """Close codes after which a client drops its resume token (``drops_token``)."""
    return frozenset(code for code, cls in closing_errors().items() if cls.drops_token)
