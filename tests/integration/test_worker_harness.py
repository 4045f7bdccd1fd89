"""Helpers shared by the worker tests, the chaos run and the pipeline benchmark (no tests here).

- :class:`Workers` runs ``python -m streams.cli.main worker`` as real subprocesses, each in its own
  process group with its own log file, and SIGKILLs every one of them when the block exits, even
  when the test failed.
- :func:`plan_inputs` builds input records with known ids: valid ones, resent duplicates, records
  a rule filters, records a check dead-letters, and bytes that are not Avro at all; the plan says
  what each must become.
- :func:`account` reads everything the worker wrote (``live.*`` and the DLQ with
  ``read_committed``, the durable ledger) and reconciles it with the plan.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from schemas.codec import AvroCodec
from schemas.contract import EVENT_TYPES, partition_key
from streams.kafka import committed_consumer, reliable_producer
from streams.pipeline import ChainVerifier
from streams.pipeline.hashchain import ChainRecord
from streams.pipeline.policy import parse_dead_letter_headers
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from streams.worker.config import WorkerSettings
from streams.worker.ledger import CountKey, read_counts
from streams.worker.reading import read_to_end
from tests.integration.helpers import settings_env

WORKER = [sys.executable, "-m", "streams.cli.main", "worker"]
RULES = '{"DecisionMade": {"min_severity": "INFO"}}'


def app_id(settings: Settings) -> str:
    return WorkerSettings().resolved_app_id(settings)


def worker_env(settings: Settings, data_dir: Path, **worker: str) -> dict[str, str]:
    """The child's environment: the test's settings plus worker settings (short session)."""
    env = settings_env(settings)
    env.update(
        {
            "REGSTREAM_WORKER_DATA_DIR": str(data_dir),
            "REGSTREAM_WORKER_SESSION_TIMEOUT_MS": "6000",
            "REGSTREAM_WORKER_RULES": RULES,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"REGSTREAM_WORKER_{name.upper()}": value for name, value in worker.items()})
    return env


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (no graceful anything) and reap it."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Workers:
    """Starts worker subprocesses; ``killed_all`` on exit (see :func:`running_workers`)."""

    env: dict[str, str]
    directory: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def start(self, name: str | None = None) -> WorkerProcess:
        name = name or f"worker-{len(self.started)}"
        log = self.directory / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                WORKER, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = WorkerProcess(name, process, log)
        self.started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            if worker.alive:
                worker.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ({w.log.name}) ---\n{w.log_tail()}" for w in self.started)


@contextmanager
def running_workers(env: dict[str, str], directory: Path) -> Iterator[Workers]:
    workers = Workers(env, directory)
    try:
        yield workers
    finally:
        workers.kill_all()


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    timeout_s: float,
    message: Callable[[], str],
    workers: Workers | None = None,
) -> None:
    """Poll ``condition`` until true; fail with ``message()`` (and worker logs) after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if workers is not None and workers.started and not any(w.alive for w in workers.started):
            raise AssertionError(f"every worker exited: {message()}\n{workers.logs()}")
        if time.monotonic() > deadline:
            logs = workers.logs() if workers else ""
            raise AssertionError(f"timed out after {timeout_s:.0f} s: {message()}\n{logs}")
        await asyncio.sleep(0.5)


async def committed_progress(settings: Settings) -> int:
    """Sum of the worker group's committed input offsets: records fully processed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(app_id(settings))
    except KafkaError as exc:
        if exc.retriable:  # e.g. no group coordinator yet on a fresh broker
            return 0
        raise
    finally:
        await admin.close()
    inputs = {settings.catalog.input_topic(t) for t in EVENT_TYPES}
    return sum(
        meta.offset for tp, meta in offsets.items() if tp.topic in inputs and meta.offset > 0
    )


# -- inputs -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Input records with known ids and what each must become."""

    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    passed: set[str] = field(default_factory=set)
    duplicates: int = 0
    below_severity: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    bad_bytes: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.records) + len(self.bad_bytes)


def plan_inputs(count: int, seed: int = 11) -> Plan:
    """``count`` input records: ~5% duplicates, ~2.5% bad bytes, ~2.5% future timestamps and a
    tenth of the decisions below the DecisionMade stream's INFO threshold."""
    samples = SampleEvents(seed=seed, source="worker-test")
    plan = Plan()
    first_copies: list[tuple[str, dict[str, Any]]] = []
    while plan.total < count:
        n = plan.total
        if n % 40 == 7:
            topic_type = EVENT_TYPES[n % len(EVENT_TYPES)]
            plan.bad_bytes.append((topic_type, f"key-{n}".encode(), f"not-avro-{n}".encode()))
            continue
        if n % 20 == 3 and first_copies:
            plan.records.append(first_copies[(n * 7919) % len(first_copies)])
            plan.duplicates += 1
            continue
        event_type, record = samples.any()
        event_id = record["metadata"]["event_id"]
        if event_type == "DecisionMade" and record["metadata"]["severity"] == "DEBUG":
            record["metadata"]["severity"] = "INFO"
        if n % 40 == 17:
            record["metadata"]["occurred_at"] += 86_400_000
            plan.invalid.add(event_id)
        elif event_type == "DecisionMade" and n % 10 == 1:
            record["metadata"]["severity"] = "DEBUG"
            plan.below_severity.add(event_id)
        else:
            plan.passed.add(event_id)
            first_copies.append((event_type, record))
        plan.records.append((event_type, record))
    return plan


def _part(items: list[Any], part: tuple[int, int]) -> list[Any]:
    index, parts = part
    return items[len(items) * index // parts : len(items) * (index + 1) // parts]


async def publish(settings: Settings, plan: Plan, part: tuple[int, int] = (0, 1)) -> None:
    """Publish part ``i`` of ``n`` of the plan's records (in order) and of its bad bytes."""
    async with EventProducer(settings) as sdk:
        records = _part(plan.records, part)
        for start in range(0, len(records), 2_000):
            chunk = records[start : start + 2_000]
            for event_type in EVENT_TYPES:
                results = await sdk.send_many(event_type, [r for t, r in chunk if t == event_type])
                errors = [r for r in results if isinstance(r, BaseException)]
                assert not errors, errors[:3]
    producer = reliable_producer(settings)
    await producer.start()
    try:
        bad = _part(plan.bad_bytes, part)
        futures = [
            await producer.send(settings.catalog.input_topic(t), value, key=key)
            for t, key, value in bad
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def group_members(settings: Settings) -> list[set[tuple[str, int]]]:
    """The input partitions each live member of the worker group is assigned."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([app_id(settings)])
    except KafkaError as exc:
        if exc.retriable:
            return []
        raise
    finally:
        await admin.close()
    inputs = {settings.catalog.input_topic(t) for t in EVENT_TYPES}
    members = []
    for member in response.groups[0][-1] if response.groups else ():
        raw = member[-1]
        if not raw:
            members.append(set())
            continue
        assignment = ConsumerProtocolMemberAssignment.decode(raw)
        members.append({(t, p) for t, parts in assignment.assignment if t in inputs for p in parts})
    return members


# -- outputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputEvent:
    topic: str
    partition: int
    offset: int
    index: int
    source_partition: int
    source_offset: int
    event_type: str
    record: dict[str, Any]
    enrichment: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.record["metadata"]["event_id"])


async def iter_outputs(settings: Settings, timeout_s: float = 120) -> AsyncIterator[OutputEvent]:
    """Every committed event in ``live.*``, one at a time (a long run's million fit nowhere)."""
    codec = AvroCodec()
    topics = [settings.catalog.live_topic(t) for t in EVENT_TYPES]
    consumer = committed_consumer(settings, *topics, max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    try:
        async for message in read_to_end(consumer, timeout_s=timeout_s):
            _, batch = codec.decode(message.value)
            for index, event in enumerate(batch["events"]):
                event_type, record = event["payload"]
                yield OutputEvent(
                    message.topic,
                    message.partition,
                    message.offset,
                    index,
                    batch["source_partition"],
                    event["source_offset"],
                    event_type,
                    record,
                    event["enrichment"],
                )
    finally:
        await consumer.stop()


async def read_outputs(settings: Settings) -> list[OutputEvent]:
    """Every committed event in ``live.*``, in (topic, partition, offset, index) order."""
    events = [event async for event in iter_outputs(settings)]
    events.sort(key=lambda e: (e.topic, e.partition, e.offset, e.index))
    return events


async def read_dlq(settings: Settings) -> list[Any]:
    consumer = committed_consumer(settings, settings.catalog.dlq)
    await consumer.start()
    try:
        return [message async for message in read_to_end(consumer, timeout_s=60)]
    finally:
        await consumer.stop()


async def ledger_totals(settings: Settings) -> Counter[tuple[str, str]]:
    """The durable counts summed over topics and partitions: (outcome, reason) → count."""
    counts: dict[CountKey, int] = await read_counts(settings, app_id(settings))
    totals: Counter[tuple[str, str]] = Counter()
    for key, value in counts.items():
        totals[(key.outcome, key.reason)] += value
    return totals


def check_order(events: list[OutputEvent]) -> list[str]:
    """Per live partition, source offsets strictly increase and match the source partition."""
    problems = []
    last: dict[tuple[str, int], int] = {}
    for event in events:
        if event.source_partition != event.partition:
            problems.append(
                f"{event.topic}/{event.partition} holds source p{event.source_partition}"
            )
        previous = last.get((event.topic, event.partition), -1)
        if event.source_offset <= previous:
            problems.append(
                f"{event.topic}/{event.partition}@{event.offset}[{event.index}]: source offset "
                f"{event.source_offset} after {previous}"
            )
        last[(event.topic, event.partition)] = event.source_offset
    return problems


def check_chain(events: list[OutputEvent]) -> list[str]:
    verifier = ChainVerifier()
    for event in events:
        if event.event_type == "AuditTrailEntry":
            verifier.feed(
                ChainRecord(
                    key=partition_key("AuditTrailEntry", event.record),
                    position=(event.partition, event.offset, event.index),
                    entry=event.record,
                    prev_hash=event.enrichment["prev_hash"],
                    hash=event.enrichment["hash"],
                )
            )
    report = verifier.report
    return [f"chain break: {b}" for b in report.breaks] + (
        [f"{report.duplicates} repeated audit links"] if report.duplicates else []
    )


async def account(settings: Settings, plan: Plan) -> list[str]:
    """Everything that does not add up; empty when every input is accounted for exactly once."""
    problems: list[str] = []
    events = await read_outputs(settings)
    seen = Counter(e.event_id for e in events)
    repeated = [i for i, n in seen.items() if n > 1]
    missing = plan.passed - seen.keys()
    unexpected = seen.keys() - plan.passed
    if repeated:
        problems.append(f"{len(repeated)} ids published more than once, e.g. {repeated[:3]}")
    if missing:
        problems.append(f"{len(missing)} ids never published, e.g. {sorted(missing)[:3]}")
    if unexpected:
        problems.append(
            f"{len(unexpected)} ids published that should not be, e.g. {sorted(unexpected)[:3]}"
        )
    problems += check_order(events)[:5] + check_chain(events)[:5]

    codec = AvroCodec()
    letters = await read_dlq(settings)
    bad_values = Counter(m.value for m in letters if not m.value.startswith(b"\xc3\x01"))
    expected_bad = Counter(value for _, _, value in plan.bad_bytes)
    if bad_values != expected_bad:
        problems.append(
            f"bad bytes in DLQ {sum(bad_values.values())} != {len(plan.bad_bytes)} once each"
        )
    invalid_ids = Counter(
        codec.decode(m.value).record["metadata"]["event_id"]
        for m in letters
        if m.value.startswith(b"\xc3\x01")
    )
    if invalid_ids != Counter(plan.invalid):
        problems.append(
            f"invalid records in DLQ {sum(invalid_ids.values())} != {len(plan.invalid)} once each"
        )
    for message in letters[:50]:
        info = parse_dead_letter_headers(message.headers)
        if settings.catalog.event_type_of(info.source[0]) is None:
            problems.append(f"dead letter names source {info.source}")

    totals = await ledger_totals(settings)
    expected = Counter(
        {
            ("pass", ""): len(plan.passed),
            ("filtered", "filtered:duplicate"): plan.duplicates,
            ("filtered", "filtered:below-severity"): len(plan.below_severity),
            ("dead-letter", "bad-magic"): len(plan.bad_bytes),
            ("dead-letter", "invalid:future-timestamp"): len(plan.invalid),
        }
    )
    if +totals != +expected:
        problems.append(f"ledger {dict(totals)} != expected {dict(expected)}")
    return problems


# -- the kill -9 run ---------------------------------------------------------------------------


async def run_with_kills(
    settings: Settings, plan: Plan, tmp_path: Path, kill_at: tuple[float, ...], timeout_s: float
) -> list[str]:
    """Process ``plan`` with one worker, SIGKILLed once past each fraction of the input."""
    await create_topics(settings)
    await publish(settings, plan)
    env = worker_env(settings, tmp_path / "data", processing_guarantee="exactly_once")
    with running_workers(env, tmp_path) as workers:
        worker = workers.start()
        for fraction in kill_at:
            target = int(plan.total * fraction)

            async def reached(target: int = target) -> bool:
                return await committed_progress(settings) >= target

            wanted = f"progress to {target} of {plan.total}"
            await wait_for(reached, timeout_s, lambda wanted=wanted: wanted, workers)
            assert await committed_progress(settings) < plan.total, "finished before the kill"
            worker.kill()
            worker = workers.start()

        async def done() -> bool:
            return sum((await ledger_totals(settings)).values()) >= plan.total

        await wait_for(done, timeout_s, lambda: f"all {plan.total} accounted", workers)
        problems = await account(settings, plan)
        return [*problems, *([workers.logs()] if problems else [])]
