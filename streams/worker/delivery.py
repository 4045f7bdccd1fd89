"""Delivery: how a batch's records and its input offsets reach Kafka, per guarantee.

Both guarantees share one rule: **the offsets of a batch are committed by the batch itself, after
every record it produced is acknowledged** — never by Faust's ack bookkeeping. Faust commits the
offsets of acked messages on a timer; its gap arithmetic can commit past a message still in flight
(faust-streaming pull request 707) and its timer commits whatever the transaction holds at that
moment, including sends of a batch that is only half done. The input topics are therefore declared
with ``acks=False`` and Faust never commits them.

- :class:`ExactlyOnce`: one Kafka transaction per source partition number and batch, on the
  transactional producer Faust keeps for that partition (``transactional.id =
  <app id>-<group>-<partition>``, which fences a zombie of the same partition). Every record —
  EventBatch, dead letter, changelog — is sent on that transactional producer *explicitly*
  (:mod:`streams.worker.sending`; never through Faust's buffered ``send_soon``, faust-streaming
  issue 177), then the offsets are added
  to the same transaction and it is committed. Readers with ``read_committed`` see all of it or
  none of it.
- :class:`AtLeastOnce`: the same records through the plain producer, all acknowledged; then the
  ``positions`` changelog records (they mark the records done, so they must not arrive before
  the outputs); then the offsets are committed. A crash in between repeats part of the batch;
  readers dedupe by ``event_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import TopicPartition

from streams.worker.output import Outgoing
from streams.worker.sending import send_batched

TPKey = tuple[str, int]


@dataclass
class Unit:
    """What one commit covers: records to send, records that close the unit (the input
    positions, sent last), and the next offset of each input partition."""

    records: list[Outgoing] = field(default_factory=list)
    offsets: dict[TPKey, int] = field(default_factory=dict)
    closing: list[Outgoing] = field(default_factory=list)


class Delivery(Protocol):
    def unit_key(self, tp: TPKey) -> str:
        """Which commit unit a source partition belongs to."""

    def assigned(self) -> Set[TPKey]:
        """The source partitions this worker may write for now."""

    async def deliver(self, key: str, unit: Unit) -> bool:
        """Send the unit's records and commit its offsets; False: not committed, will repeat."""

    async def reset(self, tps: set[TPKey]) -> None:
        """Partitions are being revoked: drop any open, unused transaction state for them."""


TRANSACTION_RESTART_BACKOFF_S = 0.002


def shorten_transaction_restart_backoff() -> None:
    """Retry a transaction's first AddPartitionsToTxn after 2 ms instead of aiokafka's 20 ms.

    The coordinator answers CONCURRENT_TRANSACTIONS while the previous transaction's commit
    markers are still being written, which is nearly always the case for a partition that starts
    its next transaction right after committing — every delivery of a busy worker. aiokafka then
    sleeps ``BACKOFF_OVERRIDE`` (20 ms, its own shortcut for this case, KAFKA-5477). Measured on
    the benchmark broker: a transaction's first record was acknowledged after ~30 ms instead of
    ~4 ms. Marker writes take a few milliseconds, so a short retry costs a request or two and
    saves most of that. Fails loudly if an aiokafka upgrade renames the constant.
    """
    from aiokafka.producer import sender

    if not isinstance(getattr(sender, "BACKOFF_OVERRIDE", None), float):
        raise RuntimeError("aiokafka.producer.sender.BACKOFF_OVERRIDE is gone; revisit this")
    sender.BACKOFF_OVERRIDE = TRANSACTION_RESTART_BACKOFF_S


class ExactlyOnce:
    """Transactions on Faust's per-partition producers (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        shorten_transaction_restart_backoff()

    def unit_key(self, tp: TPKey) -> str:
        # Faust's scheme (faust.transport.consumer.TransactionManager), so we use the producers
        # it creates on assignment and stops on revocation.
        group = self._app.assignor.group_for_topic(tp[0])
        return f"{self._app.conf.id}-{group}-{tp[1]}"

    def assigned(self) -> Set[TPKey]:
        return self._app.consumer.assignment()  # Faust TPs are (topic, partition) tuples

    async def deliver(self, key: str, unit: Unit) -> bool:
        producer = self._app.producer
        # Faust's aiokafka producer of this transactional id, under Faust's own lock for it.
        async with producer._trn_locks[key]:
            await send_batched(producer._transaction_producers[key], [*unit.records, *unit.closing])
        offsets = {TopicPartition(*tp): offset for tp, offset in unit.offsets.items()}
        await producer.commit_transactions(
            {key: offsets}, self._app.conf.id, start_new_transaction=True
        )
        return True

    async def reset(self, tps: set[TPKey]) -> None:
        """Close the transactional producer of each revoked partition.

        Faust keeps a producer per partition, begins a transaction on it on every assignment and
        only stops it when it computes the partition as revoked, which it does not always do (a
        partition handed to another worker kept its old, soon fenced producer here: the next
        assignment then began a transaction on a fenced producer and sends failed). Closing them
        here — after Faust waited for in-flight batches and the outbox drained — means every
        assignment starts from a fresh producer (``init_transactions`` fences any zombie), and
        nothing sent before a rebalance can be committed after it.
        """
        for key in sorted({self.unit_key(tp) for tp in tps if self._has_group(tp[0])}):
            await self._app.producer.stop_transaction(key)

    def _has_group(self, topic: str) -> bool:
        try:
            self._app.assignor.group_for_topic(topic)
        except KeyError:
            return False
        return True


class AtLeastOnce:
    """Plain producer, acknowledged sends, then the consumer commits the offsets."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def unit_key(self, tp: TPKey) -> str:
        return "all"

    def assigned(self) -> Set[TPKey]:
        return self._app.consumer.assignment()  # Faust TPs are (topic, partition) tuples

    async def deliver(self, key: str, unit: Unit) -> bool:
        # Positions last: a position in the changelog says "these records are done", so it may
        # only exist once every output of theirs is acknowledged.
        producer = self._app.producer._ensure_producer()  # Faust's aiokafka producer
        await send_batched(producer, unit.records)
        await send_batched(producer, unit.closing)
        # Faust's own commit call minus its ack bookkeeping. False after a rebalance: the new
        # owner repeats the batch, which at-least-once allows.
        return bool(await self._app.consumer._commit(_faust_offsets(unit.offsets)))

    async def reset(self, tps: set[TPKey]) -> None:
        return None


def _faust_offsets(offsets: Mapping[TPKey, int]) -> dict[Any, int]:
    from faust.types import TP

    return {TP(*tp): offset for tp, offset in offsets.items()}


def delivery_for(guarantee: str, app: Any) -> Delivery:
    return ExactlyOnce(app) if guarantee == "exactly_once" else AtLeastOnce(app)
