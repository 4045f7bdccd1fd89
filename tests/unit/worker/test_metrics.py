"""/metrics text: disposition counters by topic, outcome and reason, plus gauges."""

from __future__ import annotations

from typing import NamedTuple

from streams.pipeline import Disposition, DispositionCounter
from streams.worker.metrics import BatchLatency, consumer_lag, render


def test_counters_and_gauges_in_the_exposition_format() -> None:
    counter = DispositionCounter()
    counter.add("events.x", Disposition.filtered("filtered:duplicate"))
    counter.add("events.x", Disposition.passed())
    text = render(counter, {"batches_total": 3})
    assert (
        'regstream_worker_records_total{topic="events.x",outcome="filtered",'
        'reason="filtered:duplicate"} 1' in text
    )
    assert 'outcome="pass",reason=""} 1' in text
    assert "regstream_worker_batches_total 3" in text


def test_consumer_lag_per_topic_and_the_batch_latency_histogram() -> None:
    latency = BatchLatency(buckets=(0.01, 0.1))
    for seconds in (0.005, 0.05, 0.05, 3.0):
        latency.observe(seconds)
    text = render(DispositionCounter(), {}, {"events.x": 7}, latency)
    assert 'regstream_worker_consumer_lag{topic="events.x"} 7' in text
    assert 'regstream_worker_batch_seconds_bucket{le="0.01"} 1' in text
    assert 'regstream_worker_batch_seconds_bucket{le="0.1"} 3' in text
    assert 'regstream_worker_batch_seconds_bucket{le="+Inf"} 4' in text
    assert "regstream_worker_batch_seconds_count 4" in text
    assert "regstream_worker_batch_seconds_sum 3.105" in text


class TP(NamedTuple):
    topic: str
    partition: int


class FakeConsumer:
    """Positions and high watermarks as a Faust consumer reports them; None until fetched."""

    def __init__(self, known: dict[TP, tuple[int | None, int | None]]) -> None:
        self.known = known

    def assignment(self) -> set[TP]:
        return set(self.known)

    async def position(self, tp: TP) -> int | None:
        return self.known[tp][0]

    def highwater(self, tp: TP) -> int | None:
        return self.known[tp][1]


async def test_consumer_lag_counts_only_known_input_partitions() -> None:
    consumer = FakeConsumer(
        {
            TP("events.x", 0): (5, 12),
            TP("events.x", 1): (3, None),  # not fetched yet: its high watermark is unknown
            TP("events.y", 0): (None, 4),
            TP("live.x", 0): (0, 100),
        }
    )
    lag = await consumer_lag(consumer, lambda topic: topic.startswith("events."))
    assert lag == {"events.x": 7}
