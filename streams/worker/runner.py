"""The worker process around the Faust app: bounded logs, reconnect backoff, a stop deadline.

- **Stop deadline.** SIGTERM (or Ctrl-C) starts Faust's graceful stop: finish the batch in hand,
  leave the group. With the broker gone that stop waits on requests that cannot be answered
  (Faust's consumer thread alone gives itself a minute). After ``STOP_DEADLINE_S`` the process
  exits anyway. That is safe by construction: an exactly-once delivery not committed is aborted
  and redone by the partition's next owner, exactly as after a SIGKILL (which the worker's tests
  do to it on purpose); under at-least-once part of a delivery may repeat, as documented.
- **Bounded logs** (:mod:`streams.logs`) on Faust's log handlers, and **reconnect backoff**
  (:mod:`streams.reconnect`) for every aiokafka client of the process: a broker that goes away
  costs a few log lines per window and a few connection attempts per second, not a flood.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import faust

from streams import reconnect
from streams.logs import bound_repeats

STOP_DEADLINE_S = 20.0


class WorkerRunner(faust.Worker):
    """``faust.Worker`` with the three behaviours of the module docstring."""

    stop_deadline_s = STOP_DEADLINE_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        reconnect.install()
        super().__init__(*args, **kwargs)
        self._deadline: threading.Timer | None = None

    def on_setup_root_logger(self, _logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(_logger, level)
        bound_repeats(logging.root.handlers)

    def _schedule_shutdown(self, signal: signal.Signals) -> None:
        if self._deadline is None:
            self._deadline = threading.Timer(
                self.stop_deadline_s, _exit_now, (self.stop_deadline_s,)
            )
            self._deadline.daemon = True
            self._deadline.start()
        super()._schedule_shutdown(signal)


def _exit_now(deadline_s: float) -> None:
    sys.stderr.write(
        f"worker: still stopping {deadline_s:.0f} s after the signal (is the broker gone?); "
        "exiting now: whatever was not committed is redone by the partitions' next owner\n"
    )
    sys.stderr.flush()
    os._exit(0)
