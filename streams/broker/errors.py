"""Errors of the local broker tooling; each message says what the operator should do."""

from __future__ import annotations

from streams.errors import StreamsError


class BrokerError(StreamsError, RuntimeError):
    """The local broker could not be fetched, started or stopped."""
