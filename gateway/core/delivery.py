"""Where each subscription's records come from: the shared tail, a private catch-up reader, or
nowhere for now (slow client). This is the hand-over machinery of the session, kept apart from
frame handling so its rules can be read (and tested) on their own.

* **Resolve.** The I/O layer's :class:`TopicSnapshot` fixes ``next`` per partition
  (``plan_start``). At or past both the log end and the tail reader → ``TAIL``; behind either →
  ``CATCH_UP`` with a private reader (:class:`StartCatchUp`).
* **Rejoin.** When, for every partition, ``next`` ≥ the tail reader's position (learned from tail
  records and ``on_tail_position``), the catch-up reader is stopped and the subscription rides
  the tail again. The tail's next record for a partition starts at its position ≤ ``next``, so
  the first record the subscription needs is delivered and older ones are skipped as
  duplicates: no gap, no duplicate. A hole seen on the tail (a record starting past ``next``, or
  a tail position past ``next``) sends the subscription back to catch up.
* **Slow client.** Before a record becomes a frame, the session is asked for room (its send
  budget, see ``budget.py``); without room the record is not taken and ``set_slow(True)`` takes
  every subscription off the tail and stops its catch-up reader, so the bytes queued for one
  client are bounded by the budget plus one frame. ``set_slow(False)`` rejoins the tail or
  starts a new reader from ``next``, exactly where delivery stopped; whatever a stopped reader
  still had in flight is ignored (its reader id is stale). Nothing is dropped: Kafka is the buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from gateway.core import frames
from gateway.core.commands import (
    AccessAction,
    Command,
    Ended,
    Gap,
    ResolveTopic,
    StartCatchUp,
    StopCatchUp,
    Subscribed,
    TopicSnapshot,
    UnwatchTopic,
    WatchTopic,
)
from gateway.core.records import Record, SharedFrame, data_frame
from gateway.core.subscription import Mode, Subscription, Verdict
from gateway.core.tokens import SubscriptionPosition


class Delivery:
    """The subscriptions of one connection and the tail positions of the topics they watch."""

    def __init__(
        self,
        emit: Callable[[bytes | SharedFrame], None],
        run: Callable[[Command], None],
        report: Callable[[Gap | AccessAction], None],
        room: Callable[[], float],
    ) -> None:
        self._emit, self._run, self._report, self._room = emit, run, report, room
        self.subs: dict[str, Subscription] = {}
        self._by_topic: dict[str, list[Subscription]] = {}
        self._tail: dict[str, dict[int, int]] = {}  # topic -> partition -> tail reader position
        self._last_reader = 0
        self.slow = False
        self.dirty = False  # positions moved since the last checkpoint
        self.delivered = 0  # events sent since the session last reset it
        self.last_delivery_ms = 0

    # -- membership -------------------------------------------------------------------------

    def add(self, sub: Subscription, times: Iterable[int]) -> None:
        self.subs[sub.id] = sub
        if sub.topic not in self._by_topic:
            self._by_topic[sub.topic] = []
            self._run(WatchTopic(sub.topic))
        self._by_topic[sub.topic].append(sub)
        self._run(ResolveTopic(sub.id, sub.topic, tuple(dict.fromkeys(times))))

    def remove(self, sub: Subscription) -> None:
        del self.subs[sub.id]
        siblings = self._by_topic[sub.topic]
        siblings.remove(sub)
        self._stop_reader(sub)
        if not siblings:
            del self._by_topic[sub.topic]
            self._tail.pop(sub.topic, None)
            self._run(UnwatchTopic(sub.topic))
        self.dirty = True

    def shutdown(self) -> None:
        """Stop every reader and watch (the connection is closing)."""
        for sub in self.subs.values():
            if sub.reader is not None:
                self._run(StopCatchUp(sub.id, sub.reader))
        for topic in self._by_topic:
            self._run(UnwatchTopic(topic))

    def entries(self) -> list[SubscriptionPosition]:
        return [e for s in self.subs.values() if (e := s.checkpoint_entry()) is not None]

    def resolved(self, sub: Subscription, snapshot: TopicSnapshot) -> None:
        """Fix the start positions; may raise :class:`PositionBeyondEnd` (from ``plan_start``)."""
        positions, gaps = sub.begin(snapshot)
        self._emit(frames.subscribed(sub.id, sub.topic, sub.epoch, positions))
        for g in gaps:
            self._gap(g)
        to = sub.to_timestamp if sub.to_offsets is None else sub.to_offsets
        start = sub.start if isinstance(sub.start, str) else sub.start.kind
        self._report(Subscribed(sub.id, sub.topic, start, dict(positions), to, len(gaps)))
        self.dirty = True
        tail = self._tail.get(sub.topic, {})
        if self.slow or any(
            o < max(snapshot.bounds[p].end, tail.get(p, 0)) for p, o in sub.open_positions().items()
        ):
            self._catch_up(sub)
        self._finish_if_done(sub)

    # -- records and positions --------------------------------------------------------------

    def tail_record(self, record: Record, now_ms: int) -> None:
        if record.topic not in self._by_topic:
            return
        self._tail.setdefault(record.topic, {})[record.partition] = record.offset + 1
        for sub in tuple(self._by_topic[record.topic]):
            if sub.mode is Mode.TAIL:
                self._offer(sub, record, now_ms, tail=True)
            elif sub.mode is Mode.CATCH_UP:
                self._rejoin_if_level(sub)

    def tail_position(self, topic: str, positions: Mapping[int, int]) -> None:
        if topic not in self._by_topic:
            return
        self._tail.setdefault(topic, {}).update(positions)
        for sub in tuple(self._by_topic[topic]):
            if sub.mode is Mode.TAIL and any(
                o > sub.next.get(p, 0) for p, o in positions.items() if p not in sub.done
            ):
                self._catch_up(sub)  # the tail moved past records this subscription never saw
            elif sub.mode is Mode.CATCH_UP:
                self._rejoin_if_level(sub)

    def _current(self, sub_id: str, reader: int) -> Subscription | None:
        sub = self.subs.get(sub_id)
        if sub is None or sub.reader != reader or sub.mode is not Mode.CATCH_UP:
            return None  # a stopped reader's leftovers: the tail or a newer reader covers them
        return sub

    def catchup_record(self, sub_id: str, reader: int, record: Record, now_ms: int) -> None:
        sub = self._current(sub_id, reader)
        if sub is not None:
            self._offer(sub, record, now_ms, tail=False)
            self._rejoin_if_level(sub)

    def catchup_position(self, sub_id: str, reader: int, positions: Mapping[int, int]) -> None:
        sub = self._current(sub_id, reader)
        if sub is None:
            return
        for p, offset in positions.items():
            if p not in sub.done and offset > sub.next.get(p, 0):
                sub.advance(p, offset)
                self.dirty = True
        self._finish_if_done(sub)
        self._rejoin_if_level(sub)

    def _offer(self, sub: Subscription, rec: Record, now_ms: int, *, tail: bool) -> None:
        p = rec.partition
        verdict = sub.verdict(p, rec.offset, rec.start, rec.timestamp_ms, tail=tail)
        if verdict is Verdict.MISSED:
            self._catch_up(sub)
            return
        if verdict is Verdict.RETENTION:  # the catch-up reader was reset past deleted records
            lost = (sub.next.get(p, 0), min(rec.start, sub.end.get(p, rec.start)))
            self._gap(Gap(sub.id, sub.topic, p, lost, rec.start, "retention"))
            sub.advance(p, rec.start)
            self.dirty = True
            verdict = sub.verdict(p, rec.offset, rec.start, rec.timestamp_ms, tail=tail)
        if verdict is Verdict.HORIZON:  # a record below the replay horizon: withheld, told
            horizon = sub.withheld[p]
            self._gap(Gap(sub.id, sub.topic, p, (sub.next[p], horizon), horizon, "horizon"))
            sub.advance(p, horizon)
            self.dirty = True
            verdict = sub.verdict(p, rec.offset, rec.start, rec.timestamp_ms, tail=tail)
        if verdict is Verdict.END:
            sub.close_partition(p)
        elif verdict is Verdict.DELIVER:
            encoded = rec.encoded(sub.filter)
            if encoded.count:
                if self._room() <= 0:
                    self.set_slow(True)  # full: the record stays in Kafka until there is room
                    return
                self._emit(data_frame(sub.heads, encoded))
                self.delivered += encoded.count
                self.last_delivery_ms = now_ms
            sub.advance(p, rec.offset + 1)
            self.dirty = True
        self._finish_if_done(sub)

    def _gap(self, gap: Gap) -> None:
        self._emit(frames.gap(gap))
        self._report(gap)

    # -- mode changes -----------------------------------------------------------------------

    def _catch_up(self, sub: Subscription) -> None:
        """Leave the tail; read privately from ``next`` unless the client is slow right now."""
        if sub.reader is not None or self.slow:
            sub.fall_behind()
            return
        self._last_reader += 1
        sub.fall_behind(self._last_reader)
        self._run(
            StartCatchUp(sub.id, self._last_reader, sub.topic, sub.open_positions(), sub.epoch)
        )

    def _stop_reader(self, sub: Subscription) -> None:
        reader = sub.drop_reader()
        if reader is not None:
            self._run(StopCatchUp(sub.id, reader))

    def _rejoin_if_level(self, sub: Subscription) -> None:
        tail = self._tail.get(sub.topic)
        if sub.mode is not Mode.CATCH_UP or self.slow or tail is None or sub.id not in self.subs:
            return
        if any(sub.next.get(p, 0) < o for p, o in tail.items() if p not in sub.done):
            return
        reader = sub.ride_tail()
        if reader is not None:
            self._run(StopCatchUp(sub.id, reader))

    def set_slow(self, slow: bool) -> None:
        """Demote everything off the tail and stop its readers, or bring it back."""
        if slow == self.slow:
            return
        self.slow = slow
        for sub in tuple(self.subs.values()):
            if slow:
                if sub.mode is Mode.TAIL:
                    sub.fall_behind()
                else:
                    self._stop_reader(sub)
                continue
            self._rejoin_if_level(sub)
            if sub.mode is Mode.CATCH_UP and sub.reader is None:
                self._catch_up(sub)

    # -- bounded subscriptions --------------------------------------------------------------

    def bounded(self) -> bool:
        """A subscription waits for the clock to pass its ``to.timestamp``."""
        return any(s.to_timestamp is not None for s in self.subs.values())

    def expire_bounds(self, now_ms: int, grace_ms: int) -> None:
        """`to.timestamp` on idle partitions: once the clock (plus producer slack) is past it,
        a partition whose ``next`` reached the tail position has nothing more to give."""
        for sub in tuple(self.subs.values()):
            to_ts, tail = sub.to_timestamp, self._tail.get(sub.topic, {})
            if sub.mode is Mode.PENDING or to_ts is None or now_ms < to_ts + grace_ms:
                continue
            sub.close_caught_up(tail)
            self._finish_if_done(sub)

    def _finish_if_done(self, sub: Subscription) -> None:
        if sub.finished and sub.id in self.subs:
            self.remove(sub)
            self._emit(frames.caught_up(sub.id))
            self._report(Ended(sub.id, sub.topic, dict(sub.next), caught_up=True))
