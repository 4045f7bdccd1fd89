"""The evolution rule: every schema change must be BACKWARD compatible.

BACKWARD means the *new* schema, used as the reader, can read data written with the *old* schema.
Kafka keeps old records for the retention period (and replays read further back), so consumers
upgraded first must still decode everything already in the log. The rules are Avro's schema
resolution rules, checked statically:

- records: a field only the new schema has needs a ``default``; removed fields are fine; a field
  present in both (matched by name or the new field's ``aliases``) must resolve recursively;
- a type change must be an Avro promotion: int → long/float/double, long → float/double,
  float → double, string ↔ bytes;
- enums: every old symbol must still exist, unless the new enum has a ``default`` symbol;
- unions: every branch the old schema could write must match a branch of the new reader
  (a non-union old type may become a union containing it);
- arrays and maps resolve their items/values; fixed types keep their size; named types keep
  their name (or list the old one in ``aliases``). Logical types are ignored, as in Avro.

``check_against_baseline`` compares ``schemas/avro`` with ``schemas/baseline`` (the last release);
``run_check`` is what ``regstream schemas check`` calls. When a release ships, copy ``avro/*.avsc``
over ``baseline/``.
"""

from __future__ import annotations

import sys
from importlib.resources.abc import Traversable
from typing import Any, TextIO

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, UnknownType

from schemas._types import PRIMITIVES, Schema, kind_of, named_types, resolve
from schemas.contract import (
    check_release,
    load_contract,
    package_directory,
    read_sources,
    self_contained,
    short_name,
    strip_logical_types,
)
from schemas.errors import ContractError, IncompatibleSchema

PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


def _label(node: Schema) -> str:
    """A short human name for a resolved node: the type name, or ``record Foo``."""
    kind = kind_of(node)
    if isinstance(node, dict) and "name" in node:
        return f"{kind} {short_name(node['name'])}"
    return kind


class _Checker:
    def __init__(self, reader: Schema, writer: Schema) -> None:
        self.reader_named = named_types(reader)
        self.writer_named = named_types(writer)
        self.violations: list[str] = []
        self.done: set[tuple[str, str]] = set()  # named pairs already checked (recursion, reuse)

    def _same_name(self, reader: dict[str, Any], writer: dict[str, Any]) -> bool:
        names = {short_name(reader["name"]), *map(short_name, reader.get("aliases", ()))}
        return short_name(writer["name"]) in names

    def _matches(self, reader: Schema, writer: Schema, *, promote: bool) -> bool:
        """Whether a reader union branch is the one that resolves this writer type."""
        rk, wk = kind_of(reader), kind_of(writer)
        if rk != wk:
            return promote and rk in PROMOTIONS.get(wk, frozenset())
        if isinstance(reader, dict) and "name" in reader:
            return self._same_name(reader, writer)
        return True

    def check(self, reader: Schema, writer: Schema, path: str) -> None:
        r = resolve(reader, self.reader_named)
        w = resolve(writer, self.writer_named)
        rk, wk = kind_of(r), kind_of(w)
        if wk == "union":
            for branch in w:
                label = _label(resolve(branch, self.writer_named))
                self.check(r, branch, f"{path}<{label}>")
            return
        if rk == "union":
            branches = [resolve(b, self.reader_named) for b in r]
            match = next((b for b in branches if self._matches(b, w, promote=False)), None)
            if match is None:
                match = next((b for b in branches if self._matches(b, w, promote=True)), None)
            if match is None:
                self.violations.append(
                    f"{path}: old data of type {_label(w)} matches no branch of the new union"
                )
            else:
                self.check(match, w, path)
            return
        if rk != wk:
            if rk not in PROMOTIONS.get(wk, frozenset()):
                self.violations.append(
                    f"{path}: type changed from {_label(w)} to {_label(r)}, "
                    "which is not an Avro promotion"
                )
            return
        if rk in PRIMITIVES:
            return
        if isinstance(r, dict) and "name" in r:
            if not self._same_name(r, w):
                self.violations.append(
                    f"{path}: named type renamed from {short_name(w['name'])} to "
                    f"{short_name(r['name'])} without an alias"
                )
                return
            key = (r["name"], w["name"])
            if key in self.done:
                return
            self.done.add(key)
        getattr(self, f"_check_{rk}")(r, w, path)

    def _check_record(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        written = {field["name"]: field for field in w["fields"]}
        for field in r["fields"]:
            names = [field["name"], *field.get("aliases", ())]
            old = next((written[n] for n in names if n in written), None)
            if old is not None:
                self.check(field["type"], old["type"], f"{path}.{field['name']}")
            elif "default" not in field:
                self.violations.append(
                    f"{path}.{field['name']}: new field without a default "
                    "(old records do not have it)"
                )

    def _check_enum(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        removed = [s for s in w["symbols"] if s not in r["symbols"]]
        if removed and "default" not in r:
            self.violations.append(
                f"{path}: enum symbols {', '.join(removed)} removed and the enum has no default"
            )

    def _check_fixed(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        if r["size"] != w["size"]:
            self.violations.append(f"{path}: fixed size changed from {w['size']} to {r['size']}")

    def _check_array(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        self.check(r["items"], w["items"], f"{path}[]")

    def _check_map(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        self.check(r["values"], w["values"], f"{path}{{}}")


def _parse(schema: Any) -> Schema:
    return parse_schema(strip_logical_types(schema), named_schemas={})


def check_backward(new: Any, old: Any) -> list[str]:
    """Violations that stop schema ``new`` (reader) from reading data written with ``old``.

    Both are self-contained schema JSON (dicts as in ``.avsc`` files). Empty list = compatible.
    """
    try:
        reader, writer = _parse(new), _parse(old)
    except (SchemaParseException, UnknownType, ValueError, KeyError, TypeError) as exc:
        return [f"schema does not parse: {exc}"]
    top = short_name(reader["name"]) if isinstance(reader, dict) and "name" in reader else "schema"
    checker = _Checker(reader, writer)
    checker.check(reader, writer, top)
    return checker.violations


def require_backward(new: Any, old: Any) -> None:
    """``IncompatibleSchema`` listing the violations unless ``new`` can read ``old``'s data."""
    violations = check_backward(new, old)
    if violations:
        raise IncompatibleSchema("schema change is not BACKWARD compatible", violations)


def check_directories(current: Traversable, baseline: Traversable) -> list[str]:
    """Violations of every baseline schema against its current version (missing = violation)."""
    try:
        new_sources = read_sources(current)
        old_sources = read_sources(baseline)
        check_release(load_contract(current))
        load_contract(baseline)
    except ContractError as exc:
        return [f"contract does not load: {exc}"]
    violations: list[str] = []
    for name in old_sources:
        if name not in new_sources:
            violations.append(
                f"{name}: schema removed (data written with it can no longer be read)"
            )
            continue
        new, old = self_contained(new_sources, name), self_contained(old_sources, name)
        violations.extend(check_backward(new, old))
    return violations


def check_against_baseline() -> list[str]:
    """Compare the packaged ``schemas/avro`` with ``schemas/baseline`` (the last release)."""
    return check_directories(package_directory("avro"), package_directory("baseline"))


def run_check(out: TextIO | None = None) -> int:
    """Entry point of ``regstream schemas check``: report, and return the process exit code.

    0 when every schema can read data written with its baseline version, 1 otherwise.
    """
    stream = out if out is not None else sys.stdout
    violations = check_against_baseline()
    if not violations:
        print("schemas: BACKWARD compatible with the baseline release", file=stream)
        return 0
    print(f"schemas: {len(violations)} BACKWARD compatibility violation(s):", file=stream)
    for violation in violations:
        print(f"  - {violation}", file=stream)
    return 1
