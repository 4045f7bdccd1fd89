"""Severity names to the 0..5 level that enrichment and the severity rule share.

The Avro ``Severity`` enum guarantees one of the six symbols on the wire, so for records this is a
table lookup. Aliases exist for people, not producers: an operator configuring a rule may write
``warning`` or ``error`` the way log levels are usually spelled. Matching ignores case.
Anything else is a ``ValueError``: a typo in a threshold must stop start-up, not filter silently.
"""

from __future__ import annotations

from typing import Final

SEVERITY_LEVELS: Final[dict[str, int]] = {
    "DEBUG": 0,
    "INFO": 1,
    "LOW": 2,
    "MEDIUM": 3,
    "HIGH": 4,
    "CRITICAL": 5,
}

SEVERITY_ALIASES: Final[dict[str, str]] = {
    "TRACE": "DEBUG",
    "NOTICE": "INFO",
    "WARN": "MEDIUM",
    "WARNING": "MEDIUM",
    "ERROR": "HIGH",
    "FATAL": "CRITICAL",
}


def severity_level(name: str) -> int:
    """Return 0 (DEBUG) .. 5 (CRITICAL) for a severity symbol or alias, ignoring case."""
    key = name.strip().upper()
    key = SEVERITY_ALIASES.get(key, key)
    try:
        return SEVERITY_LEVELS[key]
    except KeyError:
        known = ", ".join([*SEVERITY_LEVELS, *SEVERITY_ALIASES])
        raise ValueError(f"unknown severity {name!r}; expected one of {known}") from None
