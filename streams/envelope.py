"""The envelope fields a publisher may leave out, and what they become: the rule `regstream
produce` applies to each line, the same the SDKs' ``publish()`` applies to each event.

``metadata`` (or any of its fields) may be missing from a line; what is absent is filled in,
what is present is kept as it is (and still validated):

============== =====================================================================
event_id       a new random UUID; give your own to make re-running a file idempotent
event_type     the type the command publishes
occurred_at    the time the line was read, epoch milliseconds
severity       ``INFO``
source         the publisher's name (``regstream-produce`` for the command)
headers        ``{}``
============== =====================================================================
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Final

DEFAULTS: Final[dict[str, Callable[[str, str], Any]]] = {
    "event_id": lambda _type, _source: str(uuid.uuid4()),
    "event_type": lambda event_type, _source: event_type,
    "occurred_at": lambda _type, _source: int(time.time() * 1000),
    "severity": lambda _type, _source: "INFO",
    "source": lambda _type, source: source,
    "headers": lambda _type, _source: {},
}


def complete_metadata(event_type: str, record: dict[str, Any], source: str) -> list[str]:
    """Fill the envelope fields ``record`` lacks, in place; return their names. A ``metadata``
    that is not an object is left for validation to refuse."""
    metadata = record.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return []
    filled = [name for name in DEFAULTS if name not in metadata]
    for name in filled:
        metadata[name] = DEFAULTS[name](event_type, source)
    return filled
