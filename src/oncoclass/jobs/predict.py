"""The predict job: class probabilities, the top class, sets of labels and what each prediction
used, for a table, for the service's records, and written as a predictions file with its sidecar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oncoclass import __version__
from oncoclass.config import InputSpec
from oncoclass.conformal import (
    check_coverage,
    prediction_sets,
)
from oncoclass.data.table import (
    EVIDENCE_CITATIONS,
    EVIDENCE_IDS,
    GENE,
    ID,
    KEPT_PREFIX,
    OUTPUT_COLUMNS,
    PREDICTION,
    PREDICTION_SET,
    TEXT,
    TEXT_SOURCE,
    VARIATION,
    label_columns,
    records_to_table,
)
from oncoclass.errors import ConfigError
from oncoclass.evaluate import align_proba
from oncoclass.jobs.inputs import load_input
from oncoclass.kb.retrieve import attach, ensure, text_source, with_store
from oncoclass.models.gate import reads_evidence
from oncoclass.output import atomic_write, to_json
from oncoclass.persist import Bundle
from oncoclass.progress import Progress

if TYPE_CHECKING:
    from oncoclass.kb.store import Store

#: The columns every predictions file has after the probabilities (``prediction_set`` joins them
#: with ``--coverage``).
PREDICTION_INFO_COLUMNS: tuple[str, ...] = (PREDICTION, TEXT_SOURCE, EVIDENCE_IDS)
#: Every column that is not a class probability (what `score` leaves aside).
NOT_PROBABILITIES: tuple[str, ...] = OUTPUT_COLUMNS
#: The coverage whose sets `evaluate` and `train --cv` report (coverage and average size).
SET_COVERAGE = 0.9

#: Rows per predict_proba call: bounds memory on large inputs and paces the progress bar.
PREDICT_CHUNK_ROWS = 2000


def probabilities(bundle: Bundle, table: pd.DataFrame) -> np.ndarray:
    """Class probabilities in ``bundle.labels`` order, each row summing to 1."""
    table = ensure(table)
    proba = align_proba(bundle.model.predict_proba(table), bundle.model.classes_, bundle.labels)
    return proba / proba.sum(axis=1, keepdims=True)


def cited(bundle: Bundle, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` whose ``evidence_ids`` (and their citations) name only evidence its prediction
    read: a row the model predicts without reading the store (a row with text, in the default;
    every row, for a model trained without evidence columns) cites none, whatever was retrieved
    for it, and a text-less one says ``none`` rather than ``retrieved``."""
    table = ensure(table)
    unread = ~reads_evidence(bundle.model, table)
    if not unread.any():
        return table
    table = table.copy()
    for column in (EVIDENCE_IDS, EVIDENCE_CITATIONS):
        table.loc[unread, column] = ""
    # Nor was such a row predicted from the retrieved statements: the rule again, citing nothing.
    texts = table.loc[unread, TEXT].fillna("").astype(str)
    table.loc[unread, TEXT_SOURCE] = [text_source(t, "") for t in texts]
    return table


def conformal_scores(bundle: Bundle) -> np.ndarray:
    """The calibration scores a model keeps for sets of labels; refused when it has none."""
    kept = bundle.metadata.get("conformal") or {}
    if not kept.get("scores"):
        raise ConfigError(
            f"model {bundle.model_id} has no calibration for sets of labels: they are calibrated on "
            "out-of-fold probabilities, computed when a model is trained with cross-validation.",
            hint="Retrain it with `oncoclass train … --cv 5`.",
        )
    return np.asarray(kept["scores"], dtype=float)


def predict_table(
    bundle: Bundle, table: pd.DataFrame, *, progress: Progress = None, coverage: float | None = None
) -> pd.DataFrame:
    """``ID``, one probability column per class (``class1``… for Kaggle's classes), then the top
    class (``prediction``), with ``coverage`` the set of labels holding the true one with that
    probability (``prediction_set``, labels joined by ``|``), and what the prediction used
    (``text_source``, ``evidence_ids``)."""
    scores = conformal_scores(bundle) if coverage is not None else None
    starts = range(0, len(table), PREDICT_CHUNK_ROWS)
    if progress is not None:
        progress.start(len(starts), "predicting")
    parts = []
    for start in starts:
        parts.append(probabilities(bundle, table.iloc[start : start + PREDICT_CHUNK_ROWS]))
        if progress is not None:
            progress()
    proba = np.vstack(parts) if parts else np.zeros((0, len(bundle.labels)))
    out = pd.DataFrame(proba, columns=label_columns(bundle.labels))
    out.insert(0, "ID", table[ID].to_numpy())
    out[PREDICTION] = np.asarray(bundle.labels, dtype=object)[proba.argmax(axis=1)] if len(proba) else []
    if scores is not None and coverage is not None:
        out[PREDICTION_SET] = prediction_sets(proba, scores, bundle.labels, coverage) if len(proba) else []
    # What each prediction used: the row's own text, the store's, or neither; and the store's
    # items it drew on (source:source_id), so a curator can read them.
    table = cited(bundle, table)
    for column in (TEXT_SOURCE, EVIDENCE_IDS):
        out[column] = table[column].to_numpy()
    # --keep-columns: the input's own columns, unchanged, after ours; a name ours already use
    # (an input column called "prediction") is prefixed "input_" rather than overwritten.
    for column in (c for c in table.columns if str(c).startswith(KEPT_PREFIX)):
        name = column[len(KEPT_PREFIX) :]
        out["input_" + name if name in out.columns else name] = table[column].to_numpy()
    return out


def predict_records(
    bundle: Bundle, records: list[dict[str, Any]], *, store: Store | None = None
) -> list[dict[str, Any]]:
    """Predict variants given as records (``{gene, variation, text?, context?, disease?, drugs?,
    id?}``, the service's unit of work): probabilities per class, the top class, the model, and
    what the prediction used (``text_source``, the store's ``evidence_ids``)."""
    table = cited(bundle, attach(records_to_table(records), store))
    proba = probabilities(bundle, table)
    meanings = bundle.meanings or None
    out = []
    for i, (record, row) in enumerate(zip(records, proba, strict=True)):
        top = int(np.argmax(row))
        out.append(
            {
                "id": record.get("id"),
                "gene": table[GENE].iloc[i],
                "variation": table[VARIATION].iloc[i],
                "probabilities": {label: float(p) for label, p in zip(bundle.labels, row, strict=True)},
                "top_class": bundle.labels[top],
                "top_probability": float(row[top]),
                "meanings": meanings,
                "model_id": bundle.model_id,
                "oncoclass_version": __version__,
                "text_source": table[TEXT_SOURCE].iloc[i],
                "evidence_ids": [key for key in table[EVIDENCE_IDS].iloc[i].split(";") if key],
            }
        )
    return out


def predict(
    bundle: Bundle,
    spec: InputSpec,
    *,
    kb: str | None = None,
    progress: Progress = None,
    coverage: float | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    if coverage is not None:  # refused before the input is read, not after
        check_coverage(coverage)
        conformal_scores(bundle)
    table = load_input(spec, model=bundle.model)
    notes = list(table.attrs.get("notes", []))
    table, _ = with_store(table, kb)
    predictions = predict_table(bundle, table, progress=progress, coverage=coverage)
    return predictions, notes + store_notes(bundle, kb)


def store_notes(bundle: Bundle, kb: str | None, *, server: bool = False) -> list[str]:
    """What a prediction lacks when a model trained with an evidence store is used without one.
    ``server``: said to a service's client, who neither knows the server's files nor starts it."""
    trained_with = (bundle.metadata.get("evidence") or {}).get("store")
    if trained_with and kb is None:
        if server:
            return [
                "this model learned from an evidence store, and the server was started without one: "
                "rows without text are predicted from their gene and variation alone."
            ]
        return [
            f"this model learned from the evidence store {trained_with}; without --kb, rows without "
            "text are predicted from their gene and variation alone."
        ]
    return []


def write_predictions(predictions: pd.DataFrame, out: str | Path, bundle: Bundle) -> Path | None:
    """Write the predictions atomically in the format ``out``'s name asks for (``.csv``, ``.tsv``,
    ``.parquet``, ``.jsonl``), and a ``.json`` sidecar naming the model that made them; ``out``
    ``-`` writes CSV to standard output (no sidecar: the caller names the model)."""
    from oncoclass.data.tables import save_frame

    path = save_frame(predictions, out)
    if path is not None:
        write_sidecar(path, bundle, rows=len(predictions))
    return path


def sidecar_path(out: Path) -> Path:
    """``OUT.json``: where the sidecar of the predictions ``out`` goes."""
    return out.with_name(out.name + ".json")


def write_sidecar(out: Path, bundle: Bundle, *, rows: int, **extra: Any) -> None:
    """``OUT.json`` beside predictions, naming the model and version that made them."""
    sidecar = {
        "model_id": bundle.model_id,
        "oncoclass_version": bundle.metadata.get("oncoclass_version"),
        "recipe": bundle.metadata.get("recipe"),
        "target": bundle.target,
        "rows": rows,
        "created": datetime.now(UTC).isoformat(),
        **extra,
    }
    atomic_write(sidecar_path(out), lambda handle: handle.write(to_json(sidecar)))


def sidecar_target(predictions_path: str | Path) -> str:
    """The CIViC target of the model that wrote the predictions, as its sidecar names it."""
    import json

    sidecar = sidecar_path(Path(predictions_path))
    try:
        target = json.loads(sidecar.read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        return "significance"
    return target if isinstance(target, str) and target else "significance"
