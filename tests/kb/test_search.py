"""Tiered search: notation normalised, tiers in order, a row's own evidence never returned."""

from __future__ import annotations

from pathlib import Path

import pytest
from sources_data import CIVIC_2018, HOTSPOTS, LABELLED_TABLE, write

from oncoclass.errors import ConfigError
from oncoclass.kb.load import import_path
from oncoclass.kb.search import Query, search
from oncoclass.kb.store import Store, open_store


@pytest.fixture
def store(kb_url: str, tmp_path: Path) -> Store:
    store = open_store(kb_url)
    for name, lines in (("e.tsv", CIVIC_2018), ("h.tsv", HOTSPOTS), ("t.csv", LABELLED_TABLE)):
        import_path(store, write(tmp_path, name, lines))
    yield store
    store.close()


@pytest.mark.parametrize(
    "notation", ["V600E", "p.V600E", "p.Val600Glu", "p.(V600E)", " v600e "[1:-1].upper()]
)
def test_every_notation_of_a_variant_finds_it(store: Store, notation: str) -> None:
    hits = search(store, Query(gene="braf", variation=notation), limit=3)
    assert [h.tier for h in hits[:3]] == ["variant", "variant", "variant"]
    assert {h.variation for h in hits[:3]} == {"V600E"}


def test_tiers_come_in_order_variant_position_kind_gene(store: Store) -> None:
    hits = search(store, Query(gene="BRAF", variation="V600K"), limit=10)
    tiers = [h.tier for h in hits]
    assert tiers == sorted(tiers, key=["variant", "position", "kind", "gene"].index)
    assert tiers[0] == "variant" and "position" in tiers  # V600E items share residue 600
    truncating = search(store, Query(gene="TP53", variation="Q136*"), limit=5)
    assert truncating[0].tier == "kind" and truncating[0].variation in ("W53*",)  # same kind: truncating


def test_hits_carry_what_a_curator_needs(store: Store) -> None:
    hit = search(store, Query(gene="BRAF", variation="V600E", disease="melanoma"), limit=1)[0]
    assert hit.source == "civic" and hit.source_id == "1" and hit.disease == "Melanoma"
    assert (hit.citation, hit.url, hit.label) == (
        "PMID:111",
        "https://civic/1",
        "Predictive: Sensitivity/Response",
    )
    fields = "tier score gene variation disease drugs label statement citation url source source_id"
    assert set(hit.to_dict()) >= set(fields.split())


def test_relevance_orders_a_tier(store: Store) -> None:
    hits = search(store, Query(gene="BRAF", variation="V600E", text="colorectal"), limit=2)
    assert hits[0].source_id == "2"


def test_own_item_paper_and_statement_are_never_returned(store: Store) -> None:
    query = Query(gene="BRAF", variation="V600E", exclude=frozenset({("civic", "1")}),
                  exclude_citations=frozenset({"PMID:222"}))  # fmt: skip
    keys = {h.key for h in search(store, query, limit=50)}
    assert not keys & {"civic:1", "civic:2", "civic:3"}
    same_text = Query(
        gene="BRAF", variation="V600E", exclude_statement="V600K melanoma responds to dabrafenib."
    )
    assert "civic:3" not in {h.key for h in search(store, same_text, limit=50)}


def test_unknown_genes_find_nothing_and_a_gene_is_required(store: Store) -> None:
    assert search(store, Query(gene="NOPE1", variation="V1A")) == []
    with pytest.raises(ConfigError, match="gene"):
        Query(gene=" ")


#: CIViC 2018 filed EWSR1-FLI1 under its 5' gene; the current schema files A::B under the 3' one.
FUSIONS = [
    CIVIC_2018[0],
    "EWSR1\tEWSR1-FLI1 Fusion\tEwing Sarcoma\t\tDiagnostic\tSupports\tB\tPositive"
    "\tEWSR1-FLI1 defines Ewing sarcoma.\t555\t61\thttps://civic/61",
    "EWSR1\tOverexpression\tEwing Sarcoma\t\tPrognostic\tSupports\tC\tPoor Outcome"
    "\tEWSR1 overexpression.\t556\t62\thttps://civic/62",
]


@pytest.mark.parametrize(
    ("gene", "variation"),
    [("FLI1", "EWSR1::FLI1 Fusion"), ("EWSR1", "EWSR1-FLI1 Fusion"), ("fli1", "EWSR1-FLI1")],
)
def test_a_fusion_is_found_under_either_partner(cli, tmp_path: Path, gene: str, variation: str) -> None:
    import json

    kb = tmp_path / "kb.sqlite"
    assert cli(["kb", "import", write(tmp_path, "f.tsv", FUSIONS), "--kb", kb]).returncode == 0
    found = cli(["kb", "search", "--kb", kb, "--gene", gene, "--variation", variation, "--json"])
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert (hits[0]["tier"], hits[0]["gene"], hits[0]["variation"]) == (
        "variant",
        "EWSR1",
        "EWSR1-FLI1 Fusion",
    )
    if gene.upper() == "FLI1":  # the partner's other items are not FLI1's evidence
        assert [h["variation"] for h in hits] == ["EWSR1-FLI1 Fusion"]


#: CIViC's 2018 export writes BCR-ABL (ABL, the gene's symbol before HGNC renamed it ABL1); its
#: current schema writes BCR::ABL1. Both are filed under ABL1.
BCR_ABL_2018 = [
    CIVIC_2018[0],
    "ABL1\tBCR-ABL\tCML\tImatinib\tPredictive\tSupports\tA\tSensitivity/Response"
    "\tBCR-ABL CML responds to imatinib.\t111\t71\thttps://civic/71",
]
BCR_ABL_NOW = [
    "molecular_profile\tdisease\ttherapies\tevidence_type\tevidence_direction\tevidence_level\tsignificance"
    "\tevidence_statement\tcitation_id\tsource_type\tevidence_id\tevidence_civic_url",
    "BCR::ABL1 Fusion\tCML\tNilotinib\tPredictive\tSupports\tA\tSensitivity/Response"
    "\tBCR::ABL1 responds to nilotinib.\t333\tPubMed\t72\thttps://civic/72",
]


@pytest.mark.parametrize(
    ("gene", "variation"),
    [
        ("ABL1", "BCR::ABL1"),
        ("ABL1", "BCR-ABL"),
        ("BCR", "BCR::ABL1 Fusion"),
        ("BCR", "BCR-ABL"),
        ("ABL", "BCR-ABL"),
    ],
)
def test_a_fusion_s_partners_are_matched_by_gene_whatever_their_symbol(
    kb_url: str, tmp_path: Path, gene: str, variation: str
) -> None:
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "old.tsv", BCR_ABL_2018))
        import_path(store, write(tmp_path, "new.tsv", BCR_ABL_NOW))
        hits = search(store, Query(gene=gene, variation=variation), limit=10)
    assert {(h.tier, h.key) for h in hits[:2]} == {("variant", "civic:71"), ("variant", "civic:72")}
    assert len(hits) == 2  # nothing else of ABL1's, and BRAF's items are not a partner's


def test_a_store_keyed_before_partner_genes_is_keyed_again_when_opened(tmp_path: Path) -> None:
    """Migration 0004: a store whose fusion items were keyed by the partners as written (BCR-ABL
    fusion) is keyed by their genes when this oncoclass opens it."""
    from alembic import command
    from sqlalchemy import select

    from oncoclass.kb.schema import Item
    from oncoclass.kb.store import _alembic_config, current_revision, head_revision

    url = f"sqlite:///{tmp_path / 'kb.sqlite'}"
    with open_store(url) as store:
        import_path(store, write(tmp_path, "old.tsv", BCR_ABL_2018))
        with store.engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        with store.engine.connect() as connection:
            assert connection.execute(select(Item.variation_key).where(Item.gene == "ABL1")).scalar() == (
                "BCR-ABL fusion"
            )
    with open_store(url) as store:
        assert current_revision(store) == head_revision()
        with store.engine.connect() as connection:
            assert connection.execute(select(Item.variation_key).where(Item.gene == "ABL1")).scalar() == (
                "BCR-ABL1 fusion"
            )


def test_a_store_keyed_by_an_older_grammar_is_keyed_again_when_opened(tmp_path: Path, kb_url: str) -> None:
    """Migration 0005: items keyed before the grammar read a notation (Oncotator's p.WQ288fs) get
    the keys an import gives them now, so search matches them with the change written as HGVS."""
    from alembic import command
    from sqlalchemy import select, update

    from oncoclass.kb.schema import Item
    from oncoclass.kb.store import _alembic_config

    url = kb_url
    table = "gene\tvariation\tlabel\nNPM1\tp.WQ288fs\tGain-of-function\n"
    with open_store(url) as store:
        import_path(store, write(tmp_path, "npm1.tsv", table.split("\n")[:-1]))
        with store.engine.begin() as connection:  # as an older grammar keyed it
            connection.execute(update(Item).values(variation_key="wq288fs", position=None, kind="other"))
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
    with open_store(url) as store:
        with store.engine.connect() as connection:
            keys = connection.execute(select(Item.variation_key, Item.position, Item.kind)).one()
        assert tuple(keys) == ("W288fs", 288, "frameshift")
        hits = search(store, Query(gene="NPM1", variation="p.Trp288CysfsTer12"))
        assert hits and hits[0].tier == "variant"
