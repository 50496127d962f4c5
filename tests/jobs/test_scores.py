"""``oncoclass.jobs.scores``: what ``score`` reads in a predictions file, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncoclass.api import score
from oncoclass.errors import InputError

TRUTH = "id,gene,variation,label\n1,BRAF,V600E,a\n2,KRAS,G12D,b\n"


def _files(tmp_path: Path, predictions: str) -> tuple[Path, Path]:
    (tmp_path / "p.csv").write_text(predictions)
    (tmp_path / "t.csv").write_text(TRUTH)
    return tmp_path / "p.csv", tmp_path / "t.csv"


def test_a_good_file_scores(tmp_path: Path) -> None:
    result = score(*_files(tmp_path, "ID,a,b\n1,0.9,0.1\n2,0.2,0.8\n"))
    assert result["rows"] == 2 and result["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        ("ID,a,b\n1,nan,0.1\n2,0.2,0.8\n", "a is 'nan', not a probability"),
        ("ID,a,b\n1,0.9,0.1\n2,-0.2,1.2\n", "a is '-0.2', not a probability"),
        ("ID,a,b\n1,inf,0.1\n2,0.2,0.8\n", "not a probability"),
        ("ID,a,b\n1,,1\n2,0.2,0.8\n", "a is '', not a probability"),
        ("ID,a,b\n1,high,0.1\n2,0.2,0.8\n", "a is 'high', not a probability"),
        ("ID,a,b\n1,0.5,0.1\n2,0.2,0.8\n", "row 2: the probabilities sum to 0.6"),
        ("ID,a,b\n1,0.9,0.1\n1,0.9,0.1\n2,0.2,0.8\n", "row 3: ID '1' is predicted twice"),
    ],
)
def test_what_is_not_a_probability_file_is_refused(tmp_path: Path, predictions: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        score(*_files(tmp_path, predictions))


def test_rows_with_labels_the_model_does_not_predict(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(TRUTH + "3,TP53,R175H,c\n")
    (tmp_path / "p.csv").write_text("ID,a,b\n1,0.9,0.1\n2,0.2,0.8\n3,0.5,0.5\n")
    with pytest.raises(InputError, match="1 row\\(s\\) have labels the model does not predict: c"):
        score(tmp_path / "p.csv", tmp_path / "t.csv")
    result = score(tmp_path / "p.csv", tmp_path / "t.csv", skip_unknown_labels=True)
    assert (
        result["rows"] == 2
        and "1 row(s) with labels the model does not predict were left out" in result["notes"][0]
    )


def test_labelled_ids_without_a_prediction_are_said(tmp_path: Path) -> None:
    # The labels' row 3 has no prediction (predictions of another file, or one cut short): scored
    # without it, as before, but said, where it was left out without a word.
    (tmp_path / "t.csv").write_text(TRUTH + "3,TP53,R175H,a\n")
    (tmp_path / "p.csv").write_text("ID,a,b\n1,0.9,0.1\n2,0.2,0.8\n")
    result = score(tmp_path / "p.csv", tmp_path / "t.csv")
    assert result["rows"] == 2 and result["unpredicted_labels"] == 1
    assert (
        "1 labelled ID(s) in" in result["notes"][0]
        and "have no prediction (first: '3')" in result["notes"][0]
    )
    assert score(*_files(tmp_path, "ID,a,b\n1,0.9,0.1\n2,0.2,0.8\n"))["notes"] == []
