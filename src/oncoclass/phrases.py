"""Feature names in a curator's words: ``gene_variation=class Predictive: Resistance`` becomes
"other evidence on EGFR T790M in training: Predictive: Resistance". The raw name stays beside the
phrase (explanations keep both), for whoever wants to trace a number back to its feature.

One function, :func:`phrase`, knows every shape of name the recipes' features produce; a name it
does not know is returned as it is rather than guessed at.
"""

from __future__ import annotations

import re

from oncoclass.data.vocab import named
from oncoclass.features.text import NEGATED

#: What each neighbour key groups a variant with, given the variant's gene and variation.
_NEIGHBOURS = {
    "gene": "other {gene} variants",
    "gene_kind": "other {gene} variants of the same kind",
    "gene_residue": "other {gene} variants at the same residue",
    "gene_position": "other {gene} variants at the same position",
    "kind": "variants of the same kind in any gene",
    "gene_variation": "other evidence on {gene} {variation}",
}
_GRAMMAR = {
    "has_position": "the change names a residue position",
    "log_position": "how far along the protein the change is",
    "log_length": "how many residues the change spans",
    "blosum62": "how common this amino-acid substitution is (BLOSUM62)",
    "d_hydropathy": "the change in hydropathy",
    "abs_d_hydropathy": "how much the hydropathy changes",
    "d_volume": "the change in residue volume",
    "d_charge": "the change in charge",
    "d_polarity": "the change in polarity",
    "ref_special": "the original residue is a cysteine, glycine or proline",
    "alt_special": "the new residue is a cysteine, glycine or proline",
    "n_partners": "the number of fusion partners",
}
_TEXT = {
    "text": "“{word}” in the text",
    "text near the mention": "“{word}” near the variant's mention in the text",
    "context": "“{word}” in the disease or drugs",
}


def label_words(label: str, meanings: dict[str, str] | None) -> str:
    """A label as a phrase names it (see :func:`oncoclass.data.vocab.named`)."""
    return named(label, meanings, prefix="class ")


def phrase(feature: str, source: str, *, gene: str, variation: str, meanings: dict[str, str] | None) -> str:
    """``feature`` (a raw feature name from block ``source``) as a phrase."""
    names = {"gene": gene.upper(), "variation": variation}
    if feature == source:  # a whole input field (model-agnostic explanations blank fields)
        return f"the {feature} as a whole"
    match = re.fullmatch(r"(\w+|within ~([\d.]+) residues)=(none|mostly (.+))", feature)
    if match and source == "neighbours":  # a neighbour group explain() collapsed into one item
        key = match.group(1)
        who = (
            f"{names['gene']} variants within about {match.group(2)} residues"
            if match.group(2)
            else _NEIGHBOURS.get(key, key).format(**names)
        )
        if match.group(3) == "none":
            return f"no {who} labelled in training"
        verb = "was" if key == "gene_variation" else "were"  # "other evidence on …" is one mass
        return f"how {who} {verb} labelled in training (mostly {label_words(match.group(4), meanings)})"
    match = re.fullmatch(r"(\w+)=class (.+)", feature)
    if match and match.group(1) in _NEIGHBOURS:
        who = _NEIGHBOURS[match.group(1)].format(**names)
        return f"share of {who} in training labelled {label_words(match.group(2), meanings)}"
    match = re.fullmatch(r"(\w+) count", feature)
    if match and match.group(1) in _NEIGHBOURS:
        return f"how many {_NEIGHBOURS[match.group(1)].format(**names)} training holds"
    match = re.fullmatch(r"within ~([\d.]+) residues=class (.+)", feature)
    if match:
        return (
            f"share of {names['gene']} variants within about {match.group(1)} residues in training "
            f"labelled {label_words(match.group(2), meanings)}"
        )
    match = re.fullmatch(r"within ~([\d.]+) residues count", feature)
    if match:
        return f"how many {names['gene']} variants training holds within about {match.group(1)} residues"
    match = re.fullmatch(r"(\w+) evidence: (.+)", feature)
    if match:
        return f"the store's evidence on the same {match.group(1)}: “{match.group(2)}”"
    match = re.fullmatch(r"(\w+) evidence count", feature)
    if match:
        return f"how much evidence the store holds on the same {match.group(1)}"
    match = re.fullmatch(r"(\S+) (hold the change|hold the residue|items on the residue)", feature)
    if match and source == "hotspots":  # HotspotFeatures' columns
        table = f"the store's {match.group(1)} table"
        return {
            "hold the change": f"{table} holds this very change",
            "hold the residue": f"{table} holds this residue",
            "items on the residue": f"how many changes at this residue {table} holds",
        }[match.group(2)]
    match = re.fullmatch(r"store's evidence on the gene: share of (\w+) changes", feature)
    if match:  # GeneKindFeatures' columns
        kinds = {
            "loss": "losses of the protein (truncations, deletions)",
            "gain": "gains (amplifications, fusions)",
            "missense": "missense changes",
        }
        return f"how much of the store's evidence on {names['gene']} is about {kinds[match.group(1)]}"
    if feature.startswith("embedding of the text"):
        return "the meaning of the text as a whole (its sentence embedding)"
    if feature in _GRAMMAR:
        return _GRAMMAR[feature]
    match = re.fullmatch(r"kind=(\w+)", feature)
    if match:
        return f"the change is of the kind {match.group(1).replace('_', ' ')}"
    match = re.fullmatch(r"(gene|variation)_(.+)", feature)
    if match and source in ("gene", "variation"):
        return f"the {match.group(1)} is {match.group(2)}"
    if source == "context" and feature in ("disease", "drugs"):
        # The context is "disease: … drugs: …": these words say which fields the evidence has.
        return "the evidence names a disease" if feature == "disease" else "the evidence names drugs"
    if source in _TEXT:
        # A word in a negation's scope is a term of its own, "neg_response" (features.text's
        # mark_negations): said as the word, and where it stood.
        words = feature.split(" ")
        plain = " ".join(w.removeprefix(NEGATED) for w in words)
        if plain != feature:
            return _TEXT[source].format(word=plain) + " after a negation"
        return _TEXT[source].format(word=feature)
    return feature
