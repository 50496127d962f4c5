"""Numeric features from the variation grammar: kind, position, and the residue change."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from oncoclass.variation import KINDS, Variation, parse

# Kyte-Doolittle hydropathy, side-chain volume (Å^3), charge at pH 7, polarity (Grantham).
_HYDROPATHY = dict(
    zip(
        "ARNDCQEGHILKMFPSTWYV",
        (
            1.8,
            -4.5,
            -3.5,
            -3.5,
            2.5,
            -3.5,
            -3.5,
            -0.4,
            -3.2,
            4.5,
            3.8,
            -3.9,
            1.9,
            2.8,
            -1.6,
            -0.8,
            -0.7,
            -0.9,
            -1.3,
            4.2,
        ),
        strict=True,
    )
)
_VOLUME = dict(
    zip(
        "ARNDCQEGHILKMFPSTWYV",
        (
            88.6,
            173.4,
            114.1,
            111.1,
            108.5,
            143.8,
            138.4,
            60.1,
            153.2,
            166.7,
            166.7,
            168.6,
            162.9,
            189.9,
            112.7,
            89.0,
            116.1,
            227.8,
            193.6,
            140.0,
        ),
        strict=True,
    )
)
_CHARGE = {"R": 1.0, "K": 1.0, "H": 0.1, "D": -1.0, "E": -1.0}
_POLARITY = dict(
    zip(
        "ARNDCQEGHILKMFPSTWYV",
        (
            8.1,
            10.5,
            11.6,
            13.0,
            5.5,
            10.5,
            12.3,
            9.0,
            10.4,
            5.2,
            4.9,
            11.3,
            5.7,
            5.2,
            8.0,
            9.2,
            8.6,
            5.4,
            6.2,
            5.9,
        ),
        strict=True,
    )
)

NUMERIC_NAMES = (
    "has_position",
    "log_position",
    "log_length",
    "blosum62",
    "d_hydropathy",
    "abs_d_hydropathy",
    "d_volume",
    "d_charge",
    "d_polarity",
    "ref_special",
    "alt_special",
    "n_partners",
)


@lru_cache(maxsize=1)
def blosum62() -> Any:
    """BLOSUM62 from Biopython's bundled matrices (a data file in the package: works offline)."""
    from Bio.Align import substitution_matrices

    return substitution_matrices.load("BLOSUM62")


def variation_vector(v: Variation) -> list[float]:
    kinds = [1.0 if v.kind == k else 0.0 for k in KINDS]
    has_pos = v.start is not None
    ref, alt = v.ref[:1], v.alt[:1]
    point = ref in _VOLUME and alt in _VOLUME
    if point:
        score = float(blosum62()[ref][alt])
        d_h = _HYDROPATHY[alt] - _HYDROPATHY[ref]
        d_v = (_VOLUME[alt] - _VOLUME[ref]) / 100.0
        d_c = _CHARGE.get(alt, 0.0) - _CHARGE.get(ref, 0.0)
        d_p = (_POLARITY[alt] - _POLARITY[ref]) / 5.0
    elif alt == "*":
        score, d_h, d_v, d_c, d_p = -4.0, 0.0, 0.0, 0.0, 0.0
    else:
        score, d_h, d_v, d_c, d_p = 0.0, 0.0, 0.0, 0.0, 0.0
    numeric = [
        1.0 if has_pos else 0.0,
        np.log1p(v.start) / 8.0 if has_pos else 0.0,
        np.log1p(v.length) / 8.0,
        score / 4.0,
        d_h / 4.0,
        abs(d_h) / 4.0,
        d_v,
        d_c,
        d_p,
        1.0 if ref in ("C", "G", "P") else 0.0,
        1.0 if alt in ("C", "G", "P") else 0.0,
        float(len(v.partners)),
    ]
    return kinds + numeric


class VariationFeatures(TransformerMixin, BaseEstimator):
    """Kind one-hot plus position and residue-change properties (BLOSUM62, hydropathy, …).

    ``numeric`` names the numeric columns kept, among :data:`NUMERIC_NAMES` (``None``: all of
    them), in that order. Takes the canonical table (or any frame with a ``variation`` column);
    learns nothing but which columns it gives, so it is safe anywhere in a pipeline.
    """

    def __init__(self, *, column: str = "variation", numeric: tuple[str, ...] | None = None) -> None:
        self.column = column
        self.numeric = numeric

    def _kept(self) -> list[int]:
        # Models saved before `numeric` existed have no such attribute: they kept every column.
        numeric = getattr(self, "numeric", None)
        if numeric is None:
            return list(range(len(NUMERIC_NAMES)))
        unknown = sorted(set(numeric) - set(NUMERIC_NAMES))
        if unknown:
            raise ValueError(f"unknown numeric columns {unknown}: choose among {', '.join(NUMERIC_NAMES)}.")
        wanted = set(numeric)
        return [i for i, name in enumerate(NUMERIC_NAMES) if name in wanted]

    def _numeric(self) -> list[int]:
        """The numeric columns given: as fitted, or (a model fitted before ``numeric_``) all."""
        kept = getattr(self, "numeric_", None)
        return kept if kept is not None else self._kept()

    def fit(self, X: pd.DataFrame, y: Any = None) -> VariationFeatures:
        self.numeric_ = self._kept()
        self.n_features_out_ = len(KINDS) + len(self.numeric_)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        values = X[self.column] if isinstance(X, pd.DataFrame) else pd.Series(np.ravel(X))
        columns = list(range(len(KINDS))) + [len(KINDS) + i for i in self._numeric()]
        rows = [variation_vector(parse(str(v))) for v in values]
        full = np.asarray(rows, dtype=float).reshape(len(rows), len(KINDS) + len(NUMERIC_NAMES))
        return full if len(columns) == full.shape[1] else full[:, columns]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        numeric = [NUMERIC_NAMES[i] for i in self._numeric()]
        return np.asarray([f"kind={k}" for k in KINDS] + numeric, dtype=object)
