"""The worker's Faust transport (``regstream://``): each fetch goes to the pipeline as one batch.

Why: Faust's consumer hands every fetched record to its streams one at a time, through
``Service.wait_first(callback(message), suspend_flow.wait())`` — four asyncio tasks and an
``asyncio.wait`` per record — then the conductor decodes it under a lock, queues it on the agent's
stream, and ``take_events()`` gathers the records again into a batch. A Faust agent that does
nothing else drains about a seventh of what a plain aiokafka consumer reads on the benchmark
machine (docs/pipeline.md, "Where the time goes"). The worker wants batches in the first place,
so this transport's drain loop hands each fetch's records, as aiokafka returns them, to one
handler: :meth:`streams.worker.runtime.PipelineRuntime.handle` (wired in
:mod:`streams.worker.app` with :func:`deliver_batches`).

Faust transports are chosen by the broker URL's scheme; ``regstream`` is registered under the
``faust.transports`` entry point (pyproject.toml), so ``broker="regstream://host:port"`` selects
this one. Everything else stays Faust's: the consumer group and its rebalances, the copartitioning
assignor, the thread aiokafka's consumer runs in, seeks, flow control, the transactional
producers. The loop keeps the guarantees of Faust's own loop that the worker relies on:

- **flow**: records fetched while the flow is stopped (a rebalance) are not handed over; Faust's
  seek to the committed offsets runs instead, as in its own loop;
- **partitions**: only records of active (assigned, not paused) partitions are handed over;
- **rebalances**: Faust waits for "all streams to finish" (``wait_empty``) before partitions are
  revoked; this consumer's :meth:`BatchConsumer.wait_empty` first waits for the batch being handled;
- **failures**: a handler that raises crashes the app, as an agent did under ``CrashingSupervisor``,
  and no later fetch is handed over.

Without a handler (an app that did not call :func:`deliver_batches`) the consumer is Faust's own.
Written against faust-streaming |FAUST_VERSION|'s ``Consumer._drain_messages``; another version
refuses to start (:func:`check_faust_version`) rather than run a loop it was not checked against.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

import faust
from aiokafka import ConsumerRecord
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

FAUST_VERSION = "0.15.3"
SCHEME = "regstream"
FETCH_TIMEOUT_S = 1.0
"""How long one fetch waits for records before the loop checks whether it should stop."""

Records = Sequence[ConsumerRecord[bytes, bytes]]
BatchHandler = Callable[[Records], Awaitable[None]]

_handlers: WeakKeyDictionary[Any, BatchHandler] = WeakKeyDictionary()


def check_faust_version(version: str = faust.__version__) -> None:
    if version != FAUST_VERSION:
        raise RuntimeError(
            f"the regstream transport replaces the drain loop of faust-streaming {FAUST_VERSION}; "
            f"faust-streaming {version} is installed: check streams/worker/transport.py against "
            "its Consumer._drain_messages and update FAUST_VERSION"
        )


def deliver_batches(app: faust.App, handler: BatchHandler) -> None:
    """Hand every fetch of ``app``'s consumer to ``handler`` (the app's broker URL must use the
    ``regstream://`` scheme)."""
    check_faust_version()
    # The entry point registers the scheme; an editable install made before it existed (a
    # checkout not reinstalled since) has no such entry point, so the scheme is named here too.
    TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
    _handlers[app] = handler


class BatchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with a drain loop that hands over whole fetches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle = asyncio.Event()
        self._idle.set()

    async def _drain_messages(self, fetcher: Any) -> None:
        handler = _handlers.get(self.app)
        if handler is None:
            await super()._drain_messages(fetcher)
            return
        consumer_stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                records, active = await self._wait_next_records(FETCH_TIMEOUT_S)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    await self._seek_after_stopped_flow()
                    continue
                batch = [
                    record
                    for tp, fetched in records.items()
                    if active is None or tp in active or tp in self._buffered_partitions
                    for record in fetched
                ]
                if not batch:
                    continue
                self._idle.clear()
                try:
                    await handler(batch)
                except Exception as exc:
                    # As when an agent raised under CrashingSupervisor: the worker stops, and
                    # restarts from the committed positions; nothing after this batch is handled.
                    await self.app.crash(exc)
                    return
                finally:
                    self._idle.set()
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Consumer shutting down for user cancel.")

    async def _seek_after_stopped_flow(self) -> None:
        """What Faust's own loop does with a fetch that returns while the flow is stopped."""
        try:
            await self.perform_seek()
        except Exception as exc:
            self.log.warning(f"exception performing seek when flow not active {exc}")

    async def wait_empty(self) -> None:
        """Wait for the batch being handled, then for what Faust itself tracks."""
        await self._idle.wait()
        await super().wait_empty()


class Transport(faust_aiokafka.Transport):
    """``regstream://``: Faust's aiokafka transport with :class:`BatchConsumer`."""

    Consumer: ClassVar[Any] = BatchConsumer
