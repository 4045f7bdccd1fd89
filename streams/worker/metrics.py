"""Prometheus text for ``/metrics`` on the worker's (optional) web port.

Counts come from :class:`streams.pipeline.DispositionCounter` (in memory, restart at zero like any
Prometheus counter); the durable per-partition ledger is :mod:`streams.worker.ledger`. Rendered by
hand in the exposition format: a handful of series, no registry to keep in sync.
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.pipeline import DispositionCounter


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(counter: DispositionCounter, gauges: Mapping[str, float]) -> str:
    """``regstream_worker_records_total{topic,outcome,reason}`` plus plain gauges."""
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
    return "\n".join(lines) + "\n"
