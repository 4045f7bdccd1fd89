"""The regstream transport's drain loop: whole fetches to the handler, Faust's guarantees kept.

The loop is driven with scripted fetches in place of the consumer thread (no broker here; the
worker's integration tests run it against a real one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import faust
import pytest
from aiokafka import ConsumerRecord
from faust.transport.drivers import TRANSPORTS
from faust.types import TP

from streams.worker.transport import (
    FAUST_VERSION,
    BatchConsumer,
    Records,
    Transport,
    check_faust_version,
    deliver_batches,
)

A, B = TP("events.a", 0), TP("events.a", 1)


def record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, ()
    )  # fmt: skip


class Script:
    """Stands in for the consumer thread: returns the scripted fetches, then stops the loop."""

    def __init__(self, consumer: BatchConsumer, fetches: list[tuple[dict[TP, Any], set[TP]]]):
        self._consumer = consumer
        self._fetches: Iterator[tuple[dict[TP, Any], set[TP]]] = iter(fetches)
        self.seeks = 0

    async def next_records(self, wait_s: float) -> tuple[dict[TP, Any], set[TP]]:
        await asyncio.sleep(0)
        fetch = next(self._fetches, None)
        if fetch is None:
            self._consumer._stopped.set()
            return {}, set()
        return fetch

    async def perform_seek(self) -> None:
        self.seeks += 1


class Fetcher:
    def __init__(self) -> None:
        self._stopped = asyncio.Event()


@pytest.fixture(autouse=True)
def close_consumer_threads() -> Iterator[None]:
    """Faust gives each consumer a thread with an event loop of its own, made up front."""
    yield
    for consumer in MADE:
        consumer._thread.thread_loop.close()
    MADE.clear()


MADE: list[BatchConsumer] = []


def regstream_app(name: str) -> tuple[faust.App, BatchConsumer]:
    app = faust.App(name, broker="regstream://127.0.0.1:9")
    consumer = app.consumer
    assert isinstance(consumer, BatchConsumer)
    MADE.append(consumer)
    return app, consumer


def consumer_with(
    fetches: list[tuple[dict[TP, Any], set[TP]]], handler: Any
) -> tuple[faust.App, BatchConsumer, Script]:
    app, consumer = regstream_app(f"t-{id(fetches)}")
    script = Script(consumer, fetches)
    consumer._wait_next_records = script.next_records  # type: ignore[method-assign]
    consumer.perform_seek = script.perform_seek  # type: ignore[method-assign]
    consumer.flow_active = True
    if handler is not None:
        deliver_batches(app, handler)
    return app, consumer, script


def test_the_installed_faust_is_the_one_the_loop_was_checked_against() -> None:
    check_faust_version()
    with pytest.raises(RuntimeError, match=FAUST_VERSION):
        check_faust_version("0.16.0")


async def test_the_regstream_scheme_selects_the_batch_consumer() -> None:
    app, _ = regstream_app("scheme")
    assert isinstance(app.transport, Transport)


async def test_an_install_without_the_entry_point_still_finds_the_scheme() -> None:
    TRANSPORTS.by_url("kafka://x")  # loads the entry points first
    registered = TRANSPORTS.aliases.pop("regstream")
    try:
        deliver_batches(faust.App("stale"), lambda records: asyncio.sleep(0))
        assert TRANSPORTS.by_url("regstream://127.0.0.1:9") is Transport
    finally:
        TRANSPORTS.aliases["regstream"] = registered


async def test_each_fetch_is_handed_over_whole_for_active_partitions_only() -> None:
    handed: list[list[tuple[str, int, int]]] = []

    async def handler(records: Records) -> None:
        handed.append([(r.topic, r.partition, r.offset) for r in records])

    fetches = [
        ({A: [record(A, 0), record(A, 1)], B: [record(B, 7)]}, {A, B}),
        ({A: [record(A, 2)], B: [record(B, 8)]}, {A}),  # B was paused meanwhile
    ]
    _, consumer, _ = consumer_with(fetches, handler)
    await consumer._drain_messages(Fetcher())
    assert handed == [
        [("events.a", 0, 0), ("events.a", 0, 1), ("events.a", 1, 7)],
        [("events.a", 0, 2)],
    ]


async def test_records_fetched_while_the_flow_is_stopped_are_not_handed_over() -> None:
    handed: list[Records] = []

    async def handler(records: Records) -> None:
        handed.append(records)

    _, consumer, script = consumer_with([({A: [record(A, 0)]}, {A})], handler)
    consumer.flow_active = False
    await consumer._drain_messages(Fetcher())
    assert handed == []
    assert script.seeks == 1  # as Faust's own loop: back to the committed offsets


async def test_wait_empty_waits_for_the_batch_being_handled() -> None:
    release = asyncio.Event()
    done: list[str] = []

    started = asyncio.Event()

    async def handler(records: Records) -> None:
        started.set()
        await release.wait()
        done.append("batch")

    _, consumer, _ = consumer_with([({A: [record(A, 0)]}, {A})], handler)
    drain = asyncio.create_task(consumer._drain_messages(Fetcher()))
    await started.wait()
    waiting = asyncio.create_task(consumer.wait_empty())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    release.set()
    await waiting
    assert done == ["batch"]
    await drain


async def test_a_handler_that_raises_crashes_the_app_and_nothing_more_is_handed_over() -> None:
    handed: list[int] = []
    crashed: list[BaseException] = []
    error = ValueError("a defect")

    async def handler(records: Records) -> None:
        handed.append(records[0].offset)
        raise error

    app, consumer, _ = consumer_with(
        [({A: [record(A, 0)]}, {A}), ({A: [record(A, 1)]}, {A})], handler
    )

    async def crash(reason: BaseException) -> None:
        crashed.append(reason)

    app.crash = crash  # type: ignore[method-assign]
    await consumer._drain_messages(Fetcher())
    assert handed == [0]
    assert crashed == [error]
    assert consumer._idle.is_set()
