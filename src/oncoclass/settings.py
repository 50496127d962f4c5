"""The one settings object: every ``ONCOCLASS_*`` environment variable, read and checked in one
place (pydantic-settings, as FastAPI's full-stack template does it), on first use rather than at
import. The command line reads it as it starts, so a bad value stops the run at once with one
message naming the variable; the library reads it through :func:`get_settings`.

Per-job settings (what to train, which folds) are not here: they are the typed configs of
:mod:`oncoclass.config`, filled by each edge and saved beside a model.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import AliasChoices, Field, PositiveInt, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oncoclass.errors import ConfigError

PREFIX = "ONCOCLASS_"


class Settings(BaseSettings):
    """What the environment may set, with its default."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore", protected_namespaces=())

    #: Where derived files (the word-piece table) and downloads are kept between runs.
    cache_dir: Path | None = None
    xdg_cache_home: Path | None = Field(None, validation_alias=AliasChoices("XDG_CACHE_HOME"))
    xdg_data_home: Path | None = Field(None, validation_alias=AliasChoices("XDG_DATA_HOME"))
    #: The evidence store used when a command is given no --kb (a file or a PostgreSQL URL).
    kb: str | None = None
    #: The key that signs model bundles and verifies them on load.
    model_key: SecretStr | None = None
    #: The key the service asks of clients (X-API-Key); unset: an open service.
    api_key: SecretStr | None = None
    #: A model file's size once unpacked: a bound a crafted archive cannot pass.
    max_model_bytes: PositiveInt = 1024**3
    #: A streamed text file (Kaggle's ``ID||Text``), or one member of an archive.
    max_member_bytes: PositiveInt = 2 * 1024**3
    #: An input read whole (a variants, CIViC, CSV, JSONL or Parquet table).
    max_table_bytes: PositiveInt = 256 * 1024**2
    #: The longest text one row may carry, in a file or a request. Kaggle's articles average ~50 KB
    #: and the longest is under 1 MB; far beyond that a "document" is a dump pasted into one field.
    max_text_chars: PositiveInt = 10_000_000

    @field_validator("cache_dir", "xdg_cache_home", "xdg_data_home", "kb", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # XDG_DATA_HOME= must not put the default store in "." (Path("") is the current folder).
        # Not for the keys: an empty key is refused, never taken as "no key" (an open server).
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("xdg_cache_home", "xdg_data_home")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # The XDG base-directory specification: a relative path is invalid and is ignored.
        return value if value is None or value.is_absolute() else None

    @field_validator("model_key")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        # A blank key would sign every model with the same well-known secret.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is set but empty, which would sign models with a known secret")
        return value

    @property
    def cache_folder(self) -> Path:
        """``ONCOCLASS_CACHE_DIR``, else ``$XDG_CACHE_HOME/oncoclass`` or ``~/.cache/oncoclass``."""
        if self.cache_dir is not None:
            return self.cache_dir
        return (self.xdg_cache_home or Path.home() / ".cache") / "oncoclass"

    @property
    def data_folder(self) -> Path:
        """``$XDG_DATA_HOME/oncoclass`` or ``~/.local/share/oncoclass`` (the default store's home)."""
        return (self.xdg_data_home or Path.home() / ".local" / "share") / "oncoclass"


def get_settings() -> Settings:
    """The settings as the environment now has them. Reading and checking them takes half a
    millisecond, so they are kept per distinct environment (a few microseconds to look up): a
    process sees a variable it sets (a test, ``serve`` handing settings to its workers) at once."""
    # Names are read in any case (pydantic-settings' default), so the key is too.
    relevant = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX) or k.upper() in _XDG)
    )
    return _settings_for(relevant)


_XDG = ("XDG_CACHE_HOME", "XDG_DATA_HOME")


@functools.lru_cache(maxsize=16)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "?"
        variable = name if name.startswith("XDG_") else PREFIX + name.upper()
        reason = str(first.get("msg", "not valid")).removeprefix("Value error, ")
        shown = "" if "key" in name else f" is {first.get('input')!r}:"  # never echo a secret
        raise ConfigError(
            f"{variable}{shown} {reason[:1].lower() + reason[1:]}.", hint="Fix or unset it."
        ) from None
