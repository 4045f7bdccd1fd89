"""Hostile input: every failure is a typed DecodeError, and memory stays bounded.

No timing thresholds: "fails fast" is shown by bounded memory and by the decode finishing at
all (a loop over a declared 2**62 items would never finish).
"""

from __future__ import annotations

import copy
import random
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from schemas import contract
from schemas._types import named_types
from schemas.codec import HEADER_SIZE, MAGIC, AvroCodec
from schemas.errors import DecodeError, LimitExceeded, RecordTooLarge, SchemaMismatch, Truncated
from schemas.limits import DecodeLimits, check_schema, min_item_size, nesting_depth
from schemas.scan import Scanner
from tests.corpus.records import long as zigzag
from tests.unit.schemas.samples import sample, sample_batch, written_around_the_encoder

CODEC = AvroCodec()
MEMORY_BUDGET = 16 * 1024 * 1024


@contextmanager
def peak_memory() -> Iterator[Callable[[], int]]:
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def decode_kind(codec: AvroCodec, data: bytes) -> type[DecodeError] | None:
    """The DecodeError class raised, or None if it decoded; anything else fails the test."""
    try:
        codec.decode(data)
    except DecodeError as exc:
        return type(exc)
    return None


def with_empty_tail(event_type: str, field: str) -> bytes:
    """An encoded record whose last field (an empty array/map) is the final ``00`` byte."""
    record = copy.deepcopy(sample(event_type))
    record[field] = [] if isinstance(record[field], list) else {}
    data = CODEC.encode(event_type, record)
    assert data.endswith(b"\x00")
    return data[:-1]


TAILS = [
    ("RegulatoryChangeDetected", "recommended_actions"),  # array of strings
    ("AgentStatusUpdate", "attributes"),  # map of unions
    ("DecisionMade", "decision_details"),  # map of unions
]
COUNTS = [2**31, 2**40, 2**62, 2**63 - 1, -(2**31), -(2**62), -(2**63)]


@pytest.mark.parametrize(("event_type", "field"), TAILS)
@pytest.mark.parametrize("count", COUNTS)
def test_huge_block_counts_fail_typed_and_small(event_type: str, field: str, count: int) -> None:
    prefix = with_empty_tail(event_type, field)
    header = zigzag(count) + (zigzag(8) if count < 0 else b"")
    for tail in (b"", b"\x02a", b"\x02a\x00" * 3):
        with peak_memory() as peak:
            kind = decode_kind(CODEC, prefix + header + tail)
            assert peak() < MEMORY_BUDGET
        assert kind in (Truncated, LimitExceeded)


@pytest.mark.parametrize(("event_type", "field"), TAILS)
def test_huge_block_count_in_a_large_record_hits_the_item_cap(event_type: str, field: str) -> None:
    # Over 100 kB the pre-scan runs: the cap is refused on the count, before any item exists.
    prefix = with_empty_tail(event_type, field)
    data = prefix + zigzag(2**40) + b"\x00" * 200_000
    with peak_memory() as peak:
        assert decode_kind(CODEC, data) is LimitExceeded
        assert peak() < MEMORY_BUDGET


@pytest.mark.parametrize("length", [2**31, 2**40, 2**62, -1, -(2**40)])
def test_huge_or_negative_string_lengths(length: int) -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    # the event_id is the first field of the body: replace its length prefix
    forged = data[:HEADER_SIZE] + zigzag(length) + data[HEADER_SIZE + 1 :]
    with peak_memory() as peak:
        kind = decode_kind(CODEC, forged)
        assert peak() < MEMORY_BUDGET
    # events always go through the pre-scan, which calls a negative length what it is
    assert kind is (Truncated if length > 0 else SchemaMismatch)


def test_overlong_varint_is_refused() -> None:
    data = CODEC.encode("DecisionMade", sample("DecisionMade"))
    forged = data[:HEADER_SIZE] + b"\xff" * 64 + data[HEADER_SIZE + 1 :]
    assert decode_kind(CODEC, forged) is not None
    scanning = AvroCodec(limits=DecodeLimits(max_collection_items=1))
    assert decode_kind(scanning, forged) is not None


def all_valid_records() -> list[tuple[str, bytes]]:
    rng = random.Random(3)
    out = [
        (t, CODEC.encode(t, sample(t, rng))) for t in (*contract.EVENT_TYPES, "AccessAuditEntry")
    ]
    out += [
        ("EventBatch", CODEC.encode("EventBatch", sample_batch(t, 2))) for t in contract.EVENT_TYPES
    ]
    return out


CODECS = {
    "default": CODEC,
    # a tiny item cap forces the pure-Python pre-scan onto every record
    "prescan": AvroCodec(limits=DecodeLimits(max_collection_items=4)),
}


@pytest.mark.parametrize("codec_name", CODECS)
def test_bit_flips_of_valid_records(codec_name: str) -> None:
    codec = CODECS[codec_name]
    rng = random.Random(20241125)
    records = all_valid_records()
    outcomes: dict[str, int] = {}
    with peak_memory() as peak:
        for case in range(3000):
            _, data = records[case % len(records)]
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                position = rng.randrange(HEADER_SIZE, len(mutated))
                mutated[position] ^= 1 << rng.randrange(8)
            if rng.random() < 0.25:
                mutated = mutated[: rng.randrange(HEADER_SIZE, len(mutated))]
            kind = decode_kind(codec, bytes(mutated))
            name = kind.__name__ if kind else "decoded"
            outcomes[name] = outcomes.get(name, 0) + 1
        assert peak() < MEMORY_BUDGET
    assert outcomes.get("Truncated") and outcomes.get("SchemaMismatch")


@pytest.mark.parametrize("codec_name", CODECS)
def test_random_bodies_behind_valid_headers(codec_name: str) -> None:
    codec = CODECS[codec_name]
    rng = random.Random(7)
    headers = [MAGIC + contract.fingerprint(t) for t in contract.MESSAGE_TYPES]
    with peak_memory() as peak:
        for case in range(2000):
            body = rng.randbytes(rng.randrange(0, 400))
            decode_kind(codec, headers[case % len(headers)] + body)
        assert peak() < MEMORY_BUDGET


def test_random_bytes_without_a_header() -> None:
    rng = random.Random(8)
    for _ in range(500):
        data = rng.randbytes(rng.randrange(0, 64))
        assert decode_kind(CODEC, data) is not None


def test_header_bit_flips_are_bad_magic_or_unknown_schema() -> None:
    data = CODEC.encode("AuditTrailEntry", sample("AuditTrailEntry"))
    for position in range(HEADER_SIZE):
        for bit in range(8):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            kind = decode_kind(CODEC, bytes(mutated))
            assert kind is not None and kind.__name__ in ("BadMagic", "UnknownSchema")


# -- the item cap and the pre-scan ------------------------------------------------------------


def test_item_cap_counts_every_collection() -> None:
    record = sample("RegulatoryChangeDetected")
    record["recommended_actions"] = [f"action {i}" for i in range(50)]
    data = CODEC.encode("RegulatoryChangeDetected", record)
    items = 50 + len(record["change_details"]) + len(record["metadata"]["headers"])
    assert AvroCodec(limits=DecodeLimits(max_collection_items=items)).decode(data)
    with pytest.raises(LimitExceeded):
        AvroCodec(limits=DecodeLimits(max_collection_items=items - 1)).decode(data)


@pytest.mark.parametrize(("name", "data"), all_valid_records())
def test_prescan_walks_valid_records_exactly(name: str, data: bytes) -> None:
    scanner = Scanner(contract.parsed_schema(name))
    assert scanner.scan(data, HEADER_SIZE, 10**6) == len(data)


def test_worst_case_map_at_the_byte_cap_stays_within_budget() -> None:
    # ~1 MiB of distinct map keys, just under the item cap: the most objects per input byte the
    # event types allow. Decodes, and stays well inside the memory budget.
    record = sample("AgentStatusUpdate")
    record["attributes"] = {f"{i:08x}": None for i in range(99_000)}
    data = written_around_the_encoder("AgentStatusUpdate", record)
    assert 900_000 < len(data) <= DecodeLimits().max_record_bytes
    with peak_memory() as peak:
        assert CODEC.decode(data).record["attributes"]["0000002a"] is None
        assert peak() < MEMORY_BUDGET


def test_a_million_empty_strings_hit_the_cap_before_allocation() -> None:
    record = sample("RegulatoryChangeDetected")
    record["recommended_actions"] = [""] * 1_100_000
    data = written_around_the_encoder("RegulatoryChangeDetected", record)
    with peak_memory() as peak:
        assert decode_kind(CODEC, data) is RecordTooLarge
        relaxed = AvroCodec(limits=DecodeLimits(max_record_bytes=2 << 20))
        assert decode_kind(relaxed, data) is LimitExceeded
        assert peak() < MEMORY_BUDGET


# -- the static rule ------------------------------------------------------------------------


def parsed(schema: Any) -> Any:
    from fastavro import parse_schema

    return parse_schema(schema, named_schemas={})


EMPTY = {"type": "record", "name": "Empty", "fields": []}


@pytest.mark.parametrize(
    "collection",
    [
        {"type": "array", "items": "null"},
        {"type": "array", "items": EMPTY},
        {
            "type": "array",
            "items": {"type": "record", "name": "Nulls", "fields": [{"name": "a", "type": "null"}]},
        },
        {"type": "array", "items": {"type": "fixed", "name": "Zero", "size": 0}},
        {"type": "map", "values": "null"},
    ],
)
def test_zero_width_items_are_refused(collection: dict[str, Any]) -> None:
    schema = parsed({"type": "record", "name": "R", "fields": [{"name": "c", "type": collection}]})
    problems = check_schema(schema)
    assert len(problems) == 1 and "R.c" in problems[0] and "zero bytes" in problems[0]


@pytest.mark.parametrize(
    "collection",
    [
        {"type": "array", "items": ["null", "string"]},  # the union index costs a byte
        {"type": "array", "items": "boolean"},
        {"type": "array", "items": {"type": "array", "items": "long"}},
        {"type": "map", "values": {"type": "enum", "name": "E", "symbols": ["A"]}},
    ],
)
def test_items_of_at_least_one_byte_are_accepted(collection: dict[str, Any]) -> None:
    schema = parsed({"type": "record", "name": "R", "fields": [{"name": "c", "type": collection}]})
    assert check_schema(schema) == []


def test_recursive_and_deep_schemas_are_refused() -> None:
    recursive = parsed(
        {
            "type": "record",
            "name": "Node",
            "fields": [{"name": "next", "type": ["null", "Node"]}],
        }
    )
    assert nesting_depth(recursive, named_types(recursive)) == float("inf")
    assert any("recursive" in p for p in check_schema(recursive))

    deep: Any = "long"
    for _ in range(40):
        deep = {"type": "array", "items": deep}
    schema = parsed({"type": "record", "name": "Deep", "fields": [{"name": "d", "type": deep}]})
    assert any("41 levels" in p for p in check_schema(schema))
    assert check_schema(schema, DecodeLimits(max_nesting_depth=64)) == []


@pytest.mark.parametrize("name", contract.MESSAGE_TYPES)
def test_the_contract_passes_its_own_static_rule(name: str) -> None:
    schema = contract.parsed_schema(name)
    assert check_schema(schema) == []
    assert min_item_size(schema) >= 1


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_record_bytes"):
        DecodeLimits(max_record_bytes=0)
    assert DecodeLimits().max_record_bytes == 1 << 20
    assert DecodeLimits().max_collection_items == 100_000
