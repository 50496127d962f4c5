"""What every job reads: an input as the canonical table, the labelled rows of it, and the checks
that a table can be trained on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from oncoclass.config import InputSpec
from oncoclass.data import load_table
from oncoclass.data.table import (
    ID,
    LABEL,
)
from oncoclass.errors import InputError, TrainingError
from oncoclass.features import text_reduction


def load_input(spec: InputSpec, *, model: Any = None) -> pd.DataFrame:
    """The input as the canonical table; long texts are cut as they stream in when ``model``
    (fitted or not) reads only the text around the variant's mentions."""
    reduce = text_reduction(model) if model is not None else None
    return load_table(
        spec.path,
        text=spec.text,
        labels=spec.labels,
        columns=spec.columns,
        fmt=spec.format,
        reduce_text=reduce,
        target=spec.target,
        keep=spec.keep,
    )


def labelled(table: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows with a label, and a note for any left out (never silently)."""
    if LABEL not in table.columns:
        raise InputError(
            "has no labels, so it cannot be used to train or evaluate.",
            path=source,
            hint="Kaggle variants need a Class column or --labels SOLUTION.csv.",
        )
    notes = list(table.attrs.get("notes", []))
    mask = table[LABEL] != ""
    if not mask.any():
        raise InputError("no row has a label.", path=source)
    if not mask.all():
        first = table[ID].iloc[int(np.flatnonzero(~mask.to_numpy())[0])]
        notes.append(
            f"{int((~mask).sum())} row(s) without a label (blank, NaN or null) were left out "
            f"(first: id {first!r})."
        )
    out = table[mask].reset_index(drop=True)
    out.attrs = {**table.attrs, "notes": notes}
    groups = table.attrs.get("groups")
    if groups:
        out.attrs["groups"] = {
            k: list(np.asarray(v, dtype=object)[mask.to_numpy()]) for k, v in groups.items()
        }
    return out, notes


def check_trainable(table: pd.DataFrame, source: str) -> list[str]:
    labels = sorted(table[LABEL].unique())
    if len(labels) < 2:
        raise TrainingError(
            f"{source}: every labelled row has the same label ({labels[0]!r}); "
            "a classifier needs two or more."
        )
    return labels


def rare_label_notes(table: pd.DataFrame) -> list[str]:
    counts = table[LABEL].value_counts()
    rare = sorted(str(label) for label, n in counts.items() if n < 2)
    if not rare:
        return []
    return [
        f"label(s) {', '.join(rare)} have a single example: the model learns them, but their "
        "probabilities rest on one row."
    ]


def record_of(spec: InputSpec, row_id: str) -> dict[str, str]:
    """The row of an input whose id is ``row_id``, as a record for :func:`oncoclass.explain.explain`."""
    table = load_input(spec)
    rows = table.index[table[ID] == row_id]
    if not len(rows):
        raise InputError(f"no row has id {row_id!r}.", path=spec.path, hint="Check the ID column.")
    row = table.loc[rows[0]]
    return {k: str(row[k]) for k in ("gene", "variation", "text", "context")}
