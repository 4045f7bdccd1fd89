"""A batch end to end with a fake delivery: state, positions and a restart from the changelog."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from schemas.catalog import TopicCatalog
from streams.pipeline import PipelineConfig
from streams.worker.delivery import Unit
from streams.worker.directory import AgentDirectory
from streams.worker.output import BatchEncoder, Outgoing
from streams.worker.partition import PartitionProcessor
from streams.worker.runtime import PipelineRuntime, Tables
from streams.worker.state import TABLES, ChangelogTable
from streams.worker.suspects import Suspect
from tests.unit.pipeline.factories import audit_entry, decision
from tests.unit.worker.factories import CODEC, inbound

CATALOG = TopicCatalog()
DECISIONS = "events.decision_made"
AUDIT = "events.audit_trail_entry"


class FakeDelivery:
    """Commits everything it is given; unit = partition number, like transactional ids."""

    def __init__(self, assigned: Iterable[tuple[str, int]]) -> None:
        self.assigned_tps = set(assigned)
        self.units: list[Unit] = []
        self.reset_calls: list[set[tuple[str, int]]] = []

    def unit_key(self, tp: tuple[str, int]) -> str:
        return f"p{tp[1]}"

    def assigned(self) -> set[tuple[str, int]]:
        return self.assigned_tps

    async def deliver(self, key: str, unit: Unit) -> bool:
        self.units.append(unit)
        return True

    async def reset(self, tps: set[tuple[str, int]]) -> None:
        self.reset_calls.append(tps)

    def records(self) -> list[Outgoing]:
        return [r for unit in self.units for r in (*unit.records, *unit.closing)]

    def events(self) -> list[dict]:
        return [
            event
            for r in self.records()
            if r.topic.startswith("live.")
            for event in CODEC.decode(r.value).record["events"]
        ]


class FakeSuspects:
    """Suspects kept in a dict shared by the worlds of one test, as the topic would be."""

    def __init__(self, stored: dict[tuple[str, int], Suspect] | None = None) -> None:
        self.stored = stored if stored is not None else {}

    async def load(self) -> dict[tuple[str, int], Suspect]:
        return dict(self.stored)

    async def note(
        self, ranges: Mapping[tuple[str, int], tuple[int, int]], error: BaseException
    ) -> None:
        self.stored.update({tp: Suspect(a, b, repr(error), 0) for tp, (a, b) in ranges.items()})


class World:
    """A runtime over a shared 'changelog' (the records its deliveries committed)."""

    def __init__(
        self,
        changelog: list[Outgoing] | None = None,
        *,
        suspects: FakeSuspects | None = None,
        encoder: type[BatchEncoder] = BatchEncoder,
    ) -> None:
        self.changelog = changelog if changelog is not None else []
        self.suspects = suspects or FakeSuspects()
        self.delivery = FakeDelivery({(DECISIONS, 0), (AUDIT, 0), (AUDIT, 1)})
        self.seeks: list[tuple[tuple[str, int], int]] = []
        directory = AgentDirectory()
        directory.ready.set()
        tables = Tables(*(ChangelogTable(n, f"app-{n}-changelog") for n in TABLES))
        self.tables = tables
        encoder = encoder(CODEC, CATALOG, 500, 900_000, tables.positions.changelog_topic)
        self.runtime = PipelineRuntime(
            processor=PartitionProcessor(CATALOG, PipelineConfig(), encoder),
            encoder=encoder,
            tables=tables,
            directory=directory,
            delivery=self.delivery,
            dedupe_window_ms=3_600_000,
            restore=self.restore,
            seek=self.seek,
            suspects=self.suspects,
            clock=lambda: 1_700_000_000.0,
        )
        self.runtime.on_assigned()

    async def restore(self, tables: Tables, partitions: set[int]) -> int:
        by_topic = {t.changelog_topic: t for t in tables.all}
        applied = [r for r in self.changelog if r.partition in partitions and r.topic in by_topic]
        for record in applied:
            by_topic[record.topic].restore(record.partition, record.key, record.value)
        return len(applied)

    async def seek(self, tp: tuple[str, int], offset: int) -> None:
        self.seeks.append((tp, offset))

    async def run(self, records: list) -> None:
        await self.runtime.handle(records)
        await self.runtime.flush()
        self.changelog.extend(r for r in self.delivery.records() if r.topic.endswith("-changelog"))


async def test_a_batch_is_delivered_with_its_state_ledger_and_positions() -> None:
    world = World()
    await world.run([inbound(decision(1), offset=0), inbound(decision(1), offset=1)])
    (unit,) = world.delivery.units
    assert unit.offsets == {(DECISIONS, 0): 2}
    assert [e["source_offset"] for e in world.delivery.events()] == [0]
    counts = {
        orjson.loads(r.key): orjson.loads(r.value) for r in unit.records if "counts" in r.topic
    }
    assert counts == {f"{DECISIONS}|0|pass|": 1, f"{DECISIONS}|0|filtered|filtered:duplicate": 1}
    assert [(orjson.loads(r.key), orjson.loads(r.value)) for r in unit.closing] == [
        (f"{DECISIONS}|0", 2)
    ]


async def test_a_restarted_worker_continues_from_the_changelog_exactly() -> None:
    first = World()
    entries = [audit_entry(n) for n in (1, 2, 3)]
    await first.run(
        [
            inbound(e, topic=AUDIT, offset=n, event_type="AuditTrailEntry")
            for n, e in enumerate(entries[:2])
        ]
    )
    # the new worker restores state, Faust re-delivers from a stale offset (1), then new records
    second = World(first.changelog)
    await second.run(
        [
            inbound(entries[1], topic=AUDIT, offset=1, event_type="AuditTrailEntry"),
            inbound(entries[2], topic=AUDIT, offset=2, event_type="AuditTrailEntry"),
            inbound(entries[0], topic=AUDIT, offset=3, event_type="AuditTrailEntry"),  # a resend
        ]
    )
    published = [e["source_offset"] for e in second.delivery.events()]
    assert published == [2]  # offset 1 was committed before; offset 3 is a duplicate
    before = {e["payload"][1]["metadata"]["event_id"]: e for e in first.delivery.events()}
    link = second.delivery.events()[0]["enrichment"]
    assert link["prev_hash"] == before[entries[1]["metadata"]["event_id"]]["enrichment"]["hash"]


async def test_batches_during_a_rebalance_are_dropped_and_state_is_reloaded_after() -> None:
    world = World()
    await world.run([inbound(decision(1), offset=0)])
    await world.runtime.on_revoked({(DECISIONS, 0)})
    await world.run([inbound(decision(2), offset=1)])
    assert world.runtime.dropped == 1 and len(world.delivery.units) == 1
    assert world.delivery.reset_calls == [{(DECISIONS, 0)}]
    world.runtime.on_assigned()
    await world.run([inbound(decision(2), offset=1)])
    assert world.runtime.gauges()["dropped_in_rebalance_total"] == 1
    assert world.delivery.units[-1].offsets == {(DECISIONS, 0): 2}


async def test_records_of_partitions_not_assigned_are_left_for_their_owner() -> None:
    world = World()
    await world.run([inbound(decision(1), offset=0, partition=5)])
    assert world.delivery.units == [] and world.runtime.not_owned == 1


async def test_a_hole_in_the_delivered_offsets_seeks_back_instead_of_committing_past() -> None:
    world = World()
    await world.run([inbound(decision(1), offset=0)])
    await world.run([inbound(decision(2), offset=5)])
    assert world.seeks == [((DECISIONS, 0), 1)]
    assert world.delivery.units[-1].offsets == {(DECISIONS, 0): 1}
