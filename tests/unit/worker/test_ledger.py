"""The durable ledger: counts per partition, outcome and reason."""

from __future__ import annotations

from streams.pipeline import Disposition
from streams.worker.ledger import CountKey, Ledger


def test_keys_round_trip_even_when_a_reason_has_separators() -> None:
    key = CountKey("events.x", 3, "dead-letter", "invalid:missing-id|odd")
    assert CountKey.decode(key.encode()) == key


def test_a_batch_adds_one_write_per_key_to_running_totals() -> None:
    table: dict[str, int] = {}
    ledger = Ledger(table)
    dup = Disposition.filtered("filtered:duplicate")
    ledger.add("t", 0, [Disposition.passed(), dup, dup])
    ledger.add("t", 0, [dup])
    assert table == {"t|0|pass|": 1, "t|0|filtered|filtered:duplicate": 3}
