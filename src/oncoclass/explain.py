"""What drove a prediction: feature contributions by source, and the sentences that weigh most.

Two methods, and each explanation says which one it used:

* ``exact`` — for linear members (logistic regression, linear SVM) a feature's contribution to a
  class is ``value × coefficient``; for gradient-boosted trees it is the tree SHAP value LightGBM
  computes. Blend weights, temperatures and class biases are applied as the model applies them,
  so contributions plus the baseline sum to the model's (centred) logit for that class. A text
  feature's contribution is shared among the sentences it occurs in, in proportion to its
  occurrences, which gives each sentence a score; n-grams that straddle two sentences stay
  unassigned and are reported as such.
* ``occlusion`` — for any other model: the change in the class's log-probability when a field
  (gene, variation, text, context) or a sentence is blanked. It measures reliance on that input,
  not an additive decomposition, and the explanation says so.

Logits are centred (minus their mean over classes); softmax is unchanged by that, and it makes
contributions comparable across classes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.preprocessing import MaxAbsScaler

from oncoclass.data.table import GENE, TEXT_SOURCE, VARIATION, records_to_table
from oncoclass.data.vocab import class_meanings
from oncoclass.errors import InputError
from oncoclass.features.text import split_sentences
from oncoclass.models.blend import BlendedClassifier, transform_features
from oncoclass.models.calibration import TemperatureCalibrated
from oncoclass.models.gate import TextGated
from oncoclass.models.linked import LinkedLabels, unlinked
from oncoclass.persist import Bundle
from oncoclass.phrases import phrase

if TYPE_CHECKING:
    from oncoclass.kb.store import Store

#: Feature blocks of the recipes' ColumnTransformers, as a curator would name their source.
SOURCES = {
    "grammar": "variation",
    "neighbours": "neighbours",
    "positions": "neighbours",
    "response": "neighbours",
    "text": "text",
    "mention": "text near the mention",
    "document": "text (the whole article's words)",
    "embedding": "text meaning",
    "context": "context",
}
_TEXT_BLOCKS = ("text", "mention", "embedding")  # the embedding: text no sentence holds alone
FIELDS = ("gene", "variation", "text", "context")


@dataclass
class Contribution:
    #: The raw feature name (shown behind a details switch).
    feature: str
    source: str
    value: float
    contribution: float
    #: The feature in a curator's words (oncoclass.phrases).
    phrase: str = ""


@dataclass
class Sentence:
    index: int
    text: str
    score: float


@dataclass
class ClassExplanation:
    label: str
    meaning: str | None
    probability: float
    logit: float
    baseline: float
    by_source: dict[str, float]
    toward: list[Contribution]
    against: list[Contribution]
    sentences: list[Sentence]
    unassigned_text: float = 0.0


@dataclass
class Explanation:
    model_id: str
    recipe: str
    method: str
    note: str
    gene: str
    variation: str
    predicted: str
    probabilities: dict[str, float]
    meanings: dict[str, str] | None = None
    classes: list[ClassExplanation] = field(default_factory=list)
    #: ``given`` (the row's own text), ``retrieved`` (no text; the store's evidence on it) or ``none``.
    text_source: str = "given"
    #: The store's labelled items closest to the variant, what a curator compares with.
    similar: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- how the model turns features into logits ---------------------------------------------------


@dataclass
class _Part:
    """One additive part of the logits: ``weight * centred(coef @ x + intercept)`` or a tree model."""

    kind: str  # "linear" or "trees"
    estimator: Any
    weight: float
    columns: np.ndarray
    scale: np.ndarray | None = None  # per-column factor a scaler applied before a linear model


def _linear_coef(estimator: Any) -> tuple[np.ndarray, np.ndarray] | None:
    coef = getattr(estimator, "coef_", None)
    if coef is None or not hasattr(estimator, "decision_function"):
        return None
    coef = np.asarray(coef, dtype=float)
    intercept = np.atleast_1d(np.asarray(getattr(estimator, "intercept_", 0.0), dtype=float))
    if coef.shape[0] == 1:  # binary: scores are (-z/2, z/2), as calibration.class_scores builds them
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


@dataclass
class _Decomposition:
    prepare: Any  # table -> table: steps before the features (e.g. cutting text to mentions)
    features: Any  # the ColumnTransformer whose output columns are explained
    parts: list[_Part]
    bias: np.ndarray
    note: str


def _unchanged(table: pd.DataFrame) -> pd.DataFrame:
    return table


def _flatten(estimator: Any) -> list[Any]:
    steps = getattr(estimator, "steps", None)
    return [inner for _, step in steps for inner in _flatten(step)] if steps else [estimator]


def _scaled_linear(chain: list[Any]) -> tuple[Any, np.ndarray | None] | None:
    """``(linear model, column factor)`` for a linear model, bare or after MaxAbsScaler steps."""
    *scalers, final = chain
    if _linear_coef(final) is None or not all(isinstance(s, MaxAbsScaler) for s in scalers):
        return None
    scale = None
    for scaler in scalers:
        scale = (1.0 if scale is None else scale) / np.asarray(scaler.scale_, dtype=float)
    return final, scale


def _pipeline_layout(model: Any) -> tuple[Any, Any, list[Any]] | None:
    """``(prepare, features, rest)`` for a pipeline ``[table steps…, features, rest…]``."""
    chain = _flatten(model)
    at = next((i for i, step in enumerate(chain[:-1]) if hasattr(step, "output_indices_")), None)
    if at is None:
        return None
    before = chain[:at]

    def prepare(table: pd.DataFrame) -> pd.DataFrame:
        for step in before:
            table = transform_features(step, table)
        return table

    return prepare if before else _unchanged, chain[at], chain[at + 1 :]


def _parts(model: Any) -> _Decomposition | None:
    """How the model's logits split over its feature columns, when they do so exactly."""
    if isinstance(model, BlendedClassifier):
        parts = []
        for member, columns, weight in zip(model.members_, model.columns_, model.weights_, strict=True):
            if member is None:  # left out at fit (its columns were all zero): contributes nothing
                continue
            linear = _scaled_linear(_flatten(member))
            if linear is not None:
                parts.append(_Part("linear", linear[0], float(weight), columns, linear[1]))
            elif type(member).__name__ == "LGBMClassifier":
                parts.append(_Part("trees", member, float(weight), columns))
            else:
                return None
        # The note names only the kinds of member this model has (the default has no trees).
        kinds = {part.kind for part in parts}
        how = []
        if "linear" in kinds:
            how.append(
                ("linear members contribute" if len(kinds) > 1 else "each member contributes")
                + " value × coefficient (the text embedding's dimensions as one sum)"
            )
        if "trees" in kinds:
            how.append("the LightGBM member contributes its tree SHAP values")
        note = (
            "Exact: the blend's logit for a class is a weighted sum of its members' centred "
            "log-probabilities plus a class bias (weights: "
            + ", ".join(f"{n} {w:.2f}" for n, w in model.member_weights.items())
            + "). "
            + "; ".join(how).capitalize()
            + ". Contributions and baseline sum to the centred logit."
        )
        return _Decomposition(_unchanged, model.features_, parts, np.asarray(model.bias_, dtype=float), note)
    layout = _pipeline_layout(model) if hasattr(model, "steps") else None
    if layout is None:
        return None
    prepare, features, rest = layout
    calibrated = rest[-1] if isinstance(rest[-1], TemperatureCalibrated) else None
    linear = _scaled_linear(rest[:-1] + _flatten(calibrated.estimator_) if calibrated else rest)
    if linear is None:
        return None
    final, scale = linear
    scaled = "" if scale is None else " (values before scaling; the scaler is folded into the coefficient)"
    if calibrated is not None:
        note = (
            "Exact, for the underlying linear model: the model is temperature-calibrated "
            f"(T = {calibrated.temperature_:.2f}, plus a bias per class), so each contribution is "
            f"value × coefficient / T{scaled}. Contributions and baseline sum to the centred logit."
        )
        part = _Part("linear", final, 1.0 / calibrated.temperature_, np.array([], dtype=int), scale)
        return _Decomposition(prepare, features, [part], np.asarray(calibrated.bias_, dtype=float), note)
    note = (
        f"Exact: a linear model; each contribution is value × coefficient{scaled}, summing to the "
        "centred logit."
    )
    part = _Part("linear", final, 1.0, np.array([], dtype=int), scale)
    return _Decomposition(prepare, features, [part], np.zeros(len(final.classes_)), note)


def _centre(matrix: np.ndarray, axis: int) -> np.ndarray:
    return matrix - matrix.mean(axis=axis, keepdims=True)


def _block_of(features: Any, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output column: its block (transformer) name and its feature name."""
    names = np.asarray(features.get_feature_names_out(), dtype=object)
    blocks = np.empty(width, dtype=object)
    for block, index in features.output_indices_.items():
        blocks[index] = block
    local = np.asarray([n.split("__", 1)[1] if "__" in n else n for n in names], dtype=object)
    return blocks, local


def _source(block: str, name: str) -> str:
    if block in ("onehot",):
        return "gene" if name.startswith("gene_") else "variation"
    return SOURCES.get(block, block)


def _contributions(parts: list[_Part], Z: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(contrib[classes, columns], baseline[classes])`` for one row of the feature matrix."""
    width = Z.shape[1]
    contrib = np.zeros((n_classes, width))
    baseline = np.zeros(n_classes)
    row = np.asarray(Z.toarray() if sp.issparse(Z) else Z, dtype=float)[0]
    for part in parts:
        columns = part.columns if len(part.columns) else np.arange(width)
        x = row[columns]
        if part.scale is not None:
            x = x * part.scale
        if part.kind == "linear":
            coef, intercept = _linear_coef(part.estimator)  # type: ignore[misc]
            seen = _class_positions(part.estimator, n_classes)
            c = np.zeros((n_classes, len(columns)))
            c[seen] = coef * x
            b = np.zeros(n_classes)
            b[seen] = intercept
        else:
            raw = np.asarray(part.estimator.predict_proba(x[None, :], pred_contrib=True), dtype=float)
            k = len(part.estimator.classes_)
            if k == 2:  # one raw score z for the positive class: centred log-probs are (-z/2, z/2)
                half = raw.reshape(len(columns) + 1) / 2
                shap = np.vstack([-half, half])
            else:
                shap = raw.reshape(k, len(columns) + 1)
            seen = _class_positions(part.estimator, n_classes)
            c = np.zeros((n_classes, len(columns)))
            c[seen] = shap[:, :-1]
            b = np.zeros(n_classes)
            b[seen] = shap[:, -1]
        contrib[:, columns] += part.weight * _centre(c, axis=0)
        baseline += part.weight * _centre(b[:, None], axis=0)[:, 0]
    return contrib, baseline


def _class_positions(estimator: Any, n_classes: int) -> np.ndarray:
    # Members fitted on every class line up with the model's classes (the blend checks this).
    k = len(estimator.classes_)
    if k != n_classes:
        raise ValueError("explanations need members fitted on every class")
    return np.arange(k)


# --- sentences ------------------------------------------------------------------------------


def _analyzer(features: Any, block: str) -> Any:
    transformer = features.named_transformers_[block]
    if hasattr(transformer, "steps"):
        transformer = transformer.steps[-1][1]
    vectorizer = getattr(transformer, "vectorizer_", None)
    return None if vectorizer is None else vectorizer.build_analyzer()


def _sentence_scores(
    features: Any, blocks: np.ndarray, names: np.ndarray, contrib: np.ndarray, text: str
) -> tuple[list[str], np.ndarray, float]:
    """Each sentence's share of the text blocks' contribution, and what no sentence holds."""
    sentences = split_sentences(text)
    scores = np.zeros(len(sentences))
    total = 0.0
    for block in _TEXT_BLOCKS:
        if block not in features.output_indices_:
            continue
        analyzer = _analyzer(features, block)
        columns = np.flatnonzero(blocks == block)
        block_contrib = contrib[columns]
        total += float(block_contrib.sum())
        if analyzer is None or not np.any(block_contrib):
            continue
        weight = {names[c]: v for c, v in zip(columns, block_contrib, strict=True) if v != 0.0}
        counts = [Counter(t for t in analyzer(s) if t in weight) for s in sentences]
        overall: Counter[str] = Counter()
        for c in counts:
            overall.update(c)
        for i, c in enumerate(counts):
            scores[i] += sum(weight[t] * n / overall[t] for t, n in c.items())
    return sentences, scores, total - float(scores.sum())


# --- the two methods ------------------------------------------------------------------------


@dataclass
class _Split:
    """One row's logits split exactly: ``contrib[class, column]`` plus ``baseline[class]``, with
    each column's block, name and value, and the features whose analyzers find words in the text
    the model read."""

    contrib: np.ndarray
    baseline: np.ndarray
    blocks: np.ndarray
    names: np.ndarray
    values: np.ndarray
    features: Any
    text: str


def _split(model: Any, decomposition: _Decomposition, table: pd.DataFrame) -> _Split:
    features, parts, bias = decomposition.features, decomposition.parts, decomposition.bias
    table = decomposition.prepare(table)  # sentences are then those the model actually read
    Z = transform_features(features, table)
    Z = Z.tocsr() if sp.issparse(Z) else np.asarray(Z, dtype=float)
    contrib, baseline = _contributions(parts, Z, len(model.classes_))
    blocks, names = _block_of(features, Z.shape[1])
    values = np.asarray(Z.toarray() if sp.issparse(Z) else Z, dtype=float)[0]
    return _Split(contrib, baseline + bias, blocks, names, values, features, str(table["text"].iloc[0]))


def _linked_split(
    model: LinkedLabels, table: pd.DataFrame, halves: tuple[_Decomposition, _Decomposition]
) -> _Split:
    """The exact split of a :class:`LinkedLabels` model's logits, when its two models split.

    Its log-probability of label ``l`` of type ``t`` is ``log P(t) + z(l) - LSE(z over t's
    labels)``, ``z`` the label model's logits; and ``LSE(z) = sum p*z + H(p)`` for ``p`` the
    label model's shares within the type. So each column contributes what it gives the type in
    the type model plus what it gives ``l`` beyond the share-weighted mean of the type's labels
    in the label model; the baseline holds the biases and ``-H(p)``. Sums are unchanged: exact.
    The two models' columns are put side by side, the same feature (a word) merged into one.
    ``halves``: the type model's and the label model's decompositions."""
    groups = _split(model.groups_model_, halves[0], table)
    labels = _split(model.labels_model_, halves[1], table)
    logits = labels.contrib.sum(axis=1) + labels.baseline
    width = groups.contrib.shape[1]
    contrib = np.zeros((len(model.classes_), width + labels.contrib.shape[1]))
    baseline = np.zeros(len(model.classes_))
    for group in range(groups.contrib.shape[0]):
        members = np.flatnonzero(model.group_index_ == group)
        share = softmax(logits[members][None, :])[0]
        entropy = -float(np.sum(share * np.log(np.clip(share, 1e-300, None))))
        mean, mean_bias = share @ labels.contrib[members], float(share @ labels.baseline[members])
        contrib[members, :width] = groups.contrib[group]
        contrib[members, width:] = labels.contrib[members] - mean
        baseline[members] = groups.baseline[group] + labels.baseline[members] - mean_bias - entropy
    blocks = np.concatenate([groups.blocks, labels.blocks])
    names = np.concatenate([groups.names, labels.names])
    values = np.concatenate([groups.values, labels.values])
    keys = np.asarray([f"{b}\x00{n}" for b, n in zip(blocks, names, strict=True)], dtype=object)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    merged = np.zeros((contrib.shape[0], len(first)))
    np.add.at(merged.T, inverse, contrib.T)
    order = np.argsort(first)  # the columns in their first order: type model's, then the label's
    kept = first[order]
    # Centred over the labels, as every logit here is (softmax is unchanged by it).
    merged, baseline = _centre(merged[:, order], axis=0), _centre(baseline[:, None], axis=0)[:, 0]
    return _Split(merged, baseline, blocks[kept], names[kept], values[kept], labels.features, labels.text)


def _exact_split(model: Any, table: pd.DataFrame) -> tuple[_Split | None, str]:
    """The exact split of ``model``'s logits for the row, with the note that says how it was
    made; ``(None, "")`` for a model whose logits do not split over its columns."""
    if isinstance(model, LinkedLabels):
        types, inner = _parts(model.groups_model_), _parts(model.labels_model_)
        if types is None or inner is None:
            return None, ""
        return _linked_split(model, table, (types, inner)), (
            "Exact, for two linked models: one gives the type, the other the label within it; a "
            "feature contributes what it gives the type plus what it gives the label beyond the "
            "type's other labels (their probability-weighted mean). Each model: "
            + inner.note[0].lower()
            + inner.note[1:]
        )
    decomposition = _parts(model)
    if decomposition is None:
        return None, ""
    return _split(model, decomposition, table), decomposition.note


def _exact(
    model: Any,
    split: _Split,
    targets: list[int],
    top: int,
    top_sentences: int,
) -> list[ClassExplanation]:
    contrib, baseline, blocks, names, values = (
        split.contrib,
        split.baseline,
        split.blocks,
        split.names,
        split.values,
    )
    features = split.features
    logits = contrib.sum(axis=1) + baseline
    proba = softmax(logits)
    contrib, names, values = _collapse_embedding(blocks, names, values, contrib)
    contrib, names, values = _collapse_shares(blocks, names, values, contrib)
    labels = [str(c) for c in model.classes_]
    out = []
    for k in targets:
        by_source: dict[str, float] = {}
        for j in np.flatnonzero(contrib[k]):
            source = _source(blocks[j], names[j])
            by_source[source] = by_source.get(source, 0.0) + float(contrib[k, j])
        order = np.argsort(contrib[k])

        def item(j: int, k: int = k) -> Contribution:
            return Contribution(
                str(names[j]), _source(blocks[j], names[j]), float(values[j]), float(contrib[k, j])
            )

        toward = [item(j) for j in order[::-1][:top] if contrib[k, j] > 0]
        against = [item(j) for j in order[:top] if contrib[k, j] < 0]
        sentences, scores, unassigned = _sentence_scores(features, blocks, names, contrib[k], split.text)
        out.append(
            ClassExplanation(
                label=labels[k],
                meaning=None,  # set by explain(), which knows the model's target
                probability=float(proba[k]),
                logit=float(logits[k]),
                baseline=float(baseline[k]),
                by_source=_by_magnitude(by_source),
                toward=toward,
                against=against,
                sentences=_strongest(sentences, scores, top_sentences),
                unassigned_text=float(unassigned),
            )
        )
    return out


def _collapse_embedding(
    blocks: np.ndarray, names: np.ndarray, values: np.ndarray, contrib: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One entry for the text embedding: its 384 dimensions mean nothing one by one, but
    their sum is what the text's meaning gave the class (still exact: sums are unchanged)."""
    columns = np.flatnonzero(blocks == "embedding")
    if len(columns) == 0:
        return contrib, names, values
    contrib, names, values = contrib.copy(), names.copy(), values.copy()
    first = columns[0]
    contrib[:, first] = contrib[:, columns].sum(axis=1)
    contrib[:, columns[1:]] = 0.0
    names[first] = "embedding of the text (all-MiniLM-L6-v2, 384 dimensions)"
    values[first] = float(np.linalg.norm(values[columns]))
    return contrib, names, values


#: A neighbour feature that is one class's share of a group of training variants.
_SHARE = re.compile(r"(\w+|within ~[\d.]+ residues)=class (.+)")


def _collapse_shares(
    blocks: np.ndarray, names: np.ndarray, values: np.ndarray, contrib: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One entry per group of neighbours (other EGFR variants at the same residue…) instead of
    one per class's share. A group's shares sum to 1, so the model can say "mostly Resistance"
    through any of them: a single share's coefficient, and so its sign, is not identifiable,
    and shown alone it read backwards (the share labelled Resistance pushing away from
    Resistance). Their sum over the group is what the group gave the class (still exact)."""
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        if SOURCES.get(str(blocks[j])) != "neighbours":  # a text word "x=class y" is not a share
            continue
        match = _SHARE.fullmatch(str(name))
        if match:
            groups.setdefault(match.group(1), []).append(j)
    if not groups:
        return contrib, names, values
    contrib, names, values = contrib.copy(), names.astype(object), values.copy()
    for key, columns in groups.items():
        first, shares = columns[0], values[columns]
        top = columns[int(np.argmax(shares))]
        label = _SHARE.fullmatch(str(names[top])).group(2)  # type: ignore[union-attr]
        contrib[:, first] = contrib[:, columns].sum(axis=1)
        contrib[:, columns[1:]] = 0.0
        values[first] = float(shares.max())
        # Equal shares: the smoothed prior of a group with no labelled variant in training.
        names[first] = f"{key}=none" if np.ptp(shares) < 1e-9 else f"{key}=mostly {label}"
    return contrib, names, values


def _log_proba(proba: np.ndarray) -> np.ndarray:
    return np.log(np.clip(proba, 1e-12, 1.0))


def _by_magnitude(values: dict[str, float]) -> dict[str, float]:
    return dict(sorted(values.items(), key=lambda kv: -abs(kv[1])))


def _strongest(sentences: list[str], scores: np.ndarray, n: int) -> list[Sentence]:
    """The ``n`` sentences with the largest scores in absolute value, leaving out zeros."""
    best = np.argsort(-np.abs(scores))[:n]
    return [Sentence(int(i), sentences[i], float(scores[i])) for i in best if scores[i] != 0.0]


def _occlusion(
    model: Any, table: pd.DataFrame, proba: np.ndarray, targets: list[int], top_sentences: int,
    max_sentences: int,
) -> list[ClassExplanation]:  # fmt: skip
    base = _log_proba(proba)
    variants = [table.assign(**{f: ""}) for f in FIELDS]
    text = str(table["text"].iloc[0])
    sentences = split_sentences(text)[:max_sentences]
    for i in range(len(sentences)):
        kept = " ".join(s for j, s in enumerate(sentences) if j != i)
        variants.append(table.assign(text=kept))
    blanked = _log_proba(model.predict_proba(pd.concat(variants, ignore_index=True)))
    labels = [str(c) for c in model.classes_]
    out = []
    for k in targets:
        effect = base[k] - blanked[:, k]  # > 0: the input raised this class's log-probability
        fields = {f: float(effect[i]) for i, f in enumerate(FIELDS)}
        per_sentence = effect[len(FIELDS) :]
        out.append(
            ClassExplanation(
                label=labels[k],
                meaning=None,  # set by explain(), which knows the model's target
                probability=float(proba[k]),
                logit=float(base[k]),
                baseline=0.0,
                by_source=_by_magnitude(fields),
                toward=[Contribution(f, f, 1.0, v) for f, v in fields.items() if v > 0],
                against=[Contribution(f, f, 1.0, v) for f, v in fields.items() if v < 0],
                sentences=_strongest(sentences, per_sentence, top_sentences),
            )
        )
    return out


def explain(
    bundle: Bundle,
    *,
    gene: str,
    variation: str,
    text: str = "",
    context: str = "",
    disease: str = "",
    drugs: str = "",
    classes: list[str] | None = None,
    top: int = 10,
    top_sentences: int = 5,
    max_sentences: int = 300,
    store: Store | None = None,
) -> Explanation:
    """Explain the model's prediction for one variant: for the predicted class and any in ``classes``.
    With an open evidence ``store``, the row carries the store's evidence as in prediction, and the closest
    labelled items are listed."""
    record = {
        "id": "explain", "gene": gene, "variation": variation, "text": text, "context": context,
        "disease": disease, "drugs": drugs,
    }  # fmt: skip
    table, similar = _with_evidence(records_to_table([record]), store)  # the same row rule as files
    gene, variation = table[GENE].iloc[0], table[VARIATION].iloc[0]
    gated = bundle.model if isinstance(bundle.model, TextGated) else None
    # A gated model predicts this row with one member; that member is what is explained.
    member = gated.member_for(table) if gated is not None else bundle.model
    model = unlinked(member)
    labels = [str(c) for c in model.classes_]
    unknown = [c for c in classes or [] if c not in labels]
    if unknown:
        raise InputError(
            f"unknown class(es) {', '.join(unknown)}.", hint=f"This model's classes: {', '.join(labels)}."
        )
    proba = model.predict_proba(table)[0]
    predicted = int(np.argmax(proba))
    targets = [predicted] + [labels.index(c) for c in classes or [] if labels.index(c) != predicted]
    split, note = _exact_split(model, table)
    if split is not None:
        method = "exact"
        explained = _exact(model, split, targets, top, top_sentences)
    else:
        method = "occlusion"
        note = (
            "Model-agnostic: for each input field and sentence, the change in the class's "
            "log-probability when it is blanked. This measures how much the prediction relies on "
            "it; the values do not add up to the prediction."
        )
        explained = _occlusion(model, table, proba, targets, top_sentences, max_sentences)
    meanings = class_meanings(labels, bundle.target) or None
    for explained_class in explained:
        explained_class.meaning = (meanings or {}).get(explained_class.label)
        for item in (*explained_class.toward, *explained_class.against):
            item.phrase = phrase(item.feature, item.source, gene=gene, variation=variation, meanings=meanings)
    if gated is not None and member is gated.without_text_:
        note = (
            "This row has no text: it is predicted by the model's text-free member, from the gene, "
            "the variation and the store's evidence on them (none without a store). " + note
        )
    return Explanation(
        model_id=bundle.model_id,
        recipe=str(bundle.metadata.get("recipe", "")),
        method=method,
        note=note,
        gene=gene,
        variation=variation,
        predicted=labels[predicted],
        probabilities={label: float(p) for label, p in zip(labels, proba, strict=True)},
        meanings=meanings,
        classes=explained,
        text_source=str(table[TEXT_SOURCE].iloc[0]),
        similar=similar,
    )


def _with_evidence(table: pd.DataFrame, store: Store | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The row with the store's evidence attached, and the closest labelled items in the store."""
    from oncoclass.kb.retrieve import attach, similar_labelled
    from oncoclass.kb.search import Query

    table = attach(table, store)
    if store is None:
        return table, []
    row = table.iloc[0]
    query = Query(gene=str(row[GENE]), variation=str(row[VARIATION]), text=str(row["text"]),
                  disease=str(row["context"]))  # fmt: skip
    hits = similar_labelled(store, query)
    return table, [{k: v for k, v in hit.to_dict().items() if k != "score"} for hit in hits]
