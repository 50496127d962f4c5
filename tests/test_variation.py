from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncoclass.variation import AMINO_ACIDS, KINDS, is_compound, parse, protein_change, variation_key

CASES = {
    "V600E": ("missense", "V", "E", 600),
    "W802*": ("nonsense", "W", "*", 802),
    "Q61K": ("missense", "Q", "K", 61),
    "p.Val600Glu": ("missense", "V", "E", 600),
    "E746_A750del": ("inframe_deletion", "E", "", 746),
    "S768_V769insVAS": ("insertion", "S", "VAS", 768),
    "A859_L883delinsV": ("delins", "A", "V", 859),
    "A502_Y503dup": ("duplication", "A", "", 502),
    "F1088Lfs*5": ("frameshift", "F", "", 1088),
    "A113_splice": ("splice", "A", "", 113),
    "963_D1010splice": ("splice", "", "", 963),
    "2010_2471trunc": ("truncating", "", "", 2010),
    "R1627": ("position", "R", "", 1627),
    "T58T": ("synonymous", "T", "T", 58),
}
WORDS = {
    "Truncating Mutations": "truncating",
    "Deletion": "gene_deletion",
    "3' Deletion": "gene_deletion",
    "Copy Number Loss": "gene_deletion",
    "Amplification": "amplification",
    "Overexpression": "overexpression",
    "Promoter Mutations": "promoter",
    "Promoter Hypermethylation": "methylation",
    "Hypermethylation": "methylation",
    "EML4-ALK Fusion": "fusion",
    "TMPRSS2-ETV1 Fusion": "fusion",
    "BCR-ABL": "fusion",
    "Fusions": "fusion",
    "Exon 19 deletion": "exon",
    "DNA binding domain missense mutations": "domain",
    "EGFRvIII": "isoform",
    "AR-V7": "isoform",
}


@pytest.mark.parametrize(("raw", "expected"), CASES.items())
def test_point_and_indel_notation(raw: str, expected: tuple[str, str, str, int]) -> None:
    v = parse(raw)
    assert (v.kind, v.ref, v.alt, v.start) == expected


@pytest.mark.parametrize(("raw", "kind"), WORDS.items())
def test_word_notation(raw: str, kind: str) -> None:
    assert parse(raw).kind == kind


def test_fusion_partners_and_exon_number() -> None:
    assert parse("EML4-ALK Fusion").partners == ("EML4", "ALK")
    assert parse("Exon 19 deletion").exon == 19


@given(st.text(max_size=60))
def test_parse_never_raises_and_kind_is_known(raw: str) -> None:
    assert parse(raw).kind in KINDS


@given(
    st.sampled_from(AMINO_ACIDS),
    st.integers(min_value=1, max_value=40000),
    st.sampled_from(AMINO_ACIDS + "*"),
)
def test_any_point_substitution_round_trips(ref: str, position: int, alt: str) -> None:
    v = parse(f"{ref}{position}{alt}")
    assert (v.ref, v.start, v.alt) == (ref, position, alt)
    expected = "nonsense" if alt == "*" else ("synonymous" if alt == ref else "missense")
    assert v.kind == expected


def test_real_kaggle_variations_mostly_parse(kaggle_dir) -> None:
    import pandas as pd

    frame = pd.read_csv(kaggle_dir / "training_variants", dtype=str)
    kinds = frame["Variation"].map(lambda v: parse(v).kind)
    assert (kinds == "other").mean() < 0.01


@pytest.mark.parametrize(
    ("given", "read", "kind"),
    [
        ("p.Val600Glu", "V600E", "missense"),
        ("p.V600E", "V600E", "missense"),
        ("p.(V600E)", "V600E", "missense"),
        ("Val600Glu", "V600E", "missense"),
        ("p.E746_A750del", "E746_A750del", "inframe_deletion"),
        ("p.Glu746_Ala750del", "E746_A750del", "inframe_deletion"),
        ("p.Q16Rfs*28", "Q16Rfs*28", "frameshift"),
        ("p.Gln16ArgfsTer28", "Q16Rfs*28", "frameshift"),
        ("p.X125_splice", "X125_splice", "splice"),
        ("p.L858=", "L858=", "synonymous"),
        # The whole protein unchanged (silent) or none made: HGVS, and no formula ("=").
        ("p.=", "p.=", "synonymous"),
        ("p.(=)", "p.=", "synonymous"),
        ("p.0", "p.0", "truncating"),
        ("p.0?", "p.0", "truncating"),
        ("p.*757Lext*?", "*757Lext*?", "missense"),
        ("p.Trp802Ter", "W802*", "nonsense"),
        ("Truncating Mutations", "Truncating Mutations", "truncating"),
        ("EML4-ALK  Fusion", "EML4-ALK Fusion", "fusion"),
        ("Promoter Hypermethylation", "Promoter Hypermethylation", "methylation"),
        ("ENSP00000288602.6:p.Val600Glu", "V600E", "missense"),
        ("BRAF:NM_004333:exon15:c.T1799A:p.V600E,BRAF:NM_1:exon1:c.T1A:p.V9E", "V600E", "missense"),
    ],
)
def test_hgvs_protein_notation_reads_as_the_grammar_writes_it(given: str, read: str, kind: str) -> None:
    from oncoclass.variation import protein_change

    assert protein_change(given) == read
    assert parse(read).kind == kind


def test_notations_of_one_change_share_a_key() -> None:
    from oncoclass.variation import variation_key

    assert {variation_key(v) for v in ("V600E", "p.V600E", "p.Val600Glu", "(V600E)")} == {"V600E"}
    assert variation_key("p.Q16Rfs*28") == variation_key("Q16fs") == "Q16fs"


@pytest.mark.parametrize(
    ("long", "short"),
    [
        ("p.Gln16ArgfsTer28", "Q16Rfs*28"),
        ("p.Gln16fs", "Q16fs"),
        ("p.Trp802Ter", "W802*"),
        ("p.Trp802*", "W802*"),
        ("p.Glu746_Ala750del", "E746_A750del"),
        ("p.Ala767_Val769dup", "A767_V769dup"),
        ("p.Ser768_Val769insValAlaSer", "S768_V769insVAS"),
        ("p.Ala859_Leu883delinsVal", "A859_L883delinsV"),
        ("p.Arg1627", "R1627"),
        ("gln16argfster28", "Q16Rfs*28"),
    ],
)
def test_a_three_letter_hgvs_change_shares_its_one_letter_key(long: str, short: str) -> None:
    from oncoclass.variation import variation_key

    # The store's lookup key: the long form must find evidence filed under the short one.
    assert variation_key(long) == variation_key(short)
    assert parse(long).kind == parse(short).kind != "other"


def test_a_compound_profile_is_no_one_change() -> None:
    for text in ("NOT BRAF V600E", "EGFR L858R AND EGFR T790M", "BRAF V600E OR BRAF V600K"):
        assert is_compound(text) and parse(text).kind == "other"
    # Upper-case operators only, between words: a gene such as NOTCH1 or a word "and" is not one.
    assert not is_compound("NOTCH1 MUTATION") and parse("Exon 19 and 20 deletion").kind == "exon"


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("v600e", "V600E"),
        ("p.v600e", "V600E"),
        ("p.val600glu", "V600E"),
        ("val600glu", "V600E"),
        ("p.(v600e)", "V600E"),
        ("EML4::ALK Fusion", "EML4-ALK Fusion"),
        ("r1627", "R1627"),
        ("e746_a750del", "E746_A750del"),
        ("s768_v769insvas", "S768_V769insVAS"),
        ("f1088lfs*5", "F1088Lfs*5"),
    ],
)
def test_a_change_in_lower_case_or_hgvs_fusion_notation_is_the_same_change(given: str, read: str) -> None:
    from oncoclass.variation import protein_change, variation_key

    assert protein_change(given) == read
    assert variation_key(given) == variation_key(read)
    assert parse(given).kind == parse(read).kind


def test_lower_case_p61_stays_an_isoform() -> None:
    # CIViC writes BRAF's p61 isoform in lower case: not residue 61 of a proline.
    assert parse("p61").kind == "isoform"


def test_annovar_reads_the_first_entry_that_names_a_protein_change() -> None:
    # A non-coding transcript's entry (no p.) may come first in AAChange.
    assert protein_change("BRAF:NR_1:exon1:c.1A>T,BRAF:NM_004333:exon15:c.T1799A:p.V600E") == "V600E"


@pytest.mark.parametrize(
    ("oncotator", "hgvs"),
    [
        # Older TCGA MAFs (Oncotator) name every residue a frameshift starts in: NPM1's
        # c.860_863dupTCTG is WQ288fs there, W288Cfs*12 in HGVS.
        ("p.WQ288fs", "p.W288Cfs*12"),
        ("p.KIM2014fs", "p.K2014fs"),
        ("p.SG140del", "p.S140_G141del"),
        ("p.310_311TQ>TKQNPQ", "p.T310_Q311insKQNP"),
        ("p.307_309NVE>K", "p.N307_E309delinsK"),
        # A FLT3 internal tandem duplication, as an insertion after the span's last residue.
        ("p.600_600D>DSSDNEY", "p.D600_E601insSSDNEY"),
        ("p.15945_15945I>SL", "p.I15945delinsSL"),
    ],
)
def test_oncotator_notation_is_the_hgvs_change_it_names(oncotator: str, hgvs: str) -> None:
    assert parse(protein_change(oncotator)).kind == parse(protein_change(hgvs)).kind != "other"
    assert variation_key(oncotator) == variation_key(hgvs)


def test_a_frameshift_without_its_residue_and_a_lost_start_are_placed() -> None:
    assert (parse("p.-770fs").kind, parse("p.-770fs").start) == ("frameshift", 770)
    assert (parse(protein_change("p.Met1?")).kind, parse(protein_change("p.M1?")).start) == ("position", 1)
    # No protein made (p.0?) is a loss of the protein, at no residue; its consequence unknown
    # (p.?) names nothing.
    assert (parse("p.0?").kind, parse("p.0?").start) == ("truncating", None)
    assert parse("p.?").kind == "other"
    # Three-letter HGVS is not Oncotator's run of residues: Lys745del is K745del, not L, Y, S.
    for long, short in (("p.Lys745del", "K745del"), ("Thr790del", "T790del"), ("p.Lys745fs", "K745fs")):
        assert variation_key(long) == variation_key(short) and parse(long).start == parse(short).start
    # A stop read in with an insertion ends the protein where it stands (after Y599 and R).
    assert (parse("p.599_600YD>YR*FQRI").kind, parse("p.599_600YD>YR*FQRI").start) == ("nonsense", 601)


def test_a_fusion_is_keyed_by_its_partners_genes() -> None:
    from oncoclass.variation import partner_gene, protein_change, variation_key

    # CIViC 2018's BCR-ABL (ABL: ABL1's symbol before HGNC renamed it) and the current BCR::ABL1.
    keys = {
        variation_key(v) for v in ("BCR-ABL", "BCR::ABL1", "BCR-ABL1 Fusion", protein_change("BCR::ABL1"))
    }
    assert keys == {"BCR-ABL1 fusion"}
    assert variation_key("MLL-AF9") == "KMT2A-AF9 fusion" and partner_gene("abl2") == "ABL2"
    assert variation_key("ABL1-BCR") != variation_key("BCR-ABL")  # the reciprocal fusion is another


def test_one_reader_of_hgvs_fusions_serves_the_grammar_and_civic() -> None:
    """``A::B`` is read by one function: protein_change with gene symbols' characters, CIViC's
    profile reader with any symbol CIViC writes (its placeholder ``?``, NKX2-1)."""
    from oncoclass.data.civic import split_profile
    from oncoclass.variation import hgvs_fusion

    assert hgvs_fusion("EML4::ALK Fusion") == ("EML4", "ALK", " Fusion")
    assert hgvs_fusion("?::NTRK1") is None and hgvs_fusion("?::NTRK1", partner=r"[^\s:]") == (
        "?",
        "NTRK1",
        "",
    )
    assert hgvs_fusion("A::B:C") is None
    assert split_profile("?::NTRK1") == ("NTRK1", "Fusion", False)
    assert split_profile("NKX2-1::NTRK1 Fusion") == ("NTRK1", "NKX2-1-NTRK1 Fusion", False)
