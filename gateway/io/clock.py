"""The gateway's one clock. The core never reads a clock: the I/O layer passes ``now_ms()`` in."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
