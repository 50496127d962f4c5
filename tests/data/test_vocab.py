"""Label meanings: Kaggle's classes, CIViC's significances, and the --target vocabularies."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncoclass.data.vocab import KAGGLE_CLASSES, class_meanings, named


def test_kaggle_classes_get_their_names() -> None:
    assert class_meanings(["1", "7"]) == {"1": KAGGLE_CLASSES["1"], "7": "Gain-of-function"}


def test_a_code_is_named_with_its_meaning_and_words_stand_alone() -> None:
    meanings = class_meanings(["1", "7"])
    assert named("7", meanings) == "7 (Gain-of-function)"
    assert named("7", meanings, prefix="class ") == "class 7 (Gain-of-function)"
    # A worded label's sentence-long meaning goes in a tooltip, not after every mention.
    civic = class_meanings(["Predictive: Resistance"])
    assert named("Predictive: Resistance", civic) == "Predictive: Resistance"
    assert named("benign", None) == "benign"


def test_civic_significances_and_not_applicable_get_sentences() -> None:
    meanings = class_meanings(["Predictive: Resistance", "Prognostic: N/A", "benign"])
    assert "resist" in meanings["Predictive: Resistance"]
    assert "not applicable" in meanings["Prognostic: N/A"]
    assert "benign" not in meanings  # a user's own label has no meaning to give


def test_levels_are_read_as_civic_only_for_a_model_trained_on_that_field() -> None:
    # A user's own labels may be A/B/C; only a model trained with --target evidence_level means CIViC's.
    assert class_meanings(["A", "B"]) == {}
    levels = class_meanings(["A", "B", "C", "D", "E"], "evidence_level")
    assert levels["B"].startswith("Clinical evidence")
    assert set(class_meanings(["Supports", "Does Not Support"], "evidence_direction")) == {
        "Supports",
        "Does Not Support",
    }


@pytest.mark.realdata
def test_every_label_of_the_real_export_has_a_meaning(civic_file: Path) -> None:
    """Every label the 2018-11 export yields, for every target, is explained (a blank direction,
    which five items have, is not a label: those rows are left out of training)."""
    from oncoclass.data.civic import load_civic

    for target in ("significance", "evidence_level", "evidence_direction", "evidence_type"):
        labels = sorted({label for label in load_civic(civic_file, target=target)["label"] if label})
        assert set(class_meanings(labels, target)) == set(labels), target
