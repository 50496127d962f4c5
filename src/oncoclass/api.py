"""The library's jobs: train, predict, evaluate. Each takes settings and returns data; the CLI
and the service only parse input and render what these return."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass import __version__
from oncoclass.config import EvaluateConfig, InputSpec, TrainConfig
from oncoclass.conformal import (
    calibration,
    check_coverage,
    cross_conformal,
    membership,
    prediction_sets,
    set_metrics,
)
from oncoclass.data import load_table
from oncoclass.data.table import (
    EVIDENCE_IDS,
    GENE,
    ID,
    KEPT_PREFIX,
    LABEL,
    TEXT_SOURCE,
    VARIATION,
    label_columns,
    records_to_table,
    table_hash,
)
from oncoclass.data.vocab import KAGGLE_CLASSES, class_meanings, is_kaggle_label_set
from oncoclass.errors import ConfigError, InputError, TrainingError
from oncoclass.evaluate import align_proba, cross_validate, metrics, prior_proba, splits
from oncoclass.features import text_reduction
from oncoclass.kb.retrieve import attach, ensure, with_store
from oncoclass.kb.store import Store
from oncoclass.models import get_recipe
from oncoclass.output import atomic_write, check_output, to_json
from oncoclass.persist import Bundle, check_bundle_target, load_bundle, save_bundle
from oncoclass.progress import Progress

#: What a predictions file holds beside ``ID`` and one probability column per class.
PREDICTION = "prediction"
PREDICTION_SET = "prediction_set"
#: The columns every predictions file has after the probabilities (``prediction_set`` joins them
#: with ``--coverage``).
PREDICTION_INFO_COLUMNS: tuple[str, ...] = (PREDICTION, TEXT_SOURCE, EVIDENCE_IDS)
#: Every column that is not a class probability (what `score` leaves aside).
NOT_PROBABILITIES: tuple[str, ...] = ("ID", PREDICTION, PREDICTION_SET, TEXT_SOURCE, EVIDENCE_IDS)
#: The coverage whose sets `evaluate` and `train --cv` report (coverage and average size).
SET_COVERAGE = 0.9

#: Rows per predict_proba call: bounds memory on large inputs and paces the progress bar.
PREDICT_CHUNK_ROWS = 2000


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


def _check_trainable(table: pd.DataFrame, source: str) -> list[str]:
    labels = sorted(table[LABEL].unique())
    if len(labels) < 2:
        raise TrainingError(
            f"{source}: every labelled row has the same label ({labels[0]!r}); "
            "a classifier needs two or more."
        )
    return labels


def _rare_label_notes(table: pd.DataFrame) -> list[str]:
    counts = table[LABEL].value_counts()
    rare = sorted(str(label) for label, n in counts.items() if n < 2)
    if not rare:
        return []
    return [
        f"label(s) {', '.join(rare)} have a single example: the model learns them, but their "
        "probabilities rest on one row."
    ]


def library_versions() -> dict[str, str]:
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
    }


@dataclass(frozen=True)
class TrainResult:
    path: Path
    metadata: dict[str, Any]
    notes: list[str]


def _model_card(meta: dict[str, Any]) -> str:
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


def train(config: TrainConfig, *, out_dir: str | Path, progress: Progress = None) -> TrainResult:
    """Train ``config.recipe`` on ``config.input`` and save the bundle to ``out_dir``."""
    recipe = get_recipe(config.recipe)
    check_output(out_dir, inputs=config.input.paths if config.input else [], folder=True)
    check_bundle_target(Path(out_dir))
    model = recipe.build()
    table, notes = training_table(config, model)
    labels = _check_trainable(table, config.source)
    table, evidence = with_store(table, config.kb, training=True)
    notes = notes + _rare_label_notes(table)
    started = time.perf_counter()
    cv_metrics = conformal = None
    if config.cv_folds:
        if progress is not None:
            progress.start(config.cv_folds, "cross-validating")
        folds = splits(table[LABEL].to_numpy(), folds=config.cv_folds, groups=None, seed=config.seed)
        oof = cross_validate(model, table, folds=folds, labels=labels, progress=progress)
        cv_metrics = {
            k: v for k, v in metrics(table[LABEL], oof, labels).items() if not isinstance(v, (list, dict))
        }
        cv_metrics["folds"] = config.cv_folds
        cv_metrics.update(cross_conformal(table[LABEL].to_numpy(), oof, folds, labels, SET_COVERAGE))
        # The out-of-fold scores calibrate `predict --coverage`'s sets of labels.
        conformal = calibration(table[LABEL].to_numpy(), oof, labels, folds=config.cv_folds)
    model.fit(table, table[LABEL].to_numpy())
    created = datetime.now(UTC)
    data_hash = table_hash(table)
    metadata = {
        "model_id": f"{recipe.name}-{created:%Y%m%dT%H%M%SZ}-{data_hash[:8]}",
        "oncoclass_version": __version__,
        "recipe": recipe.name,
        "recipe_description": recipe.description,
        "params": {k: repr(v) for k, v in model.get_params(deep=False).items()},
        "labels": labels,
        "label_columns": label_columns(labels),
        "kaggle_classes": is_kaggle_label_set(labels),
        "training": {
            "source": config.source,
            "text": config.input.text if config.input else None,
            "target": config.input.target if config.input else "significance",
            "reviewed_rows": int(table.attrs.get("reviewed_rows", 0)),
            "rows": len(table),
            "rows_with_text": int((table["text"] != "").sum()),
            "data_hash": data_hash,
            "label_counts": {lab: int((table[LABEL] == lab).sum()) for lab in labels},
            "fit_seconds": round(time.perf_counter() - started, 2),
        },
        "cv": cv_metrics,
        "conformal": conformal,
        "evidence": evidence,
        "created": created.isoformat(),
        "libraries": library_versions(),
    }
    path = save_bundle(model, out_dir, metadata=metadata, config=config.to_dict(), card=_model_card(metadata))
    if config.reviewed:  # the queue's open items get the new model's proposals
        from oncoclass.kb.store import open_store
        from oncoclass.review.queue import refresh

        with open_store(config.kb, create=False) as store:
            refreshed = refresh(store, load_bundle(path), progress=progress)
        notes.append(f"{refreshed} open item(s) in the review queue now carry this model's proposal.")
    return TrainResult(path=path, metadata=metadata, notes=notes)


def training_table(config: TrainConfig, model: Any) -> tuple[pd.DataFrame, list[str]]:
    """The labelled rows a model is trained on. With an input: its rows, then (``reviewed``) the
    items curators reviewed in the store's queue (IDs ``review:<n>``). Without one: the store's
    curated items on the queue's labels (IDs ``source:source_id``), then the reviewed items."""
    parts: list[pd.DataFrame] = []
    notes: list[str] = []
    reviewed_rows = 0
    if config.input is not None:
        table, notes = labelled(load_input(config.input, model=model), config.input.path)
        parts.append(table)
    if config.reviewed:
        from oncoclass.kb.load import labelled_items
        from oncoclass.kb.store import open_store
        from oncoclass.review.queue import queue_labels, reviewed_table

        with open_store(config.kb, create=False) as store:
            reviewed = reviewed_table(store)
            if config.input is None:
                curated = labelled_items(store, queue_labels(store))
                if len(curated):
                    notes.append(f"{len(curated)} curated item(s) of the store on the queue's labels added.")
                    parts.append(curated)
        if reviewed.empty:
            if config.input is None:
                raise TrainingError(f"no item in the review queue of {store.shown} has been reviewed yet.")
            notes.append("no item in the store's review queue has been reviewed yet.")
        else:
            notes.append(f"{len(reviewed)} reviewed item(s) from the store's review queue added.")
            parts.append(reviewed)
            reviewed_rows = len(reviewed)
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    groups = [(part.attrs.get("groups") or {}).get("citation") for part in parts]
    table.attrs = {**parts[0].attrs, "notes": notes, "reviewed_rows": reviewed_rows}
    table.attrs.pop("groups", None)
    if all(g is not None for g in groups):  # each row's paper, so no row retrieves its own paper
        table.attrs["groups"] = {"citation": [c for g in groups for c in g]}
    return table, notes


def probabilities(bundle: Bundle, table: pd.DataFrame) -> np.ndarray:
    """Class probabilities in ``bundle.labels`` order, each row summing to 1."""
    table = ensure(table)
    proba = align_proba(bundle.model.predict_proba(table), bundle.model.classes_, bundle.labels)
    return proba / proba.sum(axis=1, keepdims=True)


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
    table = ensure(table)
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
    table = attach(records_to_table(records), store)
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


def store_notes(bundle: Bundle, kb: str | None) -> list[str]:
    """What a prediction lacks when a model trained with an evidence store is used without one."""
    trained_with = (bundle.metadata.get("evidence") or {}).get("store")
    if trained_with and kb is None:
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


def _sidecar_target(predictions_path: str | Path) -> str:
    """The CIViC target of the model that wrote the predictions, as its sidecar names it."""
    import json

    sidecar = sidecar_path(Path(predictions_path))
    try:
        target = json.loads(sidecar.read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        return "significance"
    return target if isinstance(target, str) and target else "significance"


def record_of(spec: InputSpec, row_id: str) -> dict[str, str]:
    """The row of an input whose id is ``row_id``, as a record for :func:`oncoclass.explain.explain`."""
    table = load_input(spec)
    rows = table.index[table[ID] == row_id]
    if not len(rows):
        raise InputError(f"no row has id {row_id!r}.", path=spec.path, hint="Check the ID column.")
    row = table.loc[rows[0]]
    return {k: str(row[k]) for k in ("gene", "variation", "text", "context")}


def evaluate(config: EvaluateConfig, *, progress: Progress = None) -> dict[str, Any]:
    """Cross-validate each recipe (and the class prior) on one table; returns all metrics."""
    recipes = [get_recipe(name) for name in config.recipes]
    table, notes = labelled(load_input(config.input), config.input.path)
    labels = _check_trainable(table, config.input.path)
    table, _ = with_store(table, config.kb, training=True)
    if config.kb is not None:
        notes = [
            *notes,
            "with --kb, a row never reads its own item or paper, but the store is not split by fold: "
            "training rows may read held-out rows' items. For an unbiased figure, use a store built "
            "from other data than this file.",
        ]
    y = table[LABEL].to_numpy()
    groups = None
    if config.group_by == "gene":
        groups = table["gene"].str.upper().to_numpy()
    elif config.group_by == "citation":
        citation = table.attrs.get("groups", {}).get("citation")
        if citation is None:
            raise InputError(
                "--group-by citation needs citation IDs (CIViC's pubmed_id/citation_id column).",
                path=config.input.path,
            )
        groups = np.asarray(citation, dtype=object)
    folds = splits(y, folds=config.folds, groups=groups, seed=config.seed)
    if progress is not None:
        progress.start(len(recipes) * len(folds), "cross-validating")
    prior = np.zeros((len(table), len(labels)))
    for train_idx, held in folds:
        prior[held] = prior_proba(y[train_idx], len(held), labels)
    results: dict[str, Any] = {"prior": metrics(y, prior, labels)}
    seconds: dict[str, float] = {}
    predictions: dict[str, np.ndarray] = {}
    for recipe in recipes:
        started = time.perf_counter()
        oof = cross_validate(recipe.build(), table, folds=folds, labels=labels, progress=progress)
        seconds[recipe.name] = round(time.perf_counter() - started, 2)
        results[recipe.name] = metrics(y, oof, labels)
        results[recipe.name].update(cross_conformal(y, oof, folds, labels, SET_COVERAGE))
        results[recipe.name]["seconds"] = seconds[recipe.name]
        predictions[recipe.name] = oof
    return {
        "oncoclass_version": __version__,
        "settings": config.to_dict(),
        "data": _data_summary(table, labels, config.input, notes),
        "results": results,
        "oof": {name: p.round(6).tolist() for name, p in predictions.items()},
        "ids": table[ID].tolist(),
        "rows": _row_details(table),
        "kind": f"{config.folds}-fold cross-validation (groups: {config.group_by})",
        "recipe_params": {r.name: _params(r.build()) for r in recipes},
    }


def _row_details(table: pd.DataFrame) -> dict[str, list[str]]:
    return {k: table[k].astype(str).tolist() for k in ("gene", "variation", LABEL)}


def _params(estimator: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in estimator.get_params(deep=False).items())[:2000]


def _data_summary(
    table: pd.DataFrame, labels: list[str], spec: InputSpec, notes: list[str]
) -> dict[str, Any]:
    y = table[LABEL].to_numpy()
    return {
        "source": spec.path,
        "rows": len(table),
        "data_hash": table_hash(table),
        "labels": labels,
        "label_names": class_meanings(labels, spec.target),
        "label_counts": {lab: int((y == lab).sum()) for lab in labels},
        "genes": int(table["gene"].nunique()),
        "variations": int(table["variation"].nunique()),
        "rows_without_text_pct": 100.0 * float((table["text"] == "").mean()),
        "notes": notes,
    }


def known_labels(
    y: np.ndarray, labels: list[str], *, skip_unknown: bool, path: str | Path, notes: list[str]
) -> np.ndarray:
    """Which rows have a label among ``labels`` (a mask). Rows with another label are refused, or
    with ``skip_unknown`` left out with a note of how many: one rule for ``score`` and ``report``."""
    known = np.isin(y.astype(str), np.asarray(labels, dtype=str))
    if known.all():
        return known
    unknown = sorted(set(y[~known]))
    if not skip_unknown:
        raise InputError(
            f"{int((~known).sum())} row(s) have labels the model does not predict: {', '.join(unknown[:5])}.",
            path=path,
            hint=f"The model knows: {', '.join(labels[:20])}. Pass --skip-unknown-labels to leave them out.",
        )
    if not known.any():
        raise InputError("no row has a label the model predicts.", path=path)
    notes.append(
        f"{int((~known).sum())} row(s) with labels the model does not predict were left out "
        f"({', '.join(unknown[:5])})."
    )
    return known


def holdout(bundle: Bundle, spec: InputSpec, *, skip_unknown_labels: bool = False) -> dict[str, Any]:
    """A trained model scored on a labelled file, in the shape :func:`evaluate` returns (for the
    report): the model's metrics beside the prior of the data it was trained on. The labels are
    read as the model learned them (its CIViC target)."""
    spec = replace(spec, target=bundle.target)
    table, notes = labelled(load_input(spec, model=bundle.model), spec.path)
    labels = bundle.labels
    keep = known_labels(
        table[LABEL].to_numpy(), labels, skip_unknown=skip_unknown_labels, path=spec.path, notes=notes
    )
    if not keep.all():
        table = table[keep].reset_index(drop=True)
    y = table[LABEL].to_numpy()
    proba = align_proba(bundle.model.predict_proba(table), bundle.model.classes_, labels)
    counts = bundle.metadata.get("training", {}).get("label_counts", {})
    trained = np.repeat(labels, [int(counts.get(lab, 0)) for lab in labels])
    prior = prior_proba(trained if len(trained) else y, len(table), labels)
    name = bundle.model_id
    scored = metrics(y, proba, labels)
    if (bundle.metadata.get("conformal") or {}).get("scores"):  # the model's own calibration
        scored.update(set_metrics(y, membership(proba, conformal_scores(bundle), SET_COVERAGE), labels))
    return {
        "oncoclass_version": __version__,
        "settings": {"model": str(bundle.path), "model_id": name, "input": spec.path},
        "data": _data_summary(table, labels, spec, notes),
        "results": {"prior": metrics(y, prior, labels), name: scored},
        "oof": {name: proba.round(6).tolist()},
        "ids": table[ID].tolist(),
        "rows": _row_details(table),
        "kind": f"held-out predictions of model {name}",
        "recipe_params": {name: str(bundle.metadata.get("params", ""))[:2000]},
    }


def write_report(report: dict[str, Any], out: str | Path, *, title: str) -> Path:
    from oncoclass.report import render

    out = Path(out)
    page = render(report, title=title)
    atomic_write(out, lambda handle: handle.write(page))
    return out


def read_truth(path: str | Path, *, target: str = "significance") -> dict[str, str]:
    """ID → label from a Kaggle solution file or any labelled table oncoclass can load (a CIViC
    export labelled by ``target``)."""
    from oncoclass.data import kaggle
    from oncoclass.data.files import read_bytes

    data = read_bytes(path)  # read once: the path may be a pipe
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")
    if kaggle.header_kind(first) == "solution":
        return kaggle.read_solution(path, data)
    table = (
        load_table(path, data=data, target=target)
        if target != "significance"
        else load_table(path, data=data)
    )
    if LABEL not in table.columns:
        raise InputError("has no labels to score against.", path=path)
    return {i: lab for i, lab in zip(table[ID], table[LABEL], strict=True) if lab}


def _probabilities_of(frame: pd.DataFrame, columns: list[str], path: str | Path) -> np.ndarray:
    """The class columns of a predictions file as probabilities, refusing what is not one: a
    value that is not a number, NaN, infinite or negative, or a row that does not sum to 1."""
    values = frame[columns].apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce"))
    proba = values.to_numpy(dtype=float)
    bad = ~np.isfinite(proba) | (proba < 0) | (proba > 1)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raw = frame[columns[col]].iloc[row]
        raise InputError(
            f"{columns[col]} is {raw!r}, not a probability between 0 and 1.", path=path, row=row + 2
        )
    sums = proba.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > 1e-3)
    if len(off):
        row = int(off[0])
        raise InputError(
            f"the probabilities sum to {sums[row]:.6g}, not 1.", path=path, row=row + 2,
            hint="Each row must hold one probability per class, summing to 1.",
        )  # fmt: skip
    return proba


def score(
    predictions_path: str | Path, truth_path: str | Path, *, skip_unknown_labels: bool = False
) -> dict[str, Any]:
    """Metrics of a predictions CSV (``ID`` + class columns) against the labelled rows it covers."""
    from oncoclass.data.tables import read_frame

    frame = read_frame(predictions_path, "csv")
    if "ID" not in frame.columns or len(frame.columns) < 3:
        raise InputError("expected a predictions CSV with ID and class columns.", path=predictions_path)
    truth = read_truth(truth_path, target=_sidecar_target(predictions_path))
    # The columns beside the probabilities (what a prediction used) are not classes.
    columns = [c for c in frame.columns if c not in NOT_PROBABILITIES]
    labels = [
        c[len("class") :] if c.startswith("class") and c[len("class") :] in KAGGLE_CLASSES else c
        for c in columns
    ]
    ids = frame["ID"].astype(str).str.strip()
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise InputError(
            f"ID {duplicated.iloc[0]!r} is predicted twice; each row would be counted twice.",
            path=predictions_path, row=int(duplicated.index[0]) + 2,
        )  # fmt: skip
    mask = ids.isin(list(truth)).to_numpy()
    if not mask.any():
        raise InputError(f"no predicted ID has a label in {truth_path}.", path=predictions_path)
    proba = _probabilities_of(frame, columns, predictions_path)[mask]
    y = np.asarray([truth[i] for i in ids[mask]], dtype=object)
    notes: list[str] = []
    keep = known_labels(y, labels, skip_unknown=skip_unknown_labels, path=truth_path, notes=notes)
    result = metrics(y[keep], proba[keep], labels)
    result["unscored_rows"] = int((~mask).sum())
    result["notes"] = notes
    return result
