"""Evidence attached to a table: the columns a model reads and a prediction cites, with no leakage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sources_data import CIVIC_2018, HOTSPOTS, write

from oncoclass.data import load_table
from oncoclass.data.table import EVIDENCE, EVIDENCE_IDS, EVIDENCE_TEXT, TEXT_SOURCE
from oncoclass.kb.load import import_path
from oncoclass.kb.retrieve import attach, ensure
from oncoclass.kb.store import Store, open_store


def test_without_a_store_the_columns_are_empty_and_say_where_text_came_from() -> None:
    table = pd.DataFrame(
        {"id": ["1", "2"], "gene": ["A", "B"], "variation": ["V1A", "V2A"], "text": ["t", " "]}
    )
    out = ensure(table)
    assert out[TEXT_SOURCE].tolist() == ["given", "none"]
    assert (out[[EVIDENCE, EVIDENCE_TEXT, EVIDENCE_IDS]] == "").all().all()
    assert ensure(out) is out  # attached once


@pytest.fixture
def civic_store(kb_url: str, tmp_path: Path) -> Iterator[tuple[Store, pd.DataFrame]]:
    """A store of the tiny CIViC export and hotspots, and the export as a table."""
    evidence = write(tmp_path, "e.tsv", CIVIC_2018)
    with open_store(kb_url) as store:
        import_path(store, evidence)
        import_path(store, write(tmp_path, "h.tsv", HOTSPOTS))
        yield store, load_table(evidence)


def test_training_rows_never_retrieve_their_own_item_or_paper(civic_store) -> None:
    store, table = civic_store
    training = attach(table, store, leave_out_citations=True)
    predicting = attach(table, store)
    cited = dict(zip(training["id"], training[EVIDENCE_IDS].str.split(";"), strict=True))
    # Row 1 (paper 111) sees 2 and 3 (paper 222) and the hotspot; row 2 never sees 3, its paper's.
    assert (
        "civic:1" not in cited["1"]
        and "civic:2" in cited["1"]
        and "hotspots:7:140453136A>T:BRAF:V600E" in cited["1"]
    )
    assert not {"civic:2", "civic:3"} & set(cited["2"])
    for row_id, keys in cited.items():
        assert f"civic:{row_id}" not in keys
    # Predicting the same rows, only the row's own item is left out: its paper's others are known.
    assert "civic:3" in predicting.loc[predicting["id"] == "2", EVIDENCE_IDS].iloc[0].split(";")
    assert "civic:2" not in predicting.loc[predicting["id"] == "2", EVIDENCE_IDS].iloc[0].split(";")


def test_a_rows_gene_is_counted_whole_by_kind_less_its_own_item_and_paper(civic_store) -> None:
    """The ``kinds`` lines count the gene's labelled items (not the hotspots) by kind of change, all
    of them rather than the retrieved ones, and never the items the row may not see."""
    store, table = civic_store
    kinds = {
        row_id: [line for line in evidence.splitlines() if line.startswith("kinds|")]
        for row_id, evidence in zip(
            table["id"], attach(table, store, leave_out_citations=True)[EVIDENCE], strict=True
        )
    }
    # BRAF holds four missense items: row 1 leaves out its own, row 2 its paper's two (2 and 3).
    assert kinds["1"] == ["kinds|missense|3"] and kinds["2"] == ["kinds|missense|2"]
    assert kinds["5"] == []  # TP53's one item is row 5's own
    predicting = attach(table, store)
    assert "kinds|missense|3" in predicting.loc[predicting["id"] == "2", EVIDENCE].iloc[0].splitlines()


def test_a_text_less_row_is_marked_retrieved_when_the_store_knows_its_variant(
    kb_url: str, tmp_path: Path
) -> None:
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "e.tsv", CIVIC_2018))
        rows = pd.DataFrame({"id": ["x", "y"], "gene": ["BRAF", "NOPE"], "variation": ["p.Val600Glu", "V1A"],
                             "text": ["", ""], "context": ["", ""]})  # fmt: skip
        out = attach(rows, store)
    assert out[TEXT_SOURCE].tolist() == ["retrieved", "none"]
    assert out[EVIDENCE].iloc[0].splitlines()[0].startswith("variant|civic|Predictive:")
    assert "vemurafenib" in out[EVIDENCE_TEXT].iloc[0]


def test_genes_too_large_to_hold_are_read_tier_by_tier_with_the_same_result(civic_store, monkeypatch) -> None:
    import oncoclass.kb.search as search

    store, table = civic_store
    whole = attach(table, store, leave_out_citations=True)
    monkeypatch.setattr(search, "POOL_LIMIT", 0)
    assert set(search.candidates(store, ["BRAF"]).values()) == {None}
    tiered = attach(table, store, leave_out_citations=True)
    pd.testing.assert_frame_equal(whole, tiered)


def test_a_row_imported_under_another_source_name_is_still_its_own(kb_url: str, tmp_path: Path) -> None:
    # The table imported with --source (or from a renamed copy): its rows are found by their ID,
    # gene and change, whatever the source is called, and never feed their own labels back.
    table_path = write(tmp_path, "train.csv", ["id,gene,variation,label", "1,BRAF,V600E,a", "2,BRAF,V600E,b"])
    with open_store(kb_url) as store:
        import_path(store, table_path, source="mylab")
        out = attach(load_table(table_path), store, leave_out_citations=True)
    assert out[EVIDENCE_IDS].tolist() == ["mylab:2", "mylab:1"]
    kinds = "\nkinds|missense|1"  # each row's gene holds one labelled item it may see: the other
    assert out[EVIDENCE].tolist() == ["variant|mylab|b" + kinds, "variant|mylab|a" + kinds]


def test_train_and_predict_without_a_store_never_import_sqlalchemy() -> None:
    """The store's modules (SQLAlchemy, ~0.3 s) load only when a store is used."""
    import subprocess
    import sys

    code = (
        "import sys, oncoclass.cli, oncoclass.jobs.train, oncoclass.jobs.predict\n"
        "from oncoclass.kb.retrieve import with_store\n"
        "import pandas as pd\n"
        "with_store(pd.DataFrame({'id': ['1'], 'gene': ['BRAF'], 'variation': ['V600E']}), None)\n"
        "assert not any(m == 'sqlalchemy' or m.startswith('sqlalchemy.') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_fusion_row_retrieves_evidence_filed_under_its_other_partner(
    kb_url: str, tmp_path: Path, monkeypatch
) -> None:
    import oncoclass.kb.search as search

    row = (
        "EWSR1\tEWSR1-FLI1 Fusion\tEwing Sarcoma\t\tDiagnostic\tSupports\tB\tPositive"
        "\tEWSR1-FLI1 defines Ewing sarcoma.\t555\t61\thttps://civic/61"
    )
    table = pd.DataFrame({"id": ["x"], "gene": ["FLI1"], "variation": ["EWSR1::FLI1 Fusion"], "text": [""],
                          "context": [""]})  # fmt: skip
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "e.tsv", [CIVIC_2018[0], row]))
        pooled = attach(table, store)
        monkeypatch.setattr(search, "POOL_LIMIT", 0)  # EWSR1 read tier by tier: the same evidence
        tiered = attach(table, store)
    assert pooled[EVIDENCE_IDS].tolist() == ["civic:61"] and pooled[TEXT_SOURCE].tolist() == ["retrieved"]
    pd.testing.assert_frame_equal(pooled, tiered)


NOT_PROFILES = [
    "molecular_profile\tdisease\ttherapies\tevidence_type\tevidence_direction\tevidence_level\tsignificance"
    "\tevidence_statement\tcitation_id\tsource_type\tevidence_id\tevidence_civic_url",
    "NOT KRAS G12C\tLung Cancer\tSotorasib\tPredictive\tSupports\tB\tResistance"
    "\tTumours without KRAS G12C do not respond.\t901\tPubMed\t81\thttps://civic/81",
    "KRAS G12V\tColorectal Cancer\tCetuximab\tPredictive\tSupports\tB\tResistance"
    "\tKRAS G12V resists cetuximab.\t902\tPubMed\t82\thttps://civic/82",
]


def test_a_not_profile_is_never_the_gene_s_evidence(kb_url: str, tmp_path: Path) -> None:
    """``NOT KRAS G12C`` is filed under KRAS with its label, but it is evidence about G12C's
    absence: search shows it last, in the absence tier; retrieval gives a KRAS row none of it (no
    evidence line for the features, no statement, no citation) and explain's similar labelled
    items leave it out."""
    from oncoclass.kb.retrieve import similar_labelled
    from oncoclass.kb.search import Query, search

    table = pd.DataFrame({"id": ["1", "2"], "gene": ["KRAS", "KRAS"], "variation": ["G12D", "G12C"],
                          "text": ["", ""], "context": ["", ""]})  # fmt: skip
    with open_store(kb_url) as store:
        result = import_path(store, write(tmp_path, "now.tsv", NOT_PROFILES))
        hits = search(store, Query(gene="KRAS", variation="G12C"), limit=10)
        attached = attach(table, store)
        similar = similar_labelled(store, Query(gene="KRAS", variation="G12D"))
    assert [(h.tier, h.key) for h in hits] == [("position", "civic:82"), ("absence", "civic:81")]
    assert hits[1].label == "Predictive: Resistance"  # kept as given
    # Counted by kind, the gene's evidence holds G12D's item only.
    assert attached[EVIDENCE].tolist() == [
        "position|civic|Predictive: Resistance\nkinds|missense|1",
        "position|civic|Predictive: Resistance\nkinds|missense|1",
    ]
    assert not attached[EVIDENCE_TEXT].str.contains("without KRAS G12C").any()
    assert "civic:81" not in ";".join(attached[EVIDENCE_IDS])
    assert [h.key for h in similar] == ["civic:82"]
    assert any("1 of them negate a variant (NOT)" in note for note in result.notes)


def test_a_numbered_tables_rows_are_still_their_own_in_the_store(kb_url: str, tmp_path: Path) -> None:
    # Rows without an id are kept under keys from their content: training on the table after
    # importing it still leaves each row's own item (and label) out.
    table_path = write(tmp_path, "lab.csv", ["gene,variation,label", "BRAF,V600E,a", "BRAF,V600E,b"])
    with open_store(kb_url) as store:
        import_path(store, table_path)
        out = attach(load_table(table_path), store, leave_out_citations=True)
    kinds = "\nkinds|missense|1"  # and the gene's items counted by kind leave it out too
    assert out[EVIDENCE].tolist() == ["variant|table:lab.csv|b" + kinds, "variant|table:lab.csv|a" + kinds]
