"""The jobs that measure: cross-validation (``evaluate``), a trained model on held-out rows
(``holdout``, the report), and a predictions file against known labels (``score``)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from oncoclass import __version__
from oncoclass.config import EvaluateConfig, InputSpec
from oncoclass.conformal import (
    cross_conformal,
    membership,
    set_metrics,
)
from oncoclass.data import load_table
from oncoclass.data.table import (
    ID,
    LABEL,
    table_hash,
)
from oncoclass.data.vocab import KAGGLE_CLASSES, class_meanings
from oncoclass.errors import InputError, shortened
from oncoclass.evaluate import Metrics, align_proba, cross_validate, metrics, prior_proba, splits
from oncoclass.jobs.inputs import check_trainable, labelled, load_input
from oncoclass.jobs.predict import NOT_PROBABILITIES, SET_COVERAGE, conformal_scores, sidecar_target
from oncoclass.kb.retrieve import with_store
from oncoclass.models import get_recipe
from oncoclass.models.params import configure, weigh_classes
from oncoclass.output import REPORT_SUFFIXES, atomic_write, named_format
from oncoclass.persist import Bundle
from oncoclass.progress import Progress


class DataSummary(TypedDict):
    """What a report says of the labelled rows it scored."""

    source: str
    rows: int
    data_hash: str
    labels: list[str]
    label_names: dict[str, str]
    label_counts: dict[str, int]
    genes: int
    variations: int
    rows_without_text_pct: float
    notes: list[str]


class Report(TypedDict):
    """What :func:`evaluate` (cross-validation) and :func:`holdout` (a trained model on held-out
    rows) return, built in one place (:func:`_report`); the report, the CLI and ``--json`` read
    it. ``results`` maps each recipe (and ``prior``) to :func:`oncoclass.evaluate.metrics`."""

    oncoclass_version: str
    settings: dict[str, Any]
    data: DataSummary
    results: dict[str, Metrics]
    #: Each recipe's out-of-fold (or held-out) probabilities, rows × labels.
    oof: dict[str, list[list[float]]]
    ids: list[str]
    rows: dict[str, list[str]]
    kind: str
    recipe_params: dict[str, Any]


def _report(
    table: pd.DataFrame,
    labels: list[str],
    spec: InputSpec,
    notes: list[str],
    *,
    results: dict[str, Metrics],
    predictions: dict[str, np.ndarray],
    settings: dict[str, Any],
    kind: str,
    params: dict[str, Any],
) -> Report:
    return Report(
        oncoclass_version=__version__,
        settings=settings,
        data=_data_summary(table, labels, spec, notes),
        results=results,
        oof={name: p.round(6).tolist() for name, p in predictions.items()},
        ids=table[ID].tolist(),
        rows=_row_details(table),
        kind=kind,
        recipe_params=params,
    )


def evaluate(config: EvaluateConfig, *, progress: Progress = None) -> Report:
    """Cross-validate each recipe (and the class prior) on one table; returns all metrics."""
    recipes = [get_recipe(name) for name in config.recipes]
    table, notes = labelled(load_input(config.input), config.input.path)
    labels = check_trainable(table, config.input.path)
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
    folds = splits(y, folds=config.folds, groups=groups, seed=config.seed, source=str(config.input.path))
    if progress is not None:
        progress.start(len(recipes) * len(folds), "cross-validating")
    prior = np.zeros((len(table), len(labels)))
    for train_idx, held in folds:
        prior[held] = prior_proba(y[train_idx], len(held), labels)
    results: dict[str, Metrics] = {"prior": metrics(y, prior, labels)}
    seconds: dict[str, float] = {}
    predictions: dict[str, np.ndarray] = {}
    params: dict[str, dict[str, str]] = {}
    for recipe in recipes:
        started = time.perf_counter()
        model = configure(recipe.build(), seed=config.seed, n_jobs=config.n_jobs, params=config.params,
                          recipe=recipe.name)  # fmt: skip
        model = weigh_classes(model, labels)
        params[recipe.name] = _params(model)  # as configured, before any fold is fitted
        oof = cross_validate(model, table, folds=folds, labels=labels, progress=progress)
        seconds[recipe.name] = round(time.perf_counter() - started, 2)
        results[recipe.name] = metrics(y, oof, labels)
        results[recipe.name].update(cross_conformal(y, oof, folds, labels, SET_COVERAGE))
        results[recipe.name]["seconds"] = seconds[recipe.name]
        predictions[recipe.name] = oof
    return _report(
        table,
        labels,
        config.input,
        notes,
        results=results,
        predictions=predictions,
        settings=config.to_dict(),
        kind=f"{config.folds}-fold cross-validation (groups: {config.group_by})",
        params=params,
    )


#: How much of each row's text the report quotes beside a confidently wrong prediction.
EXCERPT_CHARS = 240


def _row_details(table: pd.DataFrame) -> dict[str, list[str]]:
    """What the report shows of each row: gene, variation, label, the opening of its text, and its
    citation where the input has one (a CIViC export's PubMed ID)."""
    details = {k: table[k].astype(str).tolist() for k in ("gene", "variation", LABEL)}
    details["excerpt"] = [
        text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"
        for text in table["text"].astype(str)
    ]
    citations = (table.attrs.get("groups") or {}).get("citation")
    details["citation"] = [str(c) for c in citations] if citations is not None else [""] * len(table)
    return details


def _params(estimator: Any) -> dict[str, str]:
    """A recipe's parameters as the report lists them, one per row (long values cut)."""
    return {k: repr(v)[:300] for k, v in estimator.get_params(deep=False).items()}


def _data_summary(table: pd.DataFrame, labels: list[str], spec: InputSpec, notes: list[str]) -> DataSummary:
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


def holdout(bundle: Bundle, spec: InputSpec, *, skip_unknown_labels: bool = False) -> Report:
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
    return _report(
        table,
        labels,
        spec,
        notes,
        results={"prior": metrics(y, prior, labels), name: scored},
        predictions={name: proba},
        settings={"model": str(bundle.path), "model_id": name, "input": spec.path},
        kind=f"held-out predictions of model {name}",
        params={name: dict(bundle.metadata.get("params") or {})},
    )


def write_report(report: Report, out: str | Path, *, title: str) -> Path:
    from oncoclass.report import render

    named_format(out, REPORT_SUFFIXES)  # one HTML page: a .pdf or .png name would not open
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
) -> Metrics:
    """Metrics of a predictions CSV (``ID`` + class columns) against the labelled rows it covers."""
    from oncoclass.data.tables import read_frame

    frame = read_frame(predictions_path, "csv")
    if "ID" not in frame.columns or len(frame.columns) < 3:
        raise InputError("expected a predictions CSV with ID and class columns.", path=predictions_path)
    truth = read_truth(truth_path, target=sidecar_target(predictions_path))
    # The class columns come before what a prediction used (prediction, text_source…); after
    # those, a file may echo the input's own columns (predict --keep-columns): not classes either.
    names = [str(c) for c in frame.columns]
    end = next((i for i, c in enumerate(names) if c in NOT_PROBABILITIES and c != "ID"), len(names))
    columns = [c for c in names[:end] if c != "ID"]
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
    # A labelled row with no prediction (a predictions file of another input, or cut short) is
    # said, not left out without a word: the scores cover fewer rows than the labels hold.
    predicted = set(ids)
    unpredicted = [i for i in truth if i not in predicted]
    result["unpredicted_labels"] = len(unpredicted)
    if unpredicted:
        notes.append(
            f"{len(unpredicted)} labelled ID(s) in {truth_path} have no prediction (first: "
            f"{shortened(unpredicted[0], 60)!r}); they are not scored."
        )
    result["notes"] = notes
    return result
