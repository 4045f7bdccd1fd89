"""send_batched: one record batch per partition, in order; full batches roll over; acks awaited."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder

from streams.worker.output import Outgoing
from streams.worker.sending import send_batched


class RecordingProducer:
    """The three aiokafka producer calls send_batched makes, recorded; real BatchBuilders."""

    def __init__(self, batch_bytes: int) -> None:
        self.batch_bytes = batch_bytes
        self.sent: list[tuple[str, int | None, list[bytes]]] = []
        self.acks: list[asyncio.Future[None]] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_bytes, 0, is_transactional=False)

    def _ack(self) -> asyncio.Future[None]:
        ack = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        values = [record.value for record in _records(batch)]
        self.sent.append((topic, partition, values))
        return self._ack()

    async def send(self, topic: str, value: bytes, *, key: bytes, headers: Any) -> Any:
        self.sent.append((topic, None, [value]))
        return self._ack()


def _records(batch: BatchBuilder) -> list[Any]:
    from aiokafka.record.default_records import DefaultRecordBatch

    return list(DefaultRecordBatch(bytearray(batch._build())))


async def test_records_go_in_one_batch_per_partition_in_order_and_dead_letters_alone() -> None:
    producer = RecordingProducer(batch_bytes=16_384)
    records = [
        Outgoing("live.x", 0, None, b"a"),
        Outgoing("changelog", 0, b"k1", b"1"),
        Outgoing("events.dlq", None, b"agent", b"bad", [("h", b"v")]),
        Outgoing("live.x", 0, None, b"b"),
        Outgoing("live.x", 1, None, b"c"),
    ]
    sending = asyncio.create_task(send_batched(producer, records))
    await asyncio.sleep(0.01)
    assert not sending.done()  # waits for every acknowledgement
    for ack in producer.acks:
        ack.set_result(None)
    await sending
    assert producer.sent == [
        ("events.dlq", None, [b"bad"]),
        ("live.x", 0, [b"a", b"b"]),
        ("changelog", 0, [b"1"]),
        ("live.x", 1, [b"c"]),
    ]


async def test_a_full_batch_rolls_over_and_an_oversized_record_still_goes() -> None:
    producer = RecordingProducer(batch_bytes=200)
    values = [bytes([n]) * 60 for n in range(5)] + [b"z" * 1_000]
    records = [Outgoing("live.x", 2, None, v) for v in values]
    sending = asyncio.create_task(send_batched(producer, records))
    while not sending.done():
        for ack in producer.acks:
            if not ack.done():
                ack.set_result(None)
        await asyncio.sleep(0)
    await sending
    batches = [values for _, _, values in producer.sent]
    assert [v for batch in batches for v in batch] == values  # nothing lost, order kept
    assert len(batches) > 2 and batches[-1] == [b"z" * 1_000]
