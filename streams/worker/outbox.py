"""The outbox: processed batches waiting for delivery, merged per commit unit, one delivery at a time.

Why: Faust's ``take()`` adds no record to the next batch until the agent's body returns, so an
agent that awaited its own transaction commit would leave the input idle for the whole commit
(tens of milliseconds: AddPartitionsToTxn, produce, TxnOffsetCommit, EndTxn). Instead the body
puts the processed batch here and returns; a single task delivers. Batches that arrive while a
delivery is in flight are merged into the next one (:meth:`Pending.merge`: events appended in
order, offsets moved forward), so one transaction per unit — and one ``EventBatch`` per source
partition — carries several ``take()`` batches (group commit), and deliveries of a unit stay
strictly in input order.

Backpressure: :meth:`Outbox.put` waits while more than ``max_records`` records are pending.
Failure: a delivery that raises is fatal; ``on_failure`` is called (the worker stops), and every
later :meth:`put` or :meth:`drained` raises the same error, so nothing is silently skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from streams.worker.output import Pending

Deliver = Callable[[dict[str, Pending]], Awaitable[None]]


class Outbox:
    def __init__(
        self,
        deliver: Deliver,
        *,
        max_records: int,
        on_failure: Callable[[BaseException], None] = lambda exc: None,
    ) -> None:
        self._deliver = deliver
        self._max_records = max_records
        self._on_failure = on_failure
        self._pending: dict[str, Pending] = {}
        self._pending_records = 0
        self._delivering = False
        self._failure: BaseException | None = None
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.deliveries = 0

    async def put(self, units: dict[str, Pending]) -> None:
        """Queue a processed batch; returns once it is queued (not delivered)."""
        self._raise_failure()
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        async with self._changed:
            for key, unit in units.items():
                if key in self._pending:
                    self._pending[key].merge(unit)
                else:
                    self._pending[key] = unit
                self._pending_records += unit.size
            self._changed.notify_all()
            await self._changed.wait_for(
                lambda: self._pending_records <= self._max_records or self._failure is not None
            )
        self._raise_failure()

    async def drained(self) -> None:
        """Wait until everything queued so far is delivered; raise a delivery's failure."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: (not self._pending and not self._delivering) or self._failure is not None
            )
        self._raise_failure()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(
                "an earlier delivery failed; the worker is stopping"
            ) from self._failure

    async def _run(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self._pending))
                units, self._pending, self._pending_records = self._pending, {}, 0
                self._delivering = True
                self._changed.notify_all()
            try:
                await self._deliver(units)
            except Exception as exc:
                self._failure = exc
                self._on_failure(exc)
            finally:
                async with self._changed:
                    self._delivering = False
                    self.deliveries += 1
                    self._changed.notify_all()
            if self._failure is not None:
                return
