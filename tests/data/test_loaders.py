from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import py7zr
import pytest

from oncoclass.data import load_table
from oncoclass.data.kaggle import load_kaggle
from oncoclass.data.synth import SynthSpec, make_corpus
from oncoclass.data.table import CANONICAL_COLUMNS, LABEL
from oncoclass.errors import InputError


def test_synth_is_deterministic_and_labelled() -> None:
    a, _ = make_corpus(SynthSpec(rows=50, test_rows=10, seed=3))
    b, _ = make_corpus(SynthSpec(rows=50, test_rows=10, seed=3))
    assert a.equals(b)
    assert set(a[LABEL]) <= {str(i) for i in range(1, 10)}


def test_kaggle_plain_and_zip_give_the_same_table(synth_files, synth_zipped) -> None:
    plain = load_table(synth_files["training_variants"], text=synth_files["training_text"])
    zipped = load_table(synth_zipped["training_variants"], text=synth_zipped["training_text"])
    assert list(plain.columns) == [*CANONICAL_COLUMNS, LABEL]
    assert plain.equals(zipped)
    assert (plain["text"] != "").all()


def test_kaggle_7z(tmp_path: Path, synth_files) -> None:
    archive = tmp_path / "stage2_test_variants.csv.7z"
    with py7zr.SevenZipFile(archive, "w") as handle:
        handle.write(synth_files["test_variants"], "stage2_test_variants.csv")
    table = load_table(archive)
    assert len(table) == 60 and LABEL not in table.columns


def test_solution_file_gives_labels(synth_files) -> None:
    table = load_table(synth_files["test_variants"], labels=synth_files["test_solution"])
    assert (table[LABEL] != "").all()


def test_text_file_as_input_is_explained(synth_files) -> None:
    with pytest.raises(InputError, match="--text"):
        load_table(synth_files["training_text"])


def test_mismatched_text_ids_are_an_error(synth_files) -> None:
    with pytest.raises(InputError, match="have no text"):
        load_table(synth_files["training_variants"], text=synth_files["test_text"])


def test_null_text_becomes_empty(tmp_path: Path) -> None:
    (tmp_path / "v").write_text("ID,Gene,Variation,Class\n0,BRAF,V600E,7\n1,TP53,R175H,4\n")
    (tmp_path / "t").write_text("ID,Text\n0||null\n1||Some text about TP53.\n")
    table = load_table(tmp_path / "v", text=tmp_path / "t")
    assert list(table["text"]) == ["", "Some text about TP53."]
    assert any("empty or null" in n for n in table.attrs["notes"])


def test_missing_separator_names_the_row(tmp_path: Path) -> None:
    (tmp_path / "v").write_text("ID,Gene,Variation\n0,BRAF,V600E\n")
    (tmp_path / "t").write_text("ID,Text\n0 no separator here\n")
    with pytest.raises(InputError, match="row 2") as info:
        load_table(tmp_path / "v", text=tmp_path / "t")
    assert "||" in str(info.value)


def test_duplicate_ids_and_bad_class(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("ID,Gene,Variation,Class\n0,BRAF,V600E,7\n0,KRAS,G12D,7\n")
    with pytest.raises(InputError, match="duplicate id"):
        load_table(tmp_path / "dup.csv")
    (tmp_path / "bad.csv").write_text("ID,Gene,Variation,Class\n0,BRAF,V600E,12\n")
    with pytest.raises(InputError, match="row 2"):
        load_table(tmp_path / "bad.csv")


def test_archive_with_two_members_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.csv", "ID,Gene,Variation\n0,A,B\n")
        handle.writestr("b.csv", "ID,Gene,Variation\n0,A,B\n")
    with pytest.raises(InputError, match="2 files"):
        load_table(archive)


def test_bom_crlf_and_binary(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfID,Gene,Variation\r\n0,BRAF,V600E\r\n")
    assert load_table(tmp_path / "bom.csv")["variation"].tolist() == ["V600E"]
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match="binary"):
        load_table(tmp_path / "bin.csv")
    (tmp_path / "latin.csv").write_bytes("ID,Gene,Variation\n0,BRAF,V600É\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_table(tmp_path / "latin.csv")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_generic_tables(tmp_path: Path, small_corpus, suffix: str) -> None:
    train, _ = small_corpus
    frame = train.drop(columns=["context"]).head(20)
    path = tmp_path / f"table{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    table = load_table(path)
    assert table["id"].tolist() == frame["id"].tolist()
    assert table["text"].tolist() == frame["text"].tolist()


def test_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "maf.csv"
    path.write_text("key,Hugo_Symbol,HGVSp_Short,effect\nr1,BRAF,V600E,gain\nr2,TP53,R175H,loss\n")
    table = load_table(path, columns={"id": "key", "variation": "HGVSp_Short", "label": "effect"})
    assert table["gene"].tolist() == ["BRAF", "TP53"]
    assert table["label"].tolist() == ["gain", "loss"]


def test_missing_file_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_table(tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="missing column"):
        load_table(tmp_path / "cols.csv")


def test_real_kaggle_training_variants(kaggle_dir: Path) -> None:
    table = load_table(kaggle_dir / "training_variants")
    assert len(table) == 3321
    assert sorted(table[LABEL].unique()) == [str(i) for i in range(1, 10)]


def test_real_stage1_solution(kaggle_dir: Path) -> None:
    table = load_table(kaggle_dir / "test_variants", labels=kaggle_dir / "stage1_solution_filtered.csv")
    assert len(table) == 5668
    assert (table[LABEL] != "").sum() == 368


def test_kaggle_texts_are_cut_while_streaming(synth_files) -> None:
    from oncoclass.features import MentionText

    cutter = MentionText(window=0, short_chars=0)
    whole = load_kaggle(synth_files["training_variants"], synth_files["training_text"])
    cut = load_kaggle(
        synth_files["training_variants"], synth_files["training_text"], reduce_text=cutter.reduce
    )
    assert list(cut["id"]) == list(whole["id"])
    assert cut["text"].tolist() == cutter.transform(whole)["text"].tolist()
    assert cut["text"].str.len().sum() < whole["text"].str.len().sum()


# --- Structured files whose columns hold the wrong types -----------------------------------------


def _parquet(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("variation", [["W802*", "X"], ["V600E"]], "column 'variation' holds a list"),
        ("gene", [{"a": 1}, {"a": 2}], "column 'gene' holds an object"),
        ("label", [1.0, 2.0], "column 'label' holds a number with decimals"),
        ("label", [True, False], "column 'label' holds true/false"),
        ("text", pd.to_datetime(["2020-01-01", "2021-01-01"]), "column 'text' holds Timestamp"),
    ],
)
def test_parquet_columns_of_the_wrong_type_are_refused_by_name(
    tmp_path: Path, column, values, message
) -> None:
    frame = pd.DataFrame({"id": ["1", "2"], "gene": ["BRAF", "KRAS"], "variation": ["V600E", "G12D"]})
    frame[column] = values
    with pytest.raises(InputError, match=message):
        load_table(_parquet(tmp_path / "t.parquet", frame))


def test_parquet_whole_number_ids_and_labels_are_fine(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": [1, 2], "gene": ["BRAF", "KRAS"], "variation": ["V600E", "G12D"], "label": [7, 2]}
    )
    table = load_table(_parquet(tmp_path / "t.parquet", frame))
    assert list(table["id"]) == ["1", "2"] and list(table["label"]) == ["7", "2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2, 3]", "element 1 of the JSON array is int"),
        ('[{"id": "1", "gene": "BRAF", "variation": "V600E"}, "x"]', "element 2 of the JSON array is str"),
        ('{"id": "1", "gene": "BRAF", "variation": ["V600E"]}\n', "column 'variation' holds a list"),
        ('{"id": "1", "gene": "BRAF", "variation": "V600E", "label": 1.0}\n', "holds a number with decimals"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        # A metadata.json: valid JSON, one object over several lines (not "row 1: invalid JSON").
        (
            '{\n  "name": "run 4",\n  "rows": 12\n}\n',
            r"t\.json: this is one JSON object, not a table of records",
        ),
        ('{\n  "name": "run 4",\n', r"t\.json, row 1: invalid JSON"),  # broken JSON is still that
    ],
)
def test_json_that_is_not_records_of_text_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_table(path)


def test_missing_labels_are_missing_whatever_the_spelling(tmp_path: Path) -> None:
    from oncoclass.api import labelled

    path = tmp_path / "t.jsonl"
    rows = [
        {"id": "1", "gene": "BRAF", "variation": "V600E", "label": "a"},
        {"id": "2", "gene": "BRAF", "variation": "V600K", "label": None},
        {"id": "3", "gene": "BRAF", "variation": "V600D", "label": "NaN"},
        {"id": "4", "gene": "BRAF", "variation": "V600R", "label": "null"},
        {"id": "5", "gene": "BRAF", "variation": "V600M", "label": " "},
        {"id": "6", "gene": "BRAF", "variation": "V600G"},
        {"id": "7", "gene": "KRAS", "variation": "G12D", "label": "b"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = load_table(path)
    assert list(table["label"]) == ["a", "", "", "", "", "", "b"]
    kept, notes = labelled(table, str(path))
    assert list(kept["id"]) == ["1", "7"]
    assert any("5 row(s) without a label" in note for note in notes)


def test_a_csv_text_field_over_128_kib_is_read(tmp_path: Path) -> None:
    path = tmp_path / "variants"
    long_id = "x" * 200_000  # past the csv module's default field limit
    path.write_text(f"ID,Gene,Variation,Class\n{long_id},BRAF,V600E,7\n1,TP53,R175H,4\n")
    table = load_table(path)
    assert table["id"].iloc[0] == long_id


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("gene,gene,variation", "'gene' appears twice"),
        ("Gene,gene,variation", "'Gene' and 'gene' differ only in case"),
    ],
)
def test_a_column_named_twice_is_refused_by_the_one_reader(tmp_path: Path, header: str, message: str) -> None:
    for suffix, sep in ((".csv", ","), (".tsv", "\t")):
        path = tmp_path / f"dup{suffix}"
        path.write_text(header.replace(",", sep) + "\n" + sep.join(["BRAF", "KRAS", "V600E"]) + "\n")
        with pytest.raises(InputError, match=message):
            load_table(path)


def test_a_spreadsheets_empty_trailing_columns_are_read_past(tmp_path: Path) -> None:
    # Excel pads a CSV's header and rows with empty columns: two of them were refused as "the
    # column '' appears twice". A second header (files joined) is still found past them.
    path = tmp_path / "padded.csv"
    path.write_text("id,gene,variation,,\n1,BRAF,V600E,,\n")
    table = load_table(path)
    assert table[["id", "gene", "variation"]].values.tolist() == [["1", "BRAF", "V600E"]]
    path.write_text("id,gene,variation,,\n1,BRAF,V600E,,\nid,gene,variation,,\n")
    with pytest.raises(InputError, match="row 3: repeats the header"):
        load_table(path)
    path.write_text(",id,gene,,variation\n,1,BRAF,,V600E\n")  # an empty name elsewhere: still one
    with pytest.raises(InputError, match="the column '' appears twice"):
        load_table(path)


def test_kb_import_refuses_a_column_named_twice(cli, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,gene,gene,variation,label\n1,BRAF,KRAS,V600E,x\n")
    refused = cli(["kb", "import", path, "--kb", tmp_path / "kb.sqlite"])
    assert refused.returncode == 2 and "appears twice" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    "column", ["HGVSp_Short", "amino_acid_change", "AAChange", "Protein_Change", "hgvsp"]
)
def test_a_protein_change_column_is_found_by_the_one_alias_list(tmp_path: Path, column: str) -> None:
    path = tmp_path / "maf.tsv"
    path.write_text(f"Hugo_Symbol\t{column}\nBRAF\tp.V600E\n")
    table = load_table(path)
    assert table[["gene", "variation"]].values.tolist() == [["BRAF", "V600E"]]


def test_missing_columns_name_what_was_looked_for_and_not_the_optional_id(tmp_path: Path) -> None:
    path = tmp_path / "genes.csv"
    path.write_text("gene,protein\nBRAF,V600E\n")
    with pytest.raises(InputError) as refused:
        load_table(path)
    message = str(refused.value)
    assert "missing column(s) variation;" in message and "hgvsp_short" in message
    assert "id," not in message.split(";")[0]


def test_a_symbol_column_is_read_before_vep_gene_ids_by_the_one_alias_list(tmp_path: Path) -> None:
    path = tmp_path / "vep.tsv"
    path.write_text("Gene\tSYMBOL\tHGVSp\nENSG00000157764\tBRAF\tp.V600E\n")
    assert load_table(path)[["gene", "variation"]].values.tolist() == [["BRAF", "V600E"]]
    # Only Ensembl IDs: one clear refusal, never a prediction for "ENSG…" as an unknown symbol.
    path.write_text("Gene\tHGVSp\nENSG00000157764\tp.V600E\nENSG00000133703.12\tp.G12D\n")
    with pytest.raises(
        InputError, match=r"row 2: a gene given as an Ensembl ID .* \(and 1 more rows like it\)"
    ):
        load_table(path)


def test_a_symbol_column_is_read_before_gene_which_is_kept_beside_it(tmp_path: Path) -> None:
    # Hugo_Symbol is read first; the table's own "gene" column stays, as input_gene, rather than
    # standing beside it as a second "gene".
    path = tmp_path / "both.csv"
    path.write_text("id,gene,Hugo_Symbol,variation\n1,ENSG00000157764,BRAF,V600E\n", encoding="utf-8")
    table = load_table(path, keep=("*",))
    assert table["gene"].tolist() == ["BRAF"]


def test_an_output_named_as_a_format_not_written_is_refused(tmp_path: Path) -> None:
    from oncoclass.data.tables import output_format
    from oncoclass.errors import OutputError

    assert output_format(tmp_path / "p.tsv") == ("tsv", False) and output_format(tmp_path / "p") == (
        "csv",
        False,
    )
    assert output_format(tmp_path / "p.tsv.gz") == ("tsv", True)
    for name in ("p.xlsx", "p.json", "p.csv.zip", "p.out", "p.parquet.gz"):
        with pytest.raises(OutputError, match=r"cannot write a \.[a-z.]+ file here; .*\.csv, \.tsv"):
            output_format(tmp_path / name)


def test_a_maf_s_comment_lines_are_skipped_and_counted_in_row_numbers(tmp_path: Path) -> None:
    """GDC MAFs open with ``#version 2.4``: every table reader skips such lines before a header
    naming Hugo_Symbol (annotate keeps them), and a row's number still counts them."""
    path = tmp_path / "gdc.maf"
    path.write_text("#version 2.4\n#filtered\nHugo_Symbol\tHGVSp_Short\nBRAF\tp.V600E\nKRAS\tp.G12D\n")
    table = load_table(path)
    assert table[["gene", "variation"]].values.tolist() == [["BRAF", "V600E"], ["KRAS", "G12D"]]
    path.write_text("#version 2.4\nHugo_Symbol\tHGVSp_Short\nBRAF\tp.V600E\n=SUM(A1)\tp.G12D\n")
    with pytest.raises(InputError, match=r"gdc.maf, row 4: a gene that does not begin"):
        load_table(path)
    # Blank lines before or among the comment lines are lines before the header too.
    path.write_text("\n#version 2.4\n\nHugo_Symbol\tHGVSp_Short\nBRAF\tp.V600E\n=SUM(A1)\tp.G12D\n")
    with pytest.raises(InputError, match=r"gdc.maf, row 6: a gene that does not begin"):
        load_table(path)


def test_a_semicolon_csv_and_a_vcf_are_named_for_what_they_are(tmp_path: Path) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffid;gene;variation\r\n1;BRAF;V600E\r\n".encode())
    with pytest.raises(InputError, match=r"excel.csv, row 1: the header is separated by semicolons"):
        load_table(excel)
    vcf = tmp_path / "calls.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with pytest.raises(InputError, match=r"calls.vcf: this is a VCF; .*`oncoclass annotate`"):
        load_table(vcf)


_RECORD = "7\t140453136\t.\tA\tT\t50\tPASS\tCSQ=T|BRAF|p.Val600Glu\n"
_CHROM = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


@pytest.mark.parametrize(
    ("name", "text", "lacks"),
    [
        ("records.vcf", _RECORD, "its first line (##fileformat=VCFv4.x) and its #CHROM header line"),
        ("columns.txt", f"{_CHROM}\n{_RECORD}", "its first line (##fileformat=VCFv4.x):"),
        (
            "meta.tsv",
            f'##INFO=<ID=CSQ,Number=.,Type=String,Description="x">\n{_CHROM}\tFORMAT\tS1\n',
            "its first",
        ),
    ],
)
def test_a_vcf_without_its_header_lines_is_named_as_one(
    tmp_path: Path, name: str, text: str, lacks: str
) -> None:
    # A file cut from a VCF (or saved from a spreadsheet) read as a table said "no gene column" or
    # "the column '.' appears twice", never that its VCF header lines are missing.
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=rf"{name}: a VCF without {re.escape(lacks)}"):
        load_table(path)


def test_a_table_that_begins_like_a_vcf_is_read_as_a_table(tmp_path: Path) -> None:
    path = tmp_path / "calls.tsv"  # columns of its own after INFO: a table, not a VCF
    path.write_text(f"{_CHROM}\tSYMBOL\tHGVSp\n7\t1\t.\tA\tT\t50\tPASS\t.\tBRAF\tp.V600E\n")
    assert load_table(path)["variation"].tolist() == ["V600E"]


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_predict_and_kb_import_read_a_maf_with_comment_lines(
    cli, tmp_path: Path, fast_model: Path, engine: str
) -> None:
    path = tmp_path / "gdc.maf"
    path.write_text("#version 2.4\nHugo_Symbol\tHGVSp_Short\nBRAF\tp.V600E\nKRAS\tp.G12D\n")
    out = tmp_path / "out.csv"
    done = cli(["predict", "-m", fast_model, "-i", path, "-o", out, "--engine", engine])
    assert done.returncode == 0, done.stderr
    if engine == "local":
        assert pd.read_csv(out, dtype=str)["ID"].tolist() == ["1", "2"]
        kb = cli(["kb", "import", path, "--kb", f"sqlite:///{tmp_path / 'kb.db'}"])
        assert kb.returncode == 0, kb.stderr


def test_columns_for_a_kaggle_file_are_refused_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "variants.csv"
    path.write_text("ID,Gene,Variation\n1,BRAF,V600E\n")
    with pytest.raises(
        InputError, match=r"--columns maps a table's own column names; this input is a Kaggle"
    ):
        load_table(path, columns={"gene": "nope"})
    assert load_table(path, columns={"gene": "Gene"}, fmt="csv")["gene"].tolist() == ["BRAF"]


def test_a_row_is_named_by_the_line_it_begins_on(tmp_path) -> None:
    # Blank lines and a quoted value holding a line break before it move a row down the file:
    # named by its line (as RowWidths names a ragged row), not by the header plus its position.
    from oncoclass.data.detect import load_table
    from oncoclass.errors import InputError

    source = tmp_path / "t.csv"
    source.write_text('id,gene,variation,text\n1,BRAF,V600E,"two\nlines"\n\n\n2,KRAS,G12D,x\n2,NRAS,Q61K,y\n')
    with pytest.raises(InputError, match=r"t\.csv, row 7: duplicate id '2'"):
        load_table(source)


def test_a_csv_whose_first_line_is_a_lone_tab_is_still_a_csv(tmp_path: Path) -> None:
    # The blank first line (a tab) was taken for the header's delimiter: the file was read as TSV.
    from oncoclass.data.tables import guess_format

    data = b"\t\nid,gene,variation\n1,BRAF,V600E\n"
    path = tmp_path / "tab.csv"
    path.write_bytes(data)
    assert guess_format(path, data) == "csv"
    assert load_table(path)[["gene", "variation"]].values.tolist() == [["BRAF", "V600E"]]
    assert guess_format(tmp_path / "t", b"\xef\xbb\xbf\r\ngene\tvariation\tx,y\n") == "tsv"


def test_a_json_lines_record_is_named_by_its_line_past_blank_lines(tmp_path: Path) -> None:
    # Records were numbered by their position + 1: row 2 for the record on line 4.
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"id": "1", "gene": "BRAF", "variation": "V600E"}\n\n\n{"id": "2", "gene": "", "variation": "X"}\n'
    )
    with pytest.raises(InputError, match="row 4: empty gene"):
        load_table(path)
    path.write_text(
        '{"id": "1", "gene": "BRAF", "variation": "V600E"}\n\n{"id": "2", "gene": 7, "variation": "X"}\n'
    )
    with pytest.raises(InputError, match="row 3: column 'gene' holds"):
        load_table(path)


def test_excels_sep_line_names_the_delimiter_and_is_skipped(tmp_path: Path) -> None:
    # Excel's "sep=," first line was read as a header of two columns ("row 2 has 3 fields where the
    # header has 2"); it is the delimiter's hint, skipped and counted. Another delimiter is named.
    path = tmp_path / "excel.csv"
    path.write_bytes(b"sep=,\r\nid,gene,variation\r\n1,BRAF,V600E\r\n2,,V600E\r\n")
    with pytest.raises(InputError, match="row 4: empty gene"):
        load_table(path)
    path.write_bytes(b"sep=,\r\nid,gene,variation,text\r\n1,BRAF,V600E,x\r\n")
    assert load_table(path)[["gene", "variation"]].values.tolist() == [["BRAF", "V600E"]]
    path.write_bytes(b"sep=;\nid;gene;variation\n1;BRAF;V600E\n")
    with pytest.raises(InputError, match=r"row 1: the first line, 'sep=;', is Excel's hint"):
        load_table(path)
