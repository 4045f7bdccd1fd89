"""Catch-up readers share what they read: a resume storm from the same checkpoints costs a few
Kafka fetches, not one per client (``gateway.io.catchup.RecentReads``)."""

from __future__ import annotations

from typing import Any

from gateway.core.records import Record
from gateway.io.catchup import CatchUpJob, CatchUpPool, RecentReads
from gateway.io.kafka_io import DecodedCache
from gateway.io.metrics import GatewayMetrics
from tests.unit.gateway.helpers import record

KAFKA_TOPIC = "live.agent_status_update"


class Owner:
    def __init__(self) -> None:
        self.batches: list[tuple[list[Record], dict[int, int]]] = []

    def on_catchup_batch(self, job: CatchUpJob, records: list[Record], pos: dict[int, int]) -> None:
        self.batches.append((records, pos))

    def on_catchup_failed(self, job: CatchUpJob, error: BaseException) -> None:
        raise AssertionError(error)

    def catchup_room(self) -> float:
        return float("inf")


def pool(ends: dict[int, int], recent_events: int = 10_000) -> CatchUpPool:
    none: Any = None  # no Kafka client is touched without a turn
    return CatchUpPool(
        none, none, GatewayMetrics(), ends=lambda _name: ends, memory=lambda _n, _p: None,
        cache=DecodedCache(0), recent_events=recent_events,
    )  # fmt: skip


def job(positions: dict[int, int], epoch: str = "E1") -> tuple[CatchUpJob, Owner]:
    owner = Owner()
    return CatchUpJob(owner, "s", 1, "T", KAFKA_TOPIC, dict(positions), epoch), owner


def test_a_job_at_the_same_positions_is_served_from_what_another_read() -> None:
    p = pool(ends={0: 10, 1: 5})
    first, _ = job({0: 3, 1: 5})
    read = [record(0, o, prev=3 if o == 3 else o) for o in range(3, 10)]
    first.positions = {0: 10, 1: 5}
    p._keep(first, {0: 3, 1: 5}, read)  # what its turn fetched from 3 (partition 1 is level)

    second, owner = job({0: 3, 1: 5})
    assert p._from_recent(second)
    ((records, positions),) = owner.batches
    assert [r.offset for r in records] == list(range(3, 10)) and positions == {0: 10, 1: 5}
    assert second.positions == {0: 10, 1: 5}

    for other in (job({0: 4, 1: 5})[0], job({0: 3, 1: 5}, epoch="E2")[0], job({0: 3, 1: 2})[0]):
        assert not p._from_recent(other), "another position, incarnation, or an unread partition"


def test_recent_reads_are_bounded_by_events() -> None:
    reads = RecentReads(max_events=30)
    for start in range(10):
        reads.put((KAFKA_TOPIC, "E1", 0, start), [record(0, start, 9, prev=start)], start + 1)
    assert reads.held <= 30
    assert reads.get((KAFKA_TOPIC, "E1", 0, 9)) is not None
    assert reads.get((KAFKA_TOPIC, "E1", 0, 0)) is None, "the oldest went first"
