"""Progress over offsets: total known up front from the plan, so rate and ETA are real.

The bar counts offsets, not rows or records, and says so: the plan fixes how many offsets a run
covers before the first record is read, while records (offsets minus transaction markers and
aborted writes) and rows (one per event, after filters) are only known at the end. The summaries
printed after the bar name the same offsets, so the two always add up. It is drawn on stderr, so
``--out -`` can stream rows on stdout; ``--quiet`` (scripts) uses :class:`NoProgress`.
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class ProgressSink(Protocol):
    def start(self, description: str, total: int, completed: int) -> None: ...

    def advance(self, offsets: int) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Quiet mode: nothing drawn."""

    def start(self, description: str, total: int, completed: int) -> None:
        pass

    def advance(self, offsets: int) -> None:
        pass

    def stop(self) -> None:
        pass


class RateColumn(ProgressColumn):
    """Offsets per second (rich's own speed column speaks bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


class OffsetProgress:
    """A rich progress bar on stderr: done/total offsets, rate, elapsed time and ETA."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("offsets"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
        )
        self._task: TaskID | None = None

    def start(self, description: str, total: int, completed: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, completed=completed)

    def advance(self, offsets: int) -> None:
        if self._task is not None and offsets:
            self._progress.advance(self._task, offsets)

    def stop(self) -> None:
        self._progress.stop()
