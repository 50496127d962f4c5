"""Settings (``oncoclass.config``): the one cache folder, the model key, and what a job's settings
refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncoclass.config import EvaluateConfig, InputSpec, TrainConfig, cache_dir, model_key, parse_columns
from oncoclass.errors import ConfigError


def test_one_cache_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONCOCLASS_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ONCOCLASS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "oncoclass"


def test_the_model_key(monkeypatch) -> None:
    monkeypatch.delenv("ONCOCLASS_MODEL_KEY", raising=False)
    assert model_key() is None
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", "clé")
    assert model_key() == "clé".encode()
    monkeypatch.setenv("ONCOCLASS_MODEL_KEY", " ")
    with pytest.raises(ConfigError, match="empty"):
        model_key()


def test_settings_refuse_what_cannot_be_honoured() -> None:
    with pytest.raises(ConfigError, match="standard input"):
        InputSpec(path="-", text="-")
    with pytest.raises(ConfigError, match="at least 2 folds"):
        TrainConfig(input=InputSpec(path="x"), cv_folds=1)
    with pytest.raises(ConfigError, match="at least 2 folds"):
        EvaluateConfig(input=InputSpec(path="x"), folds=1)
    with pytest.raises(ConfigError, match="groups must be one of") as caught:
        EvaluateConfig(input=InputSpec(path="x"), group_by="colour")
    assert caught.value.field == "group_by"  # the library names the field; the CLI, its flag
    assert parse_columns("gene=Hugo_Symbol, label=Class") == {"gene": "Hugo_Symbol", "label": "Class"}
    with pytest.raises(ConfigError, match="name=column"):
        parse_columns("gene")


def test_a_column_mapped_twice_is_refused() -> None:
    """``label=Class,label=ID`` kept the last pair: the model trained on the IDs as labels."""
    with pytest.raises(ConfigError, match=r"'label' is mapped twice \(Class, ID\)") as caught:
        parse_columns("label=Class, label =ID")
    assert caught.value.field == "columns"
