"""Prometheus text for ``/metrics`` on the worker's (optional) web port.

Counts come from :class:`streams.pipeline.DispositionCounter` (in memory, restart at zero like any
Prometheus counter); the durable per-partition ledger is :mod:`streams.worker.ledger`. Rendered by
hand in the exposition format: a handful of series, no registry to keep in sync.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from streams.pipeline import DispositionCounter

# Seconds; a batch of the default size takes milliseconds, a transaction stuck on a broker
# failover seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def consumer_lag(consumer: Any, is_input: Callable[[str], bool]) -> Counter[str]:
    """Records of the assigned input partitions not fetched yet, per topic, from a Faust
    consumer. A partition whose position or high watermark is not known yet (until its first
    fetch has answered) adds nothing."""
    per_topic: Counter[str] = Counter()
    for tp in consumer.assignment():
        if is_input(tp.topic):
            position, high = await consumer.position(tp), consumer.highwater(tp)
            if position is not None and high is not None:
                per_topic[tp.topic] += max(0, high - position)
    return per_topic


class BatchLatency:
    """A Prometheus histogram of how long the worker takes over one batch of ``take()``:
    processing it and handing it to delivery (``regstream_worker_batch_seconds``)."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.total_s = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.total_s += seconds

    def lines(self) -> list[str]:
        name = "regstream_worker_batch_seconds"
        lines = [
            f"# HELP {name} Time to process a batch and hand it to delivery.",
            f"# TYPE {name} histogram",
        ]
        cumulative = 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'{name}_bucket{{le="{le}"}} {cumulative}')
        lines.append(f"{name}_sum {self.total_s}")
        lines.append(f"{name}_count {cumulative}")
        return lines


def render(
    counter: DispositionCounter,
    gauges: Mapping[str, float],
    lag: Mapping[str, int] | None = None,
    latency: BatchLatency | None = None,
) -> str:
    """``regstream_worker_records_total{topic,outcome,reason}``, plain gauges, the consumer lag
    per input topic (records not fetched yet) and the batch latency histogram."""
    lines = [
        "# HELP regstream_worker_records_total Input records by source topic, outcome and reason.",
        "# TYPE regstream_worker_records_total counter",
    ]
    for key, count in sorted(counter.snapshot().items()):
        labels = f'topic="{_label(key.topic)}",outcome="{key.outcome.value}",reason="{_label(key.reason)}"'
        lines.append(f"regstream_worker_records_total{{{labels}}} {count}")
    for name, value in sorted(gauges.items()):
        lines.append(f"# TYPE regstream_worker_{name} gauge")
        lines.append(f"regstream_worker_{name} {value}")
    if lag is not None:
        lines.append(
            "# HELP regstream_worker_consumer_lag Records of the assigned input partitions "
            "not fetched yet, per topic."
        )
        lines.append("# TYPE regstream_worker_consumer_lag gauge")
        for topic, records in sorted(lag.items()):
            lines.append(f'regstream_worker_consumer_lag{{topic="{_label(topic)}"}} {records}')
    if latency is not None:
        lines.extend(latency.lines())
    return "\n".join(lines) + "\n"
