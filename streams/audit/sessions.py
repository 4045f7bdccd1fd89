"""``regstream audit sessions``: the access-audit entries of ``gateway.audit`` over a range.

Same bounds and ``--where`` filters as a replay (rows of type AccessAuditEntry, so ``subject``,
``action``, ``via``, ``topic`` are event fields); the CLI turns its dedicated options into
conditions. Entries come in stream order (partition, then offset), which for the one-partition
audit topic is the order they were written. Undecodable records are returned beside the rows,
never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.contract import ACCESS_AUDIT
from schemas.formats import codec_for
from streams.replay.filters import RowFilter
from streams.replay.ranges import Bound
from streams.replay.rows import BadRecord, Row, RowDecoder
from streams.replay.source import Chunk, planned_read
from streams.settings import Settings


@dataclass
class Sessions:
    rows: list[Row] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    lost: int = 0
    """Offsets of the range deleted by retention before they were read."""


async def list_sessions(
    settings: Settings, lower: Bound, upper: Bound, row_filter: RowFilter
) -> Sessions:
    """Entries of the audit topic in ``[lower, upper)`` that match ``row_filter``."""
    decoder = RowDecoder(
        codec_for(settings.wire_format, settings.schema_registry_url), ACCESS_AUDIT
    )
    found = Sessions()
    async with planned_read(settings, settings.audit_topic, lower, upper) as read:
        async for item in read.items():
            if not isinstance(item, Chunk):
                found.lost += item.end - item.first
                continue
            for record in item.records:
                try:
                    rows = decoder.rows(record)
                except BadRecord as bad:
                    found.bad.append(bad)
                    continue
                found.rows.extend(row for row in rows if row_filter.matches(row))
    return found
