"""``oncoclass.jobs.predict``: predictions written in the format their name asks for, and the
input columns ``--keep-columns`` echoes."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Predictions files hold IDs and class labels ("007", "1") as text.
TEXT_COLUMNS = {"ID": str, "prediction": str}


@pytest.mark.parametrize("name", ["p.csv", "p.tsv", "p.parquet", "p.jsonl", "p", "p.tsv.gz", "p.csv.gz"])
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
    if out.suffix == ".gz":  # gzipped, as the name says, in the format before it
        import gzip

        assert gzip.decompress(out.read_bytes()).decode().startswith("ID" + ("\t" if ".tsv" in name else ","))
        return
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


@pytest.mark.parametrize("name", ["p.xlsx", "p.json", "p.out", "p.csv.zip"])
def test_predict_refuses_a_name_it_cannot_write_before_any_work(
    cli, tmp_path: Path, lr_model, name: str
) -> None:
    (tmp_path / "v.csv").write_text("id,gene,variation\n1,BRAF,V600E\n")
    refused = cli(["predict", "--model", lr_model, "--input", tmp_path / "v.csv", "--out", tmp_path / name])
    assert refused.returncode == 2 and "cannot write a" in refused.stderr and ".csv, .tsv" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv"]


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


def test_a_store_note_to_a_service_client_names_no_server_file() -> None:
    from types import SimpleNamespace

    from oncoclass.jobs.predict import store_notes

    bundle = SimpleNamespace(metadata={"evidence": {"store": "/srv/private/kb.sqlite"}})
    assert "/srv/private/kb.sqlite" in store_notes(bundle, None)[0]  # type: ignore[arg-type]
    said = store_notes(bundle, None, server=True)  # type: ignore[arg-type]
    assert "/srv/private" not in said[0] and "--kb" not in said[0] and "server" in said[0]
    assert store_notes(bundle, "kb.sqlite", server=True) == []  # type: ignore[arg-type]
