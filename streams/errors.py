"""The one error hierarchy of the pipeline package: every error ``streams`` raises on purpose.

Callers branch on the class and its attributes, never on message text. Each error also keeps the
builtin base that says what kind of failure it is, so ``except ValueError`` around a parser still
works::

    StreamsError                 anything raised by ``streams`` (``retriable``: may trying again help)
    ├── BrokerUnavailable        Kafka unreachable at the bootstrap address (ConnectionError; retriable)
    ├── BrokerError              the local broker could not be fetched, started or stopped (RuntimeError)
    ├── AlreadyRunning           another `regstream dev` holds this broker directory (RuntimeError)
    ├── TopicsNotCreated         the cluster refused to create topics (RuntimeError; retriable)
    ├── ChainConflict            an audit event_id already chained came with other content (ValueError;
    │                            ``dlq_reason``)
    ├── OutputTooLarge           an enriched event does not fit a Kafka record (ValueError; ``dlq_reason``)
    ├── LineTooLong              an input line over the byte cap (ValueError)
    ├── CheckpointMismatch       a replay checkpoint written by another export (ValueError)
    ├── UnknownTopic             the topic does not exist on the cluster (LookupError)
    ├── RangeUnavailable         the log ends before the planned end (LookupError)
    ├── BadRecord                a record that is not a decodable event of the expected type, and where
    └── ExportFailed             a bad record stopped an export (RuntimeError; ``bad``)

Errors of the data contract are ``schemas.errors.SchemaError``; the gateway's are
``gateway.core.errors.GatewayError``.
"""

from __future__ import annotations

from typing import ClassVar


class StreamsError(Exception):
    """Base class of every error raised by the ``streams`` package."""

    retriable: ClassVar[bool] = False
