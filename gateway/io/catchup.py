"""Catch-up readers: bounded, fair, and stopped (not buffered) when their client is slow.

A catch-up "reader" the core asks for (:class:`~gateway.core.commands.StartCatchUp`) is a
:class:`CatchUpJob`: a position per partition, no Kafka client of its own. A fixed pool of
consumers serves the jobs round-robin, one turn each (assign, seek, one fetch of at most
``max_records``), so thousands of resuming clients cost a handful of consumers and none of them
starves the others (STYLE.md §6: a slow client costs a paused position, not memory).

Memory: a consumer fetches at most ``FETCH_MAX_BYTES`` at a time, and a turn decodes and hands
its client only the records whose frames fit the client's send room (``owner.catchup_room()``,
estimated from the records' size; at least one record, so a full client is told and demoted):
the rest is left in Kafka, the consumer seeks back to the first record not handed over. The
core stops the job of a client that is full and starts a new one from its exact position once
it drained. A turn therefore holds at most one fetch and about three times the room decoded.

Each turn vouches for what it read: a record's ``prev_offset`` is where the job stood before it,
and after the turn the job reports ``consumer.position()`` (which steps over transaction markers).
Consumers never reset silently (``auto_offset_reset="none"``): when a position fell below the log
start, the job moves to the start but reports nothing for that partition until its next record
arrives, whose ``prev_offset`` (the new start) makes the core emit the ``retention`` gap.

Resume storms: clients that come back together (a gateway restarted, a network blip) resume
from the same checkpoints. What a turn read is kept, per (topic incarnation, partition, position
it started at), in :class:`RecentReads`; a job standing at such a position is handed those
records without a Kafka turn, and the next such read serves it onwards. Thousands of clients at
a few positions cost a few fetches, not thousands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError

from gateway.core.records import Record, weight
from gateway.io.kafka_io import DecodedCache, reader_consumer
from gateway.io.metrics import GatewayMetrics
from schemas.codec import Codec
from streams.settings import Settings

log = structlog.get_logger("gateway.catchup")
IDLE_S = 0.05  # a job with nothing to read waits this long before its next turn
FETCH_WAIT_MS = 1000  # a turn only starts when there is data, so this is a bound, not a cost
FETCH_MAX_BYTES = 1 << 20  # per consumer and fetch (a larger single record still comes whole)
PARTITION_FETCH_BYTES = 256 << 10
JSON_PER_AVRO = 4  # a record's frame is about 4 times its Avro bytes (decoded: about 12 times)
Ends = Callable[[str], Mapping[int, int] | None]
Memory = Callable[[str, Mapping[int, int]], tuple[list[Record], dict[int, int]] | None]


class CatchUpOwner(Protocol):
    def on_catchup_batch(
        self, job: CatchUpJob, records: list[Record], positions: dict[int, int]
    ) -> None: ...

    def on_catchup_failed(self, job: CatchUpJob, error: BaseException) -> None: ...

    def catchup_room(self) -> float: ...


@dataclass(eq=False)
class CatchUpJob:
    owner: CatchUpOwner
    sub_id: str
    reader: int
    name: str
    kafka_topic: str
    positions: dict[int, int]
    epoch: str = ""
    stopped: bool = False
    queued: bool = False
    unreported: set[int] = field(default_factory=set)  # reset to the log start, no record yet


Read = tuple[list[Record], int]  # records from a position on, and the position after them


class RecentReads:
    """What catch-up turns read lately, by (topic, epoch, partition, start position): the
    records read from there (each vouching for what lies between it and the one before, from
    the start on) and the consumer position after them. Bounded by events held, a big event
    weighing what its size does; oldest first out."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._items: OrderedDict[tuple[str, str, int, int], Read] = OrderedDict()
        self.held = 0

    def put(self, key: tuple[str, str, int, int], records: list[Record], end: int) -> None:
        if self.max_events <= 0 or key in self._items or end <= key[3]:
            return
        self._items[key] = (records, end)
        self.held += sum(weight(r) for r in records) + 1
        while self.held > self.max_events and self._items:
            _, (old, _end) = self._items.popitem(last=False)
            self.held -= sum(weight(r) for r in old) + 1

    def get(self, key: tuple[str, str, int, int]) -> Read | None:
        return self._items.get(key)


class CatchUpPool:
    def __init__(
        self,
        settings: Settings,
        codec: Codec,
        metrics: GatewayMetrics,
        *,
        ends: Ends,
        memory: Memory,
        cache: DecodedCache,
        consumers: int = 4,
        max_records: int = 500,
        recent_events: int = 20_000,
    ) -> None:
        self._settings, self._codec, self._metrics = settings, codec, metrics
        self._ends, self._memory, self._cache = ends, memory, cache
        self._size, self._max_records = consumers, max_records
        self.recent = RecentReads(recent_events)
        self._queue: deque[CatchUpJob] = deque()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._consumers: list[AIOKafkaConsumer] = []
        self.active = 0

    async def start(self) -> None:
        for i in range(self._size):
            # A fetch parked at the log end delays the next job's fetch on the same broker
            # connection (requests are answered in order), so park briefly.
            consumer = reader_consumer(
                self._settings,
                fetch_max_wait_ms=5,
                fetch_max_bytes=FETCH_MAX_BYTES,
                max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
            )
            await consumer.start()
            self._consumers.append(consumer)
            self._tasks.append(asyncio.create_task(self._worker(consumer), name=f"catchup:{i}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for consumer in self._consumers:
            await consumer.stop()

    # -- commands ---------------------------------------------------------------------------

    def start_job(self, job: CatchUpJob) -> None:
        self.active += 1
        self._metrics.catchups.inc()
        self._metrics.catchups_active.set(self.active)
        asyncio.get_running_loop().call_soon(self._first, job)

    def _first(self, job: CatchUpJob) -> None:
        """A resume just behind the tail is served from the tail's history, one where another
        reader just passed from what it read; no Kafka turn for either."""
        if not (job.stopped or self._from_memory(job) or self._from_recent(job)):
            self._enqueue(job)

    def stop_job(self, job: CatchUpJob) -> None:
        if not job.stopped:
            job.stopped = True
            self.active -= 1
            self._metrics.catchups_active.set(self.active)

    def _enqueue(self, job: CatchUpJob) -> None:
        if not (job.queued or job.stopped):
            job.queued = True
            self._queue.append(job)
            self._ready.set()

    def _later(self, job: CatchUpJob) -> None:
        asyncio.get_running_loop().call_later(IDLE_S, self._enqueue, job)

    # -- workers ----------------------------------------------------------------------------

    async def _next(self) -> CatchUpJob:
        while True:
            while self._queue:
                job = self._queue.popleft()
                job.queued = False
                if not job.stopped:
                    return job
            self._ready.clear()
            await self._ready.wait()

    async def _worker(self, consumer: AIOKafkaConsumer) -> None:
        last: tuple[CatchUpJob, dict[int, int]] | None = None
        while True:
            job = await self._next()
            if self._from_memory(job) or self._level(job) or self._from_recent(job):
                continue
            # The same job again, where the last turn left it: keep the assignment and whatever
            # the consumer prefetched, so a lone long replay streams like a plain consumer.
            warm = last is not None and last[0] is job and last[1] == job.positions
            last = None
            try:
                progressed = await self._turn(consumer, job, warm)
                last = (job, dict(job.positions))
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:
                log.warning("catch-up turn failed", topic=job.kafka_topic, error=repr(exc)[:200])
                if not job.stopped:
                    job.owner.on_catchup_failed(job, exc)
                continue
            if job.stopped:
                continue
            if progressed:
                self._enqueue(job)
            else:
                self._later(job)

    def _from_memory(self, job: CatchUpJob) -> bool:
        if job.unreported:
            return False
        found = self._memory(job.name, job.positions)
        if found is None:
            return False
        records, positions = found
        job.positions.update(positions)
        job.owner.on_catchup_batch(job, records, dict(job.positions))
        if not job.stopped:
            self._later(job)
        return True

    def _from_recent(self, job: CatchUpJob) -> bool:
        """Serve ``job`` from what other turns read at its positions, when they cover every
        partition it still has to read (a partition level with the tail needs nothing)."""
        if job.unreported:
            return False
        ends = self._ends(job.name) or {}
        records: list[Record] = []
        moved: dict[int, int] = {}
        for p, position in job.positions.items():
            read = self.recent.get((job.kafka_topic, job.epoch, p, position))
            if read is not None:
                records.extend(read[0])
                moved[p] = read[1]
            elif position < ends.get(p, position + 1):
                return False
        if not moved:
            return False
        job.positions.update(moved)
        self._metrics.catchup_shared.inc()
        job.owner.on_catchup_batch(job, records, dict(job.positions))
        if not job.stopped:
            self._enqueue(job)
        return True

    def _level(self, job: CatchUpJob) -> bool:
        """A job already level with the tail has nothing to fetch: report where it stands (so
        the core rejoins it to the tail) instead of holding a consumer on an empty fetch."""
        ends = self._ends(job.name)
        if ends is None or job.unreported:
            return False
        if any(o < ends.get(p, 0) for p, o in job.positions.items()):
            return False
        job.owner.on_catchup_batch(job, [], dict(job.positions))
        if not job.stopped:
            self._later(job)
        return True

    async def _turn(self, consumer: AIOKafkaConsumer, job: CatchUpJob, warm: bool) -> bool:
        tps = [TopicPartition(job.kafka_topic, p) for p in sorted(job.positions)]
        if not warm:
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, job.positions[tp.partition])
        try:
            data = await consumer.getmany(
                *tps, timeout_ms=FETCH_WAIT_MS, max_records=self._max_records
            )
        except OffsetOutOfRangeError:
            starts = await consumer.beginning_offsets(tps)
            for tp in tps:
                if job.positions[tp.partition] < starts[tp]:
                    job.positions[tp.partition] = starts[tp]
                    job.unreported.add(tp.partition)
                consumer.seek(tp, job.positions[tp.partition])
            return True
        if job.stopped:
            return False
        started = dict(job.positions)
        records = self._take(consumer, job, data, job.owner.catchup_room())
        moved = bool(records)
        for tp in tps:
            position = await consumer.position(tp)
            moved = moved or position != job.positions[tp.partition]
            job.positions[tp.partition] = position
        self._keep(job, started, records)
        report = {p: o for p, o in job.positions.items() if p not in job.unreported}
        job.owner.on_catchup_batch(job, records, report)
        return moved

    def _keep(self, job: CatchUpJob, started: dict[int, int], records: list[Record]) -> None:
        """Remember what this turn read, per partition, for jobs at the same positions."""
        for p, start in started.items():
            if p not in job.unreported and job.positions[p] > start:
                read = [r for r in records if r.partition == p]
                self.recent.put((job.kafka_topic, job.epoch, p, start), read, job.positions[p])

    def _take(
        self,
        consumer: AIOKafkaConsumer,
        job: CatchUpJob,
        data: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        room: float,
    ) -> list[Record]:
        """The fetched records whose frames fit the client's room (at least one record); the
        consumer seeks back to the first record left over, so Kafka keeps it for later."""
        records: list[Record] = []
        taken, full = 0, False
        for tp, msgs in data.items():
            prev = job.positions[tp.partition]
            for msg in msgs:
                if records and taken * JSON_PER_AVRO >= room:
                    full = True
                    break
                records.append(self._cache.record(self._codec, job.name, msg, prev, self._metrics))
                taken += len(msg.value or b"")
                prev = msg.offset + 1
                job.unreported.discard(tp.partition)
            if full:
                consumer.seek(tp, prev)
        return records
