"""Feature names in a curator's words, for every shape of name the recipes produce."""

from __future__ import annotations

import pytest

from oncoclass.phrases import phrase

KAGGLE = {"7": "Gain-of-function", "4": "Loss-of-function"}


@pytest.mark.parametrize(
    ("feature", "source", "expected"),
    [
        ("gene_variation=class Predictive: Resistance", "neighbours",
         "share of other evidence on EGFR T790M in training labelled Predictive: Resistance"),
        ("gene=class 7", "neighbours",
         "share of other EGFR variants in training labelled class 7 (Gain-of-function)"),
        ("kind count", "neighbours", "how many variants of the same kind in any gene training holds"),
        ("within ~2 residues=class 4", "neighbours",
         "share of EGFR variants within about 2 residues in training labelled class 4 (Loss-of-function)"),
        ("within ~2 residues count", "neighbours",
         "how many EGFR variants training holds within about 2 residues"),
        ("variant evidence: resistance", "evidence",
         "the store's evidence on the same variant: “resistance”"),
        ("hotspots hold the change", "hotspots", "the store's hotspots table holds this very change"),
        ("hotspots items on the residue", "hotspots",
         "how many changes at this residue the store's hotspots table holds"),
        ("d_volume", "variation", "the change in residue volume"),
        ("kind=inframe_deletion", "variation", "the change is of the kind inframe deletion"),
        ("gene_EGFR", "gene", "the gene is EGFR"),
        ("osimertinib", "text", "“osimertinib” in the text"),
        ("neg_response", "text", "“response” in the text after a negation"),
        ("not neg_associated", "text", "“not associated” in the text after a negation"),
        ("patients treated", "text near the mention",
         "“patients treated” near the variant's mention in the text"),
        ("text", "text", "the text as a whole"),
        ("embedding of the text (all-MiniLM-L6-v2, 384 dimensions)", "text meaning",
         "the meaning of the text as a whole (its sentence embedding)"),
        ("gene_residue=mostly Predictive: Resistance", "neighbours",
         "how other EGFR variants at the same residue were labelled in training "
         "(mostly Predictive: Resistance)"),
        ("gene_variation=mostly 7", "neighbours",
         "how other evidence on EGFR T790M was labelled in training (mostly class 7 (Gain-of-function))"),
        ("within ~50 residues=none", "neighbours",
         "no EGFR variants within about 50 residues labelled in training"),
        ("drugs", "context", "the evidence names drugs"),
        ("something new", "other", "something new"),
    ],
)  # fmt: skip
def test_phrases(feature: str, source: str, expected: str) -> None:
    assert phrase(feature, source, gene="egfr", variation="T790M", meanings=KAGGLE) == expected
