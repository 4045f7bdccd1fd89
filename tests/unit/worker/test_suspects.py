"""A record that stops the worker: noted as a suspect, isolated, then quarantined — never a loop."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from streams.pipeline.policy import parse_dead_letter_headers
from streams.worker.output import BatchEncoder, Outgoing, Pending
from streams.worker.suspects import Suspect, is_attributable
from tests.unit.pipeline.factories import decision
from tests.unit.worker.factories import inbound
from tests.unit.worker.test_runtime import DECISIONS, FakeSuspects, World

POISON = 3


class DefectiveEncoder(BatchEncoder):
    """Fails to frame any unit holding the event read at offset ``POISON``: a defect no
    per-record check foresaw, the kind that used to stop the worker on every restart."""

    def records(self, pending: Pending, now_ms: int) -> tuple[list[Outgoing], list[Outgoing]]:
        offsets = {p.coordinates.offset for events in pending.events.values() for p in events}
        if POISON in offsets:
            raise OverflowError("Python int too large to convert to C long")
        return super().records(pending, now_ms)


def batch() -> list[Any]:
    return [inbound(decision(n + 1), offset=n) for n in range(6)]


async def consume(world: World, records: list[Any]) -> None:
    """Hand ``records`` over as Faust would: again from wherever the runtime seeks."""
    position = records[0].coordinates.offset
    while True:
        sought = len(world.seeks)
        await world.run([r for r in records if r.coordinates.offset >= position])
        if len(world.seeks) == sought:
            return
        position = world.seeks[-1][1]


async def start_and_run(suspects: FakeSuspects) -> World:
    world = World(suspects=suspects, encoder=DefectiveEncoder)
    await consume(world, batch())
    return world


async def test_a_record_that_stops_the_worker_twice_is_quarantined_the_third_time() -> None:
    suspects = FakeSuspects()
    with pytest.raises(RuntimeError) as stopped:  # 1st run: the whole batch is suspect
        await start_and_run(suspects)
    assert isinstance(stopped.value.__cause__, OverflowError)
    assert suspects.stored == {
        (DECISIONS, 0): Suspect(0, 6, suspects.stored[(DECISIONS, 0)].error, 0)
    }

    with pytest.raises(RuntimeError):  # 2nd run: one record per delivery, until the poison
        await start_and_run(suspects)
    assert suspects.stored[(DECISIONS, 0)][:2] == (POISON, POISON + 1)

    third = World(suspects=suspects, encoder=DefectiveEncoder)
    await third.run(batch()[POISON:])  # from the committed offset
    letters = [r for r in third.delivery.records() if r.topic == "events.dlq"]
    (info,) = [parse_dead_letter_headers(letter.headers) for letter in letters]
    assert (info.source, info.reason) == ((DECISIONS, 0, POISON), "quarantined")
    assert "OverflowError" in info.detail
    assert [e["source_offset"] for e in third.delivery.events()] == [4, 5]


async def test_isolation_delivers_a_suspect_range_one_record_at_a_time() -> None:
    suspects = FakeSuspects({(DECISIONS, 0): Suspect(0, 3, "boom", 0)})
    world = World(suspects=suspects)
    await consume(world, batch())
    assert [unit.offsets for unit in world.delivery.units] == [
        {(DECISIONS, 0): 1},
        {(DECISIONS, 0): 2},
        {(DECISIONS, 0): 3},
        {(DECISIONS, 0): 6},  # past the suspect range, batches again
    ]
    assert world.seeks == [((DECISIONS, 0), 1), ((DECISIONS, 0), 2), ((DECISIONS, 0), 3)]


async def test_a_failure_of_the_broker_is_not_blamed_on_the_records() -> None:
    assert not is_attributable(KafkaConnectionError("gone"))
    assert is_attributable(OverflowError("x")) and is_attributable(KeyError("k"))
