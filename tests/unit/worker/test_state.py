"""Changelog tables: journal per batch, restore from the changelog, forget a partition."""

from __future__ import annotations

import orjson
import pytest

from streams.settings import Settings
from streams.worker.state import TABLES, ChangelogTable, changelog_specs, changelog_topic


def table() -> ChangelogTable:
    return ChangelogTable("chain", changelog_topic("app", "chain"))


def test_writes_are_journalled_with_the_partition_of_the_record_being_processed() -> None:
    chain = table()
    chain.partition = 2
    chain["agent-1"] = ["e1", "0" * 64, "a" * 64]
    chain["agent-1"] = ["e2", "a" * 64, "b" * 64]  # the last change of a key is the one sent
    chain.partition = 0
    chain["agent-9"] = ["e3", "0" * 64, "c" * 64]
    del chain["agent-9"]
    records = {(r.partition, orjson.loads(r.key)): r.value for r in chain.drain()}
    assert records == {
        (2, "agent-1"): orjson.dumps(["e2", "a" * 64, "b" * 64]),
        (0, "agent-9"): None,
    }
    assert chain.drain() == [] and chain["agent-1"][0] == "e2"


def test_a_write_outside_a_partition_is_refused() -> None:
    with pytest.raises(RuntimeError, match="outside"):
        table()["k"] = 1


def test_restore_applies_changelog_records_without_journalling_them() -> None:
    chain = table()
    chain.restore(1, b'"agent-1"', b'["e1","x","y"]')
    chain.restore(1, b'"agent-2"', b"[]")
    chain.restore(1, b'"agent-2"', None)
    assert dict(chain) == {"agent-1": ["e1", "x", "y"]}
    assert chain.pending == 0


def test_dropping_a_partition_forgets_only_its_keys() -> None:
    counts = ChangelogTable("counts", "t")
    counts.restore(0, b'"a"', b"1")
    counts.partition = 1
    counts["b"] = 2
    assert counts.drop_partition(1) == 1
    assert dict(counts) == {"a": 1}


def test_changelog_topics_are_compacted_with_one_partition_per_input_partition() -> None:
    specs = changelog_specs(Settings(partitions=4, replication_factor=3), "app")
    assert [s.name for s in specs] == [f"app-{t}-changelog" for t in TABLES]
    assert {(s.partitions, s.replication_factor, s.config["cleanup.policy"]) for s in specs} == {
        (4, 3, "compact")
    }
