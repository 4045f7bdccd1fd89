"""A real worker fed the hostile corpus: every case dead-lettered with its reason, nothing stops it.

Before: a record with ``occurred_at = -2**63`` and a valid event of about 1 MB each crashed the
worker, which then crash-looped on the same record, stalling all six input topics.
"""

from __future__ import annotations

from pathlib import Path

from streams.kafka import reliable_producer
from streams.pipeline.policy import parse_dead_letter_headers
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.corpus.records import EVENT_TYPE, cases
from tests.integration.test_worker import cli
from tests.integration.test_worker_harness import (
    ledger_totals,
    read_dlq,
    read_outputs,
    running_workers,
    wait_for,
    worker_env,
)

GOOD_EVENTS = 300
WORKER_MEMORY_BUDGET = 400 << 20
"""Peak RSS of a worker that processed the corpus (the ~1 MB cases included)."""


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def test_a_worker_dead_letters_every_hostile_record_and_keeps_processing(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    topic = settings.catalog.input_topic(EVENT_TYPE)
    corpus = cases()
    producer = reliable_producer(settings, max_request_size=2 << 20)
    await producer.start()
    sent = {}
    try:
        for case in corpus:
            meta = await producer.send_and_wait(topic, case.value, key=b"session-1")
            sent[(meta.partition, meta.offset)] = case
    finally:
        await producer.stop()
    samples = SampleEvents(seed=23)
    good = [samples.next(EVENT_TYPE) for _ in range(GOOD_EVENTS)]
    async with EventProducer(settings) as sdk:
        for record in good:
            await sdk.send(EVENT_TYPE, record)

    env = worker_env(settings, tmp_path / "data", processing_guarantee="exactly_once")
    with running_workers(env, tmp_path) as workers:
        worker = workers.start()
        total = len(corpus) + GOOD_EVENTS

        async def accounted() -> bool:
            return sum((await ledger_totals(settings)).values()) >= total

        await wait_for(accounted, 180, lambda: f"{total} records accounted", workers)
        assert worker.alive, worker.log_tail()
        peak = peak_rss(worker.process.pid)
        assert peak < WORKER_MEMORY_BUDGET, f"worker peak RSS {peak >> 20} MiB"

    reasons = {}
    letters = await read_dlq(settings)
    for letter in letters:
        info = parse_dead_letter_headers(letter.headers)
        assert info.source[0] == topic
        reasons[info.source[1:]] = info.reason
    expected = {position: case.expected for position, case in sent.items() if case.expected}
    assert reasons == expected
    shown = cli(settings, "dlq", "inspect", "--reason", "output-too-large")
    assert shown.stdout.count("body omitted (") == 2, shown.stdout
    refused = cli(settings, "dlq", "replay", "--reason", "output-too-large")
    assert refused.returncode == 1 and refused.stderr.count("carries no body") == 2
    published = {event.event_id for event in await read_outputs(settings)}
    valid = {position for position, case in sent.items() if not case.expected}
    assert len(valid) == 1
    assert {r["metadata"]["event_id"] for r in good} <= published
    assert len(published) == GOOD_EVENTS + 1


async def test_an_operator_skips_a_position_and_the_worker_quarantines_it(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    samples = SampleEvents(seed=29)
    records = [samples.next("DecisionMade") for _ in range(3)]
    for record in records:
        record["metadata"]["severity"] = "HIGH"  # above the test rules' INFO threshold
        record["agent_id"] = "agent-kyc"  # one key: one partition, in order
    async with EventProducer(settings) as sdk:
        sent = [await sdk.send("DecisionMade", record) for record in records]
    topic = settings.catalog.input_topic("DecisionMade")
    skipped = sent[1]
    env = worker_env(settings, tmp_path / "data")
    run = cli(settings, "dlq", "skip", topic, str(skipped.partition), str(skipped.offset))
    assert run.returncode == 0, run.stderr
    listed = cli(settings, "dlq", "suspects")
    assert (
        f"{topic}/{skipped.partition} offsets {skipped.offset}..{skipped.offset}" in listed.stdout
    )

    with running_workers(env, tmp_path) as workers:
        workers.start()

        async def accounted() -> bool:
            return sum((await ledger_totals(settings)).values()) >= len(records)

        await wait_for(accounted, 120, lambda: "3 records accounted", workers)
    (letter,) = await read_dlq(settings)
    info = parse_dead_letter_headers(letter.headers)
    assert (info.source, info.reason) == ((topic, skipped.partition, skipped.offset), "quarantined")
    assert letter.value is not None  # the record itself, to replay once its cause is fixed
    published = {event.event_id for event in await read_outputs(settings)}
    assert published == {records[0]["metadata"]["event_id"], records[2]["metadata"]["event_id"]}
