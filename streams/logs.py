"""Bounded logging: a message that repeats is written once per window, with a count.

When Kafka goes away, every aiokafka client of a process retries on its own short timer and logs
each failure ("Unable connect to node ...", "Failed fetch messages ...", "Unable to update
metadata ..."): left alone that is about a hundred lines a second for as long as the outage
lasts. :class:`Repeats` decides, per kind of message, to let the first one through, then one
per window saying how many it held back:

    Unable connect to node with id 1: ... [and 212 more like this in the last 30 s]

:class:`RepeatFilter` applies it to the standard library's log handlers (kind: logger, level
and message template, so the same failure with another node or error text is the same kind);
the gateway applies it to its structured log too. What it remembers is bounded by construction:
at most ``max_kinds`` kinds, the least recently seen forgotten first. Records below WARNING
pass untouched: they are not what floods.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

REPEAT_WINDOW_S = 30.0
MAX_KINDS = 512


class Repeats:
    """Per kind: the first passes, then at most one per ``window_s``."""

    def __init__(
        self,
        window_s: float = REPEAT_WINDOW_S,
        *,
        max_kinds: int = MAX_KINDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_kinds = max_kinds
        self._clock = clock
        self._kinds: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()

    def admit(self, kind: Hashable) -> tuple[int, float] | None:
        """None: hold this one back. Else (how many were held back since the last one passed,
        over how many seconds)."""
        now = self._clock()
        seen = self._kinds.pop(kind, None)
        if seen is None:
            self._remember(kind, (now, 0))
            return 0, 0.0
        since, held = seen
        if now - since >= self.window_s:
            self._remember(kind, (now, 0))
            return held, now - since
        self._remember(kind, (since, held + 1))
        return None

    def _remember(self, kind: Hashable, value: tuple[float, int]) -> None:
        self._kinds[kind] = value
        while len(self._kinds) > self.max_kinds:
            self._kinds.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kinds)


def held_note(held: int, over_s: float) -> str:
    return f"[and {held} more like this in the last {over_s:.0f} s]"


class RepeatFilter(logging.Filter):
    """:class:`Repeats` for the standard library's log records (WARNING and above)."""

    def __init__(self, repeats: Repeats | None = None) -> None:
        super().__init__()
        self.repeats = repeats if repeats is not None else Repeats()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        verdict = self.repeats.admit((record.name, record.levelno, str(record.msg)))
        if verdict is None:
            return False
        held, over_s = verdict
        if held:
            record.msg = f"{record.msg} {held_note(held, over_s)}"
        return True


def bound_repeats(handlers: Iterable[logging.Handler], window_s: float = REPEAT_WINDOW_S) -> None:
    """Put one shared :class:`RepeatFilter` on ``handlers`` (the root logger's, usually)."""
    repeat = RepeatFilter(Repeats(window_s))
    for handler in handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(repeat)
