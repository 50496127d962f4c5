"""The library's jobs (``oncoclass.api``): here, what ``score`` refuses in a predictions file."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncoclass.api import score
from oncoclass.errors import InputError

#: Predictions files hold IDs and class labels ("007", "1") as text.
TEXT_COLUMNS = {"ID": str, "prediction": str}

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


def test_a_table_without_ids_is_numbered(tmp_path: Path) -> None:
    from oncoclass.data import load_table

    (tmp_path / "v.csv").write_text("gene,variation\nBRAF,V600E\nKRAS,G12D\n")
    table = load_table(tmp_path / "v.csv")
    assert list(table["id"]) == ["1", "2"]
    assert "numbered 1 to 2" in table.attrs["notes"][0]


@pytest.mark.parametrize("name", ["p.csv", "p.tsv", "p.parquet", "p.jsonl", "p.out"])
def test_predictions_are_written_in_the_format_their_name_asks_for(
    tmp_path: Path, lr_model, name: str
) -> None:
    import pandas as pd

    from oncoclass.api import predict, write_predictions
    from oncoclass.config import InputSpec
    from oncoclass.persist import load_bundle

    (tmp_path / "v.csv").write_text("id,gene,variation\n1,BRAF,V600E\n2,KRAS,G12D\n")
    bundle = load_bundle(lr_model)
    predictions, _ = predict(bundle, InputSpec(path=str(tmp_path / "v.csv")))
    out = write_predictions(predictions, tmp_path / name, bundle)
    readers = {
        ".tsv": lambda p: pd.read_csv(p, sep="\t", dtype=TEXT_COLUMNS, keep_default_na=False),
        ".parquet": pd.read_parquet,
        ".jsonl": lambda p: pd.read_json(p, lines=True, dtype=TEXT_COLUMNS),
    }
    back = readers.get(out.suffix, lambda p: pd.read_csv(p, dtype=TEXT_COLUMNS, keep_default_na=False))(out)
    assert list(back.columns) == list(predictions.columns)
    assert list(back["ID"].astype(str)) == ["1", "2"]
    pd.testing.assert_frame_equal(
        back.drop(columns="ID"),
        predictions.drop(columns="ID"),
        check_exact=False,
        atol=1e-5,
        check_dtype=False,
    )


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


def test_keep_columns_echoes_input_columns_as_the_file_names_them(cli, tmp_path: Path, lr_model, synth_files):
    """--keep-columns copies input columns unchanged beside the predictions; a name the output
    already uses is prefixed input_, and an unknown name is refused before any work is done."""
    import pandas as pd

    out = tmp_path / "p.csv"
    done = cli(["predict", "-m", lr_model, "-i", synth_files["test_variants"], "--text",
                synth_files["test_text"], "-o", out, "--keep-columns", "Gene,Variation"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    variants = pd.read_csv(synth_files["test_variants"], dtype=str, keep_default_na=False)
    assert list(written.columns[-2:]) == ["Gene", "Variation"]
    assert written["Gene"].tolist() == variants["Gene"].tolist()
    assert written["Variation"].tolist() == variants["Variation"].tolist()
    scored = cli(["score", "-p", out, "--labels", synth_files["test_solution"], "--json"])
    assert scored.returncode == 0, scored.stderr  # the echoed columns are not taken for classes

    table = tmp_path / "t.csv"
    table.write_text("sample,gene,variation,prediction\nS1,BRAF,p.Val600Glu,x\nS2,KRAS,G12D,\n")
    everything = cli(["predict", "-m", lr_model, "-i", table, "-o", "-", "--keep-columns", "*"])
    assert everything.returncode == 0, everything.stderr
    header, first = everything.stdout.splitlines()[:2]
    assert header.endswith(",sample,gene,variation,input_prediction")
    assert first.endswith(",S1,BRAF,p.Val600Glu,x")  # as written, not as normalised (V600E)

    refused = cli(
        ["predict", "-m", lr_model, "-i", table, "-o", tmp_path / "q.csv", "--keep-columns", "Sample"]
    )
    assert refused.returncode == 2 and "no column(s) Sample to keep" in refused.stderr
    assert not (tmp_path / "q.csv").exists()
