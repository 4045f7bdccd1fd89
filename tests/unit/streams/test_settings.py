"""Settings: environment prefix, masked secrets, and a warning for misspelt variables."""

from __future__ import annotations

import pytest

from streams.settings import Settings, load_settings, unknown_env_vars


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGSTREAM_BOOTSTRAP_SERVERS", "a:1, b:2")
    settings = load_settings()
    assert settings.bootstrap_list == ["a:1", "b:2"]


def test_secrets_are_masked_when_printed() -> None:
    settings = Settings(jwt_secret="s3cret-value-s3cret-value-s3cret")  # type: ignore[arg-type]
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())


def test_unknown_prefixed_variable_is_reported() -> None:
    env = {"REGSTREAM_BOOTSTRAP_SERVER": "typo", "REGSTREAM_PARTITIONS": "3", "HOME": "/root"}
    assert unknown_env_vars(env) == ["REGSTREAM_BOOTSTRAP_SERVER"]


def test_load_settings_warns_about_unknown_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGSTREAM_BOOTSTRAP_SERVER", "typo")
    with pytest.warns(UserWarning, match="REGSTREAM_BOOTSTRAP_SERVER"):
        load_settings()
