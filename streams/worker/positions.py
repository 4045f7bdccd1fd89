"""Where each newly assigned partition starts: its committed offset, else its first offset.

The position guard (:mod:`streams.worker.guard`) must know the first offset a partition owes it
before it can tell a hole from a new start. Only this worker group commits these offsets, and a
worker finishes its deliveries before giving a partition up, so the committed offset read right
after an assignment is exactly where processing resumes.
"""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.settings import Settings

TP = tuple[str, int]


class StartPositions:
    """``await positions(tps)`` → next offset to process for each partition."""

    def __init__(self, settings: Settings, group_id: str, app: Any) -> None:
        self._settings = settings
        self._group_id = group_id
        self._app = app  # the Faust app: its consumer gives the partitions' earliest offsets

    async def __call__(self, tps: list[TP]) -> dict[TP, int]:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._settings.bootstrap_servers,
            client_id=f"{self._settings.client_id}-positions",
            request_timeout_ms=self._settings.request_timeout_ms,
        )
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(
                self._group_id, partitions=[TopicPartition(*tp) for tp in tps]
            )
        finally:
            await admin.close()
        positions: dict[TP, int] = {}
        for tp in tps:
            meta = committed.get(TopicPartition(*tp))
            if meta is not None and meta.offset >= 0:
                positions[tp] = meta.offset
        missing = [tp for tp in tps if tp not in positions]
        if missing:
            from faust.types import TP as FaustTP

            earliest = await self._app.consumer.earliest_offsets(*(FaustTP(*tp) for tp in missing))
            for tp in missing:
                positions[tp] = int(earliest.get(FaustTP(*tp)) or 0)
        return positions
