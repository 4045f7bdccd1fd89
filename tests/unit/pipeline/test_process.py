from __future__ import annotations

from typing import Any

import pytest

from streams.pipeline.coordinates import Coordinates
from streams.pipeline.dedupe import Deduper
from streams.pipeline.hashchain import ChainRecord, ChainVerifier, HashChain
from streams.pipeline.policy import Outcome
from streams.pipeline.process import PipelineConfig, Result, Stores, process_record
from streams.pipeline.rules import StreamRules
from tests.unit.pipeline.factories import NOW, at, audit_entry, decision, metadata

AGENTS = {"agent-7": {"name": "KYC Reviewer"}}


class World:
    """The three stores as plain dicts, so a test can inspect them or 'restart' over them."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.seen: dict[str, Any] = {}
        self.heads: dict[str, Any] = {}
        self.agents: dict[str, Any] = dict(AGENTS)
        self.config = config or PipelineConfig()
        self.restart()

    def restart(self) -> None:
        dedupe = Deduper(self.seen, window_ms=3_600_000)
        dedupe.rebuild_index()
        self.stores = Stores(dedupe=dedupe, chain=HashChain(self.heads), agents=self.agents)

    def run(
        self, event_type: str, record: dict[str, Any], source: Coordinates, now_ms: int = NOW
    ) -> Result:
        return process_record(
            event_type, record, source, stores=self.stores, config=self.config, now_ms=now_ms
        )


def audit(world: World, n: int, offset: int) -> Result:
    return world.run("AuditTrailEntry", audit_entry(n), at(offset))


def test_a_valid_record_passes_as_an_enriched_event() -> None:
    world = World()
    record = decision()
    result = world.run("DecisionMade", record, at(42))
    assert result.disposition.outcome is Outcome.PASS
    assert result.event is not None
    assert result.event["source_offset"] == 42
    assert result.event["payload"] == ("DecisionMade", record)
    enrichment = result.event["enrichment"]
    assert (enrichment["agent_name"], enrichment["risk_class"]) == ("KYC Reviewer", "LOW")
    assert (enrichment["ingested_at"], enrichment["processed_at"]) == (NOW - 100, NOW)


def test_an_invalid_record_is_dead_lettered_and_touches_no_store() -> None:
    world = World()
    result = world.run("AuditTrailEntry", audit_entry(agent_id=""), at(1))
    assert (result.disposition.outcome, result.disposition.reason) == (
        Outcome.DEAD_LETTER,
        "invalid:missing-id",
    )
    assert result.event is None
    assert world.seen == {} and world.heads == {}


def test_a_record_a_rule_filters_is_counted_as_filtered_and_not_remembered() -> None:
    world = World(PipelineConfig(rules={"DecisionMade": StreamRules(min_severity="HIGH")}))
    result = world.run("DecisionMade", decision(), at(1))
    assert (result.disposition.outcome, result.disposition.reason) == (
        Outcome.FILTERED,
        "filtered:below-severity",
    )
    assert world.seen == {}


def test_rules_are_per_output_stream() -> None:
    world = World(PipelineConfig(rules={"AuditTrailEntry": StreamRules(min_severity="HIGH")}))
    assert world.run("DecisionMade", decision(), at(1)).disposition.is_pass


def test_future_skew_comes_from_the_config() -> None:
    world = World(PipelineConfig(max_future_skew_ms=0))
    record = decision(metadata=metadata("DecisionMade", occurred_at=NOW + 1))
    assert world.run("DecisionMade", record, at(1)).disposition.reason == "invalid:future-timestamp"


def test_a_resent_event_is_filtered_as_a_duplicate() -> None:
    world = World()
    assert world.run("DecisionMade", decision(1), at(1)).disposition.is_pass
    result = world.run("DecisionMade", decision(1), at(2))
    assert (result.disposition.outcome, result.disposition.reason) == (
        Outcome.FILTERED,
        "filtered:duplicate",
    )


def test_a_redelivered_record_passes_again() -> None:
    world = World()
    first = world.run("DecisionMade", decision(1), at(1))
    world.restart()
    again = world.run("DecisionMade", decision(1), at(1), now_ms=NOW + 5)
    assert again.disposition.is_pass
    assert again.event is not None and first.event is not None
    assert again.event["payload"] == first.event["payload"]


def test_audit_entries_are_chained_per_agent() -> None:
    world = World()
    first, second = audit(world, 1, 1), audit(world, 2, 2)
    assert first.event is not None and second.event is not None
    assert first.event["enrichment"]["prev_hash"] == "0" * 64
    assert second.event["enrichment"]["prev_hash"] == first.event["enrichment"]["hash"]


def test_other_event_types_carry_no_hashes() -> None:
    event = World().run("DecisionMade", decision(), at(1)).event
    assert event is not None
    assert (event["enrichment"]["prev_hash"], event["enrichment"]["hash"]) == (None, None)


def links(results: list[Result]) -> list[tuple[str, str]]:
    out = []
    for result in results:
        assert result.event is not None
        enrichment = result.event["enrichment"]
        out.append((enrichment["prev_hash"], enrichment["hash"]))
    return out


def test_replaying_uncommitted_audit_entries_after_a_crash_does_not_fork_the_chain() -> None:
    world = World()
    first_run = [audit(world, n, n) for n in (1, 2, 3)]
    world.restart()  # crash before the offset commit: 1..3 come again, then 4
    second_run = [audit(world, n, n) for n in (1, 2, 3, 4)]
    assert links(second_run)[:3] == links(first_run)
    assert links(second_run)[3][0] == links(first_run)[2][1]


def test_head_write_lost_in_the_crash_is_repaired_by_the_redelivery() -> None:
    world = World()
    audit(world, 1, 1)
    head_after_1 = list(world.heads["agent-7"])
    second = audit(world, 2, 2)
    world.heads["agent-7"] = head_after_1  # the chain's changelog write for 2 was lost
    world.restart()
    assert links([audit(world, 2, 2)]) == links([second])
    assert links([audit(world, 3, 3)])[0][0] == links([second])[0][1]


def test_dedupe_write_lost_in_the_crash_is_covered_by_the_chain_head() -> None:
    world = World()
    audit(world, 1, 1)
    second = audit(world, 2, 2)
    del world.seen[audit_entry(2)["metadata"]["event_id"]]  # dedupe's changelog write was lost
    world.restart()
    assert links([audit(world, 2, 2)]) == links([second])


def test_published_audit_output_with_redeliveries_verifies() -> None:
    world = World()
    published = [audit(world, n, n) for n in (1, 2, 3)]
    world.restart()
    published += [audit(world, n, n) for n in (2, 3, 4, 5)]
    verifier = ChainVerifier()
    for position, result in enumerate(published):
        assert result.event is not None
        _, entry = result.event["payload"]
        prev_hash, hash_ = (
            result.event["enrichment"]["prev_hash"],
            result.event["enrichment"]["hash"],
        )
        verifier.feed(ChainRecord(entry["agent_id"], position, entry, prev_hash, hash_))
    assert verifier.report.ok
    assert verifier.report.duplicates == 2


def test_an_event_id_reused_for_another_audit_entry_is_dead_lettered() -> None:
    world = World()
    audit(world, 1, 1)
    world.seen.clear()  # dedupe forgot it (e.g. window passed); the chain head still knows it
    result = world.run("AuditTrailEntry", audit_entry(1, title="other"), at(9))
    assert (result.disposition.outcome, result.disposition.reason) == (
        Outcome.DEAD_LETTER,
        "invalid:audit-event-id-reused",
    )
    assert result.disposition.error_class == "streams.pipeline.hashchain.ChainConflict"


class _BrokenDirectory(dict[str, Any]):
    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("directory corrupted")


class _DirectoryUnavailable(dict[str, Any]):
    def get(self, key: str, default: Any = None) -> Any:
        raise _Unavailable("directory restoring")


class _Unavailable(Exception):
    retriable = True


def test_an_unexpected_error_is_dead_lettered_before_any_store_write() -> None:
    world = World()
    world.stores = Stores(world.stores.dedupe, world.stores.chain, _BrokenDirectory())
    result = world.run("AuditTrailEntry", audit_entry(1), at(1))
    assert (result.disposition.outcome, result.disposition.reason) == (
        Outcome.DEAD_LETTER,
        "process-error",
    )
    assert result.disposition.error_class == "builtins.RuntimeError"
    assert world.seen == {} and world.heads == {}


def test_a_retriable_error_propagates() -> None:
    world = World()
    world.stores = Stores(world.stores.dedupe, world.stores.chain, _DirectoryUnavailable())
    with pytest.raises(_Unavailable):
        world.run("DecisionMade", decision(), at(1))
