"""A calibrated blend of models that share one feature matrix.

The features are computed once; each member sees all of them or only some blocks (gradient
boosting gets the dense grammar and neighbour blocks, where trees find interactions a linear
model can't, and is spared the wide sparse text). Each member's out-of-fold scores feed one fit
of blend weights and class biases (:func:`fit_blend`), which both combines and calibrates them:
no member needs its own calibration, and a member that does not help on the data at hand gets a
weight near zero instead of dragging the blend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from oncoclass.models.calibration import (
    LogitMixin,
    calibration_folds,
    class_scores,
    fit_blend,
    fitted,
    fold_scores,
    similar_groups,
)


def transform_features(features: Any, X: Any) -> Any:
    """``features.transform(X)``, calling each fitted step directly.

    Same output as scikit-learn's ``ColumnTransformer`` and ``Pipeline`` (a test compares them),
    without their per-call checks: for the one-row requests the service answers, those checks
    (input validation, output wrapping, dataframe interop) cost more than the features.
    Anything unusual goes the ordinary way.
    """
    if isinstance(features, Pipeline):
        for _, step in features.steps:
            if step is None or step == "passthrough":
                continue
            X = transform_features(step, X)
        return X
    if not isinstance(features, ColumnTransformer) or not isinstance(X, pd.DataFrame):
        return features.transform(X)
    blocks = []
    selected: dict[Any, Any] = {}  # several blocks read the same columns; pandas selects slowly
    for _, step, columns in features.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        names = [columns] if isinstance(columns, str) else list(columns)
        if (
            isinstance(step, str)
            or not names
            or not all(isinstance(c, str) and c in X.columns for c in names)
        ):
            return features.transform(X)  # passthrough, empty or positional columns: scikit-learn's way
        key = columns if isinstance(columns, str) else tuple(columns)
        if key not in selected:
            selected[key] = X[columns]
        blocks.append(transform_features(step, selected[key]))
    if features.sparse_output_:  # decided at fit, as scikit-learn does
        return sp.hstack([sp.csr_matrix(b) if not sp.issparse(b) else b for b in blocks]).tocsr()
    return np.hstack([b.toarray() if sp.issparse(b) else np.asarray(b) for b in blocks])


def _any_nonzero(part: Any) -> bool:
    if sp.issparse(part):
        return bool(part.count_nonzero())
    return bool(np.any(np.asarray(part)))


def _balanced(estimator: Any) -> Any:
    """``estimator`` (a clone) with every ``class_weight`` it has, nested ones too, balanced."""
    names = [k for k in estimator.get_params(deep=True) if k.rsplit("__", 1)[-1] == "class_weight"]
    return clone(estimator).set_params(**dict.fromkeys(names, "balanced"))


class BlendedClassifier(LogitMixin, ClassifierMixin, BaseEstimator):
    """Fit ``features`` once, then ``members`` — ``(name, estimator, blocks)`` where ``blocks`` names
    the ``features`` transformers whose columns the member sees (``None``: all) — and blend their
    log-probabilities with weights and class biases fitted on ``cv``-fold out-of-fold scores.

    ``features`` is a ``ColumnTransformer`` over the table (``None``: the input is already a
    numeric matrix). ``n_jobs`` runs the members' fold fits in parallel processes (joblib).

    A member whose columns are all zero on the training rows is left out: its entry in
    ``members_`` is ``None`` and its weight 0.

    With ``balance_from``, when every class has at least that many training rows, the members
    are fitted class-balanced (each of their ``class_weight`` parameters set to ``"balanced"``;
    the blend's class biases then restore calibrated probabilities), and ``group_block``, a
    ``features`` transformer of L2-normalised rows (TF-IDF), groups the out-of-fold splits:
    rows whose vectors there have a cosine of at least ``group_similarity`` (near-duplicates,
    such as the statements one paper gives for several variants) are held out together, so the
    blend learns how far to trust members that lean on a minority class's rows from texts unlike
    those they learned from. A class of a few rows is not balanced: its weight would be its rows
    repeated hundreds of times. ``balanced_`` says whether the fit was.
    """

    def __init__(
        self,
        *,
        features: Any = None,
        members: Any = (),
        cv: int = 5,
        random_state: int = 0,
        n_jobs: int | None = None,
        balance_from: int | None = None,
        group_block: str | None = None,
        group_similarity: float = 0.7,
    ) -> None:
        self.features = features
        self.members = members
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.balance_from = balance_from
        self.group_block = group_block
        self.group_similarity = group_similarity

    def _matrix(self, X: Any, y: Any = None, *, fitting: bool) -> Any:
        if self.features is None:
            return validate_data(self, X, accept_sparse="csr", reset=fitting)
        if fitting:
            self.features_ = clone(self.features)
            Z = self.features_.fit_transform(X, y)
            self.n_features_in_ = getattr(self.features_, "n_features_in_", None)
        else:
            Z = transform_features(self.features_, X)
        return Z.tocsr() if sp.issparse(Z) else np.asarray(Z, dtype=float)

    def _columns(self, blocks: Any, width: int) -> np.ndarray:
        if blocks is None:
            return np.arange(width)
        if self.features is None:
            raise ValueError("member blocks need a `features` ColumnTransformer to name them")
        indices = self.features_.output_indices_
        unknown = [b for b in blocks if b not in indices]
        if unknown:
            raise ValueError(f"member blocks {unknown} are not transformers of `features`")
        return np.concatenate([np.arange(width)[indices[b]] for b in blocks])

    def _member_input(self, Z: Any, columns: np.ndarray) -> Any:
        part = Z[:, columns]
        # Narrow blocks are dense features; trees split them faster dense than as CSR.
        if sp.issparse(part) and part.shape[1] <= 2000:
            return part.toarray()
        return part

    def fit(self, X: Any, y: Any) -> BlendedClassifier:
        if not self.members:
            raise ValueError("BlendedClassifier needs at least one member")
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("only 1 class in y: a classifier needs two or more")
        if len(y) < 2:
            raise ValueError(f"n_samples={len(y)}: blending needs at least 2 samples")
        Z = self._matrix(X, y, fitting=True)
        self.balanced_ = self.balance_from is not None and int(np.bincount(codes).min()) >= self.balance_from
        estimators = [_balanced(e) if self.balanced_ else e for _, e, _ in self.members]
        groups = None
        if self.balanced_ and self.group_block is not None:
            block = Z[:, self._columns((self.group_block,), Z.shape[1])]
            groups = similar_groups(block, self.group_similarity)
        folds = calibration_folds(codes, self.cv, self.random_state, groups)
        self.columns_ = [self._columns(blocks, Z.shape[1]) for _, _, blocks in self.members]
        parts = [self._member_input(Z, columns) for columns in self.columns_]
        # A member whose columns are all zero on the training rows (the statements' embedding on
        # a corpus of articles) has nothing to learn: it is left out, with weight 0, unfitted.
        # If every member is, all are fitted (each then learns the class prior).
        used = [m for m, part in enumerate(parts) if _any_nonzero(part)] or list(range(len(parts)))
        # Every member's fold fits and final fit are independent: one batch of jobs, so with
        # n_jobs=2 both cores fit while the features (computed once, above) are shared.
        jobs = [
            delayed(fold_scores)(estimators[m], parts[m], y, train, held, self.classes_)
            for m in used
            for train, held in folds
        ] + [delayed(fitted)(estimators[m], parts[m], y) for m in used]
        results = Parallel(n_jobs=self.n_jobs)(jobs)
        scores = []
        for u in range(len(used)):
            oof = np.zeros((len(y), len(self.classes_)))
            for f, (_, held) in enumerate(folds):
                oof[held] = results[u * len(folds) + f]
            scores.append(oof)
        final = results[len(used) * len(folds) :]
        weights, self.bias_ = fit_blend(scores, codes, bias=True)
        self.members_ = [None] * len(self.members)
        self.weights_ = np.zeros(len(self.members))
        for u, m in enumerate(used):
            self.members_[m] = final[u]
            self.weights_[m] = weights[u]
        return self

    def member_scores(self, X: Any) -> list[np.ndarray]:
        """Each member's centred log-probabilities (before weights), aligned to ``classes_``."""
        check_is_fitted(self, "members_")
        Z = self._matrix(X, fitting=False)
        out = []
        for member, columns in zip(self.members_, self.columns_, strict=True):
            if member is None:  # left out at fit: it adds nothing (weight 0)
                out.append(np.zeros((Z.shape[0], len(self.classes_))))
                continue
            scores = class_scores(member, self._member_input(Z, columns), self.classes_)
            out.append(scores - scores.mean(axis=1, keepdims=True))
        return out

    def _logits(self, X: Any) -> np.ndarray:
        scores = self.member_scores(X)
        return sum(w * s for w, s in zip(self.weights_, scores, strict=True)) + self.bias_

    @property
    def member_weights(self) -> dict[str, float]:
        check_is_fitted(self, "weights_")
        return {name: float(w) for (name, _, _), w in zip(self.members, self.weights_, strict=True)}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.features is None
        if self.features is not None:
            tags.input_tags.string = True
            tags.input_tags.two_d_array = False
        return tags
