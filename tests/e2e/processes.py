"""Child processes of the whole-system tests (gateway, worker), always stopped, waits bounded.

Each child runs in its own session (process group) so a kill reaches everything it started, and
writes its output to a log file in the test's temporary directory, whose tail is attached to any
failure. ``stop()`` is SIGTERM then SIGKILL after a deadline; ``kill()`` is SIGKILL right away (the
crash the tests inflict on purpose). ``running(...)`` is the context manager the tests use: the
process is stopped whether the test passes, fails or is interrupted.

The integration tests of the client SDK use these too (a real gateway subprocess).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from streams.settings import Settings
from tests.integration.helpers import settings_env

READY_PREFIX = "REGSTREAM_GATEWAY_READY "
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
CLI = [sys.executable, "-m", "streams.cli.main"]


class ChildProcess:
    """One CLI subprocess with a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def spawn(self, stdout: int | None = None) -> subprocess.Popen[bytes]:
        self.runs += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- run {self.runs}: {' '.join(self.argv)}\n".encode())
        log_file = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else log_file, stderr=log_file,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log_file.close()
        return self.process

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no drain, no close frame, no final checkpoint."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after the deadline."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()


class Gateway(ChildProcess):
    """`regstream gateway` on loopback; restarts reuse the first port so clients find it again."""

    def __init__(self, settings: Settings, log_dir: Path, **gateway_env: str) -> None:
        env = settings_env(settings)
        env.update({f"REGSTREAM_GATEWAY_{k.upper()}": v for k, v in gateway_env.items()})
        env.setdefault("REGSTREAM_GATEWAY_OPS_PORT", "0")
        super().__init__("gateway", [*CLI, "gateway", "--host", "127.0.0.1"], env, log_dir)
        self.port = 0
        self.info: dict[str, Any] = {}

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> dict[str, Any]:
        argv, self.argv = self.argv, [*self.argv, "--port", str(self.port)]
        try:
            process = self.spawn(stdout=subprocess.PIPE)
        finally:
            self.argv = argv
        assert process.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()

        def pump(stream: Any = process.stdout) -> None:
            with stream:  # closed at EOF, i.e. when the process is gone
                for line in iter(stream.readline, b""):
                    lines.put(line)
            lines.put(b"")

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"gateway not ready in {START_TIMEOUT_S}s\n{self.log_tail()}"
            try:
                line = lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                assert process.poll() is None, f"gateway exited\n{self.log_tail()}"
                continue
            assert line, f"gateway closed its output\n{self.log_tail()}"
            text = line.decode(errors="replace").strip()
            if text.startswith(READY_PREFIX):
                self.info = orjson.loads(text[len(READY_PREFIX) :])
                self.port = int(self.info["port"])
                return self.info


class Worker(ChildProcess):
    """`regstream worker` (the Faust pipeline), its state in the test's directory."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        env = settings_env(settings)
        env["REGSTREAM_WORKER_DATA_DIR"] = str(log_dir / "worker-data")
        super().__init__("worker", [*CLI, "worker"], env, log_dir)

    def start(self) -> None:
        self.spawn()


@contextmanager
def running(child: ChildProcess) -> Iterator[ChildProcess]:
    """Start ``child`` (its ``start()``) and stop it at the end, whatever happens."""
    try:
        child.start()  # type: ignore[attr-defined]
        yield child
    finally:
        child.stop()
