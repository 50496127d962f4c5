"""``oncoclass.jobs.train``: what a model keeps of its training, and ``--target`` on a CIViC
export."""

from __future__ import annotations

import json
from pathlib import Path

from oncoclass.persist import ModelMetadata, TrainingSummary


def test_metadata_holds_exactly_what_model_metadata_types(cli, tmp_path: Path, synth_files) -> None:
    # ModelMetadata is the one description of metadata.json: the job writes no key it does not
    # name (and misses none), so the card, the CLI and the service can read it without guessing.
    model = tmp_path / "m"
    inputs = ["-i", synth_files["training_variants"], "--text", synth_files["training_text"]]
    done = cli(["train", "-m", "lr", *inputs, "--cv", "2", "-o", model])
    assert done.returncode == 0, done.stderr
    meta = json.loads((model / "metadata.json").read_text())
    assert set(meta) == set(ModelMetadata.__annotations__)
    assert set(meta["training"]) == set(TrainingSummary.__annotations__)
    assert meta["cv"]["folds"] == 2 and 0 <= meta["cv"]["set_coverage"] <= 1


def test_a_model_trained_on_a_civic_field_predicts_reports_and_scores_that_field(cli, tmp_path) -> None:
    """train --target evidence_level: one probability column per level, and report and score read
    the labels as the model learned them (its target, kept in its metadata and the sidecar)."""
    import json

    import pandas as pd

    header = ("gene\tvariant\tdisease\tdrugs\tevidence_type\tevidence_direction\tevidence_level\t"
              "clinical_significance\tevidence_statement\tpubmed_id\tevidence_id\n")  # fmt: skip
    words = {"A": "phase III trial approval", "B": "clinical cohort of patients", "C": "case report of one"}
    rows = [
        f"G{i % 7}\tV{i}E\tCancer\tDrug\tPredictive\tSupports\t{level}\tResistance\t"
        f"A {words[level]} study {i}.\t{i}\t{i}\n"
        for i, level in enumerate("ABC" * 12)
    ]
    civic = tmp_path / "civic.tsv"
    civic.write_text(header + "".join(rows))
    model = tmp_path / "m"
    trained = cli(["train", "-m", "lr", "-i", civic, "--target", "evidence_level", "-o", model])
    assert trained.returncode == 0, trained.stderr
    assert json.loads((model / "metadata.json").read_text())["labels"] == ["A", "B", "C"]
    out = tmp_path / "p.csv"
    assert cli(["predict", "-m", model, "-i", civic, "-o", out]).returncode == 0
    assert {"A", "B", "C"} <= set(pd.read_csv(out).columns)
    scored = cli(["score", "-p", out, "--labels", civic])
    assert scored.returncode == 0 and "36 labelled rows scored" in scored.stdout, scored.stderr
    report = tmp_path / "r.html"
    assert cli(["report", "-m", model, "-i", civic, "-o", report]).returncode == 0


def test_a_label_named_like_a_predictions_column_is_refused_before_training(cli, tmp_path: Path) -> None:
    # Trained on, "prediction" would name a probability column that predict then overwrites with
    # the top class (and "ID" would be inserted twice): refused with the file and row, nothing written.
    rows = [("1", "BRAF", "V600E", "B"), ("2", "KRAS", "G12D", "Prediction"), ("3", "TP53", "R175H", "B")]
    rows += [("4", "EGFR", "L858R", "Prediction")]
    data = tmp_path / "labels.csv"
    data.write_text("id,gene,variation,label\n" + "".join(",".join(r) + "\n" for r in rows))
    model = tmp_path / "m"
    done = cli(["train", "-i", data, "-m", "lr", "-o", model])
    assert done.returncode == 2, done.stderr
    assert "labels.csv, row 3: label 'Prediction' is the name of a column predict writes" in done.stderr
    assert "Traceback" not in done.stderr and not model.exists()
