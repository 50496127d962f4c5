"""Temperature (and class-bias) calibration fitted on out-of-fold scores.

One temperature plus one bias per class is enough to fix over/under-confidence and the prior
shift of class-balanced models, and it stays stable with classes of a handful of examples, where
per-class sigmoid or isotonic calibration overfits.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

_FLOOR = 1e-6


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


def fit_temperature(
    scores: np.ndarray, codes: np.ndarray, *, bias: bool, ridge: float = 1e-2
) -> tuple[float, np.ndarray]:
    """Minimise the log loss of ``softmax(scores / T + b)``; returns ``(T, b)``."""
    n, k = scores.shape
    centred = scores - scores.mean(axis=1, keepdims=True)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        inv_t = np.exp(params[0])
        b = params[1:] if bias else np.zeros(k)
        logits = centred * inv_t + b
        logp = log_softmax(logits, axis=1)
        value = -logp[np.arange(n), codes].mean() + ridge * float(b @ b) / 2
        p = np.exp(logp)
        p[np.arange(n), codes] -= 1.0
        p /= n
        grad_logits = p
        g_t = float((grad_logits * centred).sum() * inv_t)
        grads = [g_t]
        if bias:
            grads += list(grad_logits.sum(axis=0) + ridge * b)
        return value, np.asarray(grads)

    start = np.zeros(1 + (k if bias else 0))
    result = minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(-4.0, 4.0)] + [(-10.0, 10.0)] * (len(start) - 1)
    )
    temperature = float(np.exp(-result.x[0]))
    return temperature, (result.x[1:] if bias else np.zeros(k))


class TemperatureCalibrated(ClassifierMixin, BaseEstimator):
    """Wrap a classifier; calibrate its scores with a temperature (and class biases) fitted on
    ``cv``-fold out-of-fold scores, then refit it on all rows."""

    def __init__(
        self, *, estimator: Any = None, cv: int = 5, bias: bool = True, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.cv = cv
        self.bias = bias
        self.random_state = random_state

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
        n_splits = int(min(self.cv, len(y)))
        scores = np.zeros((len(y), len(self.classes_)))
        # Stratify when some class can fill every fold; with only tiny classes, plain shuffled folds.
        if np.bincount(codes).max() >= n_splits:
            folds: Any = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        else:
            folds = KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class")
            splits = list(folds.split(np.zeros(len(y)), codes))
        for train, held in splits:
            model = clone(self.estimator).fit(_safe_indexing(X, train), y[train])
            scores[held] = class_scores(model, _safe_indexing(X, held), self.classes_)
        self.temperature_, self.bias_ = fit_temperature(scores, codes, bias=self.bias)
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def _logits(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, accept_sparse="csr", dtype=None, reset=False)
        scores = class_scores(self.estimator_, X, self.classes_)
        scores = scores - scores.mean(axis=1, keepdims=True)
        return scores / self.temperature_ + self.bias_

    def decision_function(self, X: Any) -> np.ndarray:
        logits = self._logits(X)
        # scikit-learn's convention: one column (positive minus negative) for two classes.
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        return softmax(self._logits(X), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
