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

from oncoclass.features.vectorize import positions, string_array, value_rows
from oncoclass.variation import parse

#: A key that is never counted: rows carrying it get the prior (e.g. no residue to pool on).
MISSING = "\x00missing"


def _fold_prior(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Class frequencies of a training fold, with one pseudo-count per class."""
    return (np.bincount(codes, minlength=n_classes) + 1.0) / (len(codes) + n_classes)


def _as_frame(X: Any) -> pd.DataFrame:
    """Every value as a Python ``str``: missing ones as "nan", as ``str()`` writes them (pandas 3's
    ``astype(str)`` keeps them missing, and a missing value matches no dictionary key)."""
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        array = np.asarray(X, dtype=object)
        frame = pd.DataFrame(array.reshape(-1, 1) if array.ndim == 1 else array)
    return pd.DataFrame(
        {
            c: np.asarray([str(v) for v in frame[c].to_numpy(dtype=object)], dtype=object)
            for c in frame.columns
        },
        index=frame.index,
    )


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

    def _tables(self, frame: pd.DataFrame, codes: np.ndarray) -> list[tuple[list[Any], np.ndarray]]:
        """Per column: its values and their class counts (one row each).

        Kept as a list and one matrix rather than a dict of small arrays: skops writes every
        array as its own file, and thousands of them made saving and loading a model slow.
        """
        n_classes = len(self.classes_)
        tables = []
        for column in frame.columns:
            values = frame[column].to_numpy()
            keep = np.fromiter((not (isinstance(v, str) and v == MISSING) for v in values), bool, len(values))
            index = pd.Index(values[keep])
            uniques = index.unique()
            counts = np.zeros((len(uniques), n_classes))
            np.add.at(counts, (uniques.get_indexer(index), codes[keep]), 1.0)
            tables.append((uniques.tolist(), counts))
        return tables

    def _encode(
        self,
        columns: list[Any],
        tables: list[Any],
        prior: np.ndarray,
        lookups: list[dict[Any, int]] | None = None,
    ) -> np.ndarray:
        """``columns``: one sequence of string values per table, all of the same length."""
        n_classes = len(self.classes_)
        weight = self.alpha * n_classes
        n_rows = len(columns[0]) if columns else 0
        blocks = []
        for i, (values, table) in enumerate(zip(columns, tables, strict=True)):
            if isinstance(table, dict):  # models saved before tables were (values, counts)
                table = (list(table), np.array(list(table.values())).reshape(len(table), n_classes))
            known, counts = table
            if lookups is not None:
                rows = positions(lookups[i], values)
            else:
                rows = pd.Index(known).get_indexer(np.asarray(values, dtype=object))
            padded = np.vstack([counts, np.zeros((1, n_classes))])  # row -1: an unseen value
            raw = padded[rows]
            totals = raw.sum(axis=1, keepdims=True)
            blocks.append((raw + weight * prior) / (totals + weight))
            if self.add_counts:
                blocks.append(np.log1p(totals) / 4.0)
        return np.hstack(blocks) if blocks else np.zeros((n_rows, 0))

    def encode_columns(self, columns: list[Any]) -> np.ndarray:
        """:meth:`transform` for values already split into string columns, without the checks:
        for callers in this package that built the columns themselves."""
        check_is_fitted(self, "tables_")
        return self._encode(columns, self.tables_, self.prior_, self._lookups())

    def fit(self, X: Any, y: Any) -> ResponseCoder:
        array, y = validate_data(self, X, y, dtype=None, ensure_all_finite=False)
        check_classification_targets(y)
        frame = _as_frame(array)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.prior_ = np.bincount(codes, minlength=len(self.classes_)) / len(codes)
        self.tables_ = [(string_array(values), counts) for values, counts in self._tables(frame, codes)]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "tables_")
        frame = _as_frame(validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False))
        return self.encode_columns([frame[c].to_numpy() for c in frame.columns])

    def _lookups(self) -> list[dict[Any, int]]:
        # The service scores one row at a time; building an index over every known value for
        # each request cost more than the rest of the encoding.
        return value_rows(self, [t if isinstance(t, dict) else t[0] for t in self.tables_])

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
            columns = [frame[c].to_numpy()[held] for c in frame.columns]
            encoded = self._encode(columns, tables, _fold_prior(codes[train], len(self.classes_)))
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
    return pd.DataFrame(_key_lists(table), index=table.index)


def _key_lists(table: pd.DataFrame) -> dict[str, list[str]]:
    # Plain lists: pandas string methods cost more than the work for the one-row frames the
    # service predicts on, and no less for large ones.
    genes = [str(g).upper().strip() for g in table["gene"]]
    variations = [str(v) for v in table["variation"]]
    parsed = [parse(v) for v in variations]
    rows: dict[str, list[str]] = {k: [] for k in KEY_NAMES}
    for gene, variation, p in zip(genes, variations, parsed, strict=True):
        rows["gene"].append(gene)
        rows["gene_kind"].append(f"{gene}|{p.kind}")
        # A variant without a position has no residue neighbours: MISSING never pools with others.
        rows["gene_residue"].append(f"{gene}|{p.ref}{p.start}" if p.start else MISSING)
        rows["gene_position"].append(f"{gene}|{p.start}" if p.start is not None else MISSING)
        rows["kind"].append(p.kind)
        rows["gene_variation"].append(f"{gene}|{variation.upper().strip()}")
    return rows


KEY_NAMES = ("gene", "gene_kind", "gene_residue", "gene_position", "kind", "gene_variation")


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
        return self.coder_.encode_columns(list(_key_lists(X).values()))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "coder_")
        names = []
        for key in KEY_NAMES:
            names += [f"{key}=class {c}" for c in self.classes_] + [f"{key} count"]
        return np.asarray(names, dtype=object)


def _positions(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    genes = X["gene"].astype(str).str.upper().str.strip().to_numpy()
    starts = [parse(str(v)).start for v in X["variation"]]
    return genes, np.array([-1.0 if s is None else float(s) for s in starts])


class PositionKernel(TransformerMixin, BaseEstimator):
    """Class distribution of training variants in the same gene, weighted by residue distance.

    Variants near each other on a protein tend to share their effect (hotspots, domains), even
    when no training variant sits on the exact residue. For each bandwidth ``h`` a row gets
    ``sum_j w_j onehot(y_j)`` with ``w_j = exp(-|pos - pos_j| / h)`` over same-gene training
    variants, smoothed toward the prior with one pseudo-count, plus ``log1p(sum_j w_j)``. Rows
    without a position get the prior and a zero weight. ``fit_transform`` is out of fold.
    """

    def __init__(
        self, *, bandwidths: tuple[float, ...] = (2.0, 10.0, 50.0, 250.0), n_splits: int = 5,
        random_state: int = 0,
    ) -> None:  # fmt: skip
        self.bandwidths = bandwidths
        self.n_splits = n_splits
        self.random_state = random_state

    def _index(self, genes: np.ndarray, positions: np.ndarray, codes: np.ndarray) -> dict[str, Any]:
        onehot = np.eye(len(self.classes_))[codes]
        index: dict[str, Any] = {}
        for gene in np.unique(genes[positions >= 0]):
            rows = (genes == gene) & (positions >= 0)
            index[gene] = (positions[rows], onehot[rows])
        return index

    def _encode(self, genes: np.ndarray, positions: np.ndarray, index: dict[str, Any], prior: np.ndarray):
        k = len(self.classes_)
        width = k + 1
        out = np.zeros((len(genes), width * len(self.bandwidths)))
        for b in range(len(self.bandwidths)):
            out[:, b * width : b * width + k] = prior
        for gene in np.unique(genes):
            found = index.get(gene)
            rows = np.flatnonzero((genes == gene) & (positions >= 0))
            if found is None or len(rows) == 0:
                continue
            known, onehot = found
            distance = np.abs(positions[rows, None] - known[None, :])
            for b, h in enumerate(self.bandwidths):
                weights = np.exp(-distance / h)
                total = weights.sum(axis=1, keepdims=True)
                out[rows, b * width : b * width + k] = (weights @ onehot + prior) / (total + 1.0)
                out[rows, b * width + k] = np.log1p(total[:, 0]) / 4.0
        return out

    def _fit(self, genes: np.ndarray, positions: np.ndarray, y: Any) -> np.ndarray:
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.prior_ = np.bincount(codes, minlength=len(self.classes_)) / len(codes)
        self.index_ = self._index(genes, positions, codes)
        return codes

    def fit(self, X: pd.DataFrame, y: Any) -> PositionKernel:
        self._fit(*_positions(X), y)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "index_")
        genes, positions = _positions(X)
        return self._encode(genes, positions, self.index_, self.prior_)

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        genes, positions = _positions(X)
        codes = self._fit(genes, positions, y)
        n_splits = min(self.n_splits, len(X))
        if n_splits < 2:
            return self._encode(genes, positions, self.index_, self.prior_)
        out = np.zeros((len(X), (len(self.classes_) + 1) * len(self.bandwidths)))
        for train, held in KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state).split(X):
            index = self._index(genes[train], positions[train], codes[train])
            prior = _fold_prior(codes[train], len(self.classes_))
            out[held] = self._encode(genes[held], positions[held], index, prior)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "index_")
        names = []
        for h in self.bandwidths:
            names += [f"within ~{h:g} residues=class {c}" for c in self.classes_]
            names += [f"within ~{h:g} residues count"]
        return np.asarray(names, dtype=object)
