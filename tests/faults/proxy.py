"""A small TCP proxy between the clients and the gateways that can cut, pause and delay them.

It also balances: each new connection goes to one of the gateways, the next that accepts (round
robin, no affinity), as a load balancer would; a gateway that is down is skipped. Faults:

- :meth:`cut`: abort a share of the open connections at once, both sides, no close frame;
- :meth:`pause` / :meth:`resume`: stop forwarding bytes in both directions (a stalled network:
  TCP buffers fill, heartbeats go unanswered) and start again;
- ``delay_s``: hold every chunk that long before forwarding it (a slow link).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass(eq=False)
class Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer.transport is not None:
                writer.transport.abort()


class FaultyProxy:
    """Listens on 127.0.0.1; ``upstreams()`` names the gateway ports to forward to."""

    def __init__(self, upstreams: Callable[[], list[int]], seed: int = 1) -> None:
        self._upstreams = upstreams
        self._rng = random.Random(seed)
        self._next = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.delay_s = 0.0
        self.links: set[Link] = set()
        self.accepted = self.cuts = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in tuple(self.links):
            link.abort()
        self._flowing.set()
        for link in tuple(self.links):
            for task in link.tasks:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self, share: float = 1.0) -> int:
        """Abort ``share`` of the open connections (chosen at random); how many."""
        chosen = [link for link in tuple(self.links) if self._rng.random() < share]
        for link in chosen:
            link.abort()
        self.cuts += len(chosen)
        return len(chosen)

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            writer.transport.abort()
            return
        self.accepted += 1
        up_reader, up_writer = upstream
        link = Link(writer, up_writer)
        self.links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, link)),
            asyncio.create_task(self._pump(up_reader, writer, link)),
        ]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self.links.discard(link)
            link.abort()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        ports = self._upstreams()
        for i in range(len(ports)):
            port = ports[(self._next + i) % len(ports)]
            with contextlib.suppress(OSError):
                opened = await asyncio.open_connection("127.0.0.1", port)
                self._next = (self._next + i + 1) % len(ports)
                return opened
        return None

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link
    ) -> None:
        try:
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            link.abort()
