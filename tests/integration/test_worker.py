"""The worker against a real broker, as real subprocesses: nothing lost, nothing twice.

Every wait is bounded and fails with what was expected, what was seen and the workers' logs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.kafka import reliable_producer
from streams.pipeline.policy import parse_dead_letter_headers
from streams.producer import EventProducer
from streams.samples import SampleEvents
from streams.settings import Settings
from streams.topics import create_topics
from tests.integration.helpers import settings_env
from tests.integration.test_worker_harness import (
    account,
    committed_progress,
    group_members,
    ledger_totals,
    plan_inputs,
    publish,
    read_dlq,
    read_outputs,
    run_with_kills,
    running_workers,
    wait_for,
    worker_env,
)

KILL_TEST_EVENTS = 100_000
KILL_AT = (0.2, 0.45, 0.7)
DONE_TIMEOUT_S = 400.0


@pytest.mark.timeout(1500)
async def test_every_input_is_accounted_for_exactly_once_across_three_kills(
    settings: Settings, tmp_path: Path
) -> None:
    plan = plan_inputs(KILL_TEST_EVENTS)
    problems = await run_with_kills(settings, plan, tmp_path, KILL_AT, DONE_TIMEOUT_S)
    assert not problems, "\n".join(problems)


async def test_two_workers_share_partitions_and_one_takes_over_after_a_kill(
    settings: Settings, tmp_path: Path
) -> None:
    plan = plan_inputs(6_000, seed=23)
    await create_topics(settings)
    await publish(settings, plan, (0, 3))
    env = worker_env(settings, tmp_path / "data", processing_guarantee="exactly_once")
    with running_workers(env, tmp_path) as workers:
        survivor, victim = workers.start("a"), workers.start("b")

        async def shared() -> bool:
            members = await group_members(settings)
            return len(members) == 2 and all(members)

        await wait_for(shared, 90, lambda: "two members with input partitions", workers)
        await publish(settings, plan, (1, 3))

        async def halfway() -> bool:
            return await committed_progress(settings) >= plan.total // 2

        await wait_for(halfway, 90, lambda: "half of the input processed", workers)
        victim.kill()
        await publish(settings, plan, (2, 3))

        async def done() -> bool:
            return sum((await ledger_totals(settings)).values()) >= plan.total

        await wait_for(done, DONE_TIMEOUT_S, lambda: f"all {plan.total} accounted", workers)
        assert survivor.alive, workers.logs()
        assert len(await group_members(settings)) == 1
        problems = await account(settings, plan)
        assert not problems, "\n".join([*problems, workers.logs()])


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_malformed_record_is_dead_lettered_unchanged_shown_and_replayed(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings)
    samples = SampleEvents(seed=5)
    wrong, right = samples.next("DecisionMade"), samples.next("DecisionMade")
    for record in (wrong, right):
        record["metadata"]["severity"] = "HIGH"  # above the test rules' INFO threshold
    wrong["confidence_score"] = 1.7
    garbage = b"\x00 not an avro record"
    async with EventProducer(settings) as sdk:
        await sdk.send("DecisionMade", wrong)
        await sdk.send("DecisionMade", right)
    producer = reliable_producer(settings)
    await producer.start()
    try:
        topic = settings.catalog.input_topic("AgentStatusUpdate")
        sent = await producer.send_and_wait(
            topic, garbage, key=b"agent-x", headers=[("trace", b"t-1")]
        )
    finally:
        await producer.stop()

    env = worker_env(settings, tmp_path / "data", processing_guarantee="exactly_once")
    with running_workers(env, tmp_path) as workers:
        workers.start()

        async def accounted(total: int) -> bool:
            return sum((await ledger_totals(settings)).values()) >= total

        await wait_for(lambda: accounted(3), 90, lambda: "3 records accounted", workers)
        letters = {parse_dead_letter_headers(m.headers).reason: m for m in await read_dlq(settings)}
        assert set(letters) == {"bad-magic", "invalid:confidence-score"}
        bad = letters["bad-magic"]
        assert (bad.key, bad.value) == (b"agent-x", garbage)
        assert ("trace", b"t-1") in bad.headers
        info = parse_dead_letter_headers(bad.headers)
        assert info.source == (topic, sent.partition, sent.offset)
        assert info.error_class == "schemas.errors.BadMagic"
        assert abs(info.dead_lettered_at_ms - time.time() * 1000) < 600_000

        shown = cli(settings, "dlq", "inspect")
        assert shown.returncode == 0, shown.stderr
        assert "bad-magic" in shown.stdout and "invalid:confidence-score" in shown.stdout
        assert f"{topic}/{sent.partition}/{sent.offset}" in shown.stdout

        listed = cli(settings, "dlq", "inspect", "--json", "--reason", "invalid:confidence-score")
        (line,) = listed.stdout.splitlines()
        fix = json.loads(line)
        assert fix["record"]["metadata"]["event_id"] == wrong["metadata"]["event_id"]
        fix["record"]["confidence_score"] = 0.5
        fixed_file = tmp_path / "fixed.jsonl"
        fixed_file.write_text(json.dumps(fix) + "\n")
        replayed = cli(settings, "dlq", "replay", "--fixed", str(fixed_file))
        assert replayed.returncode == 0, replayed.stderr
        assert "replayed 1" in replayed.stdout
        again = cli(settings, "dlq", "replay", "--reason", "bad-magic")
        assert again.returncode == 0 and "replayed 1" in again.stdout, again.stderr

        await wait_for(lambda: accounted(5), 90, lambda: "5 records accounted", workers)
        published = {e.event_id: e for e in await read_outputs(settings)}
        assert published.keys() == {wrong["metadata"]["event_id"], right["metadata"]["event_id"]}
        assert published[wrong["metadata"]["event_id"]].record["confidence_score"] == 0.5
        repeats = [m for m in await read_dlq(settings) if m.value == garbage]
        assert len(repeats) == 2
        assert any(name == "regstream.replayed-from" for name, _ in repeats[-1].headers)
