"""The model card written beside every model: what it was trained on, what it is for, its limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oncoclass.persist import ModelMetadata


def model_card(meta: ModelMetadata) -> str:
    lines = [
        f"# oncoclass model `{meta['model_id']}`",
        "",
        f"- Recipe: `{meta['recipe']}` — {meta['recipe_description']}",
        f"- Trained: {meta['created']} with oncoclass {meta['oncoclass_version']}",
        f"- Training data: `{meta['training']['source']}` ({meta['training']['rows']} labelled rows, "
        f"sha256 `{meta['training']['data_hash'][:16]}…`)",
        f"- Labels ({len(meta['labels'])}): " + ", ".join(f"`{lab}`" for lab in meta["labels"]),
        "",
        "## Intended use",
        "Ranking the likely class of a cancer variant from its gene, protein change and literature, "
        "as support for a human curator. It is not a diagnostic device; a curator decides.",
        "",
        "## Inputs",
        "Gene, variation and free text (and, for CIViC-style data, disease and drugs). Curated "
        "outcome fields (evidence type, significance, direction, level, rating) are never inputs.",
        "",
        "## Probabilities",
        "Calibrated on out-of-fold predictions where the recipe needs it (see the recipe above).",
    ]
    cv = meta.get("cv")
    if cv:
        lines += [
            "",
            f"## Cross-validation ({cv['folds']} folds, on the training data)",
            f"log loss {cv['log_loss']:.3f}, accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}, "
            f"ECE {cv['ece']:.3f}",
        ]
    lines += [
        "",
        "## Limits",
        "Accuracy holds for data like the training data; literature and label usage drift over time. "
        "Genes and variations never seen in training fall back on the variation's grammar and the text.",
        "",
    ]
    return "\n".join(lines)
