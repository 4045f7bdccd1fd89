"""Generate docs/reference/cli.md from the commands themselves, so the page cannot drift:
``python -m streams.cli.reference > docs/reference/cli.md`` (tests/unit/streams/test_cli.py
fails when the page differs from what this prints).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.cli.main import app

WIDTH = 100

INTRO = """\
# Command-line reference

Generated from the commands by `python -m streams.cli.reference > docs/reference/cli.md`;
a test fails when this page and the commands disagree. `regstream COMMAND --help` prints the
same text.

## Conventions

- **Topics and types.** Wherever a command takes a topic it also takes an event type name, in
  any spelling: `DecisionMade`, `decision_made`, `decision-made`. For `replay` and
  `audit verify` a type means its live topic (`live.decision_made`: what the pipeline wrote);
  for `produce`, `dlq --source-topic` and `dlq skip` its input topic (`events.decision_made`).
  `AccessAuditEntry` means the access audit topic (`gateway.audit`).
- **Did you mean.** A command, option, type, topic, filter field or enum value that does not
  exist is an error that names the closest ones.
- **Impossible requests are errors, not empty results.** `--where` on a field the rows do not
  have, or an enum value a field never takes (`metadata.severity=URGENT`); `--from` at or after
  `--to`: exit status 2 with the reason, before anything is read.
- **Kafka unreachable** is one line, `error: cannot reach Kafka at … is a broker running?`, and
  exit status 1, from every command.
- **Output.** Results go to stdout, progress and notes to stderr, so pipes carry data only.
- `regstream --version` prints the version.

## Exit status

| status | meaning |
|---|---|
| 0 | done |
| 1 | the work failed: Kafka could not be reached, some lines or records were bad (the others were processed), a check found a break (`audit verify`), a component exited |
| 2 | the command line is wrong: unknown command, option, type or topic, impossible filter or range, unreadable file |
| 130 | interrupted (Ctrl-C); `replay --out` resumes when run again |
"""


def _commands(command: Any, path: list[str], parent: Any) -> Iterator[tuple[str, str]]:
    """(full command name, help text) for ``command`` and everything under it, in order."""
    ctx = command.context_class(
        command, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    yield " ".join(path), command.get_help(ctx)
    for name in getattr(command, "commands", {}):
        yield from _commands(command.commands[name], [*path, name], ctx)


def render() -> str:
    """The whole page."""
    parts = [INTRO]
    for name, text in _commands(app.click_command(), ["regstream"], None):
        parts.append(f"## `{name}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
