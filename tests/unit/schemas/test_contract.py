"""Loading, resolving and fingerprinting the contract."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import contract
from schemas.errors import ContractError, UnknownSchema

AVRO_DIR = Path(contract.__file__).parent / "avro"

# Avro spec test vectors (share/test/data/schema-tests.txt): schema, canonical form, fingerprint
# as the signed 64-bit integer Java prints.
SPEC_VECTORS = [
    ('"null"', '"null"', 7195948357588979594),
    ('{"type":"boolean"}', '"boolean"', -6970731678124411036),
    ('"int"', '"int"', 8247732601305521295),
    ('"long"', '"long"', -3434872931120570953),
    ('"string"', '"string"', -8142146995180207161),
    ('[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090),
    (
        '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
        '{"name":"x.y.foo","type":"record","fields":[]}',
        5916914534497305771,
    ),
    (
        '{"fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true},'
        '{"order":"descending","name":"f2","doc":"Hello","type":"int"}],'
        '"type":"record", "name":"foo"}',
        '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},'
        '{"name":"f2","type":"int"}]}',
        -4860222112080293046,
    ),
    (
        '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
        '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
        -4448647247586288245,
    ),
    (
        '{"name":"PigValue","type":"record",'
        '"fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
        '{"name":"PigValue","type":"record","fields":[{"name":"value",'
        '"type":["null","int","long","PigValue"]}]}',
        -1759257747318642341,
    ),
]


def reference_rabin(data: bytes) -> int:
    """The spec's CRC-64-AVRO algorithm, written independently of fastavro."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


@pytest.mark.parametrize(("schema", "canonical", "expected"), SPEC_VECTORS)
def test_fingerprint_matches_avro_spec_vectors(schema: str, canonical: str, expected: int) -> None:
    from fastavro.schema import to_parsing_canonical_form

    parsed = json.loads(schema)
    assert to_parsing_canonical_form(parsed) == canonical
    fp = contract.rabin_fingerprint(parsed)
    assert len(fp) == 8
    assert int.from_bytes(fp, "little", signed=True) == expected


def test_event_types_are_the_six_in_batch_union_order() -> None:
    assert contract.EVENT_TYPES == (
        "AgentStatusUpdate",
        "DecisionMade",
        "RegulatoryChangeDetected",
        "CollaborationEvent",
        "SimulationUpdate",
        "AuditTrailEntry",
    )
    assert (*contract.EVENT_TYPES, "EventBatch", "AccessAuditEntry") == contract.MESSAGE_TYPES


@pytest.mark.parametrize("name", contract.MESSAGE_TYPES)
def test_fingerprint_is_rabin_of_canonical_form_little_endian(name: str) -> None:
    fp = contract.fingerprint(name)
    expected = reference_rabin(contract.canonical_form(name).encode())
    assert fp == expected.to_bytes(8, "little")
    assert contract.name_for_fingerprint(fp) == name


@pytest.mark.parametrize("name", contract.MESSAGE_TYPES)
def test_stripping_logical_types_keeps_the_fingerprint(name: str) -> None:
    with_logical = contract.schema_json(name)
    assert "logicalType" in json.dumps(with_logical)
    assert "logicalType" not in json.dumps(contract.parsed_schema(name))
    assert contract.rabin_fingerprint(with_logical) == contract.fingerprint(name)


def test_schemas_are_self_contained_and_define_each_name_once() -> None:
    batch = json.dumps(contract.schema_json("EventBatch"))
    # EventMetadata is defined once (inside the first payload) and referenced afterwards.
    assert batch.count('"name": "EventMetadata"') == 1
    assert batch.count('"regstream.events.EventMetadata"') == 5
    event = contract.schema_json("DecisionMade")
    assert event["fields"][0]["type"]["name"] == "EventMetadata"


def test_fingerprints_are_distinct_and_unknown_ones_are_refused() -> None:
    fps = {contract.fingerprint(name) for name in contract.MESSAGE_TYPES}
    assert len(fps) == len(contract.MESSAGE_TYPES)
    with pytest.raises(UnknownSchema):
        contract.name_for_fingerprint(b"\x00" * 8)
    with pytest.raises(UnknownSchema):  # the envelope alone is not a message type
        contract.name_for_fingerprint(contract.fingerprint("EventMetadata"))


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("AgentStatusUpdate", "agent_id"),
        ("DecisionMade", "agent_id"),
        ("AuditTrailEntry", "agent_id"),
        ("RegulatoryChangeDetected", "change_id"),
        ("CollaborationEvent", "session_id"),
        ("SimulationUpdate", "simulation_id"),
    ],
)
def test_partition_key_field(event_type: str, field: str) -> None:
    assert contract.partition_key_field(event_type) == field
    assert contract.partition_key_field(f"regstream.events.{event_type}") == field
    assert contract.partition_key(event_type, {field: "k-1"}) == "k-1"


def test_partition_key_of_unknown_type() -> None:
    with pytest.raises(KeyError):
        contract.partition_key_field("EventBatch")


def test_parsed_schema_is_a_copy() -> None:
    contract.parsed_schema("DecisionMade")["fields"].clear()
    assert contract.parsed_schema("DecisionMade")["fields"]


def test_names() -> None:
    assert contract.full_name("DecisionMade") == "regstream.events.DecisionMade"
    assert contract.full_name("a.b.C") == "a.b.C"
    assert contract.short_name("regstream.events.DecisionMade") == "DecisionMade"


def copy_contract(tmp_path: Path) -> Path:
    target = tmp_path / "avro"
    shutil.copytree(AVRO_DIR, target)
    return target


def edit(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema))


def test_copied_contract_loads(tmp_path: Path) -> None:
    loaded = contract.load_contract(copy_contract(tmp_path))
    contract.check_release(loaded)
    assert loaded.entry("EventBatch").fingerprint == contract.fingerprint("EventBatch")


def test_unresolved_reference_is_a_contract_error(tmp_path: Path) -> None:
    directory = copy_contract(tmp_path)
    (directory / "EventMetadata.avsc").unlink()
    with pytest.raises(ContractError, match="unresolved"):
        contract.load_contract(directory)


def test_file_name_must_match_the_record(tmp_path: Path) -> None:
    directory = copy_contract(tmp_path)
    (directory / "DecisionMade.avsc").rename(directory / "Decision.avsc")
    with pytest.raises(ContractError, match=r"Decision\.avsc"):
        contract.load_contract(directory)


def test_zero_width_array_items_are_refused_at_load(tmp_path: Path) -> None:
    directory = copy_contract(tmp_path)
    edit(
        directory / "DecisionMade.avsc",
        lambda s: s["fields"].append(
            {"name": "ticks", "type": {"type": "array", "items": "null"}, "default": []}
        ),
    )
    with pytest.raises(ContractError, match=r"DecisionMade\.ticks.*zero bytes"):
        contract.load_contract(directory)


def test_invalid_json_is_a_contract_error(tmp_path: Path) -> None:
    directory = copy_contract(tmp_path)
    (directory / "DecisionMade.avsc").write_text("{not json")
    with pytest.raises(ContractError, match="not valid JSON"):
        contract.load_contract(directory)


def test_release_check_wants_string_partition_keys(tmp_path: Path) -> None:
    directory = copy_contract(tmp_path)

    def to_long(schema: dict[str, Any]) -> None:
        for field in schema["fields"]:
            if field["name"] == "change_id":
                field["type"] = "long"

    edit(directory / "RegulatoryChangeDetected.avsc", to_long)
    with pytest.raises(ContractError, match="change_id"):
        contract.check_release(contract.load_contract(directory))
