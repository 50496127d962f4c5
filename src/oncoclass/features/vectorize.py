"""Bag-of-words and TF-IDF that survive corpora with little or no text.

Kaggle's variants are often used without their articles: every text is empty and scikit-learn's
vectorizers refuse to fit ("empty vocabulary"). Here that yields zero columns instead, so a recipe
that reads text still trains and predicts on gene and variation alone. The empty case is one
all-zero column (not zero columns, which ColumnTransformer cannot stack).
"""

from __future__ import annotations

import copy
import threading
import weakref
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from oncoclass.features.text import clean_text, mark_negations

#: Words that reverse what a sentence says ("was not associated with response", "no benefit",
#: "without resistance"). scikit-learn's English stop words drop them, which leaves "not
#: associated with response" reading as "associated with response"; a curator's "Does Not
#: Support" and "Negative" rest on them.
NEGATIONS = frozenset({"no", "not", "nor", "neither", "never", "none", "nothing", "cannot", "without"})

#: ``stop_words`` by name: the English list, or the English list that keeps negations.
STOP_WORDS: dict[str, frozenset[str]] = {
    "english": frozenset(ENGLISH_STOP_WORDS),
    "english-but-negations": frozenset(ENGLISH_STOP_WORDS - NEGATIONS),
}


def _documents(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        X = X.iloc[:, 0]
    return ["" if v is None else str(v) for v in np.ravel(np.asarray(X, dtype=object))]


class TextVectorizer(TransformerMixin, BaseEstimator):
    """``kind="tfidf"`` (sublinear TF-IDF) or ``"counts"`` (bag of words) over cleaned text.

    With ``negation=True`` the words in a negation's scope are terms of their own
    (:func:`~oncoclass.features.text.mark_negations`: "not associated with response" gives
    ``neg_associated`` and ``neg_response``), so "associated" under a "not" is not read as
    "associated"."""

    # Checked by name before any work when a user sets them (`--set …stop_words=french`).
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "kind": [StrOptions({"tfidf", "counts"})],
        "stop_words": [StrOptions(set(STOP_WORDS)), None],
        "negation": ["boolean"],
    }

    def __init__(
        self,
        *,
        kind: str = "tfidf",
        min_df: int = 2,
        max_df: float = 0.95,
        max_features: int | None = 50000,
        ngram_max: int = 1,
        stop_words: str | None = "english",
        negation: bool = False,
    ) -> None:
        self.kind = kind
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.stop_words = stop_words
        self.negation = negation

    def _make(self, min_df: int, max_df: float) -> CountVectorizer:
        cls = TfidfVectorizer if self.kind == "tfidf" else CountVectorizer
        extra: dict[str, Any] = {"sublinear_tf": True} if self.kind == "tfidf" else {}
        return cls(
            preprocessor=mark_negations if self.negation else clean_text,
            stop_words=None if self.stop_words is None else sorted(STOP_WORDS[self.stop_words]),
            min_df=min_df,
            max_df=max_df,
            max_features=self.max_features,
            ngram_range=(1, self.ngram_max),
            token_pattern=r"(?u)\b\w[\w*]+\b",
            dtype=np.float32 if self.kind == "tfidf" else np.int64,
            **extra,
        )

    def fit(self, X: Any, y: Any = None) -> TextVectorizer:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> sp.csr_matrix:
        if self.kind not in ("tfidf", "counts"):
            raise ValueError(f"kind must be 'tfidf' or 'counts', not {self.kind!r}")
        docs = _documents(X)
        self.vectorizer_: CountVectorizer | None = None
        # Small corpora cannot honour min_df/max_df meant for large ones: relax, then give up.
        for min_df, max_df in ((self.min_df, self.max_df), (1, 1.0)):
            try:
                vectorizer = self._make(min_df, max_df)
                out = vectorizer.fit_transform(docs)
            except ValueError:
                continue
            # Plain ints: skops writes each NumPy scalar as its own array file, and a 50,000-term
            # vocabulary of them made saving a model take seconds.
            vectorizer.vocabulary_ = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
            self.vectorizer_ = vectorizer
            return out.tocsr()
        return sp.csr_matrix((len(docs), 1), dtype=np.float32)

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self, "vectorizer_")
        docs = _documents(X)
        if self.vectorizer_ is None:
            return sp.csr_matrix((len(docs), 1), dtype=np.float32)
        return self.vectorizer_.transform(docs).tocsr()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        if self.vectorizer_ is None:
            return np.asarray(["(no text)"], dtype=object)
        return self.vectorizer_.get_feature_names_out()

    # The vocabulary is saved as one array of terms in index order instead of a dict: skops writes
    # each string of a dict as a node of its own, and the default's vocabularies made ~13,000 of
    # them, most of a model's schema and of the time to save and load it.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        vectorizer = state.get("vectorizer_")
        vocabulary = getattr(vectorizer, "vocabulary_", None)
        if isinstance(vocabulary, dict):
            terms = [""] * len(vocabulary)
            for term, index in vocabulary.items():
                terms[index] = term
            saved = copy.copy(vectorizer)  # the fitted object itself keeps its dict
            del saved.vocabulary_
            state["vectorizer_"] = saved
            state["terms_"] = string_array(terms)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        terms = state.pop("terms_", None)
        super().__setstate__(state)
        if terms is not None and self.vectorizer_ is not None:  # a copy of its own, made by saving
            self.vectorizer_.vocabulary_ = {str(term): index for index, term in enumerate(terms.tolist())}


#: Per fitted estimator, the dicts :func:`value_rows` built: outside the estimator, so that
#: transform leaves it unchanged and the dicts are never saved with a model.
_LOOKUPS: weakref.WeakKeyDictionary[Any, tuple[Any, list[dict[Any, int]]]] = weakref.WeakKeyDictionary()
_LOOKUPS_LOCK = threading.Lock()


def value_rows(estimator: Any, values: list[list[Any]]) -> list[dict[Any, int]]:
    """Per list of known values, a dict value → its position: built on an estimator's first
    transform, then reused until it is fitted again (the service scores one row at a time, and
    indexing every known value per request cost more than the rest of the encoding)."""
    # Refitting makes new lists; the old first one is held here, so its identity is never reused.
    version = values[0] if values else None
    with _LOOKUPS_LOCK:
        found = _LOOKUPS.get(estimator)
    if found is not None and found[0] is version:
        return found[1]
    lookups = [{value: row for row, value in enumerate(known)} for known in values]
    with _LOOKUPS_LOCK:
        _LOOKUPS[estimator] = (version, lookups)
    return lookups


def string_array(values: Any) -> np.ndarray:
    """Strings as one fixed-width NumPy array: a saved model holds it as one array file, where a
    list or object array is a schema node per string (tens of thousands of them made the default's
    model file 24 MB, most of it JSON, and its saving and loading seconds long). An object array
    instead where fixed width would change a value (a trailing NUL, which NumPy drops) or waste
    much memory (one value far longer than the rest)."""
    strings = [str(v) for v in values]
    width = max(map(len, strings), default=0)
    if any(s.endswith("\x00") for s in strings) or width * len(strings) > 4 * sum(map(len, strings)) + 4096:
        return np.asarray(strings, dtype=object)
    return np.asarray(strings, dtype=f"<U{max(width, 1)}")


def positions(lookup: dict[Any, int], values: Any) -> np.ndarray:
    """Each value's position in one of :func:`value_rows`' dicts; -1 for a value it lacks."""
    return np.fromiter((lookup.get(v, -1) for v in values), dtype=np.intp, count=len(values))


class OneHot(TransformerMixin, BaseEstimator):
    """Each column's values as indicator columns (sparse, float); values unseen in ``fit`` give
    zeros. What ``OneHotEncoder(handle_unknown="ignore")`` gives for string columns, with the
    same categories and feature names, but a dict lookup per value: the service scores one row
    at a time, and OneHotEncoder's per-call checks took milliseconds of it."""

    @staticmethod
    def _frame(X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        array = np.asarray(X, dtype=object)
        if array.ndim != 2:
            raise ValueError(f"Expected a 2D array (rows × columns), got {array.ndim}D. Reshape your data")
        return pd.DataFrame(array)

    def fit(self, X: pd.DataFrame, y: Any = None) -> OneHot:
        # Checked in full here (fitting is rare); transform checks only the column count.
        array = validate_data(self, X, dtype=None, ensure_all_finite=False)
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(array)
        self.categories_ = [string_array(sorted({str(v) for v in frame[c]})) for c in frame.columns]
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        check_is_fitted(self, "categories_")
        frame = self._frame(X)
        if frame.shape[1] != self.n_features_in_:
            expected = self.n_features_in_
            raise ValueError(
                f"X has {frame.shape[1]} features, but OneHot is expecting {expected} features as input"
            )
        rows, columns, offset = [], [], 0
        for i, lookup in enumerate(value_rows(self, self.categories_)):
            found = positions(lookup, [str(v) for v in frame.iloc[:, i]])
            hit = np.flatnonzero(found >= 0)
            rows.append(hit)
            columns.append(found[hit] + offset)
            offset += len(self.categories_[i])
        row, column = np.concatenate(rows), np.concatenate(columns)
        return sp.csr_matrix((np.ones(len(row)), (row, column)), shape=(len(frame), offset))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "categories_")
        names = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray(
            [
                f"{name}_{value}"
                for name, values in zip(names, self.categories_, strict=True)
                for value in values
            ],
            dtype=object,
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags
