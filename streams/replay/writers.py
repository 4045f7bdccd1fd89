"""Row writers for the three output formats, all writing bytes to one binary file object.

Every writer is deterministic — the same rows give the same bytes — which is what lets a resumed
export be byte-identical to an uninterrupted one:

- JSONL: ``orjson`` with keys in row order (the schema's field order), one row per line.
- CSV: see :mod:`streams.replay.layout` for the flattening rules.
- Avro: a standard object container file (fastavro) with the row schema embedded. Its 16-byte
  sync marker, random by default, is derived from the export's identity instead, and blocks end
  exactly where the caller flushes (or where fastavro's size threshold falls, which depends on
  the rows alone).

``resume=True`` continues a file that already holds a prefix written by the same writer (the
caller truncated it to the last checkpoint): no CSV header again, and fastavro appends blocks
after reading the existing header back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, BinaryIO, Protocol

import orjson
from fastavro.write import Writer as AvroContainerWriter

from streams.replay.layout import csv_columns, row_schema
from streams.replay.rows import Row

FORMATS = ("jsonl", "csv", "avro")


class RowWriter(Protocol):
    def write(self, row: Row) -> None: ...

    def flush(self) -> None:
        """Hand every buffered byte to the file object (ends an Avro block)."""


class JsonLinesWriter:
    def __init__(self, out: BinaryIO) -> None:
        self._write = out.write
        self._out = out

    def write(self, row: Row) -> None:
        self._write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))

    def flush(self) -> None:
        self._out.flush()


def cell(value: Any) -> str:
    """One CSV cell (flattening rule 3)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class CsvWriter:
    def __init__(self, out: BinaryIO, event_type: str, *, resume: bool) -> None:
        self._out = out
        self._paths = csv_columns(event_type)
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        if not resume:
            self._emit([".".join(path) for path in self._paths])

    def _emit(self, cells: Sequence[str]) -> None:
        self._csv.writerow(cells)
        self._out.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def write(self, row: Row) -> None:
        cells = []
        for path in self._paths:
            value: Any = row
            for part in path:
                value = value.get(part) if value is not None else None
            cells.append(cell(value))
        self._emit(cells)

    def flush(self) -> None:
        self._out.flush()


class AvroWriter:
    def __init__(self, out: BinaryIO, event_type: str, *, sync_marker: bytes) -> None:
        # The header embeds json.dumps of the schema given here: pass the unparsed one, whose
        # key order is fixed (fastavro's parsed form orders field properties by a set, i.e. by
        # the process's hash seed). On resume fastavro reads schema and sync marker back.
        self._writer = AvroContainerWriter(out, row_schema(event_type), sync_marker=sync_marker)

    def write(self, row: Row) -> None:
        self._writer.write(row)

    def flush(self) -> None:
        self._writer.flush()


def check_format(fmt: str, event_type: str | None) -> None:
    """``ValueError`` unless ``fmt`` is known; CSV and Avro need the event type (their shape)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} ({' | '.join(FORMATS)})")
    if fmt != "jsonl" and event_type is None:
        raise ValueError(f"{fmt} output needs the event type of the topic (pass --type)")


def open_writer(
    fmt: str, out: BinaryIO, event_type: str | None, *, resume: bool, sync_marker: bytes
) -> RowWriter:
    """The writer for ``fmt`` (see :func:`check_format`)."""
    check_format(fmt, event_type)
    if fmt == "jsonl" or event_type is None:
        return JsonLinesWriter(out)
    if fmt == "csv":
        return CsvWriter(out, event_type, resume=resume)
    return AvroWriter(out, event_type, sync_marker=sync_marker)
