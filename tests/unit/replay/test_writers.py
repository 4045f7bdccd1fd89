"""Output formats: CSV flattening rules, standard Avro container files, JSONL."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastavro
import orjson

from schemas.codec import AvroCodec
from streams.replay.layout import csv_columns, row_schema
from streams.replay.rows import RowDecoder
from streams.replay.writers import AvroWriter, CsvWriter, JsonLinesWriter, cell
from tests.unit.replay.factories import FakeRecord, batch, encode, events


def live_rows(event_type: str, count: int = 3) -> list[dict[str, Any]]:
    value = encode("EventBatch", batch(event_type, events(event_type, count)))
    return RowDecoder(AvroCodec()).rows(FakeRecord("live.t", 0, 4, value, b"key"))


def test_csv_columns_flatten_records_and_keep_maps_whole() -> None:
    names = [".".join(path) for path in csv_columns("DecisionMade")]
    assert names[:10] == ["topic", "partition", "offset", "index", "timestamp", "key",
                          "event_type", "source.topic", "source.partition", "source.offset"]  # fmt: skip
    assert "event.metadata.event_id" in names
    assert "event.metadata.headers" in names  # a map: one cell
    assert "event.decision_details" in names
    assert names[-1] == "enrichment.hash"
    assert len(names) == len(set(names))


def test_cells() -> None:
    assert cell(None) == ""
    assert cell(True) == "true"
    assert cell(0.1) == "0.1"
    assert cell(12) == "12"
    assert cell("a,b") == "a,b"  # quoting is the csv writer's job
    assert cell({"b": 1, "a": [1, None]}) == '{"b":1,"a":[1,null]}'


def test_csv_rows_follow_the_header() -> None:
    rows = live_rows("RegulatoryChangeDetected")
    out = io.BytesIO()
    writer = CsvWriter(out, "RegulatoryChangeDetected", resume=False)
    for row in rows:
        writer.write(row)
    text = out.getvalue().decode()
    assert text.endswith("\r\n")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == 3
    first, event = parsed[0], rows[0]["event"]
    assert first["index"] == "0"
    assert first["event.change_id"] == event["change_id"]
    assert first["event.metadata.occurred_at"] == str(event["metadata"]["occurred_at"])
    assert orjson.loads(first["event.recommended_actions"]) == event["recommended_actions"]
    assert first["enrichment.prev_hash"] == ""
    assert first["enrichment.agent_known"] == "false"


def test_avro_output_is_a_standard_container_with_the_schema_embedded() -> None:
    rows = live_rows("AuditTrailEntry")
    out = io.BytesIO()
    writer = AvroWriter(out, "AuditTrailEntry", sync_marker=b"s" * 16)
    for row in rows:
        writer.write(row)
    writer.flush()
    out.seek(0)
    reader = fastavro.reader(out)
    assert isinstance(reader.writer_schema, dict)
    assert reader.writer_schema["name"] == "regstream.replay.ReplayRow"
    read: list[dict[str, Any]] = list(reader)  # type: ignore[arg-type]
    assert [r["index"] for r in read] == [0, 1, 2]
    assert read[0]["timestamp"].tzinfo is not None  # timestamp-millis logical type
    assert read[0]["event"]["agent_id"] == rows[0]["event"]["agent_id"]
    assert read[0]["event"]["attributes"] == rows[0]["event"]["attributes"]
    assert str(read[0]["event"]["metadata"]["event_id"]) == rows[0]["event"]["metadata"]["event_id"]
    assert read[0]["source"] == rows[0]["source"]


def test_avro_row_schema_parses_for_every_type() -> None:
    for event_type in ("AgentStatusUpdate", "CollaborationEvent", "AccessAuditEntry"):
        fastavro.parse_schema(row_schema(event_type))


def test_jsonl_is_one_row_per_line_in_field_order() -> None:
    rows = live_rows("SimulationUpdate", 2)
    out = io.BytesIO()
    writer = JsonLinesWriter(out)
    for row in rows:
        writer.write(row)
    lines = out.getvalue().splitlines()
    assert [orjson.loads(line) for line in lines] == rows
    assert lines[0].startswith(b'{"topic":"live.t","partition":0,"offset":4,"index":0,')


def test_avro_bytes_do_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    """A resumed export runs in another process than the one it continues."""
    script = (
        "import sys; from streams.replay.writers import AvroWriter\n"
        "with open(sys.argv[1], 'wb') as out:\n"
        "    AvroWriter(out, 'DecisionMade', sync_marker=bytes(16)).flush()\n"
    )
    outputs = []
    for seed in ("1", "2"):
        path = tmp_path / f"seed-{seed}.avro"
        subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60,
                       env={**os.environ, "PYTHONHASHSEED": seed})  # fmt: skip
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
