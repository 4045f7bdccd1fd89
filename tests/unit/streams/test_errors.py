"""Every error ``streams`` defines is a ``StreamsError`` (STYLE.md §4: one documented tree)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import streams
from streams.errors import StreamsError


def defined_errors() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(streams.__path__, "streams."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found.append(obj)
    return found


def test_every_error_of_streams_has_the_common_base() -> None:
    errors = defined_errors()
    assert len(errors) >= 10
    assert [e.__qualname__ for e in errors if not issubclass(e, StreamsError)] == []


def test_the_tree_in_the_docstring_names_every_error() -> None:
    doc = inspect.getmodule(StreamsError).__doc__ or ""  # type: ignore[union-attr]
    assert [e.__name__ for e in defined_errors() if e.__name__ not in doc] == []
