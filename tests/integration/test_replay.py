"""`regstream replay` against the real broker: time ranges, order, formats, bad records, losses.

Records are produced with controlled partitions and timestamps (``send(..., timestamp_ms=)``),
and live topics with EventBatch records built by the pipeline's own functions.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fastavro
import orjson
from aiokafka import TopicPartition
from aiokafka.admin import RecordsToDelete

from streams.kafka import admin_client, reliable_producer
from streams.replay.checkpoint import checkpoint_path
from streams.replay.export import ExportJob, Reporter, export
from streams.replay.ranges import AtTime, describe
from streams.replay.rows import BadRecord
from streams.replay.source import Lost
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import settings_env
from tests.unit.replay.factories import batch, encode, events

Send = tuple[int, bytes, int]  # partition, value, timestamp ms


async def produce(settings: Settings, topic: str, sends: list[Send]) -> None:
    producer = reliable_producer(settings)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=b"k", partition=partition, timestamp_ms=stamp)
            for partition, value, stamp in sends
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def has_checkpoint(out: Path) -> bool:
    return checkpoint_path(out).exists()


def replay_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "replay", *args],
        env=settings_env(settings), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


async def test_time_range_is_exact_at_partition_boundaries(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.input_topic("DecisionMade")
    base = int(time.time() * 1000) - 3_600_000
    records = events("DecisionMade", 30)
    values = [encode("DecisionMade", r) for r in records]
    # partition p, record i has timestamp base + 250 p + 100 i: each partition crosses the
    # bounds at another offset, and partition 0 has records exactly at both bounds.
    sends = [(p, values[10 * p + i], base + 250 * p + 100 * i) for p in range(3) for i in range(10)]
    await produce(settings, topic, sends)
    lower, upper = base + 400, base + 900
    out = tmp_path / "range.jsonl"

    job = ExportJob(topic, "jsonl", "DecisionMade", str(lower), describe(AtTime(upper)))
    state = await export(settings, job, subject="tester", out=out)

    rows = jsonl(out)
    expected = [
        (p, i) for p in range(3) for i in range(10) if lower <= base + 250 * p + 100 * i < upper
    ]
    assert [(r["partition"], r["offset"]) for r in rows] == expected
    assert expected[0] == (0, 4) and (0, 9) not in expected and (2, 0) in expected
    assert all(lower <= r["timestamp"] < upper for r in rows)
    assert [r["event"] for r in rows] == [records[10 * p + i] for p, i in expected]
    assert state.rows == len(expected) and state.bad == 0


async def test_explicit_offsets_select_partitions_and_are_half_open(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.input_topic("SimulationUpdate")
    values = [encode("SimulationUpdate", r) for r in events("SimulationUpdate", 18)]
    now = int(time.time() * 1000)
    await produce(settings, topic, [(i % 3, v, now) for i, v in enumerate(values)])
    out = tmp_path / "offsets.jsonl"

    await export(settings, ExportJob(topic, "jsonl", None, "2:1,0:4", "2:3"), subject="t", out=out)

    assert [(r["partition"], r["offset"]) for r in jsonl(out)] == [(0, 4), (0, 5), (2, 1), (2, 2)]


async def test_live_batches_export_one_row_per_event_to_avro_and_csv(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("DecisionMade")
    decisions = events("DecisionMade", 12)
    batches = [batch("DecisionMade", decisions[i : i + 4], first_offset=i) for i in (0, 4, 8)]
    now = int(time.time() * 1000)
    await produce(settings, topic, [(1, encode("EventBatch", b), now) for b in batches])

    avro_out, csv_out = tmp_path / "d.avro", tmp_path / "d.csv"
    await export(settings, ExportJob(topic, "avro", "DecisionMade"), subject="t", out=avro_out)
    high = ("enrichment.risk_class=HIGH",)
    await export(settings, ExportJob(topic, "csv", "DecisionMade", where=high), subject="t",
                 out=csv_out)  # fmt: skip

    with avro_out.open("rb") as handle:
        read: list[dict[str, Any]] = list(fastavro.reader(handle))  # type: ignore[arg-type]
    assert [(r["partition"], r["offset"], r["index"]) for r in read] == [
        (1, offset, index) for offset in range(3) for index in range(4)
    ]
    assert [r["event"]["decision_id"] for r in read] == [d["decision_id"] for d in decisions]
    assert [r["source"]["offset"] for r in read] == list(range(12))
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith("topic,partition,offset,index,timestamp,key,event_type,")
    risky = [r for r in read if r["enrichment"]["risk_class"] == "HIGH"]
    assert len(lines) - 1 == len(risky) > 0


async def test_progress_and_summary_count_the_same_offsets(
    settings: Settings, tmp_path: Path
) -> None:
    """Three transactions of one batch each: 6 offsets, 3 of them commit markers. The bar and
    the summary must both speak of those 6 offsets, and the summary must say what they held."""
    await create_topics(settings)
    topic = settings.catalog.live_topic("DecisionMade")
    decisions = events("DecisionMade", 6)
    producer = reliable_producer(settings, transactional_id=f"replay-test-{topic}")
    await producer.start()
    try:
        for i in (0, 2, 4):
            async with producer.transaction():
                value = encode(
                    "EventBatch", batch("DecisionMade", decisions[i : i + 2], first_offset=i)
                )
                await producer.send_and_wait(topic, value, partition=0)
    finally:
        await producer.stop()

    result = replay_cli(settings, topic, "--out", str(tmp_path / "d.jsonl"))

    assert result.returncode == 0, result.stderr
    assert "6/6 offsets" in result.stderr
    assert "6 rows of" in result.stderr
    assert "6 offsets = 3 records + 3 transaction markers or aborted writes + 0 lost" in (
        result.stderr
    )


async def test_bad_record_is_reported_and_skipped_or_stops_the_export_resumably(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.input_topic("AuditTrailEntry")
    good = [encode("AuditTrailEntry", r) for r in events("AuditTrailEntry", 3)]
    now = int(time.time() * 1000)
    await produce(settings, topic, [(0, good[0], now), (0, b"garbage", now), (0, good[1], now),
                                    (0, good[2], now)])  # fmt: skip
    skipped, stopped = tmp_path / "skip.jsonl", tmp_path / "stop.jsonl"

    skip = replay_cli(settings, topic, "--out", str(skipped), "--on-error", "skip", "-q")
    stop = replay_cli(settings, topic, "--out", str(stopped), "-q")

    assert skip.returncode == 0, skip.stderr
    assert f"{topic}[0]@1: bad-magic" in skip.stderr
    assert [r["offset"] for r in jsonl(skipped)] == [0, 2, 3]
    assert stop.returncode == 1
    assert f"{topic}[0]@1: bad-magic" in stop.stderr
    assert [r["offset"] for r in jsonl(stopped)] == [0]
    assert has_checkpoint(stopped)

    resumed = replay_cli(settings, topic, "--out", str(stopped), "--on-error", "skip", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert stopped.read_bytes() == skipped.read_bytes()
    assert not has_checkpoint(stopped)


async def test_offsets_deleted_by_retention_are_reported_as_lost(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.input_topic("AgentStatusUpdate")
    values = [encode("AgentStatusUpdate", r) for r in events("AgentStatusUpdate", 8)]
    now = int(time.time() * 1000)
    await produce(settings, topic, [(0, v, now) for v in values])
    admin = admin_client(settings)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(5)})
    finally:
        await admin.close()
    lost: list[Lost] = []
    bad: list[BadRecord] = []
    out = tmp_path / "lost.jsonl"

    state = await export(
        settings, ExportJob(topic, "jsonl", None, "0:0", "0:8"), subject="t", out=out,
        reporter=Reporter(bad.append, lost.append),
    )  # fmt: skip

    assert lost == [Lost(0, 0, 5)]
    assert state.lost == 5 and not bad
    assert [r["offset"] for r in jsonl(out)] == [5, 6, 7]


def test_usage_errors_exit_2_before_anything_is_read(settings: Settings) -> None:
    bad_bound = replay_cli(settings, "any.topic", "--from", "yesterday")
    no_topic = replay_cli(settings, f"{settings.input_prefix}nothing", "-q")
    no_type = replay_cli(settings, "some.other.topic", "--format", "csv", "-q")

    assert bad_bound.returncode == 2 and "yesterday" in bad_bound.stderr
    assert no_topic.returncode == 2 and "does not exist" in no_topic.stderr
    assert no_type.returncode == 2 and "--type" in no_type.stderr


async def test_a_type_name_replays_its_live_topic_and_a_typo_gets_a_suggestion(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("DecisionMade")
    now = int(time.time() * 1000)
    await produce(settings, topic, [(0, encode("EventBatch", batch("DecisionMade", events("DecisionMade", 3))), now)])  # fmt: skip

    by_type = replay_cli(settings, "DecisionMade", "-q")
    by_topic = replay_cli(settings, topic, "-q")
    typo = replay_cli(settings, "DecisonMade", "-q")

    assert by_type.returncode == 0, by_type.stderr
    assert len(by_type.stdout.splitlines()) == 3
    assert by_type.stdout == by_topic.stdout
    assert typo.returncode == 2
    assert "topic 'DecisonMade' does not exist (did you mean 'DecisionMade'" in typo.stderr
