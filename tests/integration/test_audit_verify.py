"""`regstream audit verify` against the real broker: tampering, retention gaps, transactions."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.admin import RecordsToDelete

from streams.audit.continuity import GapCause
from streams.audit.verify import verify_audit
from streams.kafka import admin_client, reliable_producer
from streams.pipeline.hashchain import BreakKind, link_hash
from streams.replay.ranges import AtOffsets, AtTime, Edge
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import settings_env
from tests.integration.test_replay import produce
from tests.unit.replay.factories import audit_batches, encode


def values(batches: list[dict[str, Any]]) -> list[bytes]:
    return [encode("EventBatch", item) for item in batches]


def altered(item: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    """A copy of ``item`` whose entry ``index`` was edited after it was chained."""
    events = [dict(event) for event in item["events"]]
    kind, entry = events[index]["payload"]
    events[index]["payload"] = (kind, {**entry, **changes})
    return {**item, "events": events}


def forged_after(item: dict[str, Any]) -> dict[str, Any]:
    """A batch with one made-up entry, correctly linked after the last entry of ``item``."""
    last = item["events"][-1]
    entry = {**last["payload"][1], "title": "forged: nothing happened"}
    prev_hash = last["enrichment"]["hash"]
    enrichment = {**last["enrichment"], "prev_hash": prev_hash, "hash": link_hash(prev_hash, entry)}
    return {**item, "events": [{**last, "payload": ("AuditTrailEntry", entry),
                                "enrichment": enrichment}]}  # fmt: skip


def verify_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "audit", "verify", *args],
        env=settings_env(settings), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


async def test_intact_chains_verify_from_genesis(settings: Settings) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("AuditTrailEntry")
    now = int(time.time() * 1000)
    first = values(audit_batches(["agent-a", "agent-b"], 5, 3))
    second = values(audit_batches(["agent-c"], 4, 2, seed=12))
    await produce(settings, topic, [(0, v, now) for v in first] + [(1, v, now) for v in second])

    report = await verify_audit(settings, Edge.EARLIEST, Edge.LATEST)

    assert report.ok, report.to_json()
    assert report.from_genesis
    assert (report.chain.entries, len(report.chain.keys), report.records) == (14, 3, 6)
    assert report.gaps == []


async def test_altered_removed_and_forged_entries_are_found_at_their_positions(
    settings: Settings,
) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("AuditTrailEntry")
    now = int(time.time() * 1000)
    ab = audit_batches(["agent-a", "agent-b"], 3, 2)  # [a1 b1] [a2 b2] [a3 b3]
    cd = audit_batches(["agent-c", "agent-d"], 4, 2, seed=12)  # 4 batches
    ee = audit_batches(["agent-e"], 3, 1, seed=13)  # [e1] [e2] [e3]
    partition0 = [ab[0], altered(ab[1], 0, title="approved"), ab[2]]
    partition1 = [cd[0], cd[1], cd[3]]  # cd[2] removed
    partition2 = [ee[0], forged_after(ee[0]), ee[1], ee[2]]  # forged entry inserted
    await produce(settings, topic, [(p, v, now) for p, batches in
                                    enumerate((partition0, partition1, partition2))
                                    for v in values(batches)])  # fmt: skip

    run = verify_cli(settings, "--json")

    assert run.returncode == 1, run.stderr
    report = orjson.loads(run.stdout)
    found = [
        (b["kind"], b["key"], b["partition"], b["offset"], b["index"]) for b in report["breaks"]
    ]
    assert found == [
        (BreakKind.ALTERED, "agent-a", 0, 1, 0),
        (BreakKind.BROKEN_LINK, "agent-c", 1, 2, 0),
        (BreakKind.BROKEN_LINK, "agent-d", 1, 2, 1),
        (BreakKind.BROKEN_LINK, "agent-e", 2, 2, 0),
    ]
    assert report["ok"] is False and report["gaps"] == [] and report["bad"] == []
    text = verify_cli(settings, "--quiet")
    assert text.returncode == 1
    assert "BREAK altered key agent-a at partition 0 offset 1 index 0" in text.stdout


async def test_retention_gaps_are_breaks_and_reported_with_offsets(settings: Settings) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("AuditTrailEntry")
    now = int(time.time() * 1000)
    await produce(settings, topic, [(0, v, now + i) for i, v in
                                    enumerate(values(audit_batches(["agent-a"], 8, 1)))])  # fmt: skip
    admin = admin_client(settings)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(3)})
    finally:
        await admin.close()

    asked_offsets = await verify_audit(settings, AtOffsets({0: 0}), Edge.LATEST)
    asked_time = await verify_audit(settings, AtTime(now - 60_000), Edge.LATEST)
    retained = await verify_audit(settings, Edge.EARLIEST, Edge.LATEST)
    cli = verify_cli(settings, "--from", "0:0", "--quiet")

    for report in (asked_offsets, asked_time):
        assert not report.ok
        ((gap_partition, first, end, cause),) = [
            (g.partition, g.first, g.end, g.cause) for g in report.gaps
        ]
        assert (gap_partition, first, end, cause) == (0, 0, 3, GapCause.RETENTION)
        assert report.chain.ok and not report.from_genesis  # anchored after the gap
    assert retained.ok and retained.gaps == [] and retained.chain.entries == 5
    assert cli.returncode == 1
    assert "GAP partition 0 offsets 0..2: retention" in cli.stdout


async def test_transaction_markers_are_counted_not_breaks(settings: Settings) -> None:
    await create_topics(settings)
    topic = settings.catalog.live_topic("AuditTrailEntry")
    batches = values(audit_batches(["agent-a"], 6, 1))
    producer = reliable_producer(settings, transactional_id=f"audit-test-{topic}")
    await producer.start()
    try:
        for chunk in (batches[:3], batches[3:]):
            async with producer.transaction():
                for value in chunk:
                    await producer.send_and_wait(topic, value, partition=0)
    finally:
        await producer.stop()

    report = await verify_audit(settings, Edge.EARLIEST, Edge.LATEST)

    assert report.ok, report.to_json()
    assert report.chain.entries == 6
    assert report.gaps and {g.cause for g in report.gaps} == {GapCause.TRANSACTION}
    assert sum(g.size for g in report.gaps) == 2  # one commit marker per transaction

    # The command line sums the markers up in one note; --verbose lists every range.
    quiet = verify_cli(settings, "--quiet")
    verbose = verify_cli(settings, "--quiet", "--verbose")

    assert quiet.returncode == 0 and verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert f"verified {topic}: 8 offsets, 6 records" in quiet.stdout
    notes = [line for line in quiet.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: 2 offsets in 2 ranges held transaction markers or aborted writes, nothing missing"
        " (--verbose lists them)"
    ]
    assert quiet.stdout.splitlines()[-1] == "OK: no breaks"
    assert (
        sum(line.startswith("note: partition 0 offsets") for line in verbose.stdout.splitlines())
        == 2
    )
