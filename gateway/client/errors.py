"""What can go wrong for a client, as one small tree of typed errors.

Callers react to attributes (``retriable``, ``close_code``, ``code``, ``status``), never to message
text, the same habit as ``gateway.errors`` on the server side::

    ClientError
    ├── HandshakeRejected        HTTP status + error code before the upgrade (``retriable``)
    │   └── AuthenticationFailed 401/403: missing, invalid or expired credentials, bad origin
    ├── ConnectionTerminated     closed with 4500-4999: do not reconnect with the same state
    │   └── ResumeTokenRejected  4510-4513, 4520: the resume token cannot be used again
    ├── SubscriptionRefused      an ``error`` frame answered one subscription (``code``)
    ├── PublishFailed            an ``error`` frame answered one publish (``code``, ``retriable``)
    └── ClientClosed             the client was closed while you waited on it

Every error raised out of a subscription iterator or ``publish`` is one of these; transport
failures (a killed gateway, a reset socket) are never raised: they are what the reconnect loop
is for.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error the client SDK raises."""

    retriable: bool = False


class HandshakeRejected(ClientError):
    """The gateway refused the WebSocket upgrade with an HTTP status and a JSON error code."""

    def __init__(self, status: int, code: str, message: str, *, retriable: bool) -> None:
        super().__init__(f"handshake refused: HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retriable = retriable


class AuthenticationFailed(HandshakeRejected):
    """Credentials missing, invalid, expired without a way to refresh them, or origin refused."""


class ConnectionTerminated(ClientError):
    """The gateway closed with a code in 4500-4999: reconnecting with the same state is useless.

    ``code`` is the gateway's error code from the ``error`` frame sent before the close, when
    there was one (``token_forged``, ``frame_too_large``...).
    """

    def __init__(self, close_code: int, reason: str, code: str | None = None) -> None:
        super().__init__(f"connection closed by the gateway: {close_code} {code or reason}")
        self.close_code = close_code
        self.reason = reason
        self.code = code


class ResumeTokenRejected(ConnectionTerminated):
    """The resume token was refused (forged, expired, another subject, unknown key, beyond end).

    Start again without it, for instance from ``latest``, and tell the user about the
    discontinuity; ``Client(restart_on_token_rejection=True)`` does exactly that.
    """


class SubscriptionRefused(ClientError):
    """The gateway answered a subscription with an ``error`` frame (not authorized, bad filter,
    unknown topic, replay horizon...)."""

    def __init__(self, sub_id: str, code: str, message: str) -> None:
        super().__init__(f"subscription {sub_id!r} refused: {code}: {message}")
        self.sub_id = sub_id
        self.code = code
        self.message = message


class PublishFailed(ClientError):
    """A publish was refused for good (schema, authorization) or retries were exhausted."""

    def __init__(self, event_id: str, code: str, message: str, *, retriable: bool) -> None:
        super().__init__(f"publish of {event_id} failed: {code}: {message}")
        self.event_id = event_id
        self.code = code
        self.message = message
        self.retriable = retriable


class ClientClosed(ClientError):
    """The client was closed (by you, or after a terminal error) while this call waited."""
