"""The one place that decides what happens to a record the pipeline cannot pass on.

Modelled on quix-streams' ``error_callbacks``: decode and processing failures are not handled where
they happen (``except Exception: pass`` loses records without a trace); they are turned into a
:class:`Disposition` here, counted, and the worker continues.

- ``DEAD_LETTER`` — the record itself is bad (undecodable, fails a check). It goes to ``events.dlq``
  unchanged, with the headers built by :func:`dead_letter_headers`, so ``regstream dlq`` can show it
  and re-publish a fixed copy.
- ``FILTERED`` — the record is fine but a rule keeps it out of its output stream (severity
  threshold, allow-list, duplicate). It is counted by reason, never dropped without a count.
- ``PASS`` — the record goes on to its output stream.

Errors that are not the record's fault (an exception carrying ``retriable = True``, e.g. a broker
timeout) are re-raised by :func:`disposition_for_error`: dead-lettering them would move a good
record out of its stream. Letting the worker fail and redeliver is the safe answer for those.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, NamedTuple

from streams.pipeline.coordinates import Coordinates

HEADER_PREFIX: Final = "regstream.dlq."
H_SOURCE_TOPIC: Final = HEADER_PREFIX + "source-topic"
H_SOURCE_PARTITION: Final = HEADER_PREFIX + "source-partition"
H_SOURCE_OFFSET: Final = HEADER_PREFIX + "source-offset"
H_ERROR_CLASS: Final = HEADER_PREFIX + "error-class"
H_REASON: Final = HEADER_PREFIX + "reason"
H_DETAIL: Final = HEADER_PREFIX + "detail"
H_TIME: Final = HEADER_PREFIX + "time"
H_BODY_OMITTED: Final = HEADER_PREFIX + "body-omitted"
"""Set when the dead letter carries no body (too large to write): the body's size in bytes."""
H_BODY_SHA256: Final = HEADER_PREFIX + "body-sha256"
"""With ``body-omitted``: the hex SHA-256 of the omitted body, to match it at its source."""

MAX_DETAIL_BYTES: Final = 1024
"""Exception text can be long (or echo payload bytes); the header keeps the first KiB."""

Stage = Literal["decode", "process"]


class Outcome(StrEnum):
    """What happens to a record; the string is also the metrics label."""

    PASS = "pass"
    FILTERED = "filtered"
    DEAD_LETTER = "dead-letter"


@dataclass(frozen=True, slots=True)
class Disposition:
    """An outcome with its reason code (``invalid:future-timestamp``, ``filtered:duplicate``...).

    ``reason`` is a short, bounded code fit for a metrics label; ``detail`` is the human sentence
    (which field, which value) that only goes into the dead-letter header.
    """

    outcome: Outcome
    reason: str = ""
    error_class: str = ""
    detail: str = ""

    @classmethod
    def passed(cls) -> Disposition:
        return _PASS

    @classmethod
    def filtered(cls, reason: str, detail: str = "") -> Disposition:
        return cls(Outcome.FILTERED, reason, "", detail)

    @classmethod
    def dead_letter(cls, reason: str, *, error_class: str, detail: str = "") -> Disposition:
        return cls(Outcome.DEAD_LETTER, reason, error_class, detail)

    @property
    def is_pass(self) -> bool:
        return self.outcome is Outcome.PASS


_PASS: Final = Disposition(Outcome.PASS)


def disposition_for_error(exc: Exception, *, stage: Stage) -> Disposition:
    """Turn an exception raised while decoding or processing one record into a dead letter.

    The reason is the exception's ``dlq_reason`` attribute when it has one (the ``schemas.errors``
    tree gives each error its reason, STYLE.md §4), else ``<stage>-error``. Exceptions marked
    ``retriable`` are re-raised: they say nothing about the record.
    """
    if getattr(exc, "retriable", False) is True:
        raise exc
    reason = getattr(exc, "dlq_reason", None)
    if not isinstance(reason, str) or not reason:
        reason = f"{stage}-error"
    cls = type(exc)
    return Disposition.dead_letter(
        reason, error_class=f"{cls.__module__}.{cls.__qualname__}", detail=str(exc)
    )


def dead_letter_headers(
    disposition: Disposition, source: Coordinates, *, now_ms: int
) -> list[tuple[str, bytes]]:
    """Kafka headers for the dead-letter copy of the record at ``source``.

    The DLQ value is the input bytes unchanged; everything needed to find the original and to judge
    a fix travels in these headers (all UTF-8; numbers in decimal).
    """
    if disposition.outcome is not Outcome.DEAD_LETTER:
        raise ValueError(f"not a dead letter: {disposition.outcome}")
    headers = [
        (H_SOURCE_TOPIC, source.topic.encode()),
        (H_SOURCE_PARTITION, str(source.partition).encode()),
        (H_SOURCE_OFFSET, str(source.offset).encode()),
        (H_ERROR_CLASS, disposition.error_class.encode()),
        (H_REASON, disposition.reason.encode()),
        (H_TIME, str(now_ms).encode()),
    ]
    if disposition.detail:
        detail = disposition.detail.encode()[:MAX_DETAIL_BYTES]
        headers.append((H_DETAIL, detail.decode(errors="ignore").encode()))
    return headers


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    """The dead-letter headers read back (what ``regstream dlq inspect`` shows)."""

    source: tuple[str, int, int]
    error_class: str
    reason: str
    dead_lettered_at_ms: int
    detail: str = ""
    body_omitted: int | None = None
    """The size of the body when the letter carries none (it was too large to write)."""


def parse_dead_letter_headers(headers: Iterable[tuple[str, bytes]]) -> DeadLetterInfo:
    """Inverse of :func:`dead_letter_headers`; other headers are ignored.

    Raises ``ValueError`` when a required header is missing: a record on the DLQ without them was
    not put there by this pipeline.
    """
    found = {name: value.decode() for name, value in headers if name.startswith(HEADER_PREFIX)}
    try:
        return DeadLetterInfo(
            source=(
                found[H_SOURCE_TOPIC],
                int(found[H_SOURCE_PARTITION]),
                int(found[H_SOURCE_OFFSET]),
            ),
            error_class=found[H_ERROR_CLASS],
            reason=found[H_REASON],
            dead_lettered_at_ms=int(found[H_TIME]),
            detail=found.get(H_DETAIL, ""),
            body_omitted=int(found[H_BODY_OMITTED]) if H_BODY_OMITTED in found else None,
        )
    except KeyError as missing:
        raise ValueError(f"dead-letter header {missing.args[0]} missing") from None


class CountKey(NamedTuple):
    topic: str
    outcome: Outcome
    reason: str


class DispositionCounter:
    """Counts dispositions by (source topic, outcome, reason) for the metrics exporter.

    In-process only: a Prometheus counter restarts from zero with the worker, which is how counters
    are meant to be read (``rate``/``increase``). It is not a durable ledger of filtered records.
    """

    def __init__(self) -> None:
        self._counts: Counter[CountKey] = Counter()

    def add(self, topic: str, disposition: Disposition) -> None:
        self._counts[CountKey(topic, disposition.outcome, disposition.reason)] += 1

    def get(self, topic: str, outcome: Outcome, reason: str = "") -> int:
        return self._counts[CountKey(topic, outcome, reason)]

    def snapshot(self) -> dict[CountKey, int]:
        """A copy, so the exporter can iterate while the agent keeps counting."""
        return dict(self._counts)
