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

from oncoclass.features.target import ResponseCoder
from oncoclass.variation import kind_group, parse

TIERS: tuple[str, ...] = ("variant", "position", "kind", "gene")
#: The tiers a model reads by default. The kind and gene tiers measured no gain (on CIViC and
#: Kaggle): what a gene's other changes say, the one-hot gene and the neighbour features already say.
CLOSE_TIERS: tuple[str, ...] = ("variant", "position")
#: What an item without a curated label counts as (a hotspot, a summary): its presence is knowledge.
UNLABELLED = "-"
#: The ``evidence`` lines ``kinds|<kind group>|<n>``: the store's labelled items on the row's gene
#: by kind of change, counted whole (:func:`oncoclass.kb.search.labelled_kinds`), not retrieved.
KINDS_LINE = "kinds"


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
    times), and ``log1p`` of the tier's item count.

    With ``labelled_total``, one more column: ``log1p`` of the row's labelled items over every
    tier (items with a curated label, not hotspots or summaries) among those retrieved for it
    (at most ``retrieve.FEATURE_HITS``, closest tiers first), that is how much curated evidence
    the store holds on the row's gene, up to that bound (a gene as studied as BRAF reaches it).
    A gene the store says nothing about is less likely a known cancer gene, which is what a
    variant of a gene never seen in training has left to go on.
    """

    def __init__(
        self, *, min_count: int = 2, tiers: tuple[str, ...] = CLOSE_TIERS, labelled_total: bool = False
    ) -> None:
        self.min_count = min_count
        self.tiers = tiers
        self.labelled_total = labelled_total

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
        # Models saved before `labelled_total` existed have no such attribute: they had no column.
        labelled = bool(getattr(self, "labelled_total", False))
        values = _column(X)
        out = np.zeros((len(values), width * len(tiers) + int(labelled)))
        for row, value in enumerate(values):
            totals = dict.fromkeys(tiers, 0)
            lines = _lines(value)
            if labelled:
                out[row, -1] = np.log1p(sum(not token.endswith("|" + UNLABELLED) for _, token in lines))
            for tier, token in lines:
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
        if getattr(self, "labelled_total", False):
            names.append("labelled evidence count, all tiers")
        return np.asarray(names, dtype=object)


#: What a source's items say of a row's residue, closest first (see :class:`HotspotFeatures`).
STATUSES: tuple[str, ...] = ("variant", "residue", "gene", "none")


def _status(lines: list[tuple[str, str]], source: str) -> tuple[str, int, int]:
    """``(status, items on the change, items on the residue)`` of ``source`` in one row's lines."""
    on_variant = on_residue = elsewhere = 0
    for tier, token in lines:
        if token.partition("|")[0] != source:
            continue
        if tier == "variant":
            on_variant += 1
        elif tier == "position":
            on_residue += 1
        else:
            elsewhere += 1
    on_residue += on_variant
    status = "variant" if on_variant else "residue" if on_residue else "gene" if elsewhere else "none"
    return status, on_variant, on_residue


class HotspotFeatures(TransformerMixin, BaseEstimator):
    """What an unlabelled positional source in the store (by default the cancer hotspots table:
    residues recurrently mutated across tumours) says of a row's residue, read from the
    ``evidence`` lines beside ``gene`` and ``variation``: whether ``source`` holds the exact
    change, whether it holds the residue, and ``log1p`` of its items on the residue (how many
    different changes recur there), counted apart from the labelled items those tiers also hold.

    ``keys`` adds, response coded (:class:`~oncoclass.features.target.ResponseCoder`, out of fold
    in ``fit_transform``), the classes of training rows sharing that status (``"variant"``,
    ``"residue"``, ``"gene"``: the source holds other residues of the gene, or ``"none"``) and
    the gene and kind of change (``"gene_kind"``), the gene (``"gene"``) or the kind (``"kind"``).
    None by default: on Kaggle's variants ``("gene_kind", "kind")`` lowered 5-fold CV log loss
    (0.9395 to 0.9365) but raised it on genes left out (1.6297 to 1.6457); with the text-free
    member's present columns, 0.9305 to 0.9270 and 1.5920 to 1.6030 (benchmarks/hotspots.py,
    2026-11-27).

    Fitted on rows none of whose residues the source holds (no store, or one without the
    source), it gives one column of zeros: the model is then the one it was without it.
    """

    def __init__(
        self, *, source: str = "hotspots", keys: tuple[str, ...] = (),
        alpha: float = 1.0, n_splits: int = 5, random_state: int = 0,
    ) -> None:  # fmt: skip
        self.source = source
        self.keys = keys
        self.alpha = alpha
        self.n_splits = n_splits
        self.random_state = random_state

    def _read(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        genes = [str(g).upper().strip() for g in X["gene"]]
        kinds = [kind_group(parse(str(v)).kind) for v in X["variation"]]
        dense = np.zeros((len(genes), 3))
        statuses = []
        for row, value in enumerate(_column(X["evidence"])):
            status, on_variant, on_residue = _status(_lines(value), self.source)
            dense[row] = (float(on_variant > 0), float(on_residue > 0), np.log1p(on_residue) / 4.0)
            statuses.append(status)
        columns = {
            "gene_kind": [f"{g}|{k}|{s}" for g, k, s in zip(genes, kinds, statuses, strict=True)],
            "gene": [f"{g}|{s}" for g, s in zip(genes, statuses, strict=True)],
            "kind": [f"{k}|{s}" for k, s in zip(kinds, statuses, strict=True)],
        }
        return dense, pd.DataFrame({key: columns[key] for key in self.keys}, index=range(len(genes)))

    def _coder(self) -> ResponseCoder:
        return ResponseCoder(alpha=self.alpha, n_splits=self.n_splits, random_state=self.random_state)

    def fit(self, X: pd.DataFrame, y: Any) -> HotspotFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray:
        unknown = sorted(set(self.keys) - {"gene_kind", "gene", "kind"})
        if unknown:
            raise ValueError(f"unknown keys {unknown}: choose among gene_kind, gene and kind.")
        dense, keys = self._read(X)
        self.coder_ = self._coder()
        if self.keys:
            coded = self.coder_.fit_transform(keys, y)
            self.classes_ = self.coder_.classes_
        else:
            coded = np.zeros((len(dense), 0))
            self.classes_ = np.unique(np.asarray(y))
        # Trained without the source (no store, or a store without it): one empty column (a
        # ColumnTransformer refuses none), rather than copies of the neighbour features' keys.
        self.used_ = bool(dense[:, 1].any())
        return np.hstack([dense, coded]) if self.used_ else np.zeros((len(dense), 1))

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "coder_")
        dense, keys = self._read(X)
        if not self.used_:
            return np.zeros((len(dense), 1))
        if not self.keys:
            return dense
        return np.hstack([dense, self.coder_.encode_columns([keys[c].to_numpy() for c in keys.columns])])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "coder_")
        if not self.used_:
            return np.asarray([f"{self.source}: none in training"], dtype=object)
        s = self.source
        names = [f"{s} hold the change", f"{s} hold the residue", f"{s} items on the residue"]
        for key in (k.replace("_", "+") + "+" + s for k in self.keys):
            names += [f"{key}=class {c}" for c in self.classes_] + [f"{key} count"]
        return np.asarray(names, dtype=object)


#: The kinds of change that say a gene acts by losing its protein (a tumour suppressor's) or by
#: gaining one (an oncogene's), and missense (where the literature's study of a gene's residues
#: goes): :func:`oncoclass.variation.kind_group` values.
GENE_ROLES: dict[str, frozenset[str]] = {
    "loss": frozenset({"truncating", "loss", "gene_deletion", "underexpression"}),
    "gain": frozenset({"amplification", "overexpression", "fusion"}),
    "missense": frozenset({"missense"}),
}


class GeneKindFeatures(TransformerMixin, BaseEstimator):
    """What kinds of change the store's curated evidence on a row's gene is about: the shares of
    its labelled items whose change is a loss (truncating, deletion, loss, underexpression), a
    gain (amplification, overexpression, fusion) or missense, read from the ``kinds|group|n``
    lines of the ``evidence`` column, each pulled toward the mix over the genes seen in ``fit``
    as if ``shrinkage`` more items had that mix (a gene with two items says little).

    A gene whose literature is mostly truncating changes and deletions is a tumour suppressor's,
    one of amplifications and fusions an oncogene's: knowledge of the gene that a variant of a
    gene never seen in training has nothing else to give. The counts hold no labels, only the
    kinds of the changes the evidence is about, and leave out the row's own item and its paper's.
    Chosen by cross-validation on Kaggle's training variants with a store of the CIViC 2018-11
    export and the hotspots table (the text-free member; benchmarks/hotspots.py, 2026-11-27):
    5-fold CV log loss 0.9303 -> 0.9302 and genes left out 1.5905 -> 1.5354 (accuracy 0.361 ->
    0.413). A prototype pulling toward the store-wide mix measured the choices: two more split
    seeds (5-fold 0.9379 -> 0.9382 and 0.9258 -> 0.9272; genes left out 1.5957 -> 1.5463 and
    1.5891 -> 1.5394); ``shrinkage`` 2, 5, 10, 20 (genes left out 1.538, 1.538, 1.543, 1.550); the
    shares unshrunk (1.560) or counted over the gene's distinct variants (1.567); the hotspots
    table's kinds instead (1.600, no gain).

    Fitted on rows without such lines (no store), it gives one column of zeros.
    """

    def __init__(self, *, shrinkage: float = 5.0) -> None:
        self.shrinkage = shrinkage

    def _counts(self, X: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
        genes = [str(g).upper().strip() for g in X["gene"]]
        roles = np.zeros((len(genes), len(GENE_ROLES)))
        totals = np.zeros(len(genes))
        for row, value in enumerate(_column(X["evidence"])):
            for line in value.split("\n"):
                tag, _, rest = line.partition("|")
                group, _, n = rest.partition("|")
                if tag != KINDS_LINE or not n.isdigit():
                    continue
                totals[row] += int(n)
                for r, kinds in enumerate(GENE_ROLES.values()):
                    if group in kinds:
                        roles[row, r] += int(n)
        return genes, roles, totals

    def fit(self, X: pd.DataFrame, y: Any = None) -> GeneKindFeatures:
        if not self.shrinkage > 0:
            # Unshrunk, a gene the store says nothing of would be 0 / 0.
            raise ValueError(f"shrinkage must be above 0, not {self.shrinkage}.")
        genes, roles, totals = self._counts(X)
        # Each gene once: a gene with many training rows is not a more typical gene.
        first = np.unique(np.asarray(genes, dtype=object), return_index=True)[1]
        self.used_ = bool(totals[first].sum() > 0)
        self.mix_ = (
            roles[first].sum(axis=0) / totals[first].sum() if self.used_ else np.zeros(len(GENE_ROLES))
        )
        self.n_features_in_ = 2
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "mix_")
        _, roles, totals = self._counts(X)
        if not self.used_:
            return np.zeros((len(totals), 1))
        return (roles + self.shrinkage * self.mix_) / (totals[:, None] + self.shrinkage)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "mix_")
        if not self.used_:
            return np.asarray(["store's kinds of change on the gene: none in training"], dtype=object)
        return np.asarray(
            [f"store's evidence on the gene: share of {role} changes" for role in GENE_ROLES], dtype=object
        )
