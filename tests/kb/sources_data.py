"""Tiny source files in each format the store imports, written by the tests (the real exports
are in ONCOCLASS_DATA and used by the real-data tests only)."""

from __future__ import annotations

from pathlib import Path

#: A CIViC evidence export in the 2018 columns; rows 2 and 3 share a paper.
CIVIC_2018 = [
    "gene\tvariant\tdisease\tdrugs\tevidence_type\tevidence_direction\tevidence_level\tclinical_significance"
    "\tevidence_statement\tpubmed_id\tevidence_id\tevidence_civic_url",
    "BRAF\tV600E\tMelanoma\tVemurafenib\tPredictive\tSupports\tA\tSensitivity/Response"
    '\tBRAF V600E melanoma responds to "vemurafenib".\t111\t1\thttps://civic/1',
    "BRAF\tV600E\tColorectal Cancer\tVemurafenib\tPredictive\tSupports\tB\tResistance"
    "\tColorectal BRAF V600E tumours resist vemurafenib alone.\t222\t2\thttps://civic/2",
    "BRAF\tV600K\tMelanoma\tDabrafenib\tPredictive\tSupports\tB\tSensitivity/Response"
    "\tV600K melanoma responds to dabrafenib.\t222\t3\thttps://civic/3",
    "BRAF\tG469A\tLung Cancer\t\tPrognostic\tSupports\tC\tPoor Outcome"
    "\tG469A predicts poor outcome.\t333\t4\thttps://civic/4",
    "TP53\tR175H\tBreast Cancer\t\tPrognostic\tSupports\tB\tPoor Outcome"
    "\tTP53 R175H carries a poor prognosis.\t444\t5\thttps://civic/5",
]
#: The same evidence in CIViC's current columns (molecular profile, therapies, significance).
CIVIC_CURRENT = [
    "molecular_profile\tdisease\ttherapies\tevidence_type\tevidence_direction\tevidence_level"
    "\tsignificance\tevidence_statement\tcitation_id\tevidence_id\tevidence_civic_url",
    "BRAF V600E\tMelanoma\tVemurafenib\tPredictive\tSupports\tA\tSensitivity/Response"
    "\tBRAF V600E melanoma responds to vemurafenib.\t111\t1\thttps://civic/1",
    "EGFR T790M\tLung Cancer\tErlotinib\tPredictive\tSupports\tB\tResistance"
    "\tEGFR T790M confers resistance to erlotinib.\t555\t6\thttps://civic/6",
]
HOTSPOTS = [
    "7\t140453136\tA\tT\tBRAF\tMissense_Mutation\tV600E\tdeleterious(0)",
    "17\t7578406\tC\tT\tTP53\tMissense_Mutation\tR175H\tdeleterious(0)",
    "17\t7579529\tC\tT\tTP53\tNonsense_Mutation\tW53*\t",
]
VARIANT_SUMMARIES = [
    "variant_id\tvariant_civic_url\tgene\tentrez_id\tvariant\tsummary",
    "12\thttps://civic/v/12\tBRAF\t673\tV600E\tThe most common BRAF mutation.",
    "13\thttps://civic/v/13\tMLH1\t4292\tc.100G>A\tp.Glu34Lys\textra",
]
GENE_SUMMARIES = [
    "gene_id\tgene_civic_url\tname\tentrez_id\tdescription",
    "5\thttps://civic/g/5\tBRAF\t673\tA kinase.",
]
LABELLED_TABLE = [
    "id,gene,variation,text,label,disease",
    "a1,KRAS,p.Gly12Asp,KRAS G12D drives pancreatic cancer.,oncogenic,Pancreatic Cancer",
    "a2,TP53,W53*,A truncating TP53 change.,loss,",
]


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
