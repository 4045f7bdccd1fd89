"""One shared tail reader per topic: read ``live.<type>`` at its end, decode each record once,
and hand the same :class:`~gateway.core.records.Record` objects to every watching session.

It runs while any session watches the topic, including sessions only catching up (they need
its positions to know when to rejoin), and lingers briefly after the last one leaves so a
reconnect wave does not restart it. Positions are the offset after the last record fed, or
where the reader started, never ``consumer.position()``: a transaction marker after the last
record must not look like a record this subscription missed.

Failures: a position below the log start (retention overtook a lagging tail) restarts those
partitions at the log start; the sessions then see the tail ahead of them and catch up, and
their catch-up reader reports the gap. A changed epoch (the topic was deleted and recreated)
fails every watcher with a retry close code so clients resume and are told ``topic-recreated``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError

from gateway.core.records import Record, weight
from gateway.io.kafka_io import DecodedCache, Resolver, reader_consumer
from gateway.io.metrics import GatewayMetrics
from schemas.codec import Codec
from streams.settings import Settings

log = structlog.get_logger("gateway.tail")
EPOCH_CHECK_S = 10.0
LINGER_S = 30.0


class TailWatcher(Protocol):
    def on_tail_batch(
        self, name: str, records: list[Record], positions: Mapping[int, int]
    ) -> None: ...

    def on_tail_lost(self, name: str, reason: str) -> None: ...


class TailReader:
    """The reader of one topic (client-facing ``name``, Kafka ``kafka_topic``)."""

    def __init__(
        self,
        name: str,
        kafka_topic: str,
        settings: Settings,
        codec: Codec,
        resolver: Resolver,
        metrics: GatewayMetrics,
        cache: DecodedCache,
        history_events: int = 0,
    ) -> None:
        self._cache = cache
        self.name, self.kafka_topic = name, kafka_topic
        self._settings, self._codec, self._resolver, self._metrics = (
            settings,
            codec,
            resolver,
            metrics,
        )
        self.watchers: set[TailWatcher] = set()
        self.positions: dict[int, int] | None = None
        self.running = False
        self._task: asyncio.Task[None] | None = None
        self._idle_since: float | None = None
        self.history = TailHistory(history_events)

    def add(self, watcher: TailWatcher) -> None:
        self.watchers.add(watcher)
        self._idle_since = None
        if self.positions is not None:
            watcher.on_tail_batch(self.name, [], dict(self.positions))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"tail:{self.name}")

    def remove(self, watcher: TailWatcher) -> None:
        self.watchers.discard(watcher)
        if not self.watchers:
            self._idle_since = time.monotonic()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                if await self._read():
                    return  # idle past the linger: stopped on purpose
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker trouble: report, back off, start over
                log.warning("tail reader restarting", topic=self.kafka_topic, error=repr(exc)[:200])
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.running = False

    async def _read(self) -> bool:
        found = await self._resolver.partitions(self.kafka_topic)
        if found is None:
            await asyncio.sleep(1.0)  # the topic does not exist yet; watchers stay pending
            return self._linger_over()
        epoch, partitions = found
        consumer = reader_consumer(self._settings, fetch_max_wait_ms=200)
        await consumer.start()
        try:
            tps = [TopicPartition(self.kafka_topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            positions = {tp.partition: await consumer.position(tp) for tp in tps}
            self.history.clear()
            self.positions, self.running = positions, True
            self._metrics.tail_readers.inc()
            log.info("tail reader started", topic=self.kafka_topic, positions=positions)
            self._broadcast([], positions)
            told = dict(positions)  # what the watchers last heard
            checked = time.monotonic()
            try:
                while not self._linger_over():
                    try:
                        data = await consumer.getmany(timeout_ms=500, max_records=5000)
                    except OffsetOutOfRangeError:
                        await self._restart_lost(consumer, tps, positions)
                        continue
                    records: list[Record] = []
                    for tp, msgs in data.items():
                        prev = positions[tp.partition]
                        for msg in msgs:
                            records.append(
                                self._cache.record(self._codec, self.name, msg, prev, self._metrics)
                            )
                            prev = msg.offset + 1
                        positions[tp.partition] = prev
                        if msgs:
                            self.history.extend(tp.partition, records[-len(msgs) :])
                    if records or positions != told:  # an empty fetch tells nobody anything
                        self._broadcast(records, positions)
                        told = dict(positions)
                    self._lag(consumer, tps, positions)
                    if time.monotonic() - checked > EPOCH_CHECK_S:
                        checked = time.monotonic()
                        now = await self._resolver.partitions(self.kafka_topic)
                        if now is None or now[0] != epoch or now[1] != tuple(partitions):
                            self._lost("topic recreated or repartitioned")
                            return False
            finally:
                self._metrics.tail_readers.dec()
            return True
        except KafkaError:
            self._lost("tail reader lost its topic")
            raise
        finally:
            self.positions = None
            self.history.clear()
            await consumer.stop()

    def _linger_over(self) -> bool:
        return not self.watchers and (
            self._idle_since is None or time.monotonic() - self._idle_since > LINGER_S
        )

    async def _restart_lost(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition], positions: dict[int, int]
    ) -> None:
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            if positions[tp.partition] < starts[tp]:
                positions[tp.partition] = starts[tp]
                consumer.seek(tp, starts[tp])
        self.history.clear()
        log.warning("tail reader fell below the log start", topic=self.kafka_topic)
        self._broadcast([], positions)

    def _broadcast(self, records: list[Record], positions: Mapping[int, int]) -> None:
        snapshot = dict(positions)
        for watcher in tuple(self.watchers):
            watcher.on_tail_batch(self.name, records, snapshot)

    def _lost(self, reason: str) -> None:
        log.warning("tail reader lost its topic", topic=self.kafka_topic, reason=reason)
        for watcher in tuple(self.watchers):
            watcher.on_tail_lost(self.name, reason)

    def _lag(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition], positions: dict[int, int]
    ) -> None:
        lag = 0
        for tp in tps:
            lso = consumer.last_stable_offset(tp)
            if lso is not None:
                lag += max(0, lso - positions[tp.partition])
        self._metrics.tail_lag.labels(self.name).set(lag)


class TailHistory:
    """The tail's most recent records per partition, for catch-ups that start just behind it.

    Consecutive tail records vouch for everything between them (``prev_offset``), so from any
    position at or after the first kept record's start up to the tail position the history is
    complete: a resuming client near the tail is served from memory, in order, with the tail's
    own ``prev_offset`` s, and rejoins the tail at once. Bounded by events held, a big event
    weighing what its size does.
    """

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._parts: dict[int, deque[Record]] = {}
        self.held = 0  # events held, big ones weighed by size (``records.weight``)

    def clear(self) -> None:
        self._parts.clear()
        self.held = 0

    def extend(self, partition: int, records: list[Record]) -> None:
        if self.max_events <= 0 or not records:
            return
        kept = self._parts.setdefault(partition, deque())
        for record in records:
            kept.append(record)
            self.held += weight(record)
        while self.held > self.max_events:
            biggest = max(self._parts.values(), key=len)
            self.held -= weight(biggest.popleft())

    def since(self, positions: Mapping[int, int], tail: Mapping[int, int]) -> list[Record] | None:
        """Every record from ``positions`` up to the tail, or None when memory does not reach
        back that far (the caller reads Kafka instead)."""
        out: list[Record] = []
        for p, position in positions.items():
            end = tail.get(p)
            if end is None or position > end:
                return None
            if position == end:
                continue
            kept = self._parts.get(p)
            if not kept or kept[0].start > position:
                return None
            newer: list[Record] = []
            for record in reversed(kept):
                if record.offset < position:
                    break
                newer.append(record)
            out.extend(reversed(newer))
        return out
