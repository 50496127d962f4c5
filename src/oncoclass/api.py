"""The library's public functions, for scripts and notebooks and for the edges (the CLI, the
service): each takes settings and returns data, and the edges only parse input and render what
these return. Each lives in the module of its concern under :mod:`oncoclass.jobs`; this module
gathers them so ``from oncoclass.api import train, predict`` is the one import a user needs."""

from __future__ import annotations

from oncoclass.jobs.inputs import labelled, load_input, record_of
from oncoclass.jobs.predict import (
    NOT_PROBABILITIES,
    PREDICTION,
    PREDICTION_INFO_COLUMNS,
    PREDICTION_SET,
    SET_COVERAGE,
    predict,
    predict_records,
    predict_table,
    probabilities,
    sidecar_path,
    store_notes,
    write_predictions,
    write_sidecar,
)
from oncoclass.jobs.scores import evaluate, holdout, read_truth, score, write_report
from oncoclass.jobs.train import TrainResult, train, training_table

__all__ = [
    "NOT_PROBABILITIES",
    "PREDICTION",
    "PREDICTION_INFO_COLUMNS",
    "PREDICTION_SET",
    "SET_COVERAGE",
    "TrainResult",
    "evaluate",
    "holdout",
    "labelled",
    "load_input",
    "predict",
    "predict_records",
    "predict_table",
    "probabilities",
    "read_truth",
    "record_of",
    "score",
    "sidecar_path",
    "store_notes",
    "train",
    "training_table",
    "write_predictions",
    "write_report",
    "write_sidecar",
]
