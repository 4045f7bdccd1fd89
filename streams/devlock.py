"""One `regstream dev` per broker directory: the second one says where the first runs and leaves.

The lock is an exclusive ``flock`` on ``<data dir>/dev.lock``, held for the life of the process:
the kernel drops it when the process ends, however it ends (even SIGKILL), so a stale lock
cannot block the next run. The file holds what the first run wants a second one to print:
its pid, directory, broker address and dashboard.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from streams.errors import StreamsError

LOCK_FILE = "dev.lock"


class AlreadyRunning(StreamsError, RuntimeError):
    """Another `regstream dev` holds this directory."""


class DevLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir.resolve() / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyRunning` saying who holds it (touching nothing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _parse(handle.read())
            handle.close()
            raise AlreadyRunning(self._describe(holder)) from None
        self._handle = handle
        self.publish(pid=os.getpid(), directory=str(Path.cwd()), started=time.strftime("%H:%M:%S"))

    def publish(self, **info: Any) -> None:
        """Add to what a second run is told."""
        assert self._handle is not None, "acquire() first"
        current = {**self._read(), **info}
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(current))
        self._handle.flush()

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None

    def _read(self) -> dict[str, Any]:
        assert self._handle is not None
        self._handle.seek(0)
        return _parse(self._handle.read())

    def _describe(self, holder: dict[str, Any]) -> str:
        where = f"regstream dev is already running for {self.path.parent}"
        if holder.get("pid"):
            where += f" (pid {holder['pid']}, started {holder.get('started', '?')} in {holder.get('directory', '?')})"
        if holder.get("dashboard"):
            where += f"\ndashboard: {holder['dashboard']}"
        if holder.get("bootstrap"):
            where += f"\nkafka: {holder['bootstrap']}"
        return where + "\nuse that one, or stop it (Ctrl-C in its terminal) before starting another"


def _parse(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
