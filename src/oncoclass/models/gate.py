"""A model that knows which inputs it was trained with: rows with text go to a member that reads
text; rows without go to a member trained for them, on the gene, the variation and the evidence
the store retrieved (and nothing that would be missing), so a text-less row is never scored by a
model that expected a statement."""

from __future__ import annotations

import contextlib
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import _num_samples, check_is_fitted

from oncoclass.data.table import EVIDENCE, TEXT, without_evidence


def _readable(X: Any) -> Any:
    # A table no store was asked about still has the columns the text-free member reads (empty).
    return without_evidence(X) if isinstance(X, pd.DataFrame) and TEXT in X.columns else X


def has_text(X: pd.DataFrame, column: str = TEXT) -> np.ndarray:
    """Which rows carry text (anything but white space); none, for a matrix without columns."""
    if not isinstance(X, pd.DataFrame) or column not in X.columns:
        return np.zeros(_num_samples(X), dtype=bool)
    return X[column].fillna("").astype(str).str.strip().ne("").to_numpy()


class TextGated(ClassifierMixin, BaseEstimator):
    """``with_text`` predicts rows with text; ``without_text`` the rest. Both are fitted on every
    training row (the text-free member never reads the text, so it learns what gene, variation and
    evidence alone say).

    When ``with_text`` runs its fits in worker processes (``n_jobs`` other than ``None`` or 1),
    ``without_text`` is fitted beside it, from a thread.

    ``cut`` (optional, never fitted) names what the members read of a long text: an object with
    ``reduce(gene, variation, text)`` (:class:`~oncoclass.features.text.ArticleText`) that the
    loaders apply to each text as it streams in. The members read the same from a cut text as
    from the whole, so the gate itself never applies it.
    """

    def __init__(
        self, *, with_text: Any = None, without_text: Any = None, text_column: str = TEXT, cut: Any = None
    ) -> None:
        self.with_text = with_text
        self.without_text = without_text
        self.text_column = text_column
        self.cut = cut

    def fit(self, X: pd.DataFrame, y: Any) -> TextGated:
        X = _readable(X)
        if getattr(self.with_text, "n_jobs", None) in (None, 1):
            self.with_text_ = clone(self.with_text).fit(X, y)
            self.without_text_ = clone(self.without_text).fit(X, y)
        else:
            # The text member's fold fits run in worker processes, which wait while this process
            # computes its features: the text-free member is fitted meanwhile, from a thread (its
            # own fold fits join the same workers' queue). Each fit is what it is alone.
            with ThreadPoolExecutor(max_workers=1) as pool:
                without = pool.submit(clone(self.without_text).fit, X, y)
                self.with_text_ = clone(self.with_text).fit(X, y)
                self.without_text_ = without.result()
        if list(self.with_text_.classes_) != list(self.without_text_.classes_):
            raise ValueError("the members learned different classes")
        self.classes_ = self.with_text_.classes_
        self.n_features_in_ = X.shape[1] if hasattr(X, "shape") else np.asarray(X).shape[1]
        if hasattr(self.with_text_, "feature_names_in_"):
            self.feature_names_in_ = self.with_text_.feature_names_in_
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        members = [m for m in (self.with_text, self.without_text) if m is not None]
        if members:  # the gate accepts what both members accept
            inner = [get_tags(m).input_tags for m in members]
            tags.input_tags.sparse = all(t.sparse for t in inner)
            tags.input_tags.string = all(t.string for t in inner)
        return tags

    def member_for(self, X: pd.DataFrame) -> Any:
        """The member that predicts a one-row ``X``."""
        check_is_fitted(self, "classes_")
        return self.with_text_ if has_text(X, self.text_column)[0] else self.without_text_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "classes_")
        X = _readable(X)
        given = has_text(X, self.text_column)
        out = np.zeros((_num_samples(X), len(self.classes_)))
        if given.any():
            out[given] = self.with_text_.predict_proba(X[given])
        if (~given).any():
            out[~given] = self.without_text_.predict_proba(X[~given] if given.any() else X)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it checks the model is fitted
        return self.classes_[np.argmax(proba, axis=1)]


def _columns_read(estimator: Any, seen: set[int] | None = None) -> set[str]:
    """The input columns a fitted model's column transformers select, wherever they sit in it
    (pipelines, blends, calibration, linked labels): found by walking its fitted parts."""
    from sklearn.compose import ColumnTransformer

    seen = set() if seen is None else seen
    if id(estimator) in seen:
        return set()
    seen.add(id(estimator))
    found: set[str] = set()
    if isinstance(estimator, ColumnTransformer) and hasattr(estimator, "transformers_"):
        for _, transformer, columns in estimator.transformers_:
            if isinstance(transformer, str) and transformer == "drop":
                continue
            found |= {columns} if isinstance(columns, str) else {c for c in columns if isinstance(c, str)}
    if isinstance(estimator, BaseEstimator):
        children: Any = vars(estimator).values()
    elif isinstance(estimator, list | tuple):
        children = estimator
    else:
        return found
    for child in children:
        if isinstance(child, BaseEstimator | list | tuple):
            found |= _columns_read(child, seen)
    return found


#: Whether a fitted member reads the evidence column: walking a model costs ~2 ms, paid by every
#: service request otherwise; a fitted member never changes (a refit makes new members).
_READS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _reads(member: Any) -> bool:
    try:
        return _READS[member]
    except (KeyError, TypeError):  # TypeError: an object that cannot be weakly referenced
        reads = EVIDENCE in _columns_read(member)
    with contextlib.suppress(TypeError):
        _READS[member] = reads
    return reads


def reads_evidence(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Which rows of ``X`` are predicted by a member that reads the store's evidence: a gated
    model's text-free member does; its text member (the default's) does not, so a row with text
    draws on none of the evidence retrieved for it, whatever was retrieved."""
    if isinstance(model, TextGated):
        given = has_text(X, model.text_column)
        return np.where(given, _reads(model.with_text_), _reads(model.without_text_))
    return np.full(_num_samples(X), _reads(model), dtype=bool)
