"""The checkpoint protocol: a crash after any checkpoint, then a resume, gives identical bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas.codec import AvroCodec
from streams.replay.checkpoint import (
    Checkpoint,
    CheckpointMismatch,
    checkpoint_path,
    durable_length,
    load_checkpoint,
    open_output,
    save_checkpoint,
)
from streams.replay.ranges import OffsetRange
from streams.replay.rows import RowDecoder
from streams.replay.writers import FORMATS, open_writer
from tests.unit.replay.factories import FakeRecord, batch, encode, events

JOB = {"topic": "live.audit_trail_entry", "format": "avro", "where": []}
PLAN = {0: OffsetRange(0, 40), 2: OffsetRange(5, 9)}


def test_checkpoint_round_trips_and_starts_at_the_plan() -> None:
    state = Checkpoint.start(JOB, PLAN)
    assert state.next == {0: 0, 2: 5}
    state.next[0], state.rows, state.length = 17, 30, 4096
    again = Checkpoint.from_bytes(state.to_bytes())
    assert again == state
    assert again.sync_marker() == state.sync_marker()
    assert len(state.sync_marker()) == 16
    assert Checkpoint.start({**JOB, "topic": "x"}, PLAN).sync_marker() != state.sync_marker()


def test_a_checkpoint_of_another_export_is_refused() -> None:
    state = Checkpoint.start(JOB, PLAN)
    state.check_job(dict(JOB))
    with pytest.raises(CheckpointMismatch, match="differs in format"):
        state.check_job({**JOB, "format": "csv"})


def test_save_replaces_atomically_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = checkpoint_path(tmp_path / "day.jsonl")
    assert path.name == "day.jsonl.checkpoint"
    assert load_checkpoint(path) is None
    state = Checkpoint.start(JOB, PLAN)
    save_checkpoint(path, state)
    state.next[0] = 12
    save_checkpoint(path, state)
    assert load_checkpoint(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["day.jsonl.checkpoint"]


def test_resuming_needs_the_output_it_vouches_for(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(CheckpointMismatch, match="is gone"):
        open_output(out, 10)
    out.write_bytes(b"12345")
    with pytest.raises(CheckpointMismatch, match="shorter"):
        open_output(out, 10)


def rows() -> list[dict[str, Any]]:
    decoder = RowDecoder(AvroCodec(), "DecisionMade")
    found = []
    for offset in range(12):
        value = encode("EventBatch", batch("DecisionMade", events("DecisionMade", 5, offset)))
        found.extend(decoder.rows(FakeRecord("live.decision_made", 0, offset, value)))
    return found


def write(
    path: Path, fmt: str, items: list[dict[str, Any]], state: Checkpoint, *, crash_at: int = 0
) -> None:
    """Write ``items`` from ``state.rows`` on, checkpointing every 7 rows like the exporter
    (``state`` only changes at checkpoints); stop dead after row ``crash_at`` if given."""
    with open_output(path, state.length) as handle:
        writer = open_writer(fmt, handle, "DecisionMade", resume=state.length > 0,
                             sync_marker=state.sync_marker())  # fmt: skip
        for number, row in enumerate(items[state.rows :], start=state.rows + 1):
            writer.write(row)
            if number == crash_at:
                return  # killed: buffered bytes may or may not have reached the file
            if number % 7 == 0 or number == len(items):
                writer.flush()
                state.rows, state.length = number, durable_length(handle)


@pytest.mark.parametrize("fmt", FORMATS)
def test_crash_then_resume_gives_the_bytes_of_an_uninterrupted_run(
    tmp_path: Path, fmt: str
) -> None:
    items = rows()
    whole = tmp_path / f"whole.{fmt}"
    write(whole, fmt, items, Checkpoint.start(JOB, PLAN))

    part = tmp_path / f"part.{fmt}"
    state = Checkpoint.start(JOB, PLAN)
    write(part, fmt, items, state, crash_at=25)
    assert state.rows == 21
    with part.open("ab") as handle:
        handle.write(b"half a row that the crash left behind")
    write(part, fmt, items, Checkpoint.from_bytes(state.to_bytes()))

    assert part.read_bytes() == whole.read_bytes()
