"""The shared caches of decoded records are bounded in memory, not only in events: a big event
weighs what its size does, so a few megabyte-sized events cannot fill gigabytes."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.core.records import AVRO_BYTES_PER_EVENT, Record, weight
from gateway.io.kafka_io import DecodedCache
from gateway.io.metrics import GatewayMetrics
from gateway.io.tail import TailHistory
from schemas.codec import AvroCodec
from tests.unit.gateway.helpers import NOW, TOPIC, batch, event

CODEC = AvroCodec()


def message(offset: int, *, attribute_bytes: int = 0) -> SimpleNamespace:
    item = event(offset=offset)
    item["payload"][1]["attributes"] = {"blob": "x" * attribute_bytes} if attribute_bytes else {}
    value = CODEC.encode("EventBatch", batch([item]))
    return SimpleNamespace(topic="live", partition=0, offset=offset, timestamp=NOW, value=value)


def test_a_big_event_weighs_its_size() -> None:
    small, big = message(0), message(1, attribute_bytes=100_000)
    cache = DecodedCache(max_events=10_000)
    records = [cache.record(CODEC, TOPIC, m, m.offset, GatewayMetrics()) for m in (small, big)]
    assert weight(records[0]) == 2
    assert weight(records[1]) == len(big.value) // AVRO_BYTES_PER_EVENT > 390


def test_the_decode_cache_holds_no_more_than_its_events_worth() -> None:
    cache, metrics = DecodedCache(max_events=1_000), GatewayMetrics()
    msgs = [message(offset, attribute_bytes=50_000) for offset in range(20)]  # ~195 each
    first = [cache.record(CODEC, TOPIC, m, m.offset, metrics) for m in msgs]
    held = cache.held
    newest = cache.record(CODEC, TOPIC, msgs[-1], 19, metrics)
    oldest = cache.record(CODEC, TOPIC, msgs[0], 0, metrics)
    assert newest.batch is first[-1].batch  # still cached
    assert oldest.batch is not first[0].batch  # let go: decoded again
    assert held <= 1_000


def test_the_tail_history_holds_no_more_than_its_events_worth() -> None:
    history = TailHistory(max_events=1_000)
    records = []
    for offset in range(20):
        msg = message(offset, attribute_bytes=50_000)
        item = CODEC.decode_expecting("EventBatch", msg.value).record
        records.append(Record(TOPIC, 0, offset, NOW, item, prev_offset=offset, size=len(msg.value)))
    history.extend(0, records)
    assert history.since({0: 19}, {0: 20}) == records[19:]
    assert history.since({0: 0}, {0: 20}) is None  # the oldest were let go
    assert history.held <= 1_000
