"""The store's commands and the --kb option of train, predict and explain, driven in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sources_data import CIVIC_2018, CIVIC_CURRENT, HOTSPOTS, write


def test_import_search_stats_and_export(cli, tmp_path: Path) -> None:
    kb = tmp_path / "kb.sqlite"
    evidence, hotspots = write(tmp_path, "e.tsv", CIVIC_2018), write(tmp_path, "h.tsv", HOTSPOTS)
    done = cli(["kb", "import", evidence, hotspots, "--kb", kb])
    assert done.returncode == 0, done.stderr
    assert "5 civic items: 5 added" in done.stdout and "3 hotspots items: 3 added" in done.stdout
    again = cli(["kb", "import", evidence, "--kb", kb])
    assert "already in the store; nothing added" in again.stdout
    found = cli(["kb", "search", "--kb", kb, "--gene", "BRAF", "--variation", "p.Val600Glu", "--json"])
    hits = json.loads(found.stdout)
    assert hits[0]["tier"] == "variant" and hits[0]["variation"] == "V600E" and hits[0]["citation"]
    shown = cli(["kb", "search", "--kb", kb, "--gene", "BRAF", "--variation", "V600E", "--limit", "1"])
    assert "civic:" in shown.stdout and "PMID:" in shown.stdout
    stats = json.loads(cli(["kb", "stats", "--kb", kb, "--json"]).stdout)
    assert stats["items"] == 8 and {s["source"] for s in stats["sources"]} == {"civic", "hotspots"}
    out = tmp_path / "export.tsv"
    assert cli(["kb", "export", "--kb", kb, "--out", out]).returncode == 0
    assert len(pd.read_csv(out, sep="\t", quoting=3)) == 8


def test_store_errors_are_one_line_and_status_2(cli, tmp_path: Path) -> None:
    missing = cli(["kb", "search", "--kb", tmp_path / "none.sqlite", "--gene", "BRAF"])
    assert (
        missing.returncode == 2
        and "no evidence store" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    bad = cli(["kb", "stats", "--kb", "mysql://x@y/z"])
    assert bad.returncode == 2 and "SQLite file or a PostgreSQL" in bad.stderr
    junk = write(tmp_path, "junk.csv", ["a,b", "1,2"])
    refused = cli(["kb", "import", junk, "--kb", tmp_path / "kb.sqlite"])
    assert refused.returncode == 2 and "junk.csv" in refused.stderr


def test_a_bad_file_is_refused_before_the_store_is_touched(cli, tmp_path: Path) -> None:
    """Every file is read and checked first: a missing or truncated one leaves no store behind,
    and none of the good files before it half-imported."""
    kb = tmp_path / "kb.sqlite"
    hotspots = write(tmp_path, "h.tsv", HOTSPOTS)
    missing = cli(["kb", "import", hotspots, tmp_path / "nope.tsv", "--kb", kb])
    assert missing.returncode == 2 and "nope.tsv: no such file" in missing.stderr and not kb.exists()
    whole = write(tmp_path, "e.tsv", CIVIC_2018).read_text()
    cut = tmp_path / "cut.tsv"
    cut.write_text(whole[: whole.index("TP53 R175H carries")])  # a download interrupted mid-row
    truncated = cli(["kb", "import", hotspots, cut, "--kb", kb])
    assert truncated.returncode == 2 and "Traceback" not in truncated.stderr
    assert "cut.tsv, row 6: the last row has 9 of the header's 12 fields" in truncated.stderr
    assert "cut short" in truncated.stderr and not kb.exists()


def test_predictions_say_what_they_used_and_cite_the_store(
    cli, tmp_path: Path, kb_model: Path, synth_kb: Path, synth_files: dict[str, Path]
) -> None:
    meta = json.loads((kb_model / "metadata.json").read_text())
    assert meta["evidence"]["items"] > 0 and meta["evidence"]["store"].endswith("kb.sqlite")
    rows = tmp_path / "variants.csv"
    train = pd.read_csv(synth_files["training_variants"])
    known = train.iloc[0]
    # The third row has its own text: the default's text member reads no store evidence, so
    # the row cites none, although the store holds evidence on its variant.
    pd.DataFrame(
        {
            "gene": [known["Gene"], "NOTAGENE", known["Gene"]],
            "variation": [known["Variation"], "V1A", known["Variation"]],
            "text": ["", "", "The variant activates the kinase in cell lines."],
        }
    ).to_csv(rows, index=False)
    out = tmp_path / "p.csv"
    done = cli(["predict", "--model", kb_model, "--input", rows, "--kb", synth_kb, "--out", out])
    assert done.returncode == 0, done.stderr
    predictions = pd.read_csv(out, keep_default_na=False)
    assert predictions["text_source"].tolist() == ["retrieved", "none", "given"]
    assert predictions["evidence_ids"].iloc[0].startswith("kaggle:")
    assert predictions["evidence_ids"].iloc[1:].tolist() == ["", ""]
    # Without the store, the model says what it is missing.
    plain = cli(["predict", "--model", kb_model, "--input", rows, "--out", tmp_path / "q.csv"])
    assert "learned from the evidence store" in plain.stderr
    variant = ["--gene", known["Gene"], "--variation", known["Variation"]]
    explained = cli(["explain", "--model", kb_model, *variant, "--kb", synth_kb, "--json"])
    result = json.loads(explained.stdout)
    assert result["text_source"] == "retrieved" and result["similar"] and "text-free member" in result["note"]


def test_a_kaggle_text_file_alone_says_how_to_import_it(cli, tmp_path: Path) -> None:
    text = write(tmp_path, "training_text", ["ID,Text", "0||BRAF V600E activates the kinase."])
    done = cli(["kb", "import", text, "--kb", tmp_path / "kb.sqlite"])
    # kb import takes the variants file as PATH: no --input to point at.
    assert done.returncode == 2 and "--text beside the matching variants file" in done.stderr
    assert "--input" not in done.stderr and not (tmp_path / "kb.sqlite").exists()


def test_no_output_overwrites_the_store(cli, tmp_path: Path, lr_model: Path) -> None:
    """The store is an input like any other: `kb export --out` it once replaced it with a CSV."""
    kb = tmp_path / "kb.sqlite"
    assert cli(["kb", "import", write(tmp_path, "e.tsv", CIVIC_2018), "--kb", kb]).returncode == 0
    before = kb.read_bytes()
    rows = write(tmp_path, "v.csv", ["id,gene,variation", "1,BRAF,V600E"])
    for args in (
        ["kb", "export", "--kb", kb, "--out", kb],
        ["predict", "-m", lr_model, "-i", rows, "--kb", kb, "--out", kb],
        ["annotate", "-m", lr_model, "-i", rows, "--kb", kb, "--out", kb],
    ):
        done = cli(args)
        assert done.returncode == 2 and "is also an input" in done.stderr, (args, done.stderr)
    assert kb.read_bytes() == before


def test_explain_says_when_the_store_holds_nothing_on_the_gene(cli, kb_model: Path, synth_kb: Path) -> None:
    variant = ["--gene", "NOTAGENE", "--variation", "V1A"]
    explained = cli(["explain", "--model", kb_model, *variant, "--kb", synth_kb])
    assert explained.returncode == 0, explained.stderr
    assert "closest labelled evidence in the store: none on NOTAGENE" in explained.stdout
    plain = cli(["explain", "--model", kb_model, *variant])
    assert "closest labelled evidence" not in plain.stdout  # no store, nothing claimed about one


def test_a_kaggle_solution_file_is_named_without_options_kb_import_lacks(cli, tmp_path: Path) -> None:
    solution = tmp_path / "stage1_solution.csv"
    solution.write_text("ID,class1,class2\n1,1,0\n")
    done = cli(["kb", "import", solution, "--kb", tmp_path / "kb.sqlite"])
    assert done.returncode == 2 and "Kaggle solution file" in done.stderr
    assert "--input" not in done.stderr and not (tmp_path / "kb.sqlite").exists()


def test_current_profiles_import_as_the_2018_export_filed_them(cli, tmp_path: Path) -> None:
    kb = tmp_path / "kb.sqlite"
    header = CIVIC_CURRENT[0]
    rows = [
        "EML4::ALK Fusion\tLung Cancer\tCrizotinib\tPredictive\tSupports\tA\tSensitivity/Response"
        "\tEML4-ALK responds to crizotinib.\t11\t21\thttps://civic/21",
        "NOT BRAF V600E\tColorectal Cancer\tCetuximab\tPredictive\tSupports\tB\tSensitivity/Response"
        "\tBRAF wild-type tumours respond to cetuximab.\t12\t22\thttps://civic/22",
    ]
    done = cli(["kb", "import", write(tmp_path, "cur.tsv", [header, *rows]), "--kb", kb])
    assert done.returncode == 0, done.stderr
    assert "1 compound molecular profile(s)" in done.stdout + done.stderr
    fusion = json.loads(
        cli(["kb", "search", "--kb", kb, "--gene", "ALK", "--variation", "EML4-ALK Fusion", "--json"]).stdout
    )
    assert fusion[0]["tier"] == "variant" and fusion[0]["gene"] == "ALK"
    braf = json.loads(
        cli(["kb", "search", "--kb", kb, "--gene", "BRAF", "--variation", "V600E", "--json"]).stdout
    )
    # Evidence about V600E's absence: shown, last, in a tier of its own, never as BRAF's evidence.
    assert [(h["tier"], h["variation"]) for h in braf] == [("absence", "NOT BRAF V600E")]
    nothing = json.loads(cli(["kb", "search", "--kb", kb, "--gene", "NOT", "--json"]).stdout)
    assert nothing == []


def test_a_conference_abstract_is_not_shown_as_a_pubmed_article(cli, tmp_path: Path) -> None:
    kb = tmp_path / "kb.sqlite"
    header = CIVIC_CURRENT[0] + "\tsource_type"
    row = (
        "BRAF V600E\tMelanoma\tVemurafenib\tPredictive\tSupports\tB\tSensitivity/Response"
        "\tAn ASCO abstract on BRAF V600E.\t128093\t31\thttps://civic/31\tASCO"
    )
    assert cli(["kb", "import", write(tmp_path, "asco.tsv", [header, row]), "--kb", kb]).returncode == 0
    hits = json.loads(
        cli(["kb", "search", "--kb", kb, "--gene", "BRAF", "--variation", "V600E", "--json"]).stdout
    )
    assert [h["citation"] for h in hits] == ["ASCO:128093"]
    shown = cli(["kb", "search", "--kb", kb, "--gene", "BRAF", "--variation", "V600E"]).stdout
    assert "ASCO:128093" in shown and "PMID:" not in shown


def test_a_search_in_lower_case_finds_the_variant(cli, tmp_path: Path) -> None:
    kb = tmp_path / "kb.sqlite"
    assert cli(["kb", "import", write(tmp_path, "e.tsv", CIVIC_2018), "--kb", kb]).returncode == 0
    for variation in ("v600e", "p.v600e", "p.val600glu"):
        found = cli(["kb", "search", "--kb", kb, "--gene", "braf", "--variation", variation, "--json"])
        assert json.loads(found.stdout)[0]["tier"] == "variant", variation


def test_no_command_touches_a_database_that_is_not_a_store(cli, tmp_path: Path, lr_model: Path) -> None:
    import hashlib
    import sqlite3

    foreign = tmp_path / "patients.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE patients (name text)")
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    rows = write(tmp_path, "rows.csv", ["id,gene,variation", "1,BRAF,V600E"])
    for args in (
        ["kb", "stats"],
        ["kb", "search", "--gene", "BRAF"],
        ["kb", "import", write(tmp_path, "h.tsv", HOTSPOTS)],
        ["predict", "--model", lr_model, "--input", rows, "--out", tmp_path / "out.csv"],
    ):
        done = cli([*args, "--kb", foreign])
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"{foreign} is not an oncoclass evidence store: it holds a table patients" in done.stderr
        assert "server" not in done.stderr
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before
    assert not (tmp_path / "out.csv").exists()


def test_files_that_hold_nothing_to_import_say_so(cli, tmp_path: Path) -> None:
    kb = tmp_path / "kb.sqlite"
    header = cli(["kb", "import", write(tmp_path, "header.csv", ["gene,variation,label"]), "--kb", kb])
    assert header.returncode == 2 and "header.csv: the file holds no data rows" in header.stderr
    assert "nothing to predict, learn from or import" in header.stderr
    metadata = write(tmp_path, "metadata.json", ["{", '  "release": "2024-01",', '  "items": 3', "}"])
    one = cli(["kb", "import", metadata, "--kb", kb])
    assert one.returncode == 2 and "metadata.json: this is one JSON object, not a table" in one.stderr
    assert "JSON Lines" in one.stderr and "invalid JSON" not in one.stderr and not kb.exists()


def test_both_engines_leave_an_id_less_rows_own_item_out(cli, tmp_path: Path, kb_model: Path) -> None:
    # The store keys an id-less table's rows by their content; the Dask engine numbered them by
    # place, so a row met its own item (and label) there and not on the local engine.
    rows = write(tmp_path, "lab.csv", ["gene,variation,label", "BRAF,V600E,7", "BRAF,V600E,2"])
    kb = tmp_path / "lab.sqlite"
    assert cli(["kb", "import", rows, "--kb", kb]).returncode == 0
    cited = {}
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.csv"
        done = cli(["predict", "-m", kb_model, "-i", rows, "--kb", kb, "--engine", engine, "-o", out])
        assert done.returncode == 0, done.stderr
        cited[engine] = pd.read_csv(out, keep_default_na=False)["evidence_ids"].tolist()
    first, second = cited["local"]
    assert first and second and first != second  # each cites the other row's item, not its own
    assert cited["dask"] == cited["local"]
