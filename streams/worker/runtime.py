"""One ``take()`` batch, end to end: adopt → guard → process per partition → journal → queue.

The agent hands every batch to :meth:`PipelineRuntime.handle`. Records are grouped by source
partition (order is only promised per key, and a key lives in one partition). The first records
after an assignment make the worker *adopt* its partitions: load their tables from the changelogs
and learn each partition's position. Each group is then checked against the position guard,
processed by :class:`~streams.worker.partition.PartitionProcessor` with the tables set to that
partition, counted in the ledger, and collected into its commit unit with the table journal and
the next offset (also written to the ``positions`` table). The batch then goes to the
:class:`~streams.worker.outbox.Outbox`, which delivers in the background (one transaction per
unit under exactly-once) while the agent collects and processes the next batch.

Faust acks a batch when ``handle`` returns; the acks commit nothing (see
:mod:`streams.worker.delivery`). Before partitions are revoked Faust waits for those acks, and
:meth:`PipelineRuntime.on_revoked` then waits until the outbox is drained, so no batch outlives
the assignment it was read under. A delivery that fails calls ``on_failure``: the worker stops.

Before it stops on an error the records may have caused, the runtime notes their offsets as
suspects (:mod:`streams.worker.suspects`); at adoption it reads them back, processes a suspect
range one record per delivery, and sets aside a one-record suspect as a ``quarantined`` dead
letter, so no record can stop the worker more than twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from streams.pipeline import Deduper, DispositionCounter, HashChain, Stores
from streams.worker.delivery import Delivery, Unit
from streams.worker.directory import AgentDirectory
from streams.worker.guard import PositionGuard
from streams.worker.inbound import Inbound, group_by_partition
from streams.worker.ledger import Ledger
from streams.worker.outbox import Outbox
from streams.worker.output import BatchEncoder, Outgoing, Pending
from streams.worker.partition import PartitionProcessor
from streams.worker.state import ChangelogTable
from streams.worker.suspects import Suspect, is_attributable, ranges_of

log = logging.getLogger(__name__)
TP = tuple[str, int]


def position_key(tp: TP) -> str:
    return f"{tp[0]}|{tp[1]}"


class Suspects(Protocol):
    """Where suspects are kept (:class:`streams.worker.suspects.SuspectLog` in the app)."""

    async def load(self) -> dict[TP, Suspect]: ...

    async def note(self, ranges: Mapping[TP, tuple[int, int]], error: BaseException) -> None: ...


@dataclass(frozen=True)
class Tables:
    """The worker's four state tables (:mod:`streams.worker.state`)."""

    dedupe: ChangelogTable
    chain: ChangelogTable
    counts: ChangelogTable
    positions: ChangelogTable

    @property
    def all(self) -> tuple[ChangelogTable, ...]:
        return (self.dedupe, self.chain, self.counts, self.positions)

    def set_partition(self, partition: int) -> None:
        for table in self.all:
            table.partition = partition

    def drain(self) -> list[Outgoing]:
        return [record for table in self.all for record in table.drain()]

    def drop_partition(self, partition: int) -> None:
        for table in self.all:
            table.drop_partition(partition)


class PipelineRuntime:
    def __init__(
        self,
        *,
        processor: PartitionProcessor,
        encoder: BatchEncoder,
        tables: Tables,
        directory: AgentDirectory,
        delivery: Delivery,
        dedupe_window_ms: int,
        directory_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        restore: Callable[[Tables, set[int]], Awaitable[int]],
        seek: Callable[[TP, int], Awaitable[None]],
        suspects: Suspects,
        on_failure: Callable[[BaseException], None] = lambda exc: None,
        max_pending_records: int = 20_000,
    ) -> None:
        self._processor = processor
        self._encoder = encoder
        self._tables = tables
        self._directory = directory
        self._delivery = delivery
        self._directory_timeout_s = directory_timeout_s
        self._clock = clock
        self._restore = restore
        self._restored: set[int] = set()
        self._seek = seek
        self._suspect_log = suspects
        self._suspects: dict[TP, Suspect] = {}
        self._outbox = Outbox(self._deliver, max_records=max_pending_records, on_failure=on_failure)
        self._deduper = Deduper(tables.dedupe, window_ms=dedupe_window_ms)
        self._stores = Stores(dedupe=self._deduper, chain=HashChain(tables.chain), agents=directory)
        self._ledger = Ledger(tables.counts)
        self.counter = DispositionCounter()
        self.guard = PositionGuard()
        self.batches = 0
        self.not_owned = 0
        self.dropped = 0
        self._accepting = False
        self._generation = 0

    def on_assigned(self) -> None:
        """A rebalance finished: batches are accepted again."""
        self._accepting = True

    @property
    def ready(self) -> bool:
        """Whether this worker processes what it is assigned: its group has settled and the
        agent directory is loaded (``/readyz``)."""
        return self._accepting and self._directory.ready.is_set()

    async def on_revoked(self, tps: set[tuple[str, int]]) -> None:
        """Before partitions move: finish the batches in flight, forget what they owned, drop
        idle transactions. State and positions are loaded again if they come back.

        Until :meth:`on_assigned`, batches are dropped unprocessed: records buffered before the
        rebalance are read again from the committed offsets by whoever owns them next.
        """
        self._accepting = False
        self._generation += 1
        await self.flush()
        log.info("partitions revoked: %d; deliveries flushed", len(tps))
        self.guard.forget(tps)
        for partition in {p for _, p in tps} & self._restored:
            self._tables.drop_partition(partition)
            self._restored.discard(partition)
        await self._delivery.reset(tps)

    async def _adopt(self, tps: list[TP], assigned: Iterable[TP]) -> None:
        """First records of newly assigned partitions: load their state, learn their positions.

        State is loaded for every assigned partition number at once, so the first records of
        each partition do not wait for a load of their own.
        """
        partitions = {p for _, p in assigned} - self._restored
        self._suspects = await self._suspect_log.load()
        if partitions:
            await self._restore(self._tables, partitions)
            self._restored |= partitions
            indexed = self._deduper.rebuild_index()
            log.info(
                "partitions %s adopted; dedupe index: %d event ids", sorted(partitions), indexed
            )
        for tp in tps:
            position = self._tables.positions.get(position_key(tp))
            if position is not None:
                self.guard.learn(tp, int(position))

    async def handle(self, records: Sequence[Inbound]) -> None:
        """Process ``records`` and queue them for delivery (see :mod:`streams.worker.outbox`)."""
        if not self._directory.ready.is_set():
            await self._directory.wait_ready(self._directory_timeout_s)
        generation = self._generation
        if not self._accepting:
            self.dropped += len(records)
            return
        groups = {}
        assigned = self._delivery.assigned()
        for tp, group in group_by_partition(records).items():
            if tp in assigned:
                groups[tp] = group
            else:  # revoked while buffered: the new owner reads it from the committed offset
                self.not_owned += len(group)
        unknown = [tp for tp in groups if not self.guard.knows(tp)]
        if unknown:
            await self._adopt(unknown, assigned)
            if generation != self._generation or not self._accepting:
                self.dropped += len(records)  # a rebalance began while state was loading
                return
        isolated = {tp: g for tp, g in groups.items() if self._isolates(tp, g)}
        units, seeks = await self._prepare({t: g for t, g in groups.items() if t not in isolated})
        if units:
            await self._outbox.put(units)
        if isolated:
            await self.flush()  # what came before is delivered: a failure now names one record
            seeks += await self._isolate(isolated)
        for tp, offset in [*seeks, *self.guard.overdue()]:
            await self._seek(tp, offset)
        self.batches += 1

    def _isolates(self, tp: TP, group: list[Inbound]) -> bool:
        """Is ``tp`` inside a suspect range? (A partition never committed starts at its first
        record, as in :meth:`PositionGuard.admit`.)"""
        suspect = self._suspects.get(tp)
        position = self.guard.position(tp)
        if position is None:
            position = group[0].coordinates.offset
        return suspect is not None and suspect.isolates(position)

    async def _isolate(self, groups: dict[TP, list[Inbound]]) -> list[tuple[TP, int]]:
        """The first admitted record of each partition alone, delivered before the next; the
        partition is sought back to the record after it."""
        seeks = []
        for tp, group in groups.items():
            admitted, seek = self.guard.admit(tp, group)
            if len(admitted) > 1:
                following = admitted[1].coordinates.offset
                self.guard.learn(tp, following)
                seeks.append((tp, following))
            elif seek is not None:
                seeks.append((tp, seek))
            if admitted:
                log.warning(
                    "%s/%d: isolating offset %d (suspect)", *tp, admitted[0].coordinates.offset
                )
                units, _ = await self._prepare({tp: admitted[:1]}, admitted=True)
                await self._outbox.put(units)
                await self.flush()
        return seeks

    async def tick(self) -> None:
        """Periodic: seek again partitions whose holes are still open (idle partitions too)."""
        for tp, offset in self.guard.overdue():
            await self._seek(tp, offset)

    async def flush(self) -> None:
        """Wait until every queued batch is delivered; raise the error of one that failed."""
        await self._outbox.drained()

    async def close(self) -> None:
        await self._outbox.close()

    async def _prepare(
        self, groups: dict[TP, list[Inbound]], *, admitted: bool = False
    ) -> tuple[dict[str, Pending], list[tuple[TP, int]]]:
        """Process each partition's group (through the guard unless ``admitted``) into units;
        a group whose processing raises is noted as a suspect before the error goes on."""
        now_ms = int(self._clock() * 1000)
        units: dict[str, Pending] = {}
        seeks = []
        for tp, group in groups.items():
            records, seek = (group, None) if admitted else self.guard.admit(tp, group)
            if seek is not None:
                seeks.append((tp, seek))
            if not records:
                continue
            unit = units.setdefault(self._delivery.unit_key(tp), Pending())
            try:
                self._process(tp, records, unit, now_ms)
            except Exception as exc:
                end = records[-1].coordinates.offset + 1
                await self._note({tp: (records[0].coordinates.offset, end)}, exc)
                raise
        return units, seeks

    async def _note(self, ranges: Mapping[TP, tuple[int, int]], exc: BaseException) -> None:
        """Note ``ranges`` as suspects of ``exc`` if the records may have caused it."""
        if not is_attributable(exc) or not ranges:
            return
        log.error("stopping on %s; suspects noted: %s", exc, dict(ranges), exc_info=exc)
        try:
            await self._suspect_log.note(ranges, exc)
        except Exception:
            log.exception("the suspects could not be noted")

    async def _deliver(self, pending: dict[str, Pending]) -> None:
        try:
            await self._deliver_units(pending)
        except Exception as exc:
            ranges = {}
            for unit in pending.values():
                ranges.update(ranges_of(unit.starts, unit.offsets))
            await self._note(ranges, exc)
            raise

    async def _deliver_units(self, pending: dict[str, Pending]) -> None:
        now_ms = int(self._clock() * 1000)
        keys = list(pending)
        units = {}
        for key in keys:
            records, closing = self._encoder.records(pending[key], now_ms)
            units[key] = Unit(records, pending[key].offsets, closing)
        results = await asyncio.gather(*(self._delivery.deliver(k, units[k]) for k in keys))
        for key, committed in zip(keys, results, strict=True):
            if not committed:
                log.warning("offsets of %s not committed (rebalance); may be read again", key)

    def _process(
        self, tp: tuple[str, int], records: list[Inbound], unit: Pending, now_ms: int
    ) -> None:
        topic, partition = tp
        self._tables.set_partition(partition)
        suspect = self._suspects.get(tp)
        first = records[0].coordinates.offset
        set_aside = None
        held = suspect.quarantined(first, records[-1].coordinates.offset) if suspect else None
        if suspect is not None and held is not None:
            log.warning("%s/%d: offset %d quarantined: %s", *tp, held, suspect.error)
            set_aside = {held: suspect.error}
        outcome = self._processor.process(
            topic, partition, records, self._stores, now_ms, set_aside
        )
        self._ledger.add(topic, partition, outcome.dispositions)
        self._tables.positions[position_key(tp)] = outcome.next_offset
        for disposition in outcome.dispositions:
            self.counter.add(topic, disposition)
        if outcome.events:
            unit.events.setdefault(tp, []).extend(outcome.events)
        unit.dead_letters.extend(outcome.dead_letters)
        unit.add_changes(self._tables.drain())
        unit.offsets[tp] = outcome.next_offset
        unit.starts.setdefault(tp, first)

    @property
    def directory(self) -> AgentDirectory:
        return self._directory

    def gauges(self) -> dict[str, float]:
        return {
            "batches_total": self.batches,
            "deliveries_total": self._outbox.deliveries,
            "guard_skipped_total": self.guard.skipped,
            "guard_holes_found_total": self.guard.holes_found,
            "guard_holes_accepted_total": self.guard.holes_accepted,
            "not_owned_total": self.not_owned,
            "dropped_in_rebalance_total": self.dropped,
            "directory_agents": len(self._directory),
        }
