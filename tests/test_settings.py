"""The one settings object (oncoclass.settings): every ONCOCLASS_* variable read and checked in one
place, a bad value refused with the variable's name before any work."""

from __future__ import annotations

import pytest

from oncoclass.errors import ConfigError
from oncoclass.settings import get_settings


def test_defaults_and_a_change_seen_at_once(monkeypatch) -> None:
    monkeypatch.delenv("ONCOCLASS_MAX_TEXT_CHARS", raising=False)
    assert get_settings().max_text_chars == 10_000_000
    monkeypatch.setenv("ONCOCLASS_MAX_TEXT_CHARS", "5")
    assert get_settings().max_text_chars == 5  # no stale copy: the environment is the key


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "ONCOCLASS_MAX_TEXT_CHARS",
            "abc",
            "ONCOCLASS_MAX_TEXT_CHARS is 'abc': input should be a valid integer",
        ),
        (
            "ONCOCLASS_MAX_TABLE_BYTES",
            "-1",
            "ONCOCLASS_MAX_TABLE_BYTES is '-1': input should be greater than 0",
        ),
        ("ONCOCLASS_MODEL_KEY", "  ", "ONCOCLASS_MODEL_KEY is set but empty"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        get_settings()


def test_every_command_refuses_a_bad_variable_before_any_work(cli, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ONCOCLASS_MAX_MODEL_BYTES", "lots")
    done = cli(["train", "-i", tmp_path / "missing.csv", "-o", tmp_path / "m"])
    assert done.returncode == 2 and "ONCOCLASS_MAX_MODEL_BYTES is 'lots'" in done.stderr
    assert "missing.csv" not in done.stderr  # stopped before the input was looked at


def test_a_secret_is_never_echoed(monkeypatch) -> None:
    monkeypatch.setenv("ONCOCLASS_API_KEY", "")
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "\t")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    assert "\\t" not in str(caught.value)


def test_an_empty_or_relative_folder_variable_counts_as_unset(monkeypatch, tmp_path) -> None:
    """XDG_DATA_HOME= (set, empty) must not put the default store in the current folder, and the
    XDG specification says a relative path is to be ignored."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "")
    monkeypatch.setenv("ONCOCLASS_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    settings = get_settings()
    assert settings.data_folder == tmp_path / ".local" / "share" / "oncoclass"
    assert settings.cache_folder == tmp_path / ".cache" / "oncoclass"


def test_a_variable_in_lower_case_is_read_and_never_stale(monkeypatch) -> None:
    monkeypatch.delenv("ONCOCLASS_MAX_TEXT_CHARS", raising=False)
    assert get_settings().max_text_chars == 10_000_000
    monkeypatch.setenv("oncoclass_max_text_chars", "7")
    assert get_settings().max_text_chars == 7
