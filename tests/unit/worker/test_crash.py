"""A worker that stops on an error logs it with its traceback, not ``NoneType: None``."""

from __future__ import annotations

import sys

from streams.worker.app import crash


class RecordingApp:
    """Faust's ``App.crash`` logs with ``log.exception``: it needs the exception being handled."""

    def __init__(self) -> None:
        self.handled: BaseException | None = None

    async def crash(self, reason: BaseException) -> None:
        self.handled = sys.exc_info()[1]


async def test_the_app_crashes_while_the_error_is_being_handled() -> None:
    app = RecordingApp()
    error = OverflowError("Python int too large to convert to C long")
    await crash(app, error)  # type: ignore[arg-type]
    assert app.handled is error
    assert error.__traceback__ is not None
