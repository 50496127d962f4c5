"""One typed settings object per job; the CLI fills it, the library reads it, and training saves
it beside the model (``config.json``) so a model can be retrained exactly."""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oncoclass.errors import ConfigError
from oncoclass.settings import get_settings

GROUPINGS = ("none", "gene", "citation")


@dataclass(frozen=True)
class InputSpec:
    """Where a table comes from: a path (auto-detected) and Kaggle's optional companions."""

    path: str
    text: str | None = None
    labels: str | None = None
    format: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)
    #: A CIViC export's label: significance (type and significance), or evidence_type,
    #: evidence_level or evidence_direction alone.
    target: str = "significance"
    #: Input columns to echo beside predictions (their names as the file writes them; ``*``: all).
    keep: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if sum(str(p) == "-" for p in self.paths) > 1:
            raise ConfigError("only one input can be read from standard input (-).")

    @property
    def paths(self) -> list[str]:
        """Every file this input reads (what an output must never overwrite)."""
        return [p for p in (self.path, self.text, self.labels) if p is not None]


@dataclass(frozen=True)
class TrainConfig:
    #: The labelled table; may be None when the model learns from the store's review decisions alone.
    input: InputSpec | None
    recipe: str = "default"
    cv_folds: int = 0
    seed: int = 0
    #: The evidence store (path or URL) whose retrieved evidence the model learns from.
    kb: str | None = None
    #: Also learn from the items curators reviewed in the store's queue.
    reviewed: bool = False
    #: Recipe parameters overridden (``--set``), by scikit-learn's nested names.
    params: dict[str, Any] = field(default_factory=dict)
    #: Fold fits run side by side (the recipe's outermost ``n_jobs``); None: the recipe's choice.
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        if self.cv_folds == 1 or self.cv_folds < 0:
            raise ConfigError(
                f"cross-validation needs 0 (none) or at least 2 folds, not {self.cv_folds}.", field="folds"
            )
        if self.reviewed and self.kb is None:
            raise ConfigError("reviewed items come from a store: name it (kb).")
        if self.input is None and not self.reviewed:
            raise ConfigError("training needs an input, or the reviewed items of a store.")

    @property
    def source(self) -> str:
        """What the model learned from, as its metadata and messages name it."""
        parts = [str(self.input.path)] if self.input is not None else []
        if self.reviewed:
            parts.append(f"reviewed items in {_shown_kb(self.kb)}")
        return " + ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"job": "train", **asdict(self), "kb": _shown_kb(self.kb)}


@dataclass(frozen=True)
class EvaluateConfig:
    input: InputSpec
    recipes: tuple[str, ...] = ("default",)
    folds: int = 5
    group_by: str = "none"
    seed: int = 0
    kb: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        if self.group_by not in GROUPINGS:
            raise ConfigError(
                f"groups must be one of {', '.join(GROUPINGS)}, not {self.group_by!r}.", field="group_by"
            )
        if not self.recipes:
            raise ConfigError("name at least one recipe.", field="recipes")
        if self.folds < 2:
            raise ConfigError(f"cross-validation needs at least 2 folds, not {self.folds}.", field="folds")

    def to_dict(self) -> dict[str, Any]:
        return {"job": "evaluate", **asdict(self), "kb": _shown_kb(self.kb)}


def _shown_kb(value: str | None) -> str | None:
    """A store as it may be saved or printed: a URL loses its password."""
    from oncoclass.kb.store import is_url

    if value is None or not is_url(value):
        return value
    from sqlalchemy.engine import make_url

    return make_url(value).render_as_string(hide_password=True)


def parse_columns(spec: str | None) -> dict[str, str]:
    """``gene=Hugo_Symbol,variation=HGVSp`` → ``{"gene": "Hugo_Symbol", ...}``."""
    if not spec:
        return {}
    out: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"a column mapping is name=column pairs, not {part!r}.", field="columns")
        key = key.strip()
        if key in out:
            # Keeping the last would silently read another column than the one first named.
            raise ConfigError(
                f"{key!r} is mapped twice ({out[key]}, {value.strip()}): map each name to one column.",
                field="columns",
            )
        out[key] = value.strip()
    return out


#: The most parallel jobs a run may ask for (``--n-jobs``, or any ``n_jobs`` set with ``--set``):
#: past it a typo (1000 for 10) would start a process or thread per job.
MAX_N_JOBS = 256
#: Infinity and not-a-number as text: Python literals do not spell them, though ``1e400`` is inf.
_FLOAT_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"})


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["features__text__min_df=3", "cv=3"]`` → ``{"features__text__min_df": 3, "cv": 3}``.
    A value is read as a Python literal (a number, ``True``, ``None``, a tuple) where it is one,
    ``inf`` and ``nan`` as the floats they name, and kept as text otherwise (``kind=tfidf``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise ConfigError(f"a parameter is set as name=value, not {pair!r}.", field="params")
        if name in out:  # the last would win without a word, as a repeated option did
            raise ConfigError(f"{name} is set twice: set each parameter once.", field="params")
        if raw.lower() in _FLOAT_WORDS:
            out[name] = float(raw)
            continue
        try:
            out[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[name] = raw
    return out


def cache_dir() -> Path:
    """The one folder oncoclass keeps things in between runs (the derived word-piece table, CIViC
    downloads): ``ONCOCLASS_CACHE_DIR``, else ``$XDG_CACHE_HOME/oncoclass`` or
    ``~/.cache/oncoclass``."""
    return get_settings().cache_folder


#: The environment variable holding the key that signs and verifies model bundles.
MODEL_KEY_ENV = "ONCOCLASS_MODEL_KEY"


def model_key() -> bytes | None:
    """The model-signing key from ``ONCOCLASS_MODEL_KEY`` (UTF-8), or None when it is unset. Set
    but empty is refused: a blank key would sign every model with the same well-known secret."""
    value = get_settings().model_key  # set but blank is refused there
    return None if value is None else value.get_secret_value().encode("utf-8")
