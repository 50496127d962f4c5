"""Sets of labels (conformal prediction): the coverage guarantee on data whose probabilities are
right by construction, the file format, cross-conformal figures, and `predict --coverage`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoclass.cli import render_scores
from oncoclass.conformal import (
    calibration_scores,
    check_coverage,
    cross_conformal,
    membership,
    prediction_sets,
    set_metrics,
)
from oncoclass.errors import ConfigError

LABELS = ["a", "b", "c", "d"]


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities drawn at random and labels drawn from them: a perfectly calibrated model."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(len(LABELS), 0.6), size=n)
    y = np.array([LABELS[rng.choice(len(LABELS), p=p)] for p in proba], dtype=object)
    return y, proba


@pytest.mark.parametrize("coverage", [0.8, 0.9, 0.95])
def test_sets_hold_the_true_label_at_the_chosen_rate(coverage: float) -> None:
    y_cal, p_cal = _calibrated(2000, 0)
    y, proba = _calibrated(4000, 1)
    inside = membership(proba, calibration_scores(y_cal, p_cal, LABELS), coverage)
    found = set_metrics(y, inside, LABELS)
    # The guarantee is at least `coverage`; with 2000 calibration rows it is also not much above.
    assert coverage - 0.02 <= found["set_coverage"] <= coverage + 0.03
    assert 1 <= found["set_size"] < len(LABELS)


def test_a_set_lists_its_labels_most_probable_first() -> None:
    scores = np.linspace(0, 1, 101)[:-1]  # every score below 1: at 0.9 a label with p > ~0.1 is in
    proba = np.array([[0.05, 0.6, 0.3, 0.05], [0.97, 0.01, 0.01, 0.01]])
    assert prediction_sets(proba, scores, LABELS, 0.9) == ["b|c", "a"]


def test_cross_conformal_calibrates_each_fold_on_the_others() -> None:
    y, proba = _calibrated(1500, 2)
    folds = [(np.setdiff1d(np.arange(1500), part), part) for part in np.array_split(np.arange(1500), 5)]
    found = cross_conformal(y, proba, folds, LABELS, 0.9)
    assert 0.88 <= found["set_coverage"] <= 0.93


@pytest.mark.parametrize("bad", [0.3, 1.0, 1.5])
def test_a_coverage_outside_half_to_one_is_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match="coverage must be"):
        check_coverage(bad)


def test_predict_coverage_writes_sets_and_needs_a_model_trained_with_cv(cli, tmp_path: Path, synth_files,
                                                                      lr_model: Path) -> None:  # fmt: skip
    model = tmp_path / "lr-cv"
    trained = cli(["train", "-m", "lr", "-i", synth_files["training_variants"], "--text",
                   synth_files["training_text"], "--cv", "3", "-o", model])  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "90 % sets of labels hold the true one" in trained.stdout
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["conformal"]["rows"] == meta["training"]["rows"] and meta["cv"]["set_size"] >= 1
    out = tmp_path / "p.csv"
    args = ["predict", "-m", model, "-i", synth_files["test_variants"], "--text", synth_files["test_text"],
            "--coverage", "0.9", "-o", out]  # fmt: skip
    assert cli(args).returncode == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    sets = frame["prediction_set"].str.split("|")
    assert (frame["prediction_set"] != "").all()  # never empty: the top label is always in
    assert all(top == s[0] for top, s in zip(frame["prediction"], sets, strict=True))
    report = tmp_path / "report.html"
    assert cli(["report", "-m", model, "-i", synth_files["test_variants"], "--text", synth_files["test_text"],
                "--labels", synth_files["test_solution"], "-o", report]).returncode == 0  # fmt: skip
    assert "90 % sets hold the label" in report.read_text()
    refused = cli(["predict", "-m", lr_model, "-i", synth_files["test_variants"], "--coverage", "0.9",
                   "-o", tmp_path / "q.csv"])  # fmt: skip
    assert refused.returncode == 2 and "--cv 5" in refused.stderr and not (tmp_path / "q.csv").exists()


def test_evaluate_reports_cross_conformal_sets(cli, tmp_path: Path, synth_files) -> None:
    done = cli(["evaluate", "-m", "lr", "-i", synth_files["training_variants"], "--text",
                synth_files["training_text"], "--folds", "3", "--json"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "90% set holds" in render_scores(report["results"])  # the column evaluate prints
    found = report["results"]["lr"]
    assert 0.8 <= found["set_coverage"] <= 1 and found["set_size"] >= 1
