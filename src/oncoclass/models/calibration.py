"""Temperature (and class-bias) calibration fitted on out-of-fold scores.

One temperature plus one bias per class is enough to fix over/under-confidence and the prior
shift of class-balanced models, and it stays stable with classes of a handful of examples, where
per-class sigmoid or isotonic calibration overfits.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.optimize import minimize
from scipy.sparse.csgraph import connected_components
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import threadpool_limits

_FLOOR = 1e-6


def fitted(estimator: Any, X: Any, y: Any) -> Any:
    """``clone(estimator).fit(X, y)`` with BLAS on one thread.

    The fold fits run two at a time on two cores, and a linear model's products over a few
    thousand rows are too small for BLAS threads to pay: with OpenBLAS's two threads waiting on
    each other beside other work, one logistic regression over Kaggle-sized variants took 121 s
    instead of 12 s.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return clone(estimator).fit(X, y)


def class_scores(estimator: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """Log-scale scores aligned to ``classes``; classes the estimator never saw get a low score."""
    if hasattr(estimator, "decision_function") and not hasattr(estimator, "predict_proba"):
        raw = np.asarray(estimator.decision_function(X), dtype=float)
        if raw.ndim == 1:
            raw = np.column_stack([-raw / 2.0, raw / 2.0])
    else:
        raw = np.log(np.clip(np.asarray(estimator.predict_proba(X), dtype=float), _FLOOR, 1.0))
    seen = list(estimator.classes_)
    if len(seen) == len(classes) and np.array_equal(np.asarray(seen), classes):
        return raw
    out = np.repeat(raw.min(axis=1, keepdims=True) - 5.0, len(classes), axis=1)
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(seen):
        out[:, index[c]] = raw[:, j]
    return out


def fit_blend(
    scores: list[np.ndarray], codes: np.ndarray, *, bias: bool = True, ridge: float = 1e-2
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the log loss of ``softmax(sum_m w_m * centred(scores_m) + b)`` over ``w >= 0``
    and (when ``bias``) one ``b`` per class; returns ``(w, b)``.

    With one score matrix, ``1 / w`` is a temperature; with several, it is a calibrated blend
    whose weights also say how much each member is trusted.
    """
    centred = [s - s.mean(axis=1, keepdims=True) for s in scores]
    n, k = centred[0].shape
    m = len(centred)
    rows = np.arange(n)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w = params[:m]
        b = params[m:] if bias else np.zeros(k)
        logits = sum(wi * c for wi, c in zip(w, centred, strict=True)) + b
        logp = log_softmax(logits, axis=1)
        value = -logp[rows, codes].mean() + ridge * float(b @ b) / 2
        grad = np.exp(logp)
        grad[rows, codes] -= 1.0
        grad /= n
        grads = [float((grad * c).sum()) for c in centred]
        if bias:
            grads += list(grad.sum(axis=0) + ridge * b)
        return value, np.asarray(grads)

    start = np.r_[np.full(m, 1.0 / m), np.zeros(k if bias else 0)]
    bounds = [(1e-3, 50.0)] * m + [(-10.0, 10.0)] * (k if bias else 0)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:m], (result.x[m:] if bias else np.zeros(k))


#: Past this many rows :func:`similar_groups` is not computed: it compares every pair (a
#: statement view's vectors share common words, so each block of products is nearly dense), and
#: the folds are then stratified as without it.
MAX_GROUPED_ROWS = 20000


def similar_groups(rows: Any, threshold: float, *, chunk: int = 2048) -> np.ndarray | None:
    """Each row's group: rows whose (L2-normalised) vectors have a dot product of at least
    ``threshold`` are linked, and a group is a connected set of links. None when no two rows
    are linked, or past :data:`MAX_GROUPED_ROWS` rows. Computed a block of rows at a time (at
    most ``chunk``, and about four million products), so only the links are ever held."""
    rows = sp.csr_matrix(rows, dtype=np.float64)
    n = rows.shape[0]
    if n > MAX_GROUPED_ROWS:
        return None
    chunk = max(1, min(chunk, 4_000_000 // max(n, 1)))
    columns_of = rows.T.tocsr()  # once, not per block
    linked_rows, linked_columns = [], []
    for start in range(0, n, chunk):
        block = (rows[start : start + chunk] @ columns_of).tocoo()
        keep = (block.data >= threshold) & (block.row + start != block.col)
        linked_rows.append(block.row[keep] + start)
        linked_columns.append(block.col[keep])
    if n == 0 or not sum(len(r) for r in linked_rows):
        return None
    rows_, columns = np.concatenate(linked_rows), np.concatenate(linked_columns)
    links = sp.csr_matrix((np.ones(len(rows_)), (rows_, columns)), shape=(n, n))
    return connected_components(links, directed=False)[1]


def calibration_folds(
    codes: np.ndarray, cv: int, random_state: int, groups: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds when some class can fill every fold; with only tiny classes, shuffled ones.
    With ``groups`` (one per row), a group's rows share a fold (stratified as far as the groups
    allow), where there are groups enough to fill every fold."""
    n_splits = int(min(cv, len(codes)))
    if groups is not None and n_splits >= 2 and len(np.unique(groups)) >= n_splits:
        grouped = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class")
            folds = list(grouped.split(np.zeros(len(codes)), codes, groups))
        if all(len(held) for _, held in folds):
            return folds
    if np.bincount(codes).max() >= n_splits:
        folds: Any = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    else:
        folds = KFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        return list(folds.split(np.zeros(len(codes)), codes))


def fold_scores(
    estimator: Any, X: Any, y: np.ndarray, train: np.ndarray, held: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """Held-out scores of ``estimator`` fitted on ``train``; a fold whose training part has a
    single class (tiny or very skewed data) scores its smoothed class frequencies instead."""
    seen = np.unique(y[train])
    if len(seen) < 2:
        counts = np.array([(y[train] == c).sum() for c in classes], dtype=float) + 0.5
        return np.tile(np.log(counts / counts.sum()), (len(held), 1))
    model = fitted(estimator, _safe_indexing(X, train), y[train])
    return class_scores(model, _safe_indexing(X, held), classes)


class LogitMixin:
    """``decision_function``, ``predict_proba`` and ``predict`` from a ``_logits(X)`` method."""

    classes_: np.ndarray

    def _logits(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def decision_function(self, X: Any) -> np.ndarray:
        logits = self._logits(X)
        # scikit-learn's convention: one column (positive minus negative) for two classes.
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        return softmax(self._logits(X), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        logits = self._logits(X)  # first: it raises NotFittedError before classes_ is touched
        return self.classes_[np.argmax(logits, axis=1)]


class TemperatureCalibrated(LogitMixin, ClassifierMixin, BaseEstimator):
    """Wrap a classifier; calibrate its scores with a temperature (and class biases) fitted on
    ``cv``-fold out-of-fold scores, then refit it on all rows."""

    def __init__(
        self,
        *,
        estimator: Any = None,
        cv: int = 5,
        bias: bool = True,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.cv = cv
        self.bias = bias
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> TemperatureCalibrated:
        if self.estimator is None:
            raise ValueError("TemperatureCalibrated needs an estimator")
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=None)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(y) < 2:
            raise ValueError(f"n_samples={len(y)}: calibration needs at least 2 samples")
        if len(self.classes_) < 2:
            raise ValueError("only 1 class in y: a classifier needs two or more")
        scores = np.zeros((len(y), len(self.classes_)))
        folds = calibration_folds(codes, self.cv, self.random_state)
        # The fold fits and the final fit are independent: with n_jobs=2, both cores fit.
        jobs = [
            delayed(fold_scores)(self.estimator, X, y, train, held, self.classes_) for train, held in folds
        ]
        *held_scores, self.estimator_ = Parallel(n_jobs=self.n_jobs)(
            [*jobs, delayed(fitted)(self.estimator, X, y)]
        )
        for (_, held), fold in zip(folds, held_scores, strict=True):
            scores[held] = fold
        weights, self.bias_ = fit_blend([scores], codes, bias=self.bias)
        self.temperature_ = float(1.0 / weights[0])
        return self

    def _logits(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, accept_sparse="csr", dtype=None, reset=False)
        scores = class_scores(self.estimator_, X, self.classes_)
        scores = scores - scores.mean(axis=1, keepdims=True)
        return scores / self.temperature_ + self.bias_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
