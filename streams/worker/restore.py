"""Recovery: load a partition's state from its changelogs before its first record is processed.

Runs when the worker first sees a record of an input partition number it does not hold state
for (at start, and after every rebalance, since eager rebalancing revokes everything). By then
this worker's transactional producer for that partition has been initialised, which aborts any
transaction a previous owner left open, so the changelogs' last stable offset is final: reading
them with ``read_committed`` up to it yields exactly the committed state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from aiokafka import TopicPartition

from streams.kafka import committed_consumer
from streams.settings import Settings
from streams.worker.state import ChangelogTable

log = logging.getLogger(__name__)


async def restore_partitions(
    settings: Settings,
    tables: Iterable[ChangelogTable],
    partitions: Iterable[int],
    *,
    timeout_s: float = 300.0,
) -> int:
    """Apply every committed changelog record of ``partitions`` to ``tables``; return the count."""
    by_topic: Mapping[str, ChangelogTable] = {table.changelog_topic: table for table in tables}
    tps = [TopicPartition(topic, p) for topic in by_topic for p in sorted(partitions)]
    if not tps:
        return 0
    started = time.monotonic()
    consumer = committed_consumer(settings, max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    applied = 0
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"restoring {sorted(map(str, pending))} took over {timeout_s} s")
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=50_000)
            for tp, messages in batches.items():
                table = by_topic[tp.topic]
                for message in messages:
                    table.restore(tp.partition, message.key or b"null", message.value)
                applied += len(messages)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    log.info(
        "restored partitions %s: %d changelog records in %.1f s",
        sorted(partitions),
        applied,
        time.monotonic() - started,
    )
    return applied
