"""Access audit entries: who read, replayed or published what, as ``AccessAuditEntry`` records.

The record every writer puts on ``gateway.audit`` (the CLI's replays and exports, the gateway's
connections, subscriptions and publishes) is built here, in the data contract, so that the
writers agree on its shape and neither depends on the other: ``streams.access_log`` writes
entries for the CLI, ``gateway.io.audit`` for the gateway.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from schemas.contract import ACCESS_AUDIT

RangeBound = str | Mapping[int, int] | Mapping[str, int] | None


class Action(StrEnum):
    CONNECT = "CONNECT"
    SUBSCRIBE = "SUBSCRIBE"
    REPLAY = "REPLAY"
    DISCONNECT = "DISCONNECT"
    PUBLISH = "PUBLISH"
    EXPORT = "EXPORT"


class Via(StrEnum):
    CLI = "CLI"
    GATEWAY = "GATEWAY"


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One access; ``range_from``/``range_to`` are text (as requested) or offsets per partition."""

    subject: str
    action: Action
    via: Via
    topic: str | None = None
    range_from: RangeBound = None
    range_to: RangeBound = None
    client_address: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)


def _bound(value: RangeBound) -> str | dict[str, int] | None:
    if value is None or isinstance(value, str):
        return value
    return {str(partition): int(offset) for partition, offset in value.items()}


def access_record(
    entry: AccessEntry,
    *,
    source: str,
    occurred_at_ms: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The ``AccessAuditEntry`` record for ``entry`` (pure; the clock and id may be given)."""
    return {
        "metadata": {
            "event_id": event_id or str(uuid.uuid4()),
            "event_type": ACCESS_AUDIT,
            "source": source,
            "occurred_at": int(time.time() * 1000) if occurred_at_ms is None else occurred_at_ms,
            "severity": "INFO",
            "headers": {},
        },
        "subject": entry.subject,
        "action": entry.action.value,
        "via": entry.via.value,
        "topic": entry.topic,
        "from": _bound(entry.range_from),
        "to": _bound(entry.range_to),
        "client_address": entry.client_address,
        "details": dict(entry.details),
    }
