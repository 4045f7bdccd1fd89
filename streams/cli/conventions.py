"""What every `regstream` command shares with the tools its users already know (kcat,
kafka-console-*, gh): names resolved the same way everywhere, suggestions for near misses, and
plain help.

* **Topics by type.** Wherever a command takes a topic it also takes an event type name, in any
  spelling `produce` accepts (``DecisionMade``, ``decision_made``, ``decision-made``):
  :func:`resolve_topic` maps it to the live topic (what analysts read) or the input topic (what
  producers and the dead-letter queue refer to), as the command says.
* **Did you mean.** A name that is neither gets the closest known names in its error
  (:func:`streams.suggest.did_you_mean`); click already does this for commands and options.
* **Help without type placeholders.** :func:`conventional` turns typer's ``<str>``, ``<bool>``,
  ``<list[str]>`` and ``{topic}`` into what click, git or gh print: ``--where TEXT``, a flag
  alone, ``TOPIC`` required and ``[FILE]`` optional.
"""

from __future__ import annotations

from typing import Any, Literal

from typer.core import TyperArgument

from schemas.contract import ACCESS_AUDIT, EVENT_TYPES
from streams.publish_file import resolve_event_type
from streams.settings import Settings
from streams.suggest import did_you_mean

Kind = Literal["live", "input"]

METAVARS = {"str": "TEXT", "int": "N", "float": "NUMBER", "Path": "PATH", "bool": "BOOL"}
"""Placeholder of a value by its Python type, for options that name none themselves."""


def known_names(settings: Settings) -> list[str]:
    """Every topic of the catalog and every type name: the candidates of a suggestion."""
    return [*EVENT_TYPES, *(spec.name for spec in settings.catalog.all_specs())]


def resolve_topic(settings: Settings, name: str, kind: Kind = "live") -> str:
    """The Kafka topic ``name`` means: a catalog topic as it is, an event type's ``kind`` topic,
    ``AccessAuditEntry`` the access audit topic; any other name is returned unchanged (topics
    outside the catalog are the broker's to know, see :func:`unknown_topic`)."""
    if name in {spec.name for spec in settings.catalog.all_specs()}:
        return name
    if name.replace("-", "_").lower() in (ACCESS_AUDIT.lower(), "access_audit_entry"):
        return settings.audit_topic
    try:
        event_type = resolve_event_type(name)
    except ValueError:
        return name
    catalog = settings.catalog
    return catalog.live_topic(event_type) if kind == "live" else catalog.input_topic(event_type)


def unknown_topic(settings: Settings, name: str) -> str:
    """The message for a topic the cluster does not have."""
    return f"topic {name!r} does not exist{did_you_mean(name, known_names(settings))}"


def input_event_type(settings: Settings, name: str) -> str:
    """The event type a producer command writes: a type name or its input topic. A live topic
    is refused with the right name (the pipeline writes those)."""
    catalog = settings.catalog
    event_type = catalog.event_type_of(name)
    if event_type is not None and catalog.is_live(name):
        raise ValueError(
            f"{name} is the pipeline's output; events go to {catalog.input_topic(event_type)} "
            f"(give {event_type})"
        )
    return event_type if event_type is not None else resolve_event_type(name)


class _Argument(TyperArgument):
    """An argument shown as click shows one: ``TOPIC`` when required, ``[FILE]`` when not, and
    no type after its name in the help (the name says what it is)."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def conventional(command: Any) -> None:
    """Give every command in the tree plain help and conventional placeholders (in place)."""
    command.rich_markup_mode = None
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _Argument
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
        elif not getattr(param, "is_flag", False) and param.metavar is None:
            bare = param.bare_type().removeprefix("list[").removesuffix("]")
            param.metavar = METAVARS.get(bare, "VALUE")
    for sub in getattr(command, "commands", {}).values():
        conventional(sub)
