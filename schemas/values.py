"""Value rules every event obeys beyond its Avro types: one contract for every door into Kafka.

The Avro schema says ``occurred_at`` is a ``long`` and ``event_id`` a string; it cannot say that a
timestamp lies in a calendar a person can read, that an id is a UUID, or that a number is finite.
A record that breaks these rules is carried by Avro but not by what follows it: the worker
computes ``now - occurred_at`` (a ``long`` overflow for ``occurred_at = -2**63``), dashboards get
``NaN`` in JSON (which is not JSON), and a non-canonical id defeats dedupe. So the same rules
run in every place an event enters or is checked:

- :class:`schemas.body.BodyWriter` (the encoder: producer SDK, ``regstream produce``, the
  gateway's ``publish``, ``regstream dlq replay --fixed``) refuses such a record with
  ``EncodeError`` naming the field;
- :func:`streams.pipeline.checks.validate` (the worker) dead-letters one that arrived anyway
  (written by kcat or another Avro producer) with an ``invalid:*`` reason.

Sizes belong to the same contract: :data:`MAX_EVENT_BYTES` is the largest encoded event the
pipeline promises to carry into ``live.*`` (an ``EventBatch`` record must also hold its
enrichment and envelope under the worker's record limit).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

MIN_TIMESTAMP_MS: Final = 0
"""1970-01-01T00:00:00Z: the earliest ``occurred_at`` accepted."""
MAX_TIMESTAMP_MS: Final = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the latest ``occurred_at`` a calendar (and ISO 8601) can write."""
MAX_EVENT_BYTES: Final = 768 * 1024
"""The largest Avro body of an event (the wire format's 5-10 header bytes come on top) that the
encoder accepts: every event it writes fits an ``EventBatch`` with room for its enrichment."""

UUID_PATTERN: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""The canonical lowercase 36-character UUID: the dedupe key must have exactly one spelling."""


class Violation(NamedTuple):
    """A broken rule: ``reason`` is a short code (``event-id``), ``path`` the field, ``detail`` why."""

    reason: str
    path: str
    detail: str


def check_event_values(record: Mapping[str, Any], path: str = "") -> Violation | None:
    """The first value rule ``record`` (an event of one of the six types) breaks, or None.

    Checked: ``metadata.event_id`` is a canonical UUID, ``metadata.occurred_at`` lies within
    [:data:`MIN_TIMESTAMP_MS`, :data:`MAX_TIMESTAMP_MS`], and no float anywhere in the record is
    NaN or infinite. Types are the schema's business and are not checked here.
    """
    prefix = f"{path}." if path else ""
    metadata = record.get("metadata")
    if isinstance(metadata, Mapping):
        event_id = metadata.get("event_id")
        if isinstance(event_id, str) and not UUID_PATTERN.fullmatch(event_id):
            return Violation(
                "event-id", f"{prefix}metadata.event_id", "not a canonical lowercase UUID"
            )
        occurred_at = metadata.get("occurred_at")
        if isinstance(occurred_at, int) and not (
            MIN_TIMESTAMP_MS <= occurred_at <= MAX_TIMESTAMP_MS
        ):
            return Violation(
                "timestamp-range",
                f"{prefix}metadata.occurred_at",
                f"{occurred_at} is outside 1970-01-01..9999-12-31 "
                f"({MIN_TIMESTAMP_MS}..{MAX_TIMESTAMP_MS} ms)",
            )
    if _has_non_finite(record):
        found = _non_finite(record, path)
        assert found is not None, "both walks visit the same numbers"
        where, value = found
        return Violation("non-finite-number", where, f"{value!r} is not a finite number")
    return None


_SCALARS: Final = frozenset({str, int, bool, bytes, type(None)})


def _has_non_finite(value: Any) -> bool:
    """Is there a NaN/Infinity anywhere in ``value``? Every event is asked this, so it builds no
    paths (naming the field is :func:`_non_finite`'s job, for the rare record that has one) and
    skips the exact scalar types a decoded record is mostly made of without a call."""
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is dict:
        items: Iterable[Any] = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif isinstance(value, float):
        return not math.isfinite(value)
    elif isinstance(value, Mapping):
        items = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return False
    # a loop, not any(generator): this runs for every container of every event
    for item in items:  # noqa: SIM110
        if type(item) not in _SCALARS and _has_non_finite(item):
            return True
    return False


def _non_finite(value: Any, path: str) -> tuple[str, float] | None:
    """Where the first NaN/Infinity sits in a decoded Avro value (records, maps, arrays)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, Mapping):
        items: Iterable[tuple[str, Any]] = (
            (f"{path}.{key}" if path else str(key), item) for key, item in value.items()
        )
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for where, item in items:
        if isinstance(item, float | Mapping | list | tuple):
            found = _non_finite(item, where)
            if found is not None:
                return found
    return None
