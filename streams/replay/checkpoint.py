"""Resumable exports: the checkpoint file, and the order of writes that makes a resume exact.

The protocol, which makes "kill the export at any moment, run it again" give the same bytes as
an uninterrupted run:

1. Before the first output byte, the checkpoint records the job (what is exported), the plan
   (per-partition ``[start, end)``, resolved once, so ``latest`` or a time bound means the same
   offsets on every resume) and "0 bytes written".
2. Every N Kafka records and at the end of each partition, the exporter flushes its writer,
   fsyncs the output, and only then replaces the checkpoint atomically (temporary file, fsync,
   rename) with the next offset of every partition and the output's byte length.
3. Resuming truncates the output to that byte length — whatever was written after the last
   checkpoint is dropped — and reads on from the next offsets.

Checkpoints fall at points that depend on the records alone (counts since the last checkpoint,
partition ends), never on time, so even Avro blocks, which end at each checkpoint, end at the
same places in a resumed run. The sync marker is derived from job and plan for the same reason.

A checkpoint that belongs to another job (other topic, bounds, format, filters) is refused,
never silently mixed into a different export.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from streams.errors import StreamsError
from streams.replay.ranges import OffsetRange

VERSION = 1
COUNTERS = ("length", "records", "rows", "filtered", "bad", "lost")


class CheckpointMismatch(StreamsError, ValueError):
    """The checkpoint file was written by a different export."""


@dataclass
class Checkpoint:
    """Progress of one export; ``next`` holds the next offset to read per partition."""

    job: dict[str, Any]
    plan: dict[int, OffsetRange]
    next: dict[int, int]
    length: int = 0
    """Bytes of output the checkpoint vouches for."""
    records: int = 0
    rows: int = 0
    filtered: int = 0
    bad: int = 0
    lost: int = 0

    @classmethod
    def start(cls, job: dict[str, Any], plan: dict[int, OffsetRange]) -> Checkpoint:
        return cls(job, dict(plan), {p: r.start for p, r in plan.items()})

    def sync_marker(self) -> bytes:
        """16 bytes fixed by job and plan: the Avro sync marker of this export."""
        digest = hashlib.sha256(orjson.dumps([self.job, self._plan_json()]))
        return digest.digest()[:16]

    def _plan_json(self) -> dict[str, list[int]]:
        return {str(p): [r.start, r.end] for p, r in sorted(self.plan.items())}

    def to_bytes(self) -> bytes:
        document = {
            "version": VERSION,
            "job": self.job,
            "plan": self._plan_json(),
            "next": {str(p): o for p, o in sorted(self.next.items())},
            **{name: getattr(self, name) for name in COUNTERS},
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        document = orjson.loads(data)
        if document.get("version") != VERSION:
            raise CheckpointMismatch(f"checkpoint version {document.get('version')!r} unknown")
        plan = {int(p): OffsetRange(*r) for p, r in document["plan"].items()}
        checkpoint = cls(document["job"], plan, {int(p): o for p, o in document["next"].items()})
        for name in COUNTERS:
            setattr(checkpoint, name, document[name])
        return checkpoint

    def check_job(self, job: dict[str, Any]) -> None:
        if job != self.job:
            differs = sorted(
                k for k in job.keys() | self.job.keys() if job.get(k) != self.job.get(k)
            )
            raise CheckpointMismatch(
                f"the checkpoint belongs to another export (differs in {', '.join(differs)}); "
                "run the same command to resume it, or delete the checkpoint to start over"
            )


def checkpoint_path(out: Path) -> Path:
    """Where the checkpoint of an export to ``out`` lives by default: ``<out>.checkpoint``."""
    return out.with_name(out.name + ".checkpoint")


def load_checkpoint(path: Path) -> Checkpoint | None:
    return Checkpoint.from_bytes(path.read_bytes()) if path.exists() else None


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the checkpoint atomically: a crash leaves the old one or the new one, whole."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(checkpoint.to_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def remove_checkpoint(path: Path) -> None:
    """The export completed: nothing left to resume."""
    path.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_output(path: Path, resume_at: int) -> BinaryIO:
    """The output file, truncated to ``resume_at`` bytes and positioned at its end.

    Opened readable as well, because fastavro reads the container header back when appending.
    """
    if resume_at == 0:
        return path.open("w+b")
    if not path.exists():
        raise CheckpointMismatch(f"{path} is gone but its checkpoint is not; delete the checkpoint")
    handle = path.open("r+b")
    if handle.seek(0, os.SEEK_END) < resume_at:
        handle.close()
        raise CheckpointMismatch(f"{path} is shorter than its checkpoint says ({resume_at} bytes)")
    handle.truncate(resume_at)
    handle.seek(resume_at)
    return handle


def durable_length(out: BinaryIO) -> int:
    """fsync the output and return its length: call after the writer flushed."""
    out.flush()
    os.fsync(out.fileno())
    return out.tell()
