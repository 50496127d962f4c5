"""What each label means, in a curator's words: Kaggle's nine classes and CIViC's curated fields.

The CIViC meanings paraphrase CIViC's own curation guide (civic.readthedocs.io, "Evidence Items":
evidence type, clinical significance, evidence level and direction), including the terms its 2018
exports still used (``Positive``/``Negative`` for prognostic and predisposing evidence) and those
of its current schema (``Oncogenic``, ``Functional``). A blank significance is read as ``N/A``
(:mod:`oncoclass.data.civic`), which CIViC's current schema spells that way.
"""

from __future__ import annotations

from collections.abc import Sequence

KAGGLE_CLASSES: dict[str, str] = {
    "1": "Likely Loss-of-function",
    "2": "Likely Gain-of-function",
    "3": "Neutral",
    "4": "Loss-of-function",
    "5": "Likely Neutral",
    "6": "Inconclusive",
    "7": "Gain-of-function",
    "8": "Likely Switch-of-function",
    "9": "Switch-of-function",
}

EVIDENCE_TYPES: dict[str, str] = {
    "Predictive": "the variant changes how a tumour responds to a therapy",
    "Diagnostic": "the variant helps tell which disease a patient has",
    "Prognostic": "the variant tells how the disease is likely to progress, whatever the treatment",
    "Predisposing": "an inherited variant's role in the risk of developing cancer",
    "Oncogenic": "whether the variant drives or protects against cancer",
    "Functional": "how the variant changes the protein's function",
}

#: "<evidence type>: <clinical significance>" labels (the default target on a CIViC export).
SIGNIFICANCES: dict[str, str] = {
    "Predictive: Sensitivity/Response": "tumours with the variant respond to the therapy",
    "Predictive: Resistance": "tumours with the variant resist or do not respond to the therapy",
    "Predictive: Reduced Sensitivity": "tumours with the variant respond to the therapy, but less well",
    "Predictive: Adverse Response": "patients with the variant have an adverse reaction to the therapy",
    "Diagnostic: Positive": "the variant supports the diagnosis of the disease",
    "Diagnostic: Negative": "the variant argues against the diagnosis of the disease",
    "Prognostic: Better Outcome": "patients with the variant do better",
    "Prognostic: Poor Outcome": "patients with the variant do worse",
    "Prognostic: Positive": "patients with the variant do better (CIViC's older term)",
    "Prognostic: Negative": "patients with the variant do worse (CIViC's older term)",
    "Predisposing: Pathogenic": "the inherited variant causes a raised cancer risk",
    "Predisposing: Likely Pathogenic": "the inherited variant likely raises cancer risk",
    "Predisposing: Uncertain Significance": "too little is known to say if the inherited variant raises risk",
    "Predisposing: Likely Benign": "the inherited variant likely does not raise cancer risk",
    "Predisposing: Benign": "the inherited variant does not raise cancer risk",
    "Predisposing: Positive": "the inherited variant raises cancer risk (CIViC's older term)",
    "Predisposing: Negative": "the inherited variant does not raise cancer risk (CIViC's older term)",
    "Predisposing: Predisposition": "the inherited variant raises cancer risk",
    "Predisposing: Protectiveness": "the inherited variant lowers cancer risk",
    "Oncogenic: Oncogenicity": "the variant drives cancer",
    "Oncogenic: Protectiveness": "the variant protects against cancer",
    "Functional: Gain of Function": "the protein gains or increases a function",
    "Functional: Loss of Function": "the protein loses or reduces a function",
    "Functional: Unaltered Function": "the protein's function is unchanged",
    "Functional: Neomorphic": "the protein acquires a new function",
    "Functional: Dominant Negative": "the altered protein blocks the normal one",
    "Functional: Unknown": "the effect on function is not known",
}

EVIDENCE_LEVELS: dict[str, str] = {
    "A": "Validated association: proven or consensus, e.g. in guidelines",
    "B": "Clinical evidence: from clinical trials or studies of patients",
    "C": "Case study: from individual case reports",
    "D": "Preclinical evidence: from cell lines, animal models or biochemistry",
    "E": "Inferential association: indirect, inferred from other evidence",
}

EVIDENCE_DIRECTIONS: dict[str, str] = {
    "Supports": "the paper supports the clinical significance",
    "Does Not Support": "the paper argues against the clinical significance",
}

#: The vocabulary of each ``--target`` a CIViC export can be trained on.
TARGET_MEANINGS: dict[str, dict[str, str]] = {
    "evidence_type": EVIDENCE_TYPES,
    "evidence_level": EVIDENCE_LEVELS,
    "evidence_direction": EVIDENCE_DIRECTIONS,
}


def is_code(label: str) -> bool:
    """A label that is a code (Kaggle's ``7``, a level's ``B``) is shown with its meaning beside it;
    a label in words (``Predictive: Resistance``) is its own name, and its sentence-long meaning is
    shown apart (a tooltip, a legend), not appended wherever the label appears."""
    return len(label) <= 2


def named(label: str, meanings: dict[str, str] | None, *, prefix: str = "") -> str:
    """``label`` as text shows it: a code with its meaning beside it (``7 (Gain-of-function)``,
    with ``prefix="class "``: ``class 7 (Gain-of-function)``); a label in words as itself. The one
    place the report, the charts and the explanations' phrases name a label."""
    meaning = (meanings or {}).get(label)
    return f"{prefix}{label} ({meaning})" if meaning and is_code(label) else label


def is_kaggle_label_set(labels: Sequence[str]) -> bool:
    return bool(labels) and set(labels) <= set(KAGGLE_CLASSES)


def _significance(label: str) -> str | None:
    if label in SIGNIFICANCES:
        return SIGNIFICANCES[label]
    kind, _, significance = label.partition(": ")
    if kind in EVIDENCE_TYPES and significance in ("N/A", ""):
        return f"{kind.lower()} evidence whose significance CIViC records as not applicable"
    return None


def class_meanings(labels: Sequence[str], target: str | None = None) -> dict[str, str]:
    """The meaning of each label that has one: Kaggle's classes when every label is one of them,
    else CIViC's vocabulary. Single letters and words (levels, directions) are read as CIViC's
    only when the model's ``target`` says that is what it predicts, since a user's own labels may
    be ``A``/``B`` too; ``Type: Significance`` labels are unambiguous and always read."""
    if is_kaggle_label_set(labels):
        return {label: KAGGLE_CLASSES[label] for label in labels}
    vocabulary = TARGET_MEANINGS.get(target or "", {})
    meanings = {}
    for label in labels:
        meaning = vocabulary.get(label) or _significance(label)
        if meaning:
            meanings[label] = meaning
    return meanings
