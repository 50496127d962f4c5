"""Text features: cleaning for bag-of-words, and the sentences around a variant's mentions.

Kaggle's articles are long (~50 KB) and one article often discusses several variants; the
sentences that name the variant (or, failing that, its gene) carry most of the evidence for it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from oncoclass.variation import parse

_NON_WORD = re.compile(r"[^a-z0-9*]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


def clean_text(text: str) -> str:
    """Lower-case, keep letters, digits and ``*``; the classic pipeline's cleaning."""
    return _NON_WORD.sub(" ", str(text).lower()).strip()


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def mention_terms(gene: str, variation: str) -> list[str]:
    """Strings whose presence marks a sentence as being about this variant."""
    terms = [variation.strip()]
    parsed = parse(variation)
    if parsed.start is not None and parsed.ref:
        terms.append(f"{parsed.ref}{parsed.start}")
    terms += list(parsed.partners)
    return [t for t in terms if len(t) >= 2]


def mention_window(text: str, gene: str, variation: str, *, window: int = 1, max_chars: int = 20000) -> str:
    """Sentences that mention the variation (±``window`` sentences); the gene's if none does."""
    if not text:
        return ""
    sentences = split_sentences(text)
    terms = [t.lower() for t in mention_terms(gene, variation)]
    lowered = [s.lower() for s in sentences]
    hits = [i for i, s in enumerate(lowered) if any(t in s for t in terms)]
    if not hits and gene:
        g = gene.lower()
        hits = [i for i, s in enumerate(lowered) if g in s]
    keep: set[int] = set()
    for i in hits:
        keep.update(range(max(0, i - window), min(len(sentences), i + window + 1)))
    out = " ".join(sentences[i] for i in sorted(keep))
    return out[:max_chars]


class MentionWindows(TransformerMixin, BaseEstimator):
    """Table → the text around each row's variant mentions (a 1-D array of strings)."""

    def __init__(self, *, window: int = 1, max_chars: int = 20000) -> None:
        self.window = window
        self.max_chars = max_chars

    def fit(self, X: pd.DataFrame, y: Any = None) -> MentionWindows:
        self.n_features_in_ = 1
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(
            [
                mention_window(t, g, v, window=self.window, max_chars=self.max_chars)
                for t, g, v in zip(X["text"], X["gene"], X["variation"], strict=True)
            ],
            dtype=object,
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(["mention_text"], dtype=object)
