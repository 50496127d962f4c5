"""Bag-of-words and TF-IDF that survive corpora with little or no text.

Kaggle's variants are often used without their articles: every text is empty and scikit-learn's
vectorizers refuse to fit ("empty vocabulary"). Here that yields zero columns instead, so a recipe
that reads text still trains and predicts on gene and variation alone. The empty case is one
all-zero column (not zero columns, which ColumnTransformer cannot stack).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from oncoclass.features.text import clean_text


def _documents(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        X = X.iloc[:, 0]
    return ["" if v is None else str(v) for v in np.ravel(np.asarray(X, dtype=object))]


class TextVectorizer(TransformerMixin, BaseEstimator):
    """``kind="tfidf"`` (sublinear TF-IDF) or ``"counts"`` (bag of words) over cleaned text."""

    def __init__(
        self,
        *,
        kind: str = "tfidf",
        min_df: int = 2,
        max_df: float = 0.95,
        max_features: int | None = 50000,
        ngram_max: int = 1,
        stop_words: str | None = "english",
    ) -> None:
        self.kind = kind
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.stop_words = stop_words

    def _make(self, min_df: int, max_df: float) -> CountVectorizer:
        cls = TfidfVectorizer if self.kind == "tfidf" else CountVectorizer
        extra: dict[str, Any] = {"sublinear_tf": True} if self.kind == "tfidf" else {}
        return cls(
            preprocessor=clean_text,
            stop_words=self.stop_words,
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
