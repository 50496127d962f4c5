"""A deterministic SYNTHETIC corpus in Kaggle's file format, for the demo, tests and benchmarks.

Nothing here is real biology. Genes are given a role (oncogene, tumour suppressor, mixed) that
skews their classes; variations are drawn from types that depend on the class; each document is
filler prose with a few sentences near the variant's mention that carry class-dependent wording,
plus distractor sentences about *other* variants carrying other classes' wording. So a model that
reads the text around the mention does better than one that reads the whole document, as with the
real Kaggle articles (which are not redistributable).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from oncoclass.data.table import CONTEXT, GENE, ID, LABEL, TEXT, VARIATION

CLASS_WEIGHTS = np.array([568, 452, 89, 686, 242, 275, 953, 19, 37], dtype=float)
CLASSES = [str(i) for i in range(1, 10)]

_PHRASES: dict[str, tuple[str, ...]] = {
    "1": ("likely disrupts protein stability", "predicted to impair function", "probably damaging"),
    "2": ("modestly increased signalling", "likely activating in reporter assays", "weak transformation"),
    "3": ("no difference from wild type", "behaved like the wild type protein", "neutral in all assays"),
    "4": ("abolished enzymatic activity", "complete loss of function", "failed to suppress growth"),
    "5": ("probably tolerated", "minor effect unlikely to matter", "likely benign change"),
    "6": ("conflicting results between assays", "inconclusive functional data", "effect remains unclear"),
    "7": ("constitutive kinase activation", "strongly transforming gain of function", "oncogenic activation"),
    "8": ("possibly altered substrate specificity", "may switch binding partners", "likely neomorphic"),
    "9": ("switched substrate specificity", "acquired a neomorphic function", "altered partner binding"),
}
_FILLER = [
    "cells",
    "tumour",
    "patients",
    "cohort",
    "expression",
    "analysis",
    "protein",
    "domain",
    "assay",
    "sequencing",
    "clinical",
    "response",
    "therapy",
    "inhibitor",
    "pathway",
    "signalling",
    "mutation",
    "variant",
    "residue",
    "structure",
    "binding",
    "kinase",
    "phosphorylation",
    "proliferation",
    "apoptosis",
    "cancer",
    "carcinoma",
    "lung",
    "breast",
    "colorectal",
    "melanoma",
    "leukemia",
    "xenograft",
    "mouse",
    "model",
    "samples",
    "genome",
    "somatic",
    "germline",
    "allele",
    "frequency",
    "survival",
    "treatment",
    "resistance",
    "sensitivity",
    "trial",
    "dose",
    "figure",
    "table",
    "supplementary",
    "data",
    "shown",
    "observed",
    "measured",
    "compared",
    "control",
    "significant",
    "increase",
    "decrease",
    "level",
    "activity",
    "function",
]
_GENES_ONCO = ("BRAF", "EGFR", "KRAS", "PIK3CA", "ALK", "ERBB2", "KIT", "MET", "FGFR2", "JAK2")
_GENES_TSG = ("TP53", "PTEN", "BRCA1", "BRCA2", "CDKN2A", "RB1", "NF1", "VHL", "SMAD4", "APC")
_GENES_MIXED = ("CBL", "NOTCH1", "EZH2", "TET2", "IDH1", "RUNX1", "SF3B1", "CTNNB1", "MAP2K1", "FBXW7")
_AA = "ACDEFGHIKLMNPQRSTVWY"


@dataclass(frozen=True)
class SynthSpec:
    """How big a synthetic corpus to make. ``doc_chars`` is the target length of each document."""

    rows: int = 600
    test_rows: int = 150
    doc_chars: int = 2000
    seed: int = 0
    noise: float = 0.15


def _gene_class_prior(gene: str, rng: np.random.Generator) -> np.ndarray:
    base = CLASS_WEIGHTS / CLASS_WEIGHTS.sum()
    boost = np.ones(9)
    if gene in _GENES_ONCO:
        boost[[1, 6]] = 4.0
    elif gene in _GENES_TSG:
        boost[[0, 3]] = 4.0
    else:
        boost[[2, 4, 5, 7, 8]] = 2.0
    weights = base * boost * rng.gamma(2.0, 0.5, size=9)
    return weights / weights.sum()


def _variation(label: str, rng: np.random.Generator, hotspots: list[int]) -> str:
    roll = rng.random()
    if label in ("1", "4") and roll < 0.5:
        return str(
            rng.choice(
                [
                    "Truncating Mutations",
                    "Deletion",
                    f"{rng.choice(list(_AA))}{rng.integers(5, 900)}*",
                    f"{rng.choice(list(_AA))}{rng.integers(5, 900)}fs",
                ]
            )
        )
    if label in ("2", "7") and roll < 0.35:
        return str(rng.choice(["Amplification", "Fusions", "Overexpression"]))
    position = (
        int(rng.choice(hotspots))
        if label in ("2", "7", "8", "9") and roll < 0.8
        else int(rng.integers(5, 1200))
    )
    ref, alt = rng.choice(list(_AA), size=2, replace=False)
    return f"{ref}{position}{alt}"


def _sentence(rng: np.random.Generator, words: int) -> str:
    chosen = rng.choice(_FILLER, size=words)
    return " ".join(chosen).capitalize() + "."


def _document(
    gene: str, variation: str, label: str, chars: int, rng: np.random.Generator, noise: float
) -> str:
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < max(chars - 200, 60):
        sentences.append(_sentence(rng, int(rng.integers(8, 20))))
    signal_label = str(rng.choice(CLASSES)) if rng.random() < noise else label
    phrase = str(rng.choice(_PHRASES[signal_label]))
    mention = f"The {gene} {variation} variant showed {phrase}."
    where = int(rng.integers(0, len(sentences) + 1))
    sentences.insert(where, mention)
    # Distractors: other variants, other classes' wording, far from nothing in particular.
    for _ in range(max(1, chars // 4000)):
        other = str(rng.choice([c for c in CLASSES if c != label]))
        decoy = f"By contrast, the control mutant showed {rng.choice(_PHRASES[other])}."
        sentences.insert(int(rng.integers(0, len(sentences) + 1)), decoy)
    return " ".join(sentences)


def make_corpus(spec: SynthSpec = SynthSpec()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) canonical tables, both labelled; same spec and seed give the same corpus."""
    rng = np.random.default_rng(spec.seed)
    genes = [*_GENES_ONCO, *_GENES_TSG, *_GENES_MIXED]
    priors = {g: _gene_class_prior(g, rng) for g in genes}
    hotspots = {g: list(rng.integers(10, 1000, size=3)) for g in genes}
    gene_weights = rng.dirichlet(np.full(len(genes), 1.5))
    total = spec.rows + spec.test_rows
    records = []
    seen: set[tuple[str, str]] = set()
    while len(records) < total:
        gene = str(rng.choice(genes, p=gene_weights))
        label = str(rng.choice(CLASSES, p=priors[gene]))
        variation = _variation(label, rng, hotspots[gene])
        if (gene, variation) in seen:
            continue
        seen.add((gene, variation))
        text = _document(gene, variation, label, spec.doc_chars, rng, spec.noise)
        records.append({GENE: gene, VARIATION: variation, TEXT: text, CONTEXT: "", LABEL: label})
    frame = pd.DataFrame.from_records(records)
    train = frame.iloc[: spec.rows].reset_index(drop=True)
    test = frame.iloc[spec.rows :].reset_index(drop=True)
    train.insert(0, ID, [str(i) for i in range(len(train))])
    test.insert(0, ID, [str(i) for i in range(len(test))])
    return train, test


def write_kaggle(table: pd.DataFrame, variants: Path, text: Path, *, with_class: bool) -> None:
    """Write a table in Kaggle's two-file format (``ID,Gene,Variation[,Class]`` and ``ID||Text``)."""
    out = table[[ID, GENE, VARIATION]].rename(columns={ID: "ID", GENE: "Gene", VARIATION: "Variation"})
    if with_class:
        out["Class"] = table[LABEL]
    out.to_csv(variants, index=False)
    with text.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("ID,Text\n")
        for key, body in zip(table[ID], table[TEXT], strict=True):
            handle.write(f"{key}||{body if body else 'null'}\n")


def write_solution(table: pd.DataFrame, path: Path) -> None:
    onehot = pd.DataFrame({"ID": table[ID]})
    for label in CLASSES:
        onehot[f"class{label}"] = (table[LABEL] == label).astype(int)
    onehot.to_csv(path, index=False)


def write_corpus(
    out_dir: str | Path, spec: SynthSpec = SynthSpec(), *, zipped: bool = False
) -> dict[str, Path]:
    """Write the corpus as Kaggle's files (optionally each in its own ``.zip``, as Kaggle ships)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train, test = make_corpus(spec)
    paths = {
        "training_variants": out / "training_variants",
        "training_text": out / "training_text",
        "test_variants": out / "test_variants",
        "test_text": out / "test_text",
        "test_solution": out / "test_solution.csv",
    }
    write_kaggle(train, paths["training_variants"], paths["training_text"], with_class=True)
    write_kaggle(test, paths["test_variants"], paths["test_text"], with_class=False)
    write_solution(test, paths["test_solution"])
    (out / "README.txt").write_text(
        "SYNTHETIC corpus written by `oncoclass synth` (not real biology, not Kaggle's data).\n"
        f"rows={spec.rows} test_rows={spec.test_rows} doc_chars={spec.doc_chars} "
        f"seed={spec.seed} noise={spec.noise}\n"
    )
    if zipped:
        for key, path in list(paths.items()):
            archive = path.with_name(path.name + ".zip")
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
                handle.write(path, arcname=path.name)
            path.unlink()
            paths[key] = archive
    return paths
