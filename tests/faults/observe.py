"""What the checker is given at the end, read from Kafka with read_committed: the events in
``live.*`` with their source positions, the dead letters' source positions, and the worker
ledger's filtered counts; and the conditions a run waits for before it reads them."""

from __future__ import annotations

import sys
from collections import Counter

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.pipeline.policy import parse_dead_letter_headers
from streams.settings import Settings
from streams.worker.ledger import read_counts
from tests.faults.checker import Ack, InputPos, LiveEvent, PipelineEnd
from tests.integration.test_worker_harness import app_id, iter_outputs, read_dlq


async def read_live(settings: Settings) -> list[LiveEvent]:
    """Every committed event of ``live.*``: its id, position and source position, nothing more
    kept (a long run holds a million of them)."""
    return [
        LiveEvent(
            sys.intern(e.event_id),
            (e.event_type, e.partition, e.offset, e.index),
            (e.event_type, e.source_partition, e.source_offset),
        )
        async for e in iter_outputs(settings, timeout_s=600)
    ]


async def pipeline_end(settings: Settings) -> PipelineEnd:
    live = await read_live(settings)
    dead: set[InputPos] = set()
    for letter in await read_dlq(settings):
        topic, partition, offset = parse_dead_letter_headers(letter.headers).source
        event_type = settings.catalog.event_type_of(topic)
        if event_type is not None:
            dead.add((event_type, partition, offset))
    filtered: Counter[tuple[str, int]] = Counter()
    for key, count in (await read_counts(settings, app_id(settings), timeout_s=120)).items():
        event_type = settings.catalog.event_type_of(key.topic)
        if key.outcome == "filtered" and event_type is not None:
            filtered[(event_type, key.partition)] += count
    return PipelineEnd(live, dead, filtered)


async def processed_all(settings: Settings, acks: list[Ack]) -> bool:
    """Whether the worker group committed past every acknowledged input record."""
    wanted: dict[tuple[str, int], int] = {}
    for ack in acks:
        tp = (settings.catalog.input_topic(ack.event_type), ack.partition)
        wanted[tp] = max(wanted.get(tp, 0), ack.offset + 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        await admin.start()
        committed = await admin.list_consumer_group_offsets(app_id(settings))
    except KafkaError:
        return False  # the cluster is still recovering; asked again later
    finally:
        await admin.close()
    done = {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()}
    return all(done.get(tp, -1) >= end for tp, end in wanted.items())
