"""Cross-validation and metrics; everything returns data (typed dicts and arrays), nothing prints."""

from __future__ import annotations

import warnings
from typing import Any, NotRequired, TypedDict

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, StratifiedKFold

from oncoclass.conformal import SetScores
from oncoclass.data.table import LABEL
from oncoclass.errors import ConfigError, TrainingError

EPS = 1e-15


class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class Scores(TypedDict):
    """The scalar scores of one model's probabilities on labelled rows."""

    rows: int
    log_loss: float
    accuracy: float
    macro_f1: float
    misclassified_pct: float
    #: Top-label expected calibration error (:func:`expected_calibration_error`).
    ece: float


class Metrics(Scores):
    """What :func:`metrics` returns: the scores, the classic notebook's matrices, per-class scores
    and the coverage curve; the jobs add the optional keys (JSON-ready, so ``--json`` and the
    report read the same object)."""

    labels: list[str]
    confusion: list[list[int]]
    precision_matrix: list[list[float]]
    recall_matrix: list[list[float]]
    coverage_accuracy: list[dict[str, float]]
    per_class: dict[str, ClassScores]
    #: The 90 % sets of labels' coverage and size (:mod:`oncoclass.conformal`), where calibrated.
    set_coverage: NotRequired[float]
    set_size: NotRequired[float]
    #: Seconds to cross-validate the recipe (``evaluate``).
    seconds: NotRequired[float]
    #: Rows ``score`` could not score (a label the model does not know), and why.
    unscored_rows: NotRequired[int]
    #: Labelled IDs ``score`` found no prediction for (said in a note, not scored).
    unpredicted_labels: NotRequired[int]
    notes: NotRequired[list[str]]


class Summary(Scores, SetScores):
    """A training's cross-validation as its model's metadata keeps it: the scores and the sets."""

    folds: int


def summary(scores: Metrics, *, folds: int, sets: SetScores) -> Summary:
    kept = {key: scores[key] for key in Scores.__annotations__}
    return Summary(**kept, **sets, folds=folds)


def align_proba(proba: np.ndarray, model_classes: Any, labels: list[str]) -> np.ndarray:
    """Probabilities in the column order of ``labels``; labels the model never saw get 0."""
    out = np.zeros((proba.shape[0], len(labels)))
    index = {c: i for i, c in enumerate(labels)}
    for j, c in enumerate(model_classes):
        out[:, index[str(c)]] = proba[:, j]
    return out


def log_loss(y_true: np.ndarray, proba: np.ndarray, labels: list[str]) -> float:
    index = {c: i for i, c in enumerate(labels)}
    codes = np.array([index[y] for y in y_true])
    p = np.clip(proba / proba.sum(axis=1, keepdims=True), EPS, 1.0)
    return float(-np.log(p[np.arange(len(codes)), codes]).mean())


def reliability(y_true: Any, proba: Any, labels: list[str], bins: int = 10) -> dict[str, list[float]]:
    """Top-label reliability: per non-empty equal-width confidence bin, the mean confidence of the
    top class, the share of rows where it is right, and the share of rows in the bin."""
    proba = np.asarray(proba, dtype=float)
    y_true = np.asarray(y_true, dtype=object).astype(str)
    confidence = proba.max(axis=1)
    correct = (np.asarray(labels)[proba.argmax(axis=1)] == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    out: dict[str, list[float]] = {"confidence": [], "accuracy": [], "share": []}
    for b in range(bins):
        mask = which == b
        if mask.any():
            out["confidence"].append(float(confidence[mask].mean()))
            out["accuracy"].append(float(correct[mask].mean()))
            out["share"].append(float(mask.mean()))
    return out


def expected_calibration_error(
    y_true: np.ndarray, proba: np.ndarray, labels: list[str], bins: int = 15
) -> float:
    """Top-label ECE: |accuracy - confidence| averaged over equal-width confidence bins."""
    curve = reliability(y_true, proba, labels, bins=bins)
    return float(
        sum(
            share * abs(acc - conf)
            for share, acc, conf in zip(curve["share"], curve["accuracy"], curve["confidence"], strict=True)
        )
    )


#: The probability thresholds of the coverage–accuracy table.
THRESHOLDS: tuple[float, ...] = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def coverage_accuracy(
    y_true: Any, proba: np.ndarray, labels: list[str], thresholds: tuple[float, ...] = THRESHOLDS
) -> list[dict[str, float]]:
    """Keep only the predictions whose top probability reaches a threshold: what share of rows
    remains, and how often their top class is right. How a team decides what to auto-accept."""
    y_true = np.asarray(y_true, dtype=object).astype(str)
    top = proba.max(axis=1)
    right = np.asarray(labels)[proba.argmax(axis=1)] == y_true
    out = []
    for threshold in thresholds:
        kept = top >= threshold
        out.append(
            {
                "threshold": threshold,
                "kept": float(kept.mean()) if len(top) else 0.0,
                "rows": int(kept.sum()),
                "accuracy": float(right[kept].mean()) if kept.any() else float("nan"),
            }
        )
    return out


def metrics(y_true: Any, proba: np.ndarray, labels: list[str]) -> Metrics:
    """Scores and the classic notebook's three matrices (confusion, precision, recall)."""
    y_true = np.asarray(y_true, dtype=object).astype(str)
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    cm = confusion_matrix(y_true, predicted, labels=labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision_m = np.nan_to_num(cm / cm.sum(axis=0, keepdims=True))
        recall_m = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, s = precision_recall_fscore_support(y_true, predicted, labels=labels, zero_division=0)
        present = [lab for lab in labels if lab in set(y_true)]
        macro_f1 = f1_score(y_true, predicted, labels=present, average="macro", zero_division=0)
    accuracy = float(accuracy_score(y_true, predicted))
    return Metrics(
        rows=len(y_true),
        log_loss=log_loss(y_true, proba, labels),
        accuracy=accuracy,
        macro_f1=float(macro_f1),
        misclassified_pct=100.0 * (1.0 - accuracy),
        ece=expected_calibration_error(y_true, proba, labels),
        labels=list(labels),
        confusion=cm.tolist(),
        precision_matrix=precision_m.round(4).tolist(),
        recall_matrix=recall_m.round(4).tolist(),
        coverage_accuracy=coverage_accuracy(y_true, proba, labels),
        per_class={
            lab: ClassScores(precision=float(p[i]), recall=float(r[i]), f1=float(f[i]), support=int(s[i]))
            for i, lab in enumerate(labels)
        },
    )


def prior_proba(train_labels: np.ndarray, n_rows: int, labels: list[str]) -> np.ndarray:
    counts = np.array([(train_labels == lab).sum() for lab in labels], dtype=float) + 0.5
    return np.tile(counts / counts.sum(), (n_rows, 1))


def splits(
    labels: np.ndarray, *, folds: int, groups: np.ndarray | None, seed: int, source: str = ""
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` cross-validation folds of ``labels`` (stratified, and grouped by ``groups``),
    refused before any model is fitted where they cannot be made from ``source``'s rows."""
    if folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, not {folds}.", field="folds")
    if len(labels) < folds:
        raise TrainingError(f"{len(labels)} labelled rows cannot be split into {folds} folds.")
    dummy = np.zeros(len(labels))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        if groups is None:
            # Stratified folds need one class with a row in every fold (scikit-learn raises else).
            largest = int(pd.Series(labels).value_counts().max())
            if largest < folds:
                raise ConfigError(
                    f"{source + ': ' if source else ''}the largest class has {largest} row(s), too "
                    f"few for {folds} stratified folds.",
                    field="folds",
                    hint=f"Ask for {largest} folds or fewer, or add labelled rows."
                    if largest >= 2
                    else "Every class has a single row: add labelled rows to cross-validate.",
                )
            return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(dummy, labels))
        if len(set(groups)) < folds:
            raise TrainingError(f"only {len(set(groups))} groups; cannot make {folds} grouped folds.")
        try:
            cv = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
            return list(cv.split(dummy, labels, groups))
        except ValueError:
            return list(GroupKFold(folds).split(dummy, labels, groups))


def cross_validate(
    estimator: Any,
    table: pd.DataFrame,
    *,
    folds: list[tuple[np.ndarray, np.ndarray]],
    labels: list[str],
    progress: Any = None,
) -> np.ndarray:
    """Out-of-fold probabilities (columns in ``labels`` order) for every row of ``table``."""
    y = table[LABEL].to_numpy()
    oof = np.zeros((len(table), len(labels)))
    for train, held in folds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            model = clone(estimator).fit(table.iloc[train], y[train])
        oof[held] = align_proba(model.predict_proba(table.iloc[held]), model.classes_, labels)
        if progress is not None:
            progress()
    return oof
