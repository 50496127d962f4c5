"""Model bundles: ``model.skops`` + ``metadata.json`` + ``config.json`` + ``MODEL_CARD.md``.

Models are stored with skops, never plain pickle, and loaded only when every type the file names
is on :data:`TRUSTED_PREFIXES` (our own code, scikit-learn, numpy, scipy). A SHA-256 of the model
file in the metadata catches altered files; a format version catches bundles this release cannot
read. Writing is atomic: the bundle is written beside the target and renamed into place, so a
crash mid-write leaves any earlier model intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oncoclass.errors import ModelFileError

FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
CONFIG_FILE = "config.json"
CARD_FILE = "MODEL_CARD.md"

#: Module prefixes whose types may appear in a model file. Anything else (os, subprocess,
#: builtins.eval, a user's module…) makes loading fail before any object is built.
TRUSTED_PREFIXES: tuple[str, ...] = (
    "oncoclass.features.",
    "oncoclass.models.",
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "scipy.special.",
)
#: Individual callables and builtins scikit-learn objects refer to.
TRUSTED_NAMES: frozenset[str] = frozenset(
    {
        "builtins.slice",
        "builtins.frozenset",
        "builtins.type",
        "collections.defaultdict",
        "collections.OrderedDict",
        "re.Pattern",
        # LightGBM's booster restores itself from its own text model format, not from code.
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
    }
)


def is_trusted(type_name: str) -> bool:
    return type_name in TRUSTED_NAMES or type_name.startswith(TRUSTED_PREFIXES)


@dataclass(frozen=True)
class Bundle:
    """A loaded model and what is known about it."""

    model: Any
    metadata: dict[str, Any]
    path: Path

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    @property
    def model_id(self) -> str:
        return str(self.metadata["model_id"])

    @property
    def card(self) -> str:
        path = self.path / CARD_FILE
        return path.read_text(encoding="utf-8") if path.exists() else ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_bundle(
    model: Any, out_dir: str | Path, *, metadata: dict[str, Any], config: dict[str, Any], card: str
) -> Path:
    import skops.io as sio

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ModelFileError(f"{out} exists and is not a folder; choose another --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / METADATA_FILE).exists():
        raise ModelFileError(
            f"{out} is a non-empty folder that is not an oncoclass model; refusing to overwrite it."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        sio.dump(model, staging / MODEL_FILE)
        meta = dict(metadata)
        meta["format_version"] = FORMAT_VERSION
        meta["model_sha256"] = _sha256(staging / MODEL_FILE)
        (staging / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        (staging / CARD_FILE).write_text(card)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, retired / "bundle")
            os.replace(staging, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def read_metadata(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir)
    if not path.exists():
        raise ModelFileError(f"model folder {path} does not exist.", hint="Train one with `oncoclass train`.")
    if not path.is_dir():
        raise ModelFileError(
            f"{path} is not a model folder (expected the --out folder of `oncoclass train`)."
        )
    meta_path = path / METADATA_FILE
    if not meta_path.exists():
        raise ModelFileError(f"{path} has no {METADATA_FILE}; it is not an oncoclass model folder.")
    try:
        metadata = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{meta_path} is not valid JSON ({exc}); the model folder is damaged.") from exc
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{meta_path} is not a metadata object; the model folder is damaged.")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in model format {version!r} (by oncoclass "
            f"{metadata.get('oncoclass_version', '?')}); this oncoclass reads format {FORMAT_VERSION}.",
            hint="Retrain the model with this version (`oncoclass train`).",
        )
    for key in ("labels", "model_id", "model_sha256"):
        if key not in metadata:
            raise ModelFileError(f"{meta_path} lacks {key!r}; the model folder is damaged.")
    return metadata


def load_bundle(model_dir: str | Path) -> Bundle:
    import skops.io as sio

    path = Path(model_dir)
    metadata = read_metadata(path)
    model_path = path / MODEL_FILE
    if not model_path.exists():
        raise ModelFileError(f"{path} has no {MODEL_FILE}.")
    if _sha256(model_path) != metadata["model_sha256"]:
        raise ModelFileError(
            f"{model_path} does not match the checksum in {METADATA_FILE}: the file was altered "
            "or damaged after training.",
            hint="Retrain, or restore the folder from a trusted copy.",
        )
    try:
        untrusted = sio.get_untrusted_types(file=model_path)
    except Exception as exc:  # skops raises assorted errors on a damaged zip
        raise ModelFileError(f"{model_path} cannot be read as a skops file ({exc}).") from exc
    refused = sorted(t for t in untrusted if not is_trusted(t))
    if refused:
        raise ModelFileError(
            f"{model_path} names types oncoclass does not trust ({', '.join(refused[:5])}); "
            "it was not loaded.",
            hint="Only load models trained by oncoclass from a source you trust.",
        )
    try:
        model = sio.load(model_path, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelFileError(f"{model_path} could not be loaded ({type(exc).__name__}: {exc}).") from exc
    return Bundle(model=model, metadata=metadata, path=path)
