"""docs/reference/config.md lists every setting of every component, with its variable name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from gateway.settings import GatewaySettings
from streams.settings import Settings
from streams.worker.config import WorkerSettings

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "config.md"


@pytest.mark.parametrize("settings_class", [Settings, WorkerSettings, GatewaySettings])
def test_every_setting_is_documented(settings_class: type[BaseSettings]) -> None:
    prefix = settings_class.model_config.get("env_prefix", "")
    text = REFERENCE.read_text()
    missing = [
        f"{prefix}{name.upper()}"
        for name in settings_class.model_fields
        if f"`{prefix}{name.upper()}`" not in text
    ]
    assert missing == [], f"add to {REFERENCE.name}: {missing}"
