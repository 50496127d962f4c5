"""Model bundles: ``model.skops`` + ``metadata.json`` + ``config.json`` + ``MODEL_CARD.md``
(+ ``SIGNATURE.json`` when signed).

A model file is a program's data, and a hostile one must not become a program. Models are stored
with skops, never pickle, and loaded in this order, each step refusing with a
:class:`ModelFileError` before the next runs:

1. every file of the bundle is read once, with a size bound, as a regular file
   (:func:`read_files`); every later step works on these bytes, so what is checked is what is
   loaded;
2. with ``ONCOCLASS_MODEL_KEY`` set, ``SIGNATURE.json`` must carry an HMAC-SHA256, under that key,
   of every file of the bundle (:func:`sign_bundle`);
3. ``metadata.json`` is validated against :class:`Metadata`;
4. ``model.skops`` must match the metadata's SHA-256 and unpack within ``ONCOCLASS_MAX_MODEL_BYTES``;
5. its ``schema.json`` is audited node by node (:func:`audit_schema`): skops' current protocol
   only; every node's loader must be one skops kind we use, and the name it builds must be on that
   kind's explicit list (:data:`TRUSTED_CLASSES`, :data:`TRUSTED_FUNCTIONS`, …). No prefix
   matching: a function of ``numpy`` is not trusted because NumPy is. Nothing is imported or
   built before this passes;
6. skops builds the objects, trusting exactly the names the audit allowed; the result must be a
   classifier whose classes are the metadata's labels, with decision trees and sparse matrices
   whose indices stay inside them (:func:`check_trees`).

Writing is atomic: the bundle is written beside the target and renamed into place, so a crash
mid-write leaves any earlier model intact.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from oncoclass.config import model_key
from oncoclass.errors import ModelFileError
from oncoclass.output import make_parent, os_error, to_json
from oncoclass.settings import get_settings

if TYPE_CHECKING:
    from oncoclass.evaluate import Summary

FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
CONFIG_FILE = "config.json"
CARD_FILE = "MODEL_CARD.md"
SIGNATURE_FILE = "SIGNATURE.json"
#: The files a signature covers, in a fixed order.
SIGNED_FILES = (MODEL_FILE, METADATA_FILE, CONFIG_FILE, CARD_FILE)

#: Largest metadata, config, card or signature file.
MAX_SIDE_FILE_BYTES = 4 * 1024**2

#: Every class a model file may build, by exact qualified name: our estimators and transformers and
#: the scikit-learn, LightGBM, NumPy and SciPy classes the recipes are made of. A class is here
#: only when building it from data runs no code the data chooses.
TRUSTED_CLASSES: frozenset[str] = frozenset(
    {
        "oncoclass.features.encoder.TokenEmbedding",
        "oncoclass.features.evidence.EvidenceFeatures",
        "oncoclass.features.evidence.GeneKindFeatures",
        "oncoclass.features.evidence.HotspotFeatures",
        "oncoclass.features.encoder.SentenceEmbedding",
        "oncoclass.features.target.NeighbourFeatures",
        "oncoclass.features.target.PositionKernel",
        "oncoclass.features.target.ResponseCoder",
        "oncoclass.features.text.ArticleText",
        "oncoclass.features.text.MentionText",
        "oncoclass.features.text.MentionWindows",
        "oncoclass.features.text.TextPart",
        "oncoclass.features.variation.VariationFeatures",
        "oncoclass.features.vectorize.OneHot",
        "oncoclass.features.vectorize.TextVectorizer",
        "oncoclass.models.blend.BlendedClassifier",
        "oncoclass.models.gate.TextGated",
        "oncoclass.models.linked.LinkedLabels",
        "oncoclass.models.calibration.TemperatureCalibrated",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._stacking.StackingClassifier",
        "sklearn.ensemble._voting.VotingClassifier",
        "sklearn.feature_extraction.text.CountVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.naive_bayes.MultinomialNB",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.MaxAbsScaler",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.svm._classes.LinearSVC",
        "sklearn.tree._classes.DecisionTreeClassifier",
        # LightGBM's booster restores itself from its own text model format, not from code.
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
    }
)
#: Functions a model file may refer to, one by one (a text vectorizer's preprocessor).
TRUSTED_FUNCTIONS: frozenset[str] = frozenset(
    {"oncoclass.features.text.clean_text", "oncoclass.features.text.mark_negations"}
)
#: NumPy scalar types, which also serve as arrays' element types and ``dtype`` parameters.
_NUMPY_SCALARS = frozenset(
    f"numpy.{name}"
    for name in (
        "bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "str_", "bytes_",
    )
)  # fmt: skip
#: Plain values.
_BUILTIN_VALUES = frozenset(f"builtins.{n}" for n in ("str", "int", "float", "bool", "NoneType"))
#: Types a model file may hold as values (``dtype=numpy.float32``, a dict's key types).
TRUSTED_TYPE_VALUES: frozenset[str] = (
    _NUMPY_SCALARS
    | _BUILTIN_VALUES
    | frozenset({"builtins.dict", "builtins.list", "builtins.tuple", "collections.OrderedDict"})
)
#: The skops node kinds a model may contain, each with the names it may build. Every other kind is
#: refused: bound methods (``MethodNode``, the ``getattr`` route), ``functools.partial``,
#: ``operator`` callables, generic reduce constructors, random states.
LOADERS: Mapping[str, frozenset[str]] = {
    "ObjectNode": TRUSTED_CLASSES,
    "FunctionNode": TRUSTED_FUNCTIONS,
    "TypeNode": TRUSTED_TYPE_VALUES,
    "JsonNode": _BUILTIN_VALUES,
    "NdArrayNode": _NUMPY_SCALARS | {"numpy.ndarray"},
    "SparseMatrixNode": frozenset({"scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix"}),
    "TreeNode": frozenset({"sklearn.tree._tree.Tree"}),
    "DictNode": frozenset({"builtins.dict", "collections.OrderedDict", "sklearn.utils._bunch.Bunch"}),
    "DefaultDictNode": frozenset({"collections.defaultdict"}),
    "ListNode": frozenset({"builtins.list"}),
    "TupleNode": frozenset({"builtins.tuple"}),
    "SetNode": frozenset({"builtins.set"}),
    "SliceNode": frozenset({"builtins.slice"}),
    "BytesNode": frozenset({"builtins.bytes"}),
}


def is_trusted(name: str, loader: str = "ObjectNode") -> bool:
    """Whether a node of kind ``loader`` may build ``name`` (an exact ``module.qualname``)."""
    return name in LOADERS.get(loader, frozenset())


class TrainingSummary(TypedDict):
    """What a model was trained on."""

    source: str
    text: str | None
    target: str
    reviewed_rows: int
    rows: int
    rows_with_text: int
    data_hash: str
    label_counts: dict[str, int]
    fit_seconds: float


class ModelMetadata(TypedDict):
    """``metadata.json``: built in one place (:func:`oncoclass.jobs.train.train`), read back by
    :func:`parse_metadata`, which checks the keys that loading depends on (:class:`Metadata`)."""

    model_id: str
    oncoclass_version: str
    recipe: str
    recipe_description: str
    #: The estimator's top-level parameters, as ``repr`` strings.
    params: dict[str, str]
    labels: list[str]
    #: The probability columns ``predict`` writes, one per label.
    label_columns: list[str]
    kaggle_classes: bool
    training: TrainingSummary
    #: The training's cross-validation (``train --cv``), or None.
    cv: Summary | None
    #: Out-of-fold scores that calibrate ``predict --coverage`` (:mod:`oncoclass.conformal`).
    conformal: dict[str, Any] | None
    #: The evidence store the model was trained with (:mod:`oncoclass.kb.retrieve`), or None.
    evidence: dict[str, Any] | None
    created: str
    libraries: dict[str, str]
    #: Added by :func:`save_bundle`.
    format_version: NotRequired[int]
    model_sha256: NotRequired[str]


@dataclass(frozen=True)
class Bundle:
    """A loaded model and what is known about it."""

    model: Any
    metadata: ModelMetadata
    path: Path
    #: The model card as read at load time, with the rest of the bundle (one read of each file).
    card: str = ""

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    @property
    def model_id(self) -> str:
        return str(self.metadata["model_id"])

    @property
    def target(self) -> str:
        """What the model predicts of a CIViC export (``significance`` unless trained with a target)."""
        return str((self.metadata.get("training") or {}).get("target") or "significance")

    @property
    def meanings(self) -> dict[str, str]:
        """What each of the model's labels means, where the label is Kaggle's or CIViC's."""
        from oncoclass.data.vocab import class_meanings

        return class_meanings(self.labels, self.target)


class Metadata(BaseModel):
    """What ``metadata.json`` must hold, checked before the model file is audited or loaded: the
    keys whose values loading and predicting trust (the digest, the labels), strictly. The rest of
    :class:`ModelMetadata` (training summary, cross-validation, library versions) is shown, not
    trusted, and a null where a number was (a NaN score, written as JSON's null) must not make a
    model unloadable, so it is kept as it is."""

    model_config = ConfigDict(extra="allow")

    format_version: StrictInt
    model_id: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    model_sha256: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
    labels: Annotated[list[Annotated[StrictStr, Field(min_length=1)]], Field(min_length=2)]
    label_columns: list[StrictStr] | None = None
    kaggle_classes: StrictBool | None = None
    recipe: StrictStr | None = None
    oncoclass_version: StrictStr | None = None
    params: dict[StrictStr, StrictStr] | None = None
    training: dict[StrictStr, Any] | None = None


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_bounded(path: Path, *, limit: int, what: str) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes. The file is
    opened once, without blocking, and checked on the open handle, so a folder, a FIFO or a device
    (``/dev/zero``) put in a file's place is refused instead of hanging or reading forever."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise ModelFileError(f"{path} is missing; {what} cannot be read.") from exc
    except IsADirectoryError as exc:
        raise ModelFileError(f"{path} is a folder, not {what}.") from exc
    except OSError as exc:
        raise ModelFileError(f"{path} cannot be opened ({exc.strerror}).") from exc
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{path} is a folder, not {what}.")
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(
                f"{path} is not a regular file (a device, pipe or socket); refusing to read it."
            )
        if info.st_size > limit:
            raise ModelFileError(
                f"{path} is {info.st_size} bytes, past the {limit}-byte limit for {what}.",
                hint="Raise ONCOCLASS_MAX_MODEL_BYTES if the model is genuine."
                if what == "a model"
                else None,
            )
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # the file grew while being read
        raise ModelFileError(f"{path} grew past the {limit}-byte limit while being read.")
    return data


def _read_json(path: Path, what: str) -> Any:
    data = read_bounded(path, limit=MAX_SIDE_FILE_BYTES, what=what)
    try:
        return json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path} is not valid JSON ({exc}); the model folder is damaged.") from exc


def read_files(path: Path) -> dict[str, bytes]:
    """Every file of the bundle, each read once with its bound (the card may be absent). What is
    checked (checksum, signature, schema) and what is loaded are these same bytes."""
    files = {}
    for name in SIGNED_FILES:
        if name == CARD_FILE and not (path / name).exists():
            continue
        # The default on all of CIViC is ~40 MB; ONCOCLASS_MAX_MODEL_BYTES raises the bound.
        limit, what = (
            (get_settings().max_model_bytes, "a model") if name == MODEL_FILE else (MAX_SIDE_FILE_BYTES, name)
        )
        files[name] = read_bounded(path / name, limit=limit, what=what)
    return files


def _digests(files: Mapping[str, bytes]) -> dict[str, str]:
    return {name: _sha256_bytes(data) for name, data in files.items()}


def _mac(key: bytes, digests: Mapping[str, str]) -> str:
    message = json.dumps(dict(sorted(digests.items())), sort_keys=True).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_bundle(path: str | Path, key: bytes) -> None:
    """Write ``SIGNATURE.json``: an HMAC-SHA256 under ``key`` of the SHA-256 of each bundle file."""
    folder = Path(path)
    digests = _digests(read_files(folder))
    signature = {"algorithm": "hmac-sha256", "files": digests, "mac": _mac(key, digests)}
    (folder / SIGNATURE_FILE).write_text(to_json(signature))


def verify_signature(path: str | Path, key: bytes, files: Mapping[str, bytes]) -> None:
    """Refuse a bundle that is unsigned, or whose ``files`` (as read) or signature do not match
    ``key``."""
    folder = Path(path)
    if not (folder / SIGNATURE_FILE).exists():
        raise ModelFileError(
            f"{folder} is not signed, and ONCOCLASS_MODEL_KEY requires signed models; it was not loaded.",
            hint="Retrain it with the key set, or unset ONCOCLASS_MODEL_KEY to load unsigned models.",
        )
    signature = _read_json(folder / SIGNATURE_FILE, "a signature")
    mac = signature.get("mac") if isinstance(signature, dict) else None
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, _digests(files))):
        raise ModelFileError(
            f"{folder}'s signature does not match: it was signed with another key, or a file was "
            "changed after signing; it was not loaded.",
            hint="Use the key it was trained with, or retrain it.",
        )


def check_bundle_target(out: Path) -> None:
    """Refuse a model folder target that is a file, or a non-empty folder that is not a model (it
    would be replaced whole). Called before training, so no work is lost to it."""
    if out.exists() and not out.is_dir():
        raise ModelFileError(f"{out} exists and is not a folder; choose another --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / METADATA_FILE).exists():
        raise ModelFileError(
            f"{out} is a non-empty folder that is not an oncoclass model; refusing to overwrite it."
        )


_SKOPS_IMPORT = threading.Lock()


def skops_io() -> Any:
    """``skops.io``, imported without the list of every scikit-learn estimator it builds as it is
    imported (:func:`sklearn.utils.all_estimators` imports all of scikit-learn: about 1 s, paid by
    every ``train`` and ``predict``). That list is only skops' default trust, which it adds to an
    explicit ``trusted`` list; oncoclass always passes one, built by :func:`audit_schema` from its
    own lists, so without the defaults skops trusts exactly the names the audit allowed."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    with _SKOPS_IMPORT:
        if "skops.io" not in sys.modules:
            every = sklearn.utils.all_estimators
            sklearn.utils.all_estimators = lambda *args, **kwargs: []
            try:
                import skops.io  # noqa: F401  (imported for sys.modules)
            finally:
                sklearn.utils.all_estimators = every
    return sys.modules["skops.io"]


def save_bundle(
    model: Any, out_dir: str | Path, *, metadata: ModelMetadata, config: dict[str, Any], card: str
) -> Path:
    """Write the bundle atomically; with ``ONCOCLASS_MODEL_KEY`` set, sign it."""
    sio = skops_io()

    key = model_key()
    out = Path(out_dir)
    check_bundle_target(out)
    make_parent(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise os_error(out, exc) from exc
    try:
        sio.dump(model, staging / MODEL_FILE)
        meta = dict(metadata)
        meta["format_version"] = FORMAT_VERSION
        meta["model_sha256"] = _sha256_bytes((staging / MODEL_FILE).read_bytes())
        (staging / METADATA_FILE).write_text(to_json(meta))
        (staging / CONFIG_FILE).write_text(to_json(config))
        (staging / CARD_FILE).write_text(card)
        if key is not None:
            sign_bundle(staging, key)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; a model folder is not
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, retired / "bundle")
            try:
                os.replace(staging, out)
            except BaseException:
                os.replace(retired / "bundle", out)  # put the previous model back
                shutil.rmtree(retired, ignore_errors=True)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    except OSError as exc:
        raise os_error(out, exc) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def _check_folder(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(f"model folder {path} does not exist.", hint="Train one with `oncoclass train`.")
    if not path.is_dir():
        raise ModelFileError(
            f"{path} is not a model folder (expected the --out folder of `oncoclass train`)."
        )
    if not (path / METADATA_FILE).exists():
        raise ModelFileError(f"{path} has no {METADATA_FILE}; it is not an oncoclass model folder.")


def read_metadata(model_dir: str | Path) -> ModelMetadata:
    """``metadata.json`` of a model folder, validated against :class:`Metadata`."""
    path = Path(model_dir)
    _check_folder(path)
    data = read_bounded(path / METADATA_FILE, limit=MAX_SIDE_FILE_BYTES, what="model metadata")
    return parse_metadata(data, path)


def parse_metadata(data: bytes, path: Path) -> ModelMetadata:
    """``metadata.json``'s bytes, validated against :class:`Metadata`."""
    meta_path = path / METADATA_FILE
    try:
        metadata = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{meta_path} is not valid JSON ({exc}); the model folder is damaged.") from exc
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{meta_path} is not a metadata object; the model folder is damaged.")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ModelFileError(
            f"{path} was written in model format {version!r} (by oncoclass "
            f"{metadata.get('oncoclass_version', '?')!s:.40}); this oncoclass reads format {FORMAT_VERSION}.",
            hint="Retrain the model with this version (`oncoclass train`).",
        )
    try:
        checked = Metadata.model_validate(metadata)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'metadata'}: {err['msg']}" for err in exc.errors()[:3]
        )
        raise ModelFileError(
            f"{meta_path} is not valid model metadata ({problems}); the model folder is damaged."
        ) from exc
    if len(set(checked.labels)) != len(checked.labels):
        raise ModelFileError(f"{meta_path} lists a label twice; the model folder is damaged.")
    if checked.label_columns is not None and len(checked.label_columns) != len(checked.labels):
        raise ModelFileError(
            f"{meta_path} has {len(checked.label_columns)} label columns for {len(checked.labels)} labels."
        )
    return cast("ModelMetadata", metadata)


def _nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every skops node (a dict with ``__loader__``) anywhere in ``schema``, without recursion, so a
    deeply nested file cannot exhaust the stack."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def audit_schema(schema: Any, *, source: str | Path) -> set[str]:
    """Refuse the skops ``schema`` unless every node is of a kind in :data:`LOADERS` and builds a
    name on that kind's list. Returns the names it builds (what skops is then told to trust)."""
    if not isinstance(schema, dict):
        raise ModelFileError(
            f"{source} is not an oncoclass model (its schema is not an object); it was not loaded."
        )
    skops_io()
    from skops.io._protocol import PROTOCOL

    protocol = schema.get("protocol")
    if type(protocol) is not int or protocol != PROTOCOL:
        # Older protocols are read by other skops node classes, which the lists here do not cover.
        raise ModelFileError(
            f"{source} was written with skops protocol {protocol!r}; this oncoclass reads {PROTOCOL}.",
            hint="Retrain the model with this version (`oncoclass train`).",
        )
    names: set[str] = set()
    refused: list[str] = []
    members: dict[str, object] = {}
    for node in _nodes(schema):
        member = node.get("file")
        if member is not None:
            # skops reads a member once per node naming it, unless the node repeats an earlier
            # node's __id__ (then the earlier node is reused). A member named by nodes with other
            # ids would be unpacked once per node: refused.
            ident = node.get("__id__")
            if not isinstance(member, str) or ident is None or members.setdefault(member, ident) != ident:
                refused.append(f"a data member named twice ({str(member)[:40]})")
        loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
        if not all(isinstance(v, str) for v in (loader, module, cls)):
            refused.append(f"a malformed node ({str(loader)[:40]})")
            continue
        name = f"{module}.{cls}"
        if loader not in LOADERS:
            refused.append(f"{name} (built by {loader})")
        elif name not in LOADERS[loader]:
            refused.append(name if loader != "FunctionNode" else f"function {name}")
        else:
            names.add(name)
    if refused:
        shown = sorted(set(refused))
        raise ModelFileError(
            f"{source} names types or functions oncoclass does not trust "
            f"({', '.join(s[:120] for s in shown[:5])}{', …' if len(shown) > 5 else ''}); it was not loaded.",
            hint="Only load models trained by oncoclass from a source you trust.",
        )
    return names


def _schema(data: bytes, source: Path) -> dict[str, Any]:
    """``schema.json`` of a skops archive held in memory, after bounding what the archive unpacks to."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > (limit := get_settings().max_model_bytes):
                raise ModelFileError(
                    f"{source} would unpack to {unpacked} bytes, past the {limit}-byte limit; "
                    "it was not loaded.",
                    hint="Raise ONCOCLASS_MAX_MODEL_BYTES if the model is genuine.",
                )
            schema = json.loads(archive.read("schema.json"))
            packed = sum(info.compress_size for info in archive.infolist())
            if unpacked > 1024**2 and unpacked / max(1, packed) > 200:
                raise ModelFileError(f"{source} unpacks like a zip bomb; it was not loaded.")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, OSError, EOFError, zlib.error,
            NotImplementedError, RuntimeError) as exc:  # fmt: skip
        raise ModelFileError(
            f"{source} cannot be read as a skops file ({type(exc).__name__}: {exc})."
        ) from exc
    return schema


def load_bundle(model_dir: str | Path) -> Bundle:
    """Load a model folder, refusing anything that is not an oncoclass model (see the module's
    docstring for the order of the checks)."""
    sio = skops_io()

    path = Path(model_dir)
    _check_folder(path)
    key = model_key()
    files = read_files(path)
    if key is not None:
        verify_signature(path, key, files)
    metadata = parse_metadata(files[METADATA_FILE], path)
    model_path = path / MODEL_FILE
    data = files[MODEL_FILE]
    if _sha256_bytes(data) != metadata["model_sha256"]:
        raise ModelFileError(
            f"{model_path} does not match the checksum in {METADATA_FILE}: the file was altered "
            "or damaged after training.",
            hint="Retrain, or restore the folder from a trusted copy.",
        )
    trusted = audit_schema(_schema(data, model_path), source=model_path)
    try:
        model = sio.load(io.BytesIO(data), trusted=sorted(trusted))
    except Exception as exc:
        raise ModelFileError(f"{model_path} could not be loaded ({type(exc).__name__}: {exc}).") from exc
    classes = getattr(model, "classes_", None)
    if not callable(getattr(model, "predict_proba", None)) or classes is None:
        raise ModelFileError(f"{model_path} does not hold a fitted classifier; it was not loaded.")
    if sorted(str(c) for c in classes) != sorted(metadata["labels"]):
        raise ModelFileError(
            f"{model_path}'s classes do not match the labels in {METADATA_FILE}; the folder is damaged.",
            hint="Retrain, or restore the folder from a trusted copy.",
        )
    check_trees(model, source=model_path)
    card = files.get(CARD_FILE, b"").decode("utf-8", errors="replace")
    return Bundle(model=model, metadata=metadata, path=path, card=card)


def _reachable(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root`` through attributes, lists, tuples and dicts (each once),
    as far as a fitted model nests (pipelines, blends, forests)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen or isinstance(item, str | bytes | int | float | np.ndarray):
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            stack.extend(vars(item).values())


def _check_sparse(matrix: Any, source: str | Path) -> None:
    # skops builds whatever sparse format the file declares; oncoclass saves CSR and CSC only, and
    # their index arrays are checked in full (SciPy's compiled routines trust them).
    if matrix.format not in ("csr", "csc"):
        raise ModelFileError(f"{source} holds a {matrix.format} sparse matrix; it was not loaded.")
    try:
        matrix.check_format(full_check=True)
    except ValueError as exc:
        raise ModelFileError(f"{source} holds a damaged sparse matrix ({exc}); it was not loaded.") from exc


def check_trees(model: Any, *, source: str | Path) -> None:
    """Refuse decision trees whose node links or feature indices point outside the tree, and sparse
    matrices that are not well-formed CSR/CSC: scikit-learn and SciPy follow their indices without
    bounds checks when predicting, so a crafted one could read memory it does not own."""
    import scipy.sparse as sp
    from sklearn.tree._tree import Tree

    for item in _reachable(model):
        if sp.issparse(item):
            _check_sparse(item, source)
            continue
        if not isinstance(item, Tree):
            continue
        count = item.node_count
        left, right, feature = item.children_left, item.children_right, item.feature
        leaf = left == -1
        links_ok = all(((c == -1) | ((c > 0) & (c < count))).all() for c in (left, right))
        features_ok = not ((~leaf) & ((feature < 0) | (feature >= item.n_features))).any()
        if not links_ok or not ((right == -1) == leaf).all() or not features_ok:
            raise ModelFileError(
                f"{source} holds a decision tree with links outside itself; it was not loaded."
            )
