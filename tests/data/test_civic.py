from __future__ import annotations

from pathlib import Path

import pytest

from oncoclass.data import load_table
from oncoclass.data.civic import OUTCOME_COLUMNS, citation_key, load_civic
from oncoclass.errors import InputError
from oncoclass.variation import parse, variation_key

NEW_HEADER = (
    "molecular_profile\tmolecular_profile_id\tdisease\tdoid\tphenotypes\ttherapies\t"
    "therapy_interaction_type\tevidence_type\tevidence_direction\tevidence_level\tsignificance\t"
    "evidence_statement\tcitation_id\tsource_type\tasco_abstract_id\tcitation\tnct_ids\trating\t"
    "evidence_status\tevidence_id\tvariant_origin\tlast_review_date\tevidence_civic_url\n"
)


def test_real_export(civic_file: Path) -> None:
    table = load_table(civic_file)
    assert len(table) == 2889
    assert table["label"].value_counts().index[0] == "Predictive: Sensitivity/Response"
    assert (table["text"] != "").all()
    assert len(table.attrs["groups"]["citation"]) == 2889
    # The curated outcome never leaks into the inputs.
    row = table.iloc[0]
    assert "Diagnostic" not in row["context"] and "Supports" not in row["context"]


def test_newer_schema_with_molecular_profile_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "new.tsv"
    row = (
        "BRAF V600E\t12\tMelanoma\t1909\t\tVemurafenib\t\tPredictive\tSupports\tA\tSensitivity/Response\t"
        'Patients with "BRAF V600E" responded.\t123\tPubMed\t\tX et al.\t\t5\taccepted\t1001\tSomatic\t\t\n'
    )
    path.write_text(NEW_HEADER + row)
    table = load_civic(path)
    assert table.loc[0, ["gene", "variation", "label"]].tolist() == [
        "BRAF",
        "V600E",
        "Predictive: Sensitivity/Response",
    ]
    assert '"BRAF V600E"' in table.loc[0, "text"]
    assert "Vemurafenib" in table.loc[0, "context"]


def test_prediction_time_rows_without_outcome_columns(tmp_path: Path) -> None:
    header = "gene\tvariant\tdisease\tdrugs\tevidence_statement\tpubmed_id\tevidence_id\n"
    path = tmp_path / "blind.tsv"
    path.write_text(header + "EGFR\tT790M\tLung Cancer\tErlotinib\tResistance was seen.\t1\t7\n")
    table = load_table(path)
    assert "label" not in table.columns
    assert set(OUTCOME_COLUMNS).isdisjoint(table.columns)


def test_extra_non_empty_field_names_the_row(tmp_path: Path) -> None:
    header = "gene\tvariant\tevidence_statement\tevidence_type\tevidence_id\n"
    path = tmp_path / "bad.tsv"
    path.write_text(header + "A\tB\tC\tPredictive\t1\n" + "A\tB\tC\tPredictive\t2\textra\n")
    with pytest.raises(Exception, match="row 3"):
        load_civic(path)


def test_a_curated_field_can_be_the_target_and_never_an_input(tmp_path: Path) -> None:
    path = tmp_path / "new.tsv"
    row = (
        "BRAF V600E\t12\tMelanoma\t1909\t\tVemurafenib\t\tPredictive\tSupports\tA\tSensitivity/Response\t"
        "Patients responded.\t123\tPubMed\t\tX et al.\t\t5\taccepted\t1001\tSomatic\t\t\n"
        "EGFR T790M\t13\tLung cancer\t1324\t\tErlotinib\t\tPredictive\tDoes Not Support\tB\tResistance\t"
        "No resistance was seen.\t124\tPubMed\t\tY et al.\t\t3\taccepted\t1002\tSomatic\t\t\n"
    )
    path.write_text(NEW_HEADER + row)
    assert list(load_table(path, target="evidence_level")["label"]) == ["A", "B"]
    direction = load_table(path, target="evidence_direction")
    assert list(direction["label"]) == ["Supports", "Does Not Support"]
    assert not direction["context"].str.contains("Predictive|Supports|Resistance").any()
    assert list(load_table(path, target="evidence_type")["label"]) == ["Predictive", "Predictive"]
    with pytest.raises(Exception, match="target must be one of"):
        load_table(path, target="rating")


def test_a_target_on_a_table_that_is_not_civic_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,gene,variation,label\n1,BRAF,V600E,x\n")
    with pytest.raises(Exception, match="--columns label=COLUMN"):
        load_table(path, target="evidence_level")


def _profiles(tmp_path: Path, profiles: list[str]) -> Path:
    path = tmp_path / "profiles.tsv"
    rows = [
        f"{profile}\t\tCancer\t\t\t\t\tPredictive\tSupports\tA\tSensitivity/Response\tS {i}.\t{i}\t"
        f"PubMed\t\t\t\t\taccepted\t{i}\t\t\t\n"
        for i, profile in enumerate(profiles, start=1)
    ]
    path.write_text(NEW_HEADER + "".join(rows))
    return path


def test_a_fusion_profile_is_filed_as_the_2018_export_filed_fusions(tmp_path: Path) -> None:
    table = load_civic(_profiles(tmp_path, ["EML4::ALK Fusion", "BCR::ABL1 e14-a2", "NOTCH1 MUTATION"]))
    assert table[["gene", "variation"]].values.tolist() == [
        ["ALK", "EML4-ALK Fusion"],  # 2018: gene ALK, variant EML4-ALK
        ["ABL1", "BCR-ABL1 e14-a2"],
        ["NOTCH1", "MUTATION"],  # NOT… is a word, not the operator
    ]
    assert variation_key("EML4-ALK Fusion") == variation_key("EML4-ALK")
    assert table.attrs["notes"] == []


def test_a_compound_profile_is_gene_level_evidence_never_one_variant(tmp_path: Path) -> None:
    profiles = ["NOT BRAF V600E", "EGFR L858R AND EGFR T790M", "BRAF V600E OR BRAF V600K", "BRAF V600E"]
    table = load_civic(_profiles(tmp_path, profiles))
    assert table["gene"].tolist() == ["BRAF", "EGFR", "BRAF", "BRAF"]
    assert table["variation"].tolist()[:3] == profiles[:3]  # the whole profile, nothing dropped
    assert [parse(v).kind for v in table["variation"]] == ["other", "other", "other", "missense"]
    (note,) = table.attrs["notes"]
    assert "3 compound molecular profile(s)" in note and "row(s) 2, 3, 4." in note


def test_a_citation_is_named_by_its_source_type(tmp_path: Path) -> None:
    path = tmp_path / "sources.tsv"
    rows = [
        ("111", "PubMed"),
        ("128093", "ASCO"),
        ("https://doi.org/10.1182/blood-2019-1", "ASH"),
    ]
    path.write_text(
        NEW_HEADER
        + "".join(
            f"BRAF V600E\t\tMelanoma\t\t\t\t\tPredictive\tSupports\tA\tResistance\tS.\t{cid}\t{kind}\t"
            f"\t\t\t\taccepted\t{i}\t\t\t\n"
            for i, (cid, kind) in enumerate(rows, start=1)
        )
    )
    groups = load_civic(path).attrs["groups"]["citation"]
    assert groups == ["PMID:111", "ASCO:128093", "doi:10.1182/blood-2019-1"]
    assert citation_key("222") == "PMID:222" and citation_key("ASCO:128093") == "ASCO:128093"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("BRAF V600E", ("BRAF", "V600E", False)),
        ("EML4::ALK Fusion", ("ALK", "EML4-ALK Fusion", False)),
        ("BCR::ABL1 e14-a2", ("ABL1", "BCR-ABL1 e14-a2", False)),
        # A partner CIViC does not name: a fusion of the named gene, never a gene called "?::NTRK1".
        ("?::NTRK1 Fusion", ("NTRK1", "Fusion", False)),
        ("MET::?", ("MET", "Fusion", False)),
        ("NOT BRAF V600E", ("BRAF", "NOT BRAF V600E", True)),
        ("EGFR L858R AND EGFR T790M", ("EGFR", "EGFR L858R AND EGFR T790M", True)),
        ("NOTCH1 Mutation", ("NOTCH1", "Mutation", False)),
    ],
)
def test_a_molecular_profile_is_filed_as_the_2018_export_filed_it(profile: str, expected: tuple) -> None:
    from oncoclass.data.civic import split_profile

    assert split_profile(profile) == expected


def test_rows_keep_their_lines_past_blank_lines(tmp_path) -> None:
    from oncoclass.data.civic import read_rows

    path = tmp_path / "e.tsv"
    path.write_text("gene\tvariant\n\nBRAF\tV600E\n\nKRAS\tG12D\n", encoding="utf-8")
    assert read_rows(path).attrs["lines"] == [3, 5]
    # A line of only spaces is blank too, as every other reader takes it (it was refused as a row
    # of one field where the header has 2).
    path.write_text("gene\tvariant\n   \nBRAF\tV600E\n\nKRAS\tG12D\n", encoding="utf-8")
    assert read_rows(path).attrs["lines"] == [3, 5]


def test_a_short_row_is_refused_and_extra_empty_fields_are_not(tmp_path: Path) -> None:
    """A row with fewer fields than the header lost values (or had its trailing tabs stripped):
    which ones cannot be known, so it is refused by the one rule's words rather than padded; the
    extra *empty* trailing field a real 2018 export has is still accepted."""
    from oncoclass.data.civic import read_rows

    header = "gene\tvariant\tevidence_statement\tevidence_type\tevidence_id\n"
    short = tmp_path / "short.tsv"
    short.write_text(header + "A\tB\tC\tPredictive\t1\n" + "A\tB\tC\n" + "A\tB\tC\tPredictive\t3\n")
    with pytest.raises(InputError, match=r"short.tsv, row 3: this row has only 3 of the header's 5 fields"):
        load_civic(short)
    extra = tmp_path / "extra.tsv"
    extra.write_text(header + "A\tB\tC\tPredictive\t1\t\t\n")
    assert read_rows(extra).values.tolist() == [["A", "B", "C", "Predictive", "1"]]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_row_is_named_by_its_line_past_blank_lines(tmp_path: Path, newline: str) -> None:
    # read_rows kept each row's line, but the canonical table named a row by the header plus its
    # position: two short after two blank lines (each lone CR a line end, as an editor shows it).
    header = "gene\tvariant\tevidence_statement\tevidence_type\tevidence_id"
    lines = [header, "A\tB\tC\tPredictive\t1", "", "A\tB\tC\tPredictive\t2", "", "\tB\tC\tPredictive\t3"]
    path = tmp_path / "e.tsv"
    path.write_bytes((newline.join(lines) + newline).encode())
    with pytest.raises(InputError, match=r"e.tsv, row 6: empty gene"):
        load_civic(path)
