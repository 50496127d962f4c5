"""Sets of labels that hold the true label with a chosen probability: split conformal prediction
(through crepes), calibrated on out-of-fold probabilities.

A curator triaging a queue wants to know when the model is unsure: a set of one label is a
confident answer, a set of three says "one of these". The guarantee is marginal: over rows like
the calibration rows, a 90 % set holds the true label at least 90 % of the time. The score of a
calibration row is the hinge score ``1 - p(true label)``; a label enters a row's set when its own
score is not above the calibration scores' conformal quantile, and the top label always does (a
set is never empty). Sets are deterministic (crepes' p-values without smoothing), so the same
input gives the same set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

from oncoclass.errors import ConfigError

METHOD = "split conformal (crepes), hinge scores 1 - p(true label) from out-of-fold probabilities"
#: How a set is written in a predictions file.
SEPARATOR = "|"


def check_coverage(coverage: float) -> float:
    if not 0.5 <= coverage < 1:
        raise ConfigError(f"coverage must be at least 0.5 and below 1, not {coverage}.", field="coverage")
    return coverage


def calibration_scores(y: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """The hinge score of each row whose label is one of ``labels`` (others cannot be scored)."""
    index = {label: i for i, label in enumerate(labels)}
    rows = [(r, index[str(label)]) for r, label in enumerate(y) if str(label) in index]
    picked = np.asarray([proba[r, c] for r, c in rows], dtype=float)
    return np.sort(1.0 - picked)


def calibration(y: Sequence[str], proba: np.ndarray, labels: Sequence[str], *, folds: int) -> dict[str, Any]:
    """What a model keeps in its metadata to make sets at any coverage later."""
    scores = calibration_scores(y, proba, labels)
    return {
        "method": METHOD,
        "folds": folds,
        "rows": len(scores),
        "scores": [round(float(s), 6) for s in scores],
    }


def membership(proba: np.ndarray, scores: np.ndarray, coverage: float) -> np.ndarray:
    """A boolean matrix: whether each label (column) is in each row's set."""
    from crepes import ConformalClassifier

    check_coverage(coverage)
    if len(scores) == 0:
        raise ConfigError("no calibration scores: the model was trained without out-of-fold probabilities.")
    classifier = ConformalClassifier().fit(np.asarray(scores, dtype=float))
    inside = classifier.predict_set(1.0 - proba, confidence=coverage, smoothing=False).astype(bool)
    # A set is never empty: the top label is always in it. That only adds coverage (the guarantee
    # stands), and an empty answer would tell a curator nothing.
    inside[np.arange(len(proba)), np.argmax(proba, axis=1)] = True
    return inside


def prediction_sets(
    proba: np.ndarray, scores: np.ndarray, labels: Sequence[str], coverage: float
) -> list[str]:
    """Each row's set, its labels from most to least probable, joined by ``|``."""
    inside = membership(proba, scores, coverage)
    order = np.argsort(-proba, axis=1, kind="stable")
    return [
        SEPARATOR.join(str(labels[j]) for j in row_order if row_in[j])
        for row_order, row_in in zip(order, inside, strict=True)
    ]


class SetScores(TypedDict):
    #: The share of rows whose set holds the true label.
    set_coverage: float
    #: Labels per set, on average.
    set_size: float


def set_metrics(y: Sequence[str], inside: np.ndarray, labels: Sequence[str]) -> SetScores:
    """How often the sets hold the true label, and how many labels they hold on average."""
    index = {label: i for i, label in enumerate(labels)}
    hits = [bool(inside[r, index[str(label)]]) if str(label) in index else False for r, label in enumerate(y)]
    return SetScores(set_coverage=float(np.mean(hits)) if hits else float("nan"),
                     set_size=float(inside.sum(axis=1).mean()) if len(inside) else float("nan"))  # fmt: skip


def cross_conformal(
    y: Sequence[str],
    oof: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    labels: Sequence[str],
    coverage: float,
) -> SetScores:
    """Coverage and size of the sets in cross-validation: each fold's sets are calibrated on the
    other folds' out-of-fold scores, so no row calibrates its own set."""
    y = np.asarray(y, dtype=object)
    inside = np.zeros(oof.shape, dtype=bool)
    for train, test in folds:
        scores = calibration_scores(y[train], oof[train], labels)
        inside[test] = membership(oof[test], scores, coverage)
    return set_metrics(y, inside, labels)
