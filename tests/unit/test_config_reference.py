"""docs/reference/config.md lists every setting of every component, with its variable name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from gateway.io.settings import GatewaySettings
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


@pytest.mark.parametrize("settings_class", [Settings, WorkerSettings, GatewaySettings])
def test_every_setting_explains_itself_and_the_reference_says_the_same(
    settings_class: type[BaseSettings],
) -> None:
    prefix = settings_class.model_config.get("env_prefix", "")
    rows = {
        line.split(" | ")[0].strip("| `"): line
        for line in REFERENCE.read_text().splitlines()
        if line.startswith("| `")
    }
    stale = []
    for name, field in settings_class.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        assert field.description, f"{settings_class.__name__}.{name} needs a description"
        meaning = field.description.replace("|", "\\|")
        if not rows.get(variable, "").endswith(f" | {meaning} |"):
            stale.append(f"{variable}: {meaning}")
    assert stale == [], f"update the meaning in {REFERENCE.name}:\n" + "\n".join(stale)
