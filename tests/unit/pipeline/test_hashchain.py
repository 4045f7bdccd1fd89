from __future__ import annotations

import hashlib
from typing import Any

import pytest

from streams.pipeline.hashchain import (
    GENESIS_HASH,
    BreakKind,
    ChainConflict,
    ChainLink,
    ChainRecord,
    ChainVerifier,
    HashChain,
    canonical_bytes,
    link_hash,
)
from tests.unit.pipeline.factories import audit_entry


def test_canonical_bytes_sort_keys_everywhere_without_whitespace_in_utf8() -> None:
    entry = {"b": 1, "a": {"d": "é", "c": [1.5, None, True, 1.5e-7]}}
    assert canonical_bytes(entry) == '{"a":{"c":[1.5,null,true,1.5e-7],"d":"é"},"b":1}'.encode()


def test_canonical_bytes_do_not_depend_on_key_order() -> None:
    entry = audit_entry()
    reversed_entry = {k: entry[k] for k in reversed(list(entry))}
    assert canonical_bytes(reversed_entry) == canonical_bytes(entry)


def test_genesis_link() -> None:
    state: dict[str, Any] = {}
    entry = audit_entry(1)
    link = HashChain(state).append("agent-7", entry)
    assert GENESIS_HASH == "0" * 64
    assert link.prev_hash == GENESIS_HASH
    assert link.hash == hashlib.sha256(bytes(32) + canonical_bytes(entry)).hexdigest()
    assert state["agent-7"] == [entry["metadata"]["event_id"], GENESIS_HASH, link.hash]


def test_continuation_uses_the_previous_hash_as_raw_bytes() -> None:
    chain = HashChain({})
    first = chain.append("agent-7", audit_entry(1))
    second_entry = audit_entry(2)
    second = chain.append("agent-7", second_entry)
    expected = hashlib.sha256(bytes.fromhex(first.hash) + canonical_bytes(second_entry))
    assert second == ChainLink(first.hash, expected.hexdigest())


def test_chains_are_per_key() -> None:
    chain = HashChain({})
    chain.append("agent-7", audit_entry(1))
    other = chain.append("agent-8", audit_entry(2, agent_id="agent-8"))
    assert other.prev_hash == GENESIS_HASH


def test_chain_continues_across_a_restart() -> None:
    state: dict[str, Any] = {}
    first = HashChain(state).append("agent-7", audit_entry(1))
    second = HashChain(state).append("agent-7", audit_entry(2))  # new process, same table
    assert second.prev_hash == first.hash


def test_replayed_last_entry_returns_the_same_link_and_does_not_fork() -> None:
    state: dict[str, Any] = {}
    chain = HashChain(state)
    chain.append("agent-7", audit_entry(1))
    link = chain.append("agent-7", audit_entry(2))
    head = list(state["agent-7"])
    assert chain.append("agent-7", audit_entry(2)) == link
    assert state["agent-7"] == head
    assert chain.append("agent-7", audit_entry(3)).prev_hash == link.hash


def test_replayed_last_entry_with_other_content_is_a_conflict() -> None:
    chain = HashChain({})
    chain.append("agent-7", audit_entry(1))
    with pytest.raises(ChainConflict) as caught:
        chain.append("agent-7", audit_entry(1, title="rewritten"))
    assert caught.value.dlq_reason == "invalid:audit-event-id-reused"
    assert caught.value.retriable is False


def test_older_redelivered_entry_gets_its_recorded_link_and_the_head_stays() -> None:
    state: dict[str, Any] = {}
    chain = HashChain(state)
    link1 = chain.append("agent-7", audit_entry(1))
    chain.append("agent-7", audit_entry(2))
    head = list(state["agent-7"])
    assert chain.append("agent-7", audit_entry(1), recorded=link1) == link1
    assert state["agent-7"] == head


def test_recorded_link_one_ahead_of_a_lost_head_restores_the_head() -> None:
    state: dict[str, Any] = {}
    chain = HashChain(state)
    link1 = chain.append("agent-7", audit_entry(1))
    before = list(state["agent-7"])
    link2 = chain.append("agent-7", audit_entry(2))
    state["agent-7"] = before  # the head's changelog write for entry 2 did not survive
    assert chain.append("agent-7", audit_entry(2), recorded=link2) == link2
    assert chain.append("agent-7", audit_entry(3)).prev_hash == link2.hash
    assert link2.prev_hash == link1.hash


def test_recorded_link_that_does_not_match_the_content_is_a_conflict() -> None:
    chain = HashChain({})
    link1 = chain.append("agent-7", audit_entry(1))
    chain.append("agent-7", audit_entry(2))
    with pytest.raises(ChainConflict):
        chain.append("agent-7", audit_entry(1, title="rewritten"), recorded=link1)


# --- verifier ----------------------------------------------------------------------------------


def published(n: int, key: str = "agent-7") -> list[ChainRecord]:
    """Entries 1..n of one key as the pipeline publishes them (position = index)."""
    chain = HashChain({})
    records = []
    for i in range(1, n + 1):
        entry = audit_entry(i, agent_id=key)
        link = chain.append(key, entry)
        records.append(ChainRecord(key, i, entry, link.prev_hash, link.hash))
    return records


def verify(records: list[ChainRecord], **kwargs: Any) -> ChainVerifier:
    verifier = ChainVerifier(**kwargs)
    for record in records:
        verifier.feed(record)
    return verifier


def kinds(verifier: ChainVerifier) -> list[tuple[object, BreakKind]]:
    return [(b.position, b.kind) for b in verifier.report.breaks]


def test_an_intact_chain_verifies() -> None:
    records = published(5) + published(3, key="agent-8")
    report = verify(records).report
    assert report.ok
    assert (report.entries, report.keys, report.duplicates) == (8, {"agent-7", "agent-8"}, 0)


def test_an_altered_entry_is_reported_at_its_position_only() -> None:
    records = published(5)
    original = records[2]
    altered_entry = dict(original.entry) | {"description": "approved"}
    records[2] = original._replace(entry=altered_entry)
    verifier = verify(records)
    assert kinds(verifier) == [(3, BreakKind.ALTERED)]
    (found,) = verifier.report.breaks
    assert (found.expected, found.found) == (
        link_hash(original.prev_hash, altered_entry),
        original.hash,
    )


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link() -> None:
    records = published(5)
    forged_entry = dict(records[2].entry) | {"description": "approved"}
    forged_hash = link_hash(records[2].prev_hash, forged_entry)
    records[2] = records[2]._replace(entry=forged_entry, hash=forged_hash)
    verifier = verify(records)
    assert kinds(verifier) == [(4, BreakKind.BROKEN_LINK)]
    assert verifier.report.breaks[0].expected == forged_hash


def test_a_removed_entry_is_one_broken_link() -> None:
    records = published(5)
    del records[2]
    verifier = verify(records)
    assert kinds(verifier) == [(4, BreakKind.BROKEN_LINK)]
    (found,) = verifier.report.breaks
    assert (found.expected, found.found) == (records[1].hash, records[2].prev_hash)


def test_reordered_entries_are_reported() -> None:
    records = published(5)
    records[2], records[3] = records[3], records[2]
    assert kinds(verify(records)) == [
        (4, BreakKind.BROKEN_LINK),
        (3, BreakKind.BROKEN_LINK),
        (5, BreakKind.BROKEN_LINK),
    ]


def test_redelivered_links_are_duplicates_not_breaks() -> None:
    records = published(5)
    redelivered = records[:3] + records[1:3] + records[3:]  # at-least-once re-emitted 2 and 3
    report = verify(redelivered).report
    assert report.ok
    assert (report.entries, report.duplicates) == (7, 2)


def test_a_chain_must_start_at_genesis_unless_told_otherwise() -> None:
    tail = published(5)[2:]
    assert kinds(verify(tail)) == [(3, BreakKind.BROKEN_LINK)]
    assert verify(tail, from_genesis=False).report.ok


def test_a_prev_hash_that_is_not_hex_is_reported_not_raised() -> None:
    records = published(2)
    records[1] = records[1]._replace(prev_hash="not-hex")
    assert kinds(verify(records)) == [(2, BreakKind.BROKEN_LINK), (2, BreakKind.ALTERED)]
