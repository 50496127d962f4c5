"""Features of the evidence the store retrieved for a row (see :mod:`oncoclass.kb.retrieve`).

The ``evidence`` column holds one line per retrieved item, ``tier|source|label``. For each tier
(same variant, same residue, same kind of change, same gene) a row gets the share of each
(source, label) among that tier's items and ``log1p`` of how many there were, so the model learns
how far to trust each tier: out of fold by construction, because in training the store never
returns a row's own evidence or its paper's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

TIERS: tuple[str, ...] = ("variant", "position", "kind", "gene")
#: The tiers a model reads by default. The kind and gene tiers measured no gain (on CIViC and
#: Kaggle): what a gene's other changes say, the one-hot gene and the neighbour features already say.
CLOSE_TIERS: tuple[str, ...] = ("variant", "position")
#: What an item without a curated label counts as (a hotspot, a summary): its presence is knowledge.
UNLABELLED = "-"


def _column(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        X = X.iloc[:, 0]
    values = np.asarray(X, dtype=object).reshape(-1)
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]


def _lines(value: str) -> list[tuple[str, str]]:
    out = []
    for line in value.split("\n"):
        tier, _, rest = line.partition("|")
        if tier in TIERS and rest:
            out.append((tier, rest))
    return out


class EvidenceFeatures(TransformerMixin, BaseEstimator):
    """Per tier in ``tiers``: shares of each ``source|label`` seen in fit (at least ``min_count``
    times), and ``log1p`` of the tier's item count."""

    def __init__(self, *, min_count: int = 2, tiers: tuple[str, ...] = CLOSE_TIERS) -> None:
        self.min_count = min_count
        self.tiers = tiers

    def fit(self, X: Any, y: Any = None) -> EvidenceFeatures:
        counts: dict[str, int] = {}
        for value in _column(X):
            for tier, token in _lines(value):
                if tier in self.tiers:
                    counts[token] = counts.get(token, 0) + 1
        self.tokens_ = sorted(t for t, n in counts.items() if n >= self.min_count)
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "tokens_")
        index = {token: i for i, token in enumerate(self.tokens_)}
        width = len(self.tokens_) + 1
        tiers = list(self.tiers)
        out = np.zeros((len(_column(X)), width * len(tiers)))
        for row, value in enumerate(_column(X)):
            totals = dict.fromkeys(tiers, 0)
            for tier, token in _lines(value):
                if tier not in totals:
                    continue
                totals[tier] += 1
                if token in index:
                    out[row, tiers.index(tier) * width + index[token]] += 1.0
            for t, tier in enumerate(tiers):
                if totals[tier]:
                    out[row, t * width : t * width + width - 1] /= totals[tier]
                out[row, t * width + width - 1] = np.log1p(totals[tier])
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "tokens_")
        names = []
        for tier in self.tiers:
            names += [f"{tier} evidence: {token}" for token in self.tokens_] + [f"{tier} evidence count"]
        return np.asarray(names, dtype=object)
