"""The reference docs stay true: examples run, every field and topic is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas import contract, errors
from schemas.catalog import TopicCatalog

DOCS = Path(__file__).resolve().parents[3] / "docs" / "reference"


def python_blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), flags=re.S)


def test_codec_examples_run() -> None:
    blocks = python_blocks("codec.md")
    assert blocks
    for block in blocks:
        exec(compile(block, "codec.md", "exec"), {})


@pytest.mark.parametrize("name", [contract.METADATA, *contract.MESSAGE_TYPES])
def test_every_field_is_documented(name: str) -> None:
    text = (DOCS / "events.md").read_text()
    section = text.split(f"## `{name}`", 1)
    assert len(section) == 2, f"events.md has no section for {name}"
    body = section[1].split("\n## ", 1)[0]
    for field in contract.default_contract().sources[name]["fields"]:
        assert f"| `{field['name']}`" in body, f"{name}.{field['name']} is not documented"


def test_documented_topics_and_keys_match_the_catalog() -> None:
    text = (DOCS / "events.md").read_text()
    catalog = TopicCatalog()
    for event_type in contract.EVENT_TYPES:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{event_type}`"))
        assert f"`{catalog.input_topic(event_type)}`" in row
        assert f"`{catalog.live_topic(event_type)}`" in row
        assert f"`{contract.partition_key_field(event_type)}`" in row


def test_every_dlq_reason_is_documented() -> None:
    text = (DOCS / "codec.md").read_text()
    for cls in errors.DecodeError.__subclasses__():
        assert f"| `{cls.__name__}`" in text
        assert f"`{cls.dlq_reason}`" in text
