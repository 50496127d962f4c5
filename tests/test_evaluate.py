"""Metrics (``oncoclass.evaluate``) against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncoclass.evaluate import (
    align_proba,
    coverage_accuracy,
    expected_calibration_error,
    log_loss,
    metrics,
    prior_proba,
    summary,
)

LABELS = ["a", "b"]
Y = np.array(["a", "a", "b", "b"], dtype=object)
P = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2]])


def test_log_loss_by_hand() -> None:
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.7) + math.log(0.2)) / 4
    assert log_loss(Y, P, LABELS) == pytest.approx(expected)


def test_accuracy_and_macro_f1_by_hand() -> None:
    m = metrics(Y, P, LABELS)
    assert m["accuracy"] == pytest.approx(0.75)  # the last row is wrong
    # a: precision 2/3, recall 1 -> F1 0.8; b: precision 1, recall 1/2 -> F1 2/3
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)


def test_summary_keeps_the_scalar_scores_and_the_sets() -> None:
    # What a model's metadata keeps of its cross-validation: no matrices, per-class tables or curves.
    kept = summary(metrics(Y, P, LABELS), folds=4, sets={"set_coverage": 0.9, "set_size": 1.25})
    assert kept == {
        "rows": 4, "log_loss": pytest.approx(log_loss(Y, P, LABELS)), "accuracy": 0.75,
        "macro_f1": pytest.approx((0.8 + 2 / 3) / 2), "misclassified_pct": 25.0,
        "ece": pytest.approx(expected_calibration_error(Y, P, LABELS)), "folds": 4,
        "set_coverage": 0.9, "set_size": 1.25,
    }  # fmt: skip


def test_ece_by_hand() -> None:
    # Two bins used with 10 bins: confidences 0.9 (right), 0.6 (right), 0.7 (right), 0.8 (wrong).
    # Each row is its own bin: |1-0.9| + |1-0.6| + |1-0.7| + |0-0.8|, each weighted 1/4.
    expected = (0.1 + 0.4 + 0.3 + 0.8) / 4
    assert expected_calibration_error(Y, P, LABELS, bins=10) == pytest.approx(expected)


def test_prior_and_alignment() -> None:
    prior = prior_proba(np.array(["a", "a", "b"]), 2, LABELS)
    # Class counts with half a count added to each (so no class is impossible): 2.5 and 1.5 of 4.
    np.testing.assert_allclose(prior, [[0.625, 0.375], [0.625, 0.375]])
    aligned = align_proba(np.array([[0.2, 0.8]]), ["b", "a"], ["a", "b", "c"])
    assert aligned.tolist() == [[0.8, 0.2, 0.0]]


def test_coverage_accuracy_by_hand() -> None:
    # Top probabilities 0.9 (right), 0.6 (right), 0.7 (right), 0.8 (wrong).
    rows = {c["threshold"]: c for c in coverage_accuracy(Y, P, LABELS, thresholds=(0.0, 0.65, 0.85, 0.95))}
    assert (rows[0.0]["kept"], rows[0.0]["accuracy"]) == (1.0, 0.75)
    assert (rows[0.65]["rows"], rows[0.65]["accuracy"]) == (3, pytest.approx(2 / 3))
    assert (rows[0.85]["rows"], rows[0.85]["accuracy"]) == (1, 1.0)
    assert rows[0.95]["rows"] == 0 and math.isnan(rows[0.95]["accuracy"])


def _tiny(path, per_class: int, classes: int):
    rows = [f"{i},G{i},V{i}E,c{i % classes}" for i in range(per_class * classes)]
    path.write_text("id,gene,variation,label\n" + "\n".join(rows) + "\n")
    return path


def test_folds_a_class_cannot_fill_are_refused_before_any_fit_with_the_option_to_lower(cli, tmp_path) -> None:
    # Stratified folds need a class with a row in every fold: scikit-learn's ValueError was an
    # internal error; the message names the file, the largest class's rows, and the option.
    data = _tiny(tmp_path / "tiny.csv", per_class=3, classes=2)
    done = cli(["evaluate", "-i", data, "-m", "lr"])
    assert done.returncode == 2, done.stderr
    assert "--folds: " in done.stderr and "tiny.csv: the largest class has 3 row(s)" in done.stderr
    assert "Ask for 3 folds or fewer" in done.stderr and "internal error" not in done.stderr
    model = tmp_path / "m"
    done = cli(
        [
            "train",
            "-i",
            _tiny(tmp_path / "one.csv", per_class=1, classes=6),
            "-m",
            "lr",
            "--cv",
            "3",
            "-o",
            model,
        ]
    )
    assert done.returncode == 2 and "--cv: " in done.stderr and "has 1 row(s)" in done.stderr
    assert not model.exists()
    assert cli(["evaluate", "-i", data, "-m", "lr", "--folds", "3"]).returncode == 0
