"""Features learned from the labels, always fitted out of fold inside ``fit``.

``fit_transform`` (what a Pipeline calls while training) returns out-of-fold values, so a row's
own label never feeds its feature; ``transform`` on new rows uses statistics from all training
rows. This is what keeps response coding and neighbour features from leaking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from oncoclass.variation import parse


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.astype(str)
    array = np.asarray(X, dtype=object)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return pd.DataFrame(array).astype(str)


class ResponseCoder(TransformerMixin, BaseEstimator):
    """Response coding: each categorical column becomes its smoothed class distribution.

    ``P(class | value) = (n(value, class) + alpha * K * prior(class)) / (n(value) + alpha * K)``,
    a Laplace-style smoothing toward the class prior, so unseen and rare values fall back to the
    prior. With ``add_counts`` a ``log1p(n(value))`` column per input column tells the model how
    much to trust the distribution.
    """

    def __init__(
        self, *, alpha: float = 1.0, n_splits: int = 5, add_counts: bool = True, random_state: int = 0
    ) -> None:
        self.alpha = alpha
        self.n_splits = n_splits
        self.add_counts = add_counts
        self.random_state = random_state

    def _tables(self, frame: pd.DataFrame, codes: np.ndarray) -> list[dict[str, np.ndarray]]:
        n_classes = len(self.classes_)
        tables = []
        for column in frame.columns:
            counts: dict[str, np.ndarray] = {}
            for value, code in zip(frame[column].to_numpy(), codes, strict=True):
                row = counts.get(value)
                if row is None:
                    row = counts[value] = np.zeros(n_classes)
                row[code] += 1.0
            tables.append(counts)
        return tables

    def _encode(
        self, frame: pd.DataFrame, tables: list[dict[str, np.ndarray]], prior: np.ndarray
    ) -> np.ndarray:
        n_classes = len(self.classes_)
        weight = self.alpha * n_classes
        blocks = []
        for column, counts in zip(frame.columns, tables, strict=True):
            values = frame[column].to_numpy()
            raw = np.array([counts.get(v, np.zeros(n_classes)) for v in values]).reshape(
                len(values), n_classes
            )
            totals = raw.sum(axis=1, keepdims=True)
            blocks.append((raw + weight * prior) / (totals + weight))
            if self.add_counts:
                blocks.append(np.log1p(totals) / 4.0)
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    def fit(self, X: Any, y: Any) -> ResponseCoder:
        array, y = validate_data(self, X, y, dtype=None, ensure_all_finite=False)
        check_classification_targets(y)
        frame = _as_frame(array)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.prior_ = np.bincount(codes, minlength=len(self.classes_)) / len(codes)
        self.tables_ = self._tables(frame, codes)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "tables_")
        frame = _as_frame(validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False))
        return self._encode(frame, self.tables_, self.prior_)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        self.fit(X, y)
        frame = _as_frame(validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False))
        _, codes = np.unique(np.asarray(y), return_inverse=True)
        n_splits = min(self.n_splits, len(frame))
        if n_splits < 2:
            return self.transform(frame)
        out = None
        folds = KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        for train, held in folds.split(frame):
            part = frame.iloc[train]
            tables = self._tables(part, codes[train])
            prior = (np.bincount(codes[train], minlength=len(self.classes_)) + 1.0) / (
                len(train) + len(self.classes_)
            )
            encoded = self._encode(frame.iloc[held], tables, prior)
            if out is None:
                out = np.zeros((len(frame), encoded.shape[1]))
            out[held] = encoded
        assert out is not None
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def neighbour_keys(table: pd.DataFrame) -> pd.DataFrame:
    """Keys that group a variant with its neighbours: same gene, residue, position, kind, partner."""
    genes = table["gene"].astype(str).str.upper().str.strip()
    parsed = [parse(v) for v in table["variation"].astype(str)]
    kinds = pd.Series([p.kind for p in parsed], index=table.index)
    positions = pd.Series(["" if p.start is None else str(p.start) for p in parsed], index=table.index)
    residues = pd.Series([f"{p.ref}{p.start}" if p.start else "" for p in parsed], index=table.index)
    # Missing positions get a key that is unique to the row so it never pools with others.
    unique = pd.Series([f"#{i}" for i in range(len(table))], index=table.index)
    return pd.DataFrame(
        {
            "gene": genes,
            "gene_kind": genes + "|" + kinds,
            "gene_residue": (genes + "|" + residues).where(residues != "", unique),
            "gene_position": (genes + "|" + positions).where(positions != "", unique),
            "kind": kinds,
            "gene_variation": genes + "|" + table["variation"].astype(str).str.upper().str.strip(),
        }
    )


class NeighbourFeatures(TransformerMixin, BaseEstimator):
    """Class distributions of a variant's neighbours in the training data, out of fold."""

    def __init__(self, *, alpha: float = 1.0, n_splits: int = 5, random_state: int = 0) -> None:
        self.alpha = alpha
        self.n_splits = n_splits
        self.random_state = random_state

    def _coder(self) -> ResponseCoder:
        return ResponseCoder(alpha=self.alpha, n_splits=self.n_splits, random_state=self.random_state)

    def fit(self, X: pd.DataFrame, y: Any) -> NeighbourFeatures:
        self.coder_ = self._coder().fit(neighbour_keys(X), y)
        self.classes_ = self.coder_.classes_
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        self.coder_ = self._coder()
        out = self.coder_.fit_transform(neighbour_keys(X), y)
        self.classes_ = self.coder_.classes_
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "coder_")
        return self.coder_.transform(neighbour_keys(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "coder_")
        names = []
        for key in neighbour_keys(pd.DataFrame({"gene": ["x"], "variation": ["x"]})).columns:
            names += [f"{key}=class {c}" for c in self.classes_] + [f"{key} count"]
        return np.asarray(names, dtype=object)
