"""The canonical table's rules (``oncoclass.data.table``): one row rule for files, batches, the
service and explain."""

from __future__ import annotations

import pandas as pd
import pytest

from oncoclass.data.table import canonicalize, records_to_table, row_problems, text_columns
from oncoclass.errors import InputError
from oncoclass.settings import get_settings

MAX_TEXT_CHARS = get_settings().max_text_chars


def test_row_problems_name_the_first_thing_wrong_with_each_row() -> None:
    frame = pd.DataFrame(
        {
            "id": ["1", "", "3", "4", "5", "6", "7", "8", "9"],
            "gene": [
                "BRAF",
                "KRAS",
                "",
                "TP53",
                "EGFR",
                "=cmd|' /C calc'!A0",
                "@SUM(1)",
                "../etc",
                "C11orf30",
            ],
            "variation": ["V600E", "G12D", "R175H", "", "L858R", "V1A", "V1A", "V1A", "V1A"],
            "text": ["", "", "", "", "x" * (MAX_TEXT_CHARS + 1), "", "", "", ""],
        }
    )
    problems = row_problems(text_columns(frame))
    symbol = "a gene that does not begin with a letter or digit (a formula or a path, not a gene symbol)"
    assert list(problems) == [
        "",
        "empty id",
        "empty gene",
        "empty variation",
        f"a text past the limit of {MAX_TEXT_CHARS:,} characters",
        symbol,
        symbol,
        symbol,
        "",
    ]


def test_a_file_raises_on_its_first_problem_with_the_row() -> None:
    frame = pd.DataFrame({"id": ["1", "2", "3"], "gene": ["BRAF", "", ""], "variation": ["V600E", "x", "y"]})
    with pytest.raises(InputError, match=r"row 3: empty gene \(and 1 more rows like it\)"):
        canonicalize(frame, source="f.csv")


def test_hgvs_unchanged_protein_is_no_formula_but_a_formula_still_is() -> None:
    # p.= and p.(=) say the protein is unchanged (HGVS): read, where "=1+1" is refused.
    frame = pd.DataFrame({"id": ["1", "2", "3", "4"], "gene": ["TP53"] * 4,
                          "variation": ["p.=", "p.(=)", "p.0?", "=1+1"]})  # fmt: skip
    table = text_columns(frame)
    assert table["variation"].tolist()[:3] == ["p.=", "p.=", "p.0"]
    assert row_problems(table).tolist()[:3] == ["", "", ""]
    assert row_problems(table).iloc[3].startswith("a variation that begins as a spreadsheet formula")


def test_records_are_checked_by_the_same_rule_and_numbered() -> None:
    table = records_to_table(
        [{"gene": " BRAF ", "variation": "V600E"}, {"gene": "KRAS", "variation": "G12D", "id": "k"}]
    )
    assert list(table["id"]) == ["1", "k"] and list(table["gene"]) == ["BRAF", "KRAS"]
    assert list(table["text"]) == ["", ""] and list(table["context"]) == ["", ""]
    with pytest.raises(InputError, match="record 2: empty variation"):
        records_to_table([{"gene": "BRAF", "variation": "V600E"}, {"gene": "KRAS", "variation": "  "}])
    with pytest.raises(InputError, match="column 'gene' holds a list"):
        records_to_table([{"gene": ["BRAF"], "variation": "V600E"}])


def test_disease_and_drugs_are_read_into_the_context_wherever_they_come_from(tmp_path) -> None:
    from oncoclass.data import load_table

    path = tmp_path / "t.csv"
    path.write_text("id,gene,variation,disease,therapies\n1,BRAF,V600E,Melanoma,Vemurafenib\n2,KRAS,G12D,,\n")
    table = load_table(path)
    assert list(table["context"]) == ["disease: Melanoma. drugs: Vemurafenib", ""]
    record = records_to_table(
        [{"gene": "BRAF", "variation": "V600E", "disease": "Melanoma", "drugs": "Vemurafenib"}]
    )
    assert record["context"].iloc[0] == table["context"].iloc[0]


def test_a_rows_context_does_not_depend_on_the_other_rows() -> None:
    alone = records_to_table([{"gene": "BRAF", "variation": "V600E", "context": "see ref."}])
    batched = records_to_table(
        [{"gene": "BRAF", "variation": "V600E", "context": "see ref."},
         {"gene": "KRAS", "variation": "G12D", "disease": "Lung"}]
    )  # fmt: skip
    assert alone["context"].iloc[0] == batched["context"].iloc[0] == "see ref."
    assert batched["context"].iloc[1] == "disease: Lung"


def test_a_table_without_ids_is_numbered(tmp_path) -> None:
    from oncoclass.data import load_table

    (tmp_path / "v.csv").write_text("gene,variation\nBRAF,V600E\nKRAS,G12D\n")
    table = load_table(tmp_path / "v.csv")
    assert list(table["id"]) == ["1", "2"]
    assert "numbered 1 to 2" in table.attrs["notes"][0]


def test_a_gene_symbol_in_lower_case_is_read_upper_and_an_orf_symbol_as_written() -> None:
    table = text_columns(pd.DataFrame({"gene": ["braf", "C11orf30", "BRAF"], "variation": ["p.v600e"] * 3}))
    assert table["gene"].tolist() == ["BRAF", "C11orf30", "BRAF"]
    assert table["variation"].tolist() == ["V600E"] * 3


def test_one_cell_text_rule_strips_or_collapses() -> None:
    from oncoclass.data.table import cell_text

    assert cell_text("  a  b ") == "a  b" and cell_text("  a  b ", collapse=True) == "a b"
    assert cell_text(None) == cell_text(float("nan")) == "" and cell_text(12) == "12"


def test_a_gene_past_a_symbol_s_length_is_no_gene() -> None:
    from oncoclass.data.table import MAX_GENE_CHARS, gene_problem

    assert gene_problem("C11orf30") == "" and gene_problem("A" * MAX_GENE_CHARS) == ""
    assert gene_problem("A" * (MAX_GENE_CHARS + 1)).startswith("a gene past the limit of 100 characters")


@pytest.mark.parametrize("value", ["BR\x00AF", "BRAF\nKRAS", "BR\tAF", "BRAF\x1b[31m", "BR\x85AF"])
def test_a_control_character_makes_no_gene_and_no_variation(value: str) -> None:
    # A NUL sent to the service in JSON (a file's is refused as it is read), a quoted CSV cell with
    # a line break, a terminal escape: the one row rule refuses them (annotate notes them).
    from oncoclass.data.table import gene_problem, variation_problem

    assert gene_problem(value).startswith("a gene holding a control character")
    assert variation_problem(
        value.replace("BRAF", "V600E").replace("BR", "V6").replace("AF", "00E")
    ).startswith("a variation holding a control character")
    assert gene_problem("BRAF") == "" and variation_problem("p.V600E") == ""


def test_protein_change_columns_that_disagree_are_said() -> None:
    # The first column holding a change is read (HGVSp_Short before Protein_Change); another that
    # names another change is said, compared as read (p.Val600Glu is V600E, so it agrees).
    from oncoclass.data.table import change_disagreements

    notes = change_disagreements(
        {
            "HGVSp_Short": pd.Series(["p.V600K", "p.V600E", "", ".", "p.G12D"]),
            "HGVSp": pd.Series(["", "p.Val600Glu", "p.Val600Glu", "", ""]),
            "Protein_Change": pd.Series(["p.V600E", "p.V600E", "p.V600K", "p.R175H", ""]),
        },
        pd.RangeIndex(5),
    )
    assert notes.tolist() == [
        "Protein_Change reads 'V600E', HGVSp_Short 'V600K': HGVSp_Short's is read",
        "",
        "Protein_Change reads 'V600K', HGVSp 'V600E': HGVSp's is read",
        "",
        "",
    ]
    assert change_disagreements({"HGVSp_Short": pd.Series(["p.V600K"])}, pd.RangeIndex(1)).tolist() == [""]
    assert change_disagreements({}, pd.RangeIndex(2)).tolist() == ["", ""]


def test_a_repeated_header_and_an_empty_row_are_no_rows_of_data() -> None:
    from oncoclass.data.table import EMPTY_ROW, REPEATED_HEADER, shape_problems

    as_read = pd.DataFrame(
        {"ID": ["1", "\ufeffID", "", "3", ""], "Gene": ["BRAF", "Gene", "", "gene", "KRAS"],
         "Variation": ["V600E", "Variation", " ", "variation", "G12D"]}
    )  # fmt: skip
    assert shape_problems(as_read).tolist() == ["", REPEATED_HEADER, EMPTY_ROW, "", ""]
    frame = as_read.set_axis(["id", "gene", "variation"], axis=1)
    with pytest.raises(
        InputError, match=r"row 3: repeats the header \(files joined together\?\): remove it\."
    ):
        canonicalize(frame, source="f.csv", as_read=as_read)
    with pytest.raises(InputError, match=r"row 3: an empty row \(only separators\): remove it\."):
        canonicalize(frame.drop(index=1), source="f.csv", as_read=as_read.drop(index=1))


def test_a_label_written_as_a_whole_float_is_the_class_written_as_a_whole_number() -> None:
    # A spreadsheet wrote some of a class column's 7s as 7.0: they were two classes, without a word.
    frame = pd.DataFrame({"id": list("abcd"), "gene": ["BRAF"] * 4, "variation": ["V600E"] * 4,
                          "label": ["7", "7.0", "7.5", "Oncogenic"]})  # fmt: skip
    assert text_columns(frame)["label"].tolist() == ["7", "7", "7.5", "Oncogenic"]


@pytest.mark.parametrize(
    ("label", "said"),
    [
        ("=1+2", "spreadsheet formula"),
        ("+cmd|x", "spreadsheet formula"),
        ("@SUM(1)", "spreadsheet formula"),
        ("a\nb", "control character"),
        ("a\tb", "control character"),
        ("prediction", "column predict writes"),
        ("Text_Source", "column predict writes"),
        ("id", "column predict writes"),
    ],
)
def test_a_label_that_would_break_an_outputs_columns_is_refused_with_its_row(label: str, said: str) -> None:
    # A label becomes a column name and cells of predict's, explain's and annotate's outputs.
    frame = pd.DataFrame(
        {"id": ["1", "2", "3"], "gene": ["BRAF"] * 3, "variation": ["V600E"] * 3, "label": ["B", label, "B"]}
    )
    with pytest.raises(InputError, match=said) as refused:
        canonicalize(frame, source="f.csv")
    assert refused.value.row == 3 and "Rename the class" in str(refused.value.hint)
    frame.loc[1, "label"] = "Likely benign"
    assert list(canonicalize(frame, source="f.csv")["label"]) == ["B", "Likely benign", "B"]
