"""The train job: a recipe fitted on a labelled input (and the store's reviewed items), saved as a
model folder with its metadata and model card."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoclass import __version__
from oncoclass.config import TrainConfig
from oncoclass.conformal import (
    calibration,
    cross_conformal,
)
from oncoclass.data.table import (
    LABEL,
    label_columns,
    table_hash,
)
from oncoclass.data.vocab import is_kaggle_label_set
from oncoclass.errors import TrainingError
from oncoclass.evaluate import Summary, cross_validate, metrics, splits, summary
from oncoclass.jobs.inputs import check_trainable, labelled, load_input, rare_label_notes
from oncoclass.jobs.predict import SET_COVERAGE
from oncoclass.kb.retrieve import with_store
from oncoclass.modelcard import model_card
from oncoclass.models import get_recipe
from oncoclass.models.params import configure, weigh_classes
from oncoclass.output import check_output
from oncoclass.persist import ModelMetadata, TrainingSummary, check_bundle_target, load_bundle, save_bundle
from oncoclass.progress import Progress


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
    metadata: ModelMetadata
    notes: list[str]


def train(config: TrainConfig, *, out_dir: str | Path, progress: Progress = None) -> TrainResult:
    """Train ``config.recipe`` on ``config.input`` and save the bundle to ``out_dir``."""
    recipe = get_recipe(config.recipe)
    check_output(out_dir, inputs=config.input.paths if config.input else [], folder=True)
    check_bundle_target(Path(out_dir))
    model = configure(recipe.build(), seed=config.seed, n_jobs=config.n_jobs, params=config.params,
                      recipe=recipe.name)  # fmt: skip
    table, notes = training_table(config, model)
    labels = check_trainable(table, config.source)
    model = weigh_classes(model, labels)
    table, evidence = with_store(table, config.kb, training=True)
    notes = notes + rare_label_notes(table)
    started = time.perf_counter()
    cv_metrics: Summary | None = None
    conformal: dict[str, Any] | None = None
    if config.cv_folds:
        if progress is not None:
            progress.start(config.cv_folds, "cross-validating")
        folds = splits(
            table[LABEL].to_numpy(),
            folds=config.cv_folds,
            groups=None,
            seed=config.seed,
            source=config.source,
        )
        oof = cross_validate(model, table, folds=folds, labels=labels, progress=progress)
        sets = cross_conformal(table[LABEL].to_numpy(), oof, folds, labels, SET_COVERAGE)
        cv_metrics = summary(metrics(table[LABEL], oof, labels), folds=config.cv_folds, sets=sets)
        # The out-of-fold scores calibrate `predict --coverage`'s sets of labels.
        conformal = calibration(table[LABEL].to_numpy(), oof, labels, folds=config.cv_folds)
    model.fit(table, table[LABEL].to_numpy())
    created = datetime.now(UTC)
    data_hash = table_hash(table)
    metadata = ModelMetadata(
        model_id=f"{recipe.name}-{created:%Y%m%dT%H%M%SZ}-{data_hash[:8]}",
        oncoclass_version=__version__,
        recipe=recipe.name,
        recipe_description=recipe.description,
        params={k: repr(v) for k, v in model.get_params(deep=False).items()},
        labels=labels,
        label_columns=label_columns(labels),
        kaggle_classes=is_kaggle_label_set(labels),
        training=TrainingSummary(
            source=config.source,
            text=config.input.text if config.input else None,
            target=config.input.target if config.input else "significance",
            reviewed_rows=int(table.attrs.get("reviewed_rows", 0)),
            rows=len(table),
            rows_with_text=int((table["text"] != "").sum()),
            data_hash=data_hash,
            label_counts={lab: int((table[LABEL] == lab).sum()) for lab in labels},
            fit_seconds=round(time.perf_counter() - started, 2),
        ),
        cv=cv_metrics,
        conformal=conformal,
        evidence=evidence,
        created=created.isoformat(),
        libraries=library_versions(),
    )
    path = save_bundle(model, out_dir, metadata=metadata, config=config.to_dict(), card=model_card(metadata))
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
