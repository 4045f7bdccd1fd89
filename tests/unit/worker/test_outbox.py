"""The outbox: one delivery at a time, later batches merged, a failure stops everything."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.outbox import Outbox
from streams.worker.output import Pending

TP = ("events.x", 0)


def batch(offset: int) -> dict[str, Pending]:
    return {"u": Pending(offsets={TP: offset}, changelog={("t", 0, str(offset).encode()): b"1"})}


async def test_batches_arriving_during_a_delivery_are_merged_into_the_next_one() -> None:
    release = asyncio.Event()
    delivered: list[dict[str, Pending]] = []

    async def deliver(units: dict[str, Pending]) -> None:
        delivered.append(units)
        await release.wait()

    outbox = Outbox(deliver, max_records=100)
    await outbox.put(batch(1))
    await asyncio.sleep(0)
    await outbox.put(batch(2))
    await outbox.put(batch(3))  # both queued behind the first delivery
    release.set()
    await outbox.drained()
    assert [u["u"].offsets[TP] for u in delivered] == [1, 3]
    assert len(delivered[1]["u"].changelog) == 2
    assert outbox.deliveries == 2
    await outbox.close()


async def test_put_waits_while_too_much_is_pending() -> None:
    release = asyncio.Event()

    async def deliver(units: dict[str, Pending]) -> None:
        await release.wait()

    outbox = Outbox(deliver, max_records=1)
    await outbox.put(batch(1))
    await asyncio.sleep(0)
    await outbox.put(batch(2))
    blocked = asyncio.create_task(outbox.put(batch(3)))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    release.set()
    await asyncio.wait_for(blocked, 1)
    await outbox.close()


async def test_a_failed_delivery_is_reported_and_refuses_everything_after() -> None:
    failures: list[BaseException] = []

    async def deliver(units: dict[str, Pending]) -> None:
        raise ConnectionError("broker gone")

    outbox = Outbox(deliver, max_records=10, on_failure=failures.append)
    await outbox.put(batch(1))
    with pytest.raises(RuntimeError, match="delivery failed"):
        await outbox.drained()
    with pytest.raises(RuntimeError):
        await outbox.put(batch(2))
    assert isinstance(failures[0], ConnectionError)
    await outbox.close()
