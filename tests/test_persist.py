from __future__ import annotations

import json
from pathlib import Path

import pytest

from oncoclass.api import train
from oncoclass.config import InputSpec, TrainConfig
from oncoclass.errors import ModelFileError
from oncoclass.models import RECIPES
from oncoclass.persist import METADATA_FILE, MODEL_FILE, is_trusted, load_bundle


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, synth_files) -> Path:
    out = tmp_path_factory.mktemp("m") / "model"
    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    train(TrainConfig(input=spec, recipe="lr"), out_dir=out)
    return out


def test_bundle_files_and_round_trip(model_dir: Path) -> None:
    assert {p.name for p in model_dir.iterdir()} == {
        "model.skops",
        "metadata.json",
        "config.json",
        "MODEL_CARD.md",
    }
    bundle = load_bundle(model_dir)
    assert bundle.labels == sorted(bundle.labels)
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    assert meta["training"]["data_hash"] and meta["libraries"]["scikit-learn"]
    assert json.loads((model_dir / "config.json").read_text())["recipe"] == "lr"


def test_altered_model_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    with (copy / MODEL_FILE).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelFileError, match="altered"):
        load_bundle(copy)


def test_other_format_version_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / METADATA_FILE).read_text())
    meta["format_version"] = 0
    (copy / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="Retrain"):
        load_bundle(copy)


def test_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_bundle(tmp_path / "none")


def test_untrusted_type_is_refused_before_loading(tmp_path: Path, model_dir: Path) -> None:
    import hashlib
    import shutil

    import skops.io as sio

    copy = tmp_path / "evil"
    shutil.copytree(model_dir, copy)
    sio.dump({"payload": Path("/etc/passwd")}, copy / MODEL_FILE)
    meta = json.loads((copy / METADATA_FILE).read_text())
    meta["model_sha256"] = hashlib.sha256((copy / MODEL_FILE).read_bytes()).hexdigest()
    (copy / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="does not trust"):
        load_bundle(copy)


def test_trusted_list_is_explicit() -> None:
    assert is_trusted("sklearn.linear_model._logistic.LogisticRegression")
    assert not is_trusted("os.system") and not is_trusted("builtins.eval")
    assert "default" in RECIPES


def test_a_crash_mid_write_leaves_the_previous_model_intact(
    model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import shutil

    import skops.io as sio

    from oncoclass.persist import save_bundle

    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    bundle = load_bundle(target)

    def crash(model, path) -> None:
        Path(path).write_bytes(b"half a model")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(sio, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(bundle.model, target, metadata=bundle.metadata, config={}, card="")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left behind
    load_bundle(target)
