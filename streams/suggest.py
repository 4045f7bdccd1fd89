"""Suggestions for near misses: the "did you mean" of every error that names a wrong name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest candidates, or nothing when none is close.
    Case, ``_`` and ``-`` are ignored in a second look (``decisionmade`` → ``DecisionMade``)."""
    known = list(candidates)
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
    if not close:
        folded = {c.lower().replace("_", "").replace("-", ""): c for c in known}
        wanted = name.lower().replace("_", "").replace("-", "")
        close = [folded[m] for m in difflib.get_close_matches(wanted, list(folded), n=2)]
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)"
