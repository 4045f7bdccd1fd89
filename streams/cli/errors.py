"""How every command reports a mistake: one red line on stderr and an exit status.

Exit statuses (docs/reference/cli.md): 0 done; 1 the work failed (Kafka unreachable, bad
records or lines, a check that found a break); 2 the command line is wrong (unknown topic or
type, impossible filter or range, unreadable file); 130 interrupted.
"""

from __future__ import annotations

from typing import NoReturn

import typer


def fail(message: str, code: int) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)
