"""One partition's records: each gets one disposition; dead letters are the input unchanged."""

from __future__ import annotations

from schemas.catalog import TopicCatalog
from streams.pipeline import Deduper, HashChain, Outcome, PipelineConfig, Stores, StreamRules
from streams.pipeline.policy import parse_dead_letter_headers
from streams.worker.partition import PartitionProcessor
from tests.unit.pipeline.factories import NOW, decision, metadata
from tests.unit.worker.factories import CODEC, inbound

CATALOG = TopicCatalog()


def processor(**config: object) -> PartitionProcessor:
    return PartitionProcessor(CATALOG, PipelineConfig(**config), 900_000)  # type: ignore[arg-type]


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
    record = decision(1, decision_details={"blob": "x" * 850_000})
    world = stores()
    outcome = processor().process("events.decision_made", 0, [inbound(record)], world, NOW)
    assert outcome.dispositions[0].reason == "output-too-large"
    assert len(outcome.dead_letters) == 1 and world.dedupe.rebuild_index() == 0


def test_rules_filter_with_a_reason_and_no_output() -> None:
    low = decision(1, metadata=metadata("DecisionMade", 1, severity="DEBUG"))
    outcome = run([inbound(low)], rules={"DecisionMade": StreamRules(min_severity="INFO")})
    assert outcome.dispositions[0].reason == "filtered:below-severity"
    assert outcome.events == [] and outcome.dead_letters == []
