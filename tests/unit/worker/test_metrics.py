"""/metrics text: disposition counters by topic, outcome and reason, plus gauges."""

from __future__ import annotations

from streams.pipeline import Disposition, DispositionCounter
from streams.worker.metrics import render


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
