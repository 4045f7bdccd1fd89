"""``regstream audit verify``: check the audit stream over a range — chains, offsets, records.

The audit stream is ``live.audit_trail_entry``: EventBatch records whose events carry the
pipeline's hash-chain link (``enrichment.prev_hash``/``hash``). Three independent checks, each
reported with positions (partition, offset, index in the batch):

1. Hash chain per key (agent_id), by :class:`streams.pipeline.hashchain.ChainVerifier` — the
   same definition the pipeline writes with: altered entries and broken links (removed,
   inserted, reordered entries). Entries are fed partition by partition in offset order, which
   is each key's order as long as the worker writes all batches of one input partition to one
   live partition (as per-key order for the gateway requires anyway). A range that starts at offset 0 of every partition is checked from genesis; otherwise
   the first entry of each key in the range is the trusted anchor.
2. Offset continuity per partition (:mod:`streams.audit.continuity`): retention and compaction
   gaps are breaks; transaction markers are counted, not breaks. A time range that starts before
   the oldest record kept (its first record is younger than ``--from`` and the log lost its
   head) may miss deleted entries: a retention gap too.
3. Records that do not decode as audit batches, or entries without a link, are breaks.

``VerifyResult.ok`` is false on any break; the CLI exits non-zero then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aiokafka import ConsumerRecord

from schemas.formats import codec_for
from streams.audit.continuity import Continuity, Gap
from streams.pipeline.hashchain import ChainBreak, ChainRecord, ChainVerifier, VerifyReport
from streams.replay.progress import NoProgress, ProgressSink
from streams.replay.ranges import AtTime, Bound, OffsetRange
from streams.replay.rows import BadRecord, Row, RowDecoder
from streams.replay.source import Lost, planned_read
from streams.settings import Settings

AUDIT_TYPE = "AuditTrailEntry"


@dataclass(frozen=True, slots=True)
class Position:
    """Where an audit entry sits in the stream."""

    partition: int
    offset: int
    index: int

    def __str__(self) -> str:
        return f"partition {self.partition} offset {self.offset} index {self.index}"


@dataclass
class VerifyResult:
    topic: str
    plan: dict[int, OffsetRange]
    from_genesis: bool
    chain: VerifyReport
    gaps: list[Gap] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    records: int = 0

    @property
    def losses(self) -> list[Gap]:
        return [gap for gap in self.gaps if gap.is_loss]

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.losses and not self.bad

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report of ``regstream audit verify --json``."""
        return {
            "ok": self.ok,
            "topic": self.topic,
            "plan": {str(p): [r.start, r.end] for p, r in sorted(self.plan.items())},
            "from_genesis": self.from_genesis,
            "records": self.records,
            "entries": self.chain.entries,
            "keys": len(self.chain.keys),
            "duplicates": self.chain.duplicates,
            "breaks": [_break_json(b) for b in self.chain.breaks],
            "gaps": [_gap_json(g) for g in self.gaps],
            "bad": [
                {"partition": b.partition, "offset": b.offset, "reason": b.reason} for b in self.bad
            ],
        }


def _gap_json(gap: Gap) -> dict[str, Any]:
    return {
        "partition": gap.partition,
        "first": gap.first,
        "last": gap.end - 1,
        "cause": gap.cause.value,
        "loss": gap.is_loss,
    }


def _break_json(item: ChainBreak) -> dict[str, Any]:
    position = item.position
    assert isinstance(position, Position)
    return {
        "kind": item.kind.value,
        "key": item.key,
        **asdict(position),
        "expected": item.expected,
        "found": item.found,
    }


def chain_record(row: Row) -> ChainRecord:
    """The verifier's view of one exported audit row; ``ValueError`` if it carries no link."""
    link = row["enrichment"] or {}
    prev_hash, hash_ = link.get("prev_hash"), link.get("hash")
    if not prev_hash or not hash_:
        raise ValueError("audit entry without its chain link (prev_hash/hash)")
    position = Position(row["partition"], row["offset"], row["index"])
    return ChainRecord(row["event"]["agent_id"], position, row["event"], prev_hash, hash_)


class _Checks:
    """The three checks, fed one Kafka record at a time."""

    def __init__(
        self,
        result: VerifyResult,
        decoder: RowDecoder,
        continuity: Continuity,
        horizon: dict[int, tuple[int, int]],
    ) -> None:
        self.result = result
        self.decoder = decoder
        self.continuity = continuity
        self.horizon = horizon
        self.verifier = ChainVerifier(from_genesis=result.from_genesis)
        result.chain = self.verifier.report

    def record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        result = self.result
        result.records += 1
        edge = self.horizon.pop(record.partition, None)
        if edge is not None and record.timestamp > edge[0]:
            self.continuity.head_lost(record.partition, edge[1])
        self.continuity.record(record.partition, record.offset)
        try:
            rows = self.decoder.rows(record)
        except BadRecord as bad:
            result.bad.append(bad)
            return
        for row in rows:
            try:
                link = chain_record(row)
            except ValueError as exc:
                reason = f"index {row['index']}: {exc}"
                result.bad.append(BadRecord(record.topic, record.partition, record.offset, reason))
                continue
            self.verifier.feed(link)


def _horizon(
    lower: Bound, plan: dict[int, OffsetRange], log_start: Mapping[int, int]
) -> dict[int, tuple[int, int]]:
    """Partitions whose time range may begin before the retention horizon: (time, log start).

    A time that resolves to the log start of a partition that lost its head is ambiguous; the
    first record read decides: if it is younger than the time, deleted records may be missing.
    """
    if not isinstance(lower, AtTime):
        return {}
    return {
        p: (lower.ms, log_start[p])
        for p, r in plan.items()
        if r.start == log_start[p] > 0 and r.size > 0
    }


async def verify_audit(
    settings: Settings,
    lower: Bound,
    upper: Bound,
    *,
    topic: str | None = None,
    progress: ProgressSink | None = None,
) -> VerifyResult:
    """Read the audit stream over ``[lower, upper)`` and run the three checks."""
    topic = topic or settings.catalog.live_topic(AUDIT_TYPE)
    progress = progress or NoProgress()
    decoder = RowDecoder(codec_for(settings.wire_format, settings.schema_registry_url), AUDIT_TYPE)
    async with planned_read(settings, topic, lower, upper) as read:
        plan, log_start = read.plan, read.lookups.log_start
        from_genesis = all(r.start == 0 and log_start[p] == 0 for p, r in plan.items())
        result = VerifyResult(topic, plan, from_genesis, VerifyReport())
        continuity = Continuity(plan, compacted=read.layout.compacted)
        checks = _Checks(result, decoder, continuity, _horizon(lower, plan, log_start))
        progress.start(f"verify {topic}", sum(r.size for r in plan.values()), 0)
        position = {p: r.start for p, r in plan.items()}
        try:
            async for item in read.items():
                if isinstance(item, Lost):
                    continuity.lost(item.partition, item.end)
                    next_offset = item.end
                else:
                    for record in item.records:
                        checks.record(record)
                    next_offset = item.next_offset
                progress.advance(next_offset - position[item.partition])
                position[item.partition] = next_offset
        finally:
            progress.stop()
    for partition, offsets in plan.items():
        continuity.close(partition, offsets.end)
    result.gaps = sorted(continuity.gaps, key=lambda gap: (gap.partition, gap.first))
    return result
