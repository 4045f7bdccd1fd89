"""The BACKWARD evolution rule, rule by rule, and the contract against its baseline."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from schemas import compat, contract
from schemas.errors import IncompatibleSchema

SCHEMAS_DIR = Path(contract.__file__).parent


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields), **extra}


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def violations(new: Any, old: Any) -> list[str]:
    return compat.check_backward(record(field("f", new)), record(field("f", old)))


def test_identical_schemas_are_compatible() -> None:
    assert compat.check_backward(record(field("a", "long")), record(field("a", "long"))) == []


def test_new_field_needs_a_default() -> None:
    old = record(field("a", "long"))
    assert (
        compat.check_backward(record(field("a", "long"), field("b", "string", default="")), old)
        == []
    )
    found = compat.check_backward(record(field("a", "long"), field("b", "string")), old)
    assert found == ["R.b: new field without a default (old records do not have it)"]


def test_removed_field_is_fine() -> None:
    assert (
        compat.check_backward(
            record(field("a", "long")), record(field("a", "long"), field("b", "int"))
        )
        == []
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ],
)
def test_promotions_are_allowed(old: str, new: str) -> None:
    assert violations(new, old) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("long", "int"),
        ("double", "float"),
        ("string", "long"),
        ("boolean", "int"),
        ("int", "string"),
    ],
)
def test_other_type_changes_are_violations(old: str, new: str) -> None:
    found = violations(new, old)
    assert len(found) == 1
    assert found[0].startswith("R.f: type changed from")
    assert "not an Avro promotion" in found[0]


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


def test_enum_symbols() -> None:
    assert violations(enum("A", "B", "C"), enum("A", "B")) == []  # added symbol
    found = violations(enum("A"), enum("A", "B"))
    assert found == ["R.f: enum symbols B removed and the enum has no default"]
    assert violations(enum("A", "X", default="X"), enum("A", "B")) == []


def test_unions() -> None:
    assert violations(["null", "string", "long"], ["null", "string"]) == []
    assert violations(["null", "string"], "string") == []  # widening to a union
    assert violations(["null", "long"], "int") == []  # into a union by promotion
    found = violations(["null", "string"], ["null", "string", "long"])
    assert found == ["R.f<long>: old data of type long matches no branch of the new union"]
    found = violations("string", ["null", "string"])
    assert len(found) == 1 and found[0].startswith("R.f<null>: type changed from null to string")


def test_arrays_and_maps_recurse() -> None:
    assert violations({"type": "array", "items": "long"}, {"type": "array", "items": "int"}) == []
    found = violations({"type": "array", "items": "int"}, {"type": "array", "items": "string"})
    assert len(found) == 1 and found[0].startswith("R.f[]: type changed from string to int")
    found = violations({"type": "map", "values": "int"}, {"type": "map", "values": "long"})
    assert len(found) == 1 and found[0].startswith("R.f{}: ")
    found = violations({"type": "map", "values": "long"}, {"type": "array", "items": "long"})
    assert found[0].startswith("R.f: type changed from array to map")


def test_nested_records_and_named_references() -> None:
    inner_old = record(field("x", "int"), name="Inner")
    inner_new = record(field("x", "int"), field("y", "int"), name="Inner")
    old = record(field("a", inner_old), field("b", "t.Inner"))
    new = record(field("a", inner_new), field("b", "t.Inner"))
    found = compat.check_backward(new, old)
    # the named type is checked once, where it is defined
    assert found == ["R.a.y: new field without a default (old records do not have it)"]


def test_renames_need_aliases() -> None:
    old = record(field("a", "long"))
    found = compat.check_backward(record(field("a", "long"), name="S"), old)
    assert found == ["S: named type renamed from R to S without an alias"]
    assert compat.check_backward(record(field("a", "long"), name="S", aliases=["R"]), old) == []
    assert compat.check_backward(record(field("b", "long", aliases=["a"])), old) == []


def test_fixed_size_must_not_change() -> None:
    found = violations(
        {"type": "fixed", "name": "F", "size": 4}, {"type": "fixed", "name": "F", "size": 8}
    )
    assert found == ["R.f: fixed size changed from 8 to 4"]


def test_logical_types_are_ignored() -> None:
    uuid = {"type": "string", "logicalType": "uuid"}
    assert violations(uuid, "string") == []
    assert violations("long", {"type": "long", "logicalType": "timestamp-millis"}) == []


def test_recursive_schemas_terminate() -> None:
    node = record(field("next", ["null", "t.R"]), field("v", "int"))
    assert compat.check_backward(node, node) == []


def test_unparseable_schema_is_a_violation() -> None:
    assert compat.check_backward({"type": "record"}, record())[0].startswith(
        "schema does not parse"
    )


def test_require_backward_raises_with_the_violations() -> None:
    with pytest.raises(IncompatibleSchema) as info:
        compat.require_backward(record(field("b", "long")), record())
    assert info.value.violations == [
        "R.b: new field without a default (old records do not have it)"
    ]


# -- the contract against its baseline -----------------------------------------------------------


def test_current_contract_is_compatible_with_its_baseline() -> None:
    assert compat.check_against_baseline() == []


def test_baseline_is_the_0_1_0_release_copy() -> None:
    current = sorted(p.name for p in (SCHEMAS_DIR / "avro").glob("*.avsc"))
    baseline = sorted(p.name for p in (SCHEMAS_DIR / "baseline").glob("*.avsc"))
    assert current == baseline


def test_run_check_reports_and_returns_an_exit_code() -> None:
    out = io.StringIO()
    assert compat.run_check(out) == 0
    assert "BACKWARD compatible" in out.getvalue()


def copy_current(tmp_path: Path) -> Path:
    target = tmp_path / "avro"
    shutil.copytree(SCHEMAS_DIR / "avro", target)
    return target


def test_directory_check_finds_a_breaking_change_everywhere_it_is_used(tmp_path: Path) -> None:
    current = copy_current(tmp_path)
    path = current / "DecisionMade.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "reviewer", "type": "string"})
    path.write_text(json.dumps(schema))
    found = compat.check_directories(current, SCHEMAS_DIR / "baseline")
    assert (
        "DecisionMade.reviewer: new field without a default (old records do not have it)" in found
    )
    assert any(
        v.startswith("EventBatch.events[].payload<record DecisionMade>.reviewer") for v in found
    )


def test_directory_check_reports_removed_schemas(tmp_path: Path) -> None:
    current = copy_current(tmp_path)
    (current / "SimulationUpdate.avsc").unlink()
    found = compat.check_directories(current, SCHEMAS_DIR / "baseline")
    assert found and found[0].startswith("contract does not load")  # EventBatch refers to it


def test_directory_check_reports_a_schema_dropped_from_the_release(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    shutil.copytree(SCHEMAS_DIR / "baseline", baseline)
    legacy = {"type": "record", "name": "Legacy", "namespace": "regstream.events", "fields": []}
    (baseline / "Legacy.avsc").write_text(json.dumps(legacy))
    found = compat.check_directories(SCHEMAS_DIR / "avro", baseline)
    assert found == ["Legacy: schema removed (data written with it can no longer be read)"]


def test_directory_check_accepts_a_compatible_evolution(tmp_path: Path) -> None:
    current = copy_current(tmp_path)
    path = current / "EventMetadata.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "tenant", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(schema))
    assert compat.check_directories(current, SCHEMAS_DIR / "baseline") == []
