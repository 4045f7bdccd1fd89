"""Audit hash chain: each AuditTrailEntry is linked to the previous entry of the same agent.

Definition (what an independent verifier needs):

- Chains are per key, the entry's ``agent_id`` (the input topic is keyed by it, so one partition
  sees a key's entries in order).
- ``hash = SHA-256(prev ‖ canonical_bytes(entry))`` as lowercase hex, where ``prev`` is the previous
  link's hash as its **32 raw bytes** (``bytes.fromhex(prev_hash)``), not its 64 hex characters.
- The first entry of a key has ``prev_hash = GENESIS_HASH``: 64 ``0`` characters (32 zero bytes).
- ``canonical_bytes`` is the decoded AuditTrailEntry record (uuid as str, timestamps as int epoch
  ms, enums as str) as JSON by ``orjson.dumps(entry, option=OPT_SORT_KEYS)``: UTF-8, keys sorted at
  every level, no whitespace, non-ASCII not escaped, floats in orjson's shortest round-trip form
  (``1.5e-7``, where Python's json module writes ``1.5e-07``), NaN/Infinity as ``null`` (hence
  checks refuse them).

The chain head (last event_id, prev_hash, hash per key) lives in a mapping: the worker's
changelog-backed ``chain`` table (:mod:`streams.worker.state`), so the chain continues across
restarts and rebalances.

Idempotency. Delivery is at-least-once underneath (and exactly-once only where transactions are on),
so after a crash the same entry can be processed again. Appending it again would fork the chain: two
links for one event. Two rules prevent that:

1. The head stores the last event_id; if the entry being appended *is* the last link, the stored
   link is returned unchanged (the common case: crash after the head was written, before the offset
   commit).
2. Older entries redelivered in the same replay come with the link remembered for their event_id
   (the dedupe store keeps it, see :mod:`streams.pipeline.dedupe`) as ``recorded``; that link is
   returned, and if the head is exactly one link behind it (the head's write was lost while the
   dedupe write survived) the head is moved forward to it.

An entry whose event_id matches a stored link but whose content does not hash to it raises
:class:`ChainConflict` (dead-lettered by the policy): an event_id reused for a different entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NamedTuple

import orjson

from streams.errors import StreamsError

GENESIS_HASH: Final = "0" * 64


def canonical_bytes(entry: Mapping[str, Any]) -> bytes:
    """Canonical JSON of a decoded AuditTrailEntry (see the module docstring for the exact form)."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def link_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash's raw bytes followed by the entry's canonical bytes."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(entry)).hexdigest()


class ChainLink(NamedTuple):
    """The two hex hashes an audit event carries in its enrichment."""

    prev_hash: str
    hash: str


class ChainConflict(StreamsError, ValueError):
    """An event_id already chained arrived with different content."""

    dlq_reason = "invalid:audit-event-id-reused"
    retriable = False


def _require_same(link: ChainLink, key: str, event_id: str, entry: Mapping[str, Any]) -> None:
    if link_hash(link.prev_hash, entry) != link.hash:
        raise ChainConflict(f"event {event_id} of {key!r} was chained with different content")


class HashChain:
    """Appends entries to per-key chains whose heads live in ``state``.

    ``state`` maps key → ``[last_event_id, prev_hash, hash]`` (a list, as its JSON changelog gives
    it back); a key with no chain yet must be absent, not defaulted.
    """

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self._state = state

    def head(self, key: str) -> tuple[str | None, ChainLink]:
        """(last event_id, last link) of ``key``; (None, a link ending in genesis) if new."""
        stored = self._state.get(key)
        if not stored:
            return None, ChainLink(GENESIS_HASH, GENESIS_HASH)
        last_event_id, prev_hash, hash_ = stored
        return last_event_id, ChainLink(prev_hash, hash_)

    def append(
        self, key: str, entry: Mapping[str, Any], *, recorded: ChainLink | None = None
    ) -> ChainLink:
        """Chain ``entry`` after the head of ``key``; return its link (idempotent, see module)."""
        link, head = self.next_link(key, entry, recorded=recorded)
        self.commit(key, head)
        return link

    def next_link(
        self, key: str, entry: Mapping[str, Any], *, recorded: ChainLink | None = None
    ) -> tuple[ChainLink, list[str] | None]:
        """The link :meth:`append` would return, and the new head to :meth:`commit` (None when
        the head stays). Nothing is written, so a caller can still refuse the entry after this."""
        event_id = entry["metadata"]["event_id"]
        last_event_id, head = self.head(key)
        if last_event_id == event_id:
            _require_same(head, key, event_id, entry)
            return head, None
        if recorded is not None:
            _require_same(recorded, key, event_id, entry)
            if recorded.prev_hash == head.hash:
                return recorded, [event_id, recorded.prev_hash, recorded.hash]
            return recorded, None
        link = ChainLink(head.hash, link_hash(head.hash, entry))
        return link, [event_id, link.prev_hash, link.hash]

    def commit(self, key: str, head: list[str] | None) -> None:
        """Make ``head`` (from :meth:`next_link`) the head of ``key``; None changes nothing."""
        if head is not None:
            self._state[key] = head


class ChainRecord(NamedTuple):
    """One audit entry as found in the output, with the links it was published with.

    ``position`` is whatever locates it for a person (e.g. ``(partition, offset, index)``); the
    verifier only reports it back.
    """

    key: str
    position: object
    entry: Mapping[str, Any]
    prev_hash: str
    hash: str


class BreakKind(StrEnum):
    ALTERED = "altered"
    """hash != SHA-256(prev_hash ‖ entry): the entry or its hash was changed."""
    BROKEN_LINK = "broken-link"
    """prev_hash != the previous entry's hash: an entry was removed, inserted or moved."""


@dataclass(frozen=True, slots=True)
class ChainBreak:
    key: str
    position: object
    kind: BreakKind
    expected: str
    found: str


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    duplicates: int = 0
    keys: set[str] = field(default_factory=set)
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


class ChainVerifier:
    """Checks published audit entries, fed in order per key, and collects the breaks.

    After a break the verifier continues from the *recorded* hash, so one removed entry yields one
    break, not a break for every later entry. A link seen before (same hash, content still matching)
    is an at-least-once redelivery: counted as a duplicate, not a break. It keeps every verified
    hash in memory for that (about 100 bytes per entry).

    ``from_genesis=False`` verifies a range that starts mid-chain: the first entry of each key is
    trusted as the anchor for its prev_hash.
    """

    def __init__(self, *, from_genesis: bool = True) -> None:
        self._from_genesis = from_genesis
        self._heads: dict[str, str] = {}
        self._verified: set[str] = set()
        self.report = VerifyReport()

    def feed(self, record: ChainRecord) -> list[ChainBreak]:
        """Verify one entry; return the breaks it shows (also added to :attr:`report`)."""
        try:
            recomputed = link_hash(record.prev_hash, record.entry)
        except ValueError:  # prev_hash is not hex: cannot match anything
            recomputed = ""
        report = self.report
        report.entries += 1
        if record.hash in self._verified and recomputed == record.hash:
            report.duplicates += 1
            return []
        report.keys.add(record.key)
        expected_prev = self._heads.get(record.key)
        if expected_prev is None:
            expected_prev = GENESIS_HASH if self._from_genesis else record.prev_hash
        breaks = []
        if record.prev_hash != expected_prev:
            breaks.append(
                ChainBreak(
                    record.key,
                    record.position,
                    BreakKind.BROKEN_LINK,
                    expected_prev,
                    record.prev_hash,
                )
            )
        if recomputed != record.hash:
            breaks.append(
                ChainBreak(record.key, record.position, BreakKind.ALTERED, recomputed, record.hash)
            )
        self._heads[record.key] = record.hash
        self._verified.add(record.hash)
        report.breaks.extend(breaks)
        return breaks
