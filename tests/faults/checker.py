"""The delivery checker: what producers had acknowledged, against what came out at the end.

Independent of the code it checks, in the manner of Kafka's system tests (a verifiable producer
logs every acknowledged record, a verifiable consumer every record it read, and the test
compares the logs) and of Jepsen's Kafka checker (lost writes, duplicates, order anomalies, from
operation histories). It takes plain logs and never imports the pipeline or the gateway:

- :class:`Ack`: every send the producer SDK acknowledged (acks=all), with where it landed;
  ``uncertain`` marks an event sent again after a failed send (its first copy may have landed
  anyway, so its order relative to later events of its key is unknown; Jepsen's *info*);
- :class:`ClientLog`: every event a dashboard client received, in arrival order, with its
  position, and every ``gap`` it was told of;
- :class:`PipelineEnd`: read from Kafka at the end with read_committed — every event in
  ``live.*`` with its source position, the dead letters' source positions, and the worker's
  ledger of filtered records per input partition.

It reports, as one table (:meth:`Report.table`):

- **lost**: an acknowledged input position in none of live (passed), the DLQ (dead-lettered) or
  the ledger's filtered counts of its partition; or a passed event that a client subscribed to
  its type never received (every client subscribes from ``earliest`` and runs to the end);
- **duplicated** after the documented client dedupe (one high-water mark ``(offset, index)`` per
  partition, docs/reference/client.md): an event id a client kept twice, or an input position
  passed twice;
- **reordered** within a key: a client received an event of a key after a later-acknowledged
  event of the same key;
- **false gaps**: a ``gap`` whose range holds no passed event the client went without.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

InputPos = tuple[str, int, int]  # event type, input partition, input offset
LivePos = tuple[str, int, int, int]  # event type, live partition, offset, index in the batch


@dataclass(frozen=True, slots=True)
class Ack:
    event_id: str
    event_type: str
    key: str
    partition: int
    offset: int
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    event_id: str
    position: LivePos


@dataclass(frozen=True, slots=True)
class GapSeen:
    event_type: str
    partition: int | None
    range: tuple[int, int] | None
    reason: str


@dataclass
class ClientLog:
    """One client: the event types it subscribed to (from earliest) and what it received."""

    name: str
    types: frozenset[str]
    receipts: list[Receipt] = field(default_factory=list)
    gaps: list[GapSeen] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LiveEvent:
    event_id: str
    position: LivePos
    source: InputPos


@dataclass
class PipelineEnd:
    live: list[LiveEvent]
    dead_lettered: set[InputPos]
    filtered: Counter[tuple[str, int]]  # (event type, input partition) -> filtered records


@dataclass
class Report:
    acknowledged: int = 0
    distinct: int = 0
    passed: int = 0
    dead_lettered: int = 0
    filtered: int = 0
    clients: int = 0
    deliveries: int = 0
    repeats_dropped: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    gaps: int = 0
    false_gaps: int = 0
    examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the scenario did: faults, times

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.false_gaps)

    def example(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)

    def table(self) -> str:
        rows = [
            ("acknowledged sends", f"{self.acknowledged:,} ({self.distinct:,} distinct events)"),
            ("  passed to live.*", f"{self.passed:,}"),
            ("  dead-lettered", f"{self.dead_lettered:,}"),
            ("  filtered (worker ledger)", f"{self.filtered:,}"),
            (
                "client deliveries",
                f"{self.deliveries:,} to {self.clients} clients "
                f"({self.repeats_dropped:,} repeats dropped by position dedupe)",
            ),
            ("lost", f"{self.lost:,}"),
            ("duplicated after dedupe", f"{self.duplicated:,}"),
            ("reordered within a key", f"{self.reordered:,}"),
            ("gaps told / false gaps", f"{self.gaps:,} / {self.false_gaps:,}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = ["delivery check", *(f"  {n:<{width}}  {v}" for n, v in rows)]
        lines += [f"  {note}" for note in self.notes]
        lines += [f"  ! {text}" for text in self.examples]
        return "\n".join(lines)


def check(acks: list[Ack], clients: list[ClientLog], end: PipelineEnd) -> Report:
    """Compare the logs; see the module docstring for what each count means."""
    report = Report(acknowledged=len(acks), distinct=len({a.event_id for a in acks}))
    report.clients = len(clients)
    report.filtered = sum(end.filtered.values())
    report.dead_lettered = len(end.dead_lettered)
    passed = _check_pipeline(acks, end, report)
    order = {a.event_id: (a.key, a.offset) for a in sorted(acks, key=lambda a: -a.offset)}
    unsure = {a.event_id for a in acks if a.uncertain}
    for client in clients:
        _check_client(client, passed, order, unsure, report)
    return report


def _check_pipeline(acks: list[Ack], end: PipelineEnd, report: Report) -> dict[LivePos, str]:
    """Every acknowledged input position passed, dead-lettered or filtered, once."""
    by_source: dict[InputPos, list[LiveEvent]] = defaultdict(list)
    for event in end.live:
        by_source[event.source].append(event)
    report.passed = len(end.live)
    unexplained: Counter[tuple[str, int]] = Counter()
    for ack in acks:
        where = (ack.event_type, ack.partition, ack.offset)
        out = by_source.get(where, [])
        if len(out) > 1:
            report.duplicated += len(out) - 1
            report.example(f"input {where} passed {len(out)} times")
        if out and any(e.event_id != ack.event_id for e in out):
            report.lost += 1
            report.example(f"input {where} ({ack.event_id}) came out as {out[0].event_id}")
        elif not out and where not in end.dead_lettered:
            unexplained[(ack.event_type, ack.partition)] += 1
    for tp, count in unexplained.items():
        if count > end.filtered.get(tp, 0):
            report.lost += count - end.filtered.get(tp, 0)
            report.example(
                f"{tp}: {count} acknowledged records neither passed nor dead-lettered, "
                f"the ledger counts {end.filtered.get(tp, 0)} filtered"
            )
    return {event.position: event.event_id for event in end.live}


def _check_client(
    client: ClientLog,
    passed: dict[LivePos, str],
    order: dict[str, tuple[str, int]],
    unsure: set[str],
    report: Report,
) -> None:
    marks: dict[tuple[str, int], tuple[int, int]] = {}
    kept: Counter[str] = Counter()
    got: set[LivePos] = set()
    last_of_key: dict[str, tuple[int, str]] = {}
    for receipt in client.receipts:
        kind, partition, offset, index = receipt.position
        mark = marks.get((kind, partition))
        if mark is not None and (offset, index) <= mark:
            report.repeats_dropped += 1  # the documented dedupe drops it
            continue
        marks[(kind, partition)] = (offset, index)
        report.deliveries += 1
        got.add(receipt.position)
        kept[receipt.event_id] += 1
        if kept[receipt.event_id] == 2:
            report.duplicated += 1
            report.example(
                f"{client.name}: {receipt.event_id} kept twice, again at {receipt.position}"
            )
        key, acked_at = order.get(receipt.event_id, ("", -1))
        if receipt.event_id in unsure or not key:
            continue
        before = last_of_key.get(key)
        if before is not None and acked_at < before[0]:
            report.reordered += 1
            report.example(f"{client.name}: key {key}: {receipt.event_id} after {before[1]}")
        else:
            last_of_key[key] = (acked_at, receipt.event_id)
    owed = {pos for pos in passed if pos[0] in client.types}
    missing = owed - got
    if missing:
        report.lost += len(missing)
        report.example(f"{client.name}: {len(missing)} passed events never received, e.g. "
                       f"{sorted(missing)[:3]}")  # fmt: skip
    for gap in client.gaps:
        report.gaps += 1
        if not any(_in_gap(pos, gap) for pos in missing):
            report.false_gaps += 1
            report.example(f"{client.name}: false gap {gap}")


def _in_gap(pos: LivePos, gap: GapSeen) -> bool:
    if pos[0] != gap.event_type or (gap.partition is not None and pos[1] != gap.partition):
        return False
    return gap.range is None or gap.range[0] <= pos[2] < gap.range[1]
