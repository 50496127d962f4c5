"""Labels that name a group and a value (CIViC's ``Predictive: Sensitivity/Response``), learned as
two linked outputs.

CIViC's label is an evidence type and a significance that only makes sense within its type
(``Resistance`` is predictive, ``Poor Outcome`` prognostic). One flat model over the nineteen
pairs shares nothing between ``Predictive: Sensitivity/Response`` and ``Predictive: Resistance``,
although a statement's drugs and words say "predictive" for both. Here one copy of the model
learns the type (every row teaches it), another the pair, and the pair's probability is the
type's probability shared out in the proportions the pair model gives within that type:

``P(type: value) = P(type) * P(type: value) / sum of P(type: v) over the type's values``

Measured with benchmarks/accuracy.py's splits on the CIViC 2018-11 export (2026-11-27, the
default recipe): citation-grouped 5-fold CV log loss 0.593 -> 0.545 (six-label macro-F1 0.786 ->
0.800), time split 0.310 -> 0.303.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

#: What separates a label's group from its value (CIViC's ``Type: Significance``).
SEPARATOR = ": "


def label_groups(labels: Any, separator: str = SEPARATOR) -> np.ndarray | None:
    """Each label's group, or None when the labels are not linked: some label has no separator,
    or there is a single group, or every group holds a single label (nothing to share out)."""
    labels = [str(label) for label in labels]
    if not labels or not all(separator in label for label in labels):
        return None
    groups = np.asarray([label.split(separator, 1)[0] for label in labels], dtype=object)
    distinct = len(set(groups))
    if distinct < 2 or distinct == len(labels):
        return None
    return groups


def unlinked(model: Any) -> Any:
    """``model``, or the one model inside a :class:`LinkedLabels` whose labels were not linked
    (it predicts exactly as that model does, so it is explained as that model is)."""
    if isinstance(model, LinkedLabels) and getattr(model, "groups_model_", True) is None:
        return model.labels_model_
    return model


class LinkedLabels(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted twice: on the labels, and on their groups (the part before
    ``separator``); the label's probability is its group's, shared out within the group as the
    label model's probabilities are. Labels that are not ``group: value`` pairs (Kaggle's
    classes, evidence levels) are learned by the label model alone, as ``estimator`` would.
    """

    def __init__(self, *, estimator: Any = None, separator: str = SEPARATOR) -> None:
        self.estimator = estimator
        self.separator = separator

    @property
    def n_jobs(self) -> Any:
        # TextGated fits its text-free member beside a member that runs its fits in workers.
        return getattr(self.estimator, "n_jobs", None)

    def fit(self, X: Any, y: Any) -> LinkedLabels:
        y = np.asarray(y)
        self.labels_model_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.labels_model_.classes_
        groups = label_groups(self.classes_, self.separator)
        self.groups_model_: Any = None
        if groups is not None:
            of_label = dict(zip(self.classes_.tolist(), groups.tolist(), strict=True))
            self.groups_model_ = clone(self.estimator).fit(X, np.asarray([of_label[v] for v in y.tolist()]))
            known = [str(g) for g in self.groups_model_.classes_]
            self.group_index_ = np.asarray([known.index(g) for g in groups], dtype=np.int64)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.labels_model_, name):
                setattr(self, name, getattr(self.labels_model_, name))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "labels_model_")
        proba = np.asarray(self.labels_model_.predict_proba(X), dtype=float)
        if self.groups_model_ is None:
            return proba
        groups = np.asarray(self.groups_model_.predict_proba(X), dtype=float)
        out = np.empty_like(proba)
        for group in range(groups.shape[1]):
            members = self.group_index_ == group
            within = proba[:, members]
            total = within.sum(axis=1, keepdims=True)
            # A group whose labels all got zero (never, from a calibrated model) shares evenly.
            share = np.where(total > 0, within / np.where(total > 0, total, 1.0), 1.0 / members.sum())
            out[:, members] = groups[:, [group]] * share
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it checks the model is fitted
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            inner = get_tags(self.estimator).input_tags
            tags.input_tags.sparse = inner.sparse
            tags.input_tags.string = inner.string
        return tags
