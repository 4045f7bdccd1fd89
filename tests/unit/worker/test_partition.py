"""One partition's records: each gets one disposition; dead letters are the input unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pytest

from schemas.catalog import TopicCatalog
from streams.pipeline import Deduper, HashChain, Outcome, PipelineConfig, Stores, StreamRules
from streams.pipeline.hashchain import GENESIS_HASH
from streams.pipeline.policy import H_BODY_SHA256, parse_dead_letter_headers
from streams.worker.output import BatchEncoder, Outgoing
from streams.worker.partition import PartitionProcessor, fit_dead_letter, record_size
from tests.unit.pipeline.factories import NOW, audit_entry, decision, metadata
from tests.unit.schemas.samples import written_around_the_encoder
from tests.unit.worker.factories import CODEC, inbound

CATALOG = TopicCatalog()
AUDIT_TOPIC = "events.audit_trail_entry"


ENCODER = BatchEncoder(CODEC, CATALOG, 500, 900_000, "app-positions-changelog")


def processor(encoder: BatchEncoder = ENCODER, **config: object) -> PartitionProcessor:
    return PartitionProcessor(CATALOG, PipelineConfig(**config), encoder)  # type: ignore[arg-type]


def stores() -> Stores:
    return Stores(dedupe=Deduper({}, window_ms=60_000), chain=HashChain({}), agents={})


def run(records: list, **config: object):  # type: ignore[no-untyped-def]
    return processor(**config).process("events.decision_made", 0, records, stores(), NOW)


def test_a_valid_record_becomes_an_event_and_the_next_offset_follows_the_last() -> None:
    outcome = run([inbound(decision(1), offset=4), inbound(decision(2), offset=5)])
    assert [d.outcome for d in outcome.dispositions] == [Outcome.PASS, Outcome.PASS]
    assert [p.coordinates.offset for p in outcome.events] == [4, 5]
    assert outcome.next_offset == 6 and outcome.dead_letters == []


def test_bad_bytes_are_dead_lettered_unchanged_with_the_reason_headers() -> None:
    bad = inbound(value=b"\x00garbage", offset=9, headers=[("trace", b"t1")])
    outcome = run([bad])
    (letter,) = outcome.dead_letters
    assert (letter.topic, letter.key, letter.value) == ("events.dlq", bad.key, b"\x00garbage")
    assert ("trace", b"t1") in letter.headers
    info = parse_dead_letter_headers(letter.headers)
    assert (info.source, info.reason) == (("events.decision_made", 0, 9), "bad-magic")
    assert info.error_class == "schemas.errors.BadMagic"


def test_a_record_of_another_type_on_the_topic_is_a_schema_mismatch() -> None:
    status = {
        "metadata": metadata("AgentStatusUpdate"),
        "agent_id": "a",
        "status": "ACTIVE",
        "attributes": {},
    }
    value = CODEC.encode("AgentStatusUpdate", status)
    outcome = run([inbound(value=value, event_type="AgentStatusUpdate")])
    assert outcome.dispositions[0].reason == "schema-mismatch"


def test_earlier_dead_letter_headers_are_replaced_not_repeated() -> None:
    replayed = inbound(value=b"junk", headers=[("regstream.dlq.reason", b"old")])
    (letter,) = run([replayed]).dead_letters
    assert [v for n, v in letter.headers if n == "regstream.dlq.reason"] == [b"bad-magic"]


def test_an_input_too_large_to_publish_is_dead_lettered_before_any_store_is_touched() -> None:
    record = decision(1, decision_details={"blob": "x" * 900_000})
    world = stores()
    value = written_around_the_encoder("DecisionMade", record)
    outcome = processor().process("events.decision_made", 0, [inbound(value=value)], world, NOW)
    assert outcome.dispositions[0].reason == "output-too-large"
    assert len(outcome.dead_letters) == 1 and world.dedupe.rebuild_index() == 0


@pytest.mark.parametrize("size", [1_000_000, 1_048_000])
def test_a_dead_letter_too_large_to_write_keeps_its_reason_and_position_not_its_body(
    size: int,
) -> None:
    """A copy of a ~1 MB input exceeded the producer's limit and stopped the worker, which then
    read the same record again after every restart."""
    record = decision(1, decision_details={"blob": "x" * size})
    value = written_around_the_encoder("DecisionMade", record)
    bad = inbound(value=value, offset=7, headers=[("trace", b"t" * 2_000_000)])
    outcome = run([bad, inbound(decision(2), offset=8)])
    (letter,) = outcome.dead_letters
    assert record_size(letter) <= ENCODER.max_bytes
    info = parse_dead_letter_headers(letter.headers)
    assert info.source == ("events.decision_made", 0, 7) and info.body_omitted == len(value)
    assert dict(letter.headers)[H_BODY_SHA256] == hashlib.sha256(value).hexdigest().encode()
    assert letter.value is None
    assert [d.outcome for d in outcome.dispositions] == [Outcome.DEAD_LETTER, Outcome.PASS]


def test_a_dead_letter_that_fits_is_the_input_unchanged() -> None:
    letter = Outgoing("events.dlq", None, b"k", b"v" * 1000, [("h", b"1")])
    assert fit_dead_letter(letter, 10_000) is letter


def test_an_occurred_at_at_the_minimum_long_is_dead_lettered_and_the_next_event_passes() -> None:
    """Its latency, now - occurred_at, overflowed Avro's long when the batch was written."""
    poison = decision(1)
    poison["metadata"]["occurred_at"] = -(2**63)
    value = written_around_the_encoder("DecisionMade", poison)
    outcome = run([inbound(value=value, offset=3), inbound(decision(2), offset=4)])
    assert [d.reason for d in outcome.dispositions] == ["invalid:timestamp-range", ""]
    assert [p.coordinates.offset for p in outcome.events] == [4]


class _FailingEncoder(BatchEncoder):
    """Fails to write the item of one source offset, the way a defect in the output would."""

    def item(self, event_type: str, event: Mapping[str, Any], value: bytes) -> bytes:
        if event["source_offset"] == 3:
            raise OverflowError("int too big to convert")
        return super().item(event_type, event, value)


def test_an_event_the_output_cannot_carry_is_dead_lettered_before_any_store_write() -> None:
    encoder = _FailingEncoder(CODEC, CATALOG, 500, 900_000, "app-positions-changelog")
    world = stores()
    records = [
        inbound(audit_entry(1), offset=3, topic=AUDIT_TOPIC, event_type="AuditTrailEntry"),
        inbound(audit_entry(2), offset=4, topic=AUDIT_TOPIC, event_type="AuditTrailEntry"),
    ]
    outcome = processor(encoder).process(AUDIT_TOPIC, 0, records, world, NOW)
    assert [d.reason for d in outcome.dispositions] == ["process-error", ""]
    assert [p.coordinates.offset for p in outcome.events] == [4]
    first_link = world.chain.head("agent-7")[1]
    assert first_link.prev_hash == GENESIS_HASH  # the failed entry was never chained


def test_rules_filter_with_a_reason_and_no_output() -> None:
    low = decision(1, metadata=metadata("DecisionMade", 1, severity="DEBUG"))
    outcome = run([inbound(low)], rules={"DecisionMade": StreamRules(min_severity="INFO")})
    assert outcome.dispositions[0].reason == "filtered:below-severity"
    assert outcome.events == [] and outcome.dead_letters == []
