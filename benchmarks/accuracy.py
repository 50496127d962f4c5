"""Accuracy on the real shared data: prints the README's results tables.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/accuracy.py [--recipes default,lr,...]

Tables: Kaggle stage-1 (train on training_variants, score the 368 labelled stage-1 test rows),
Kaggle 5-fold CV, CIViC 2018-11 time split (train on the oldest 80 % by evidence_id, test on the
newest 20 %) and CIViC 5-fold CV grouped by citation. Each row: log loss, accuracy, macro-F1, ECE;
CIViC rows add macro-F1 over the six main labels (the accuracy issue's target).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from oncoclass.data import load_table
from oncoclass.evaluate import align_proba, cross_validate, metrics, prior_proba, splits
from oncoclass.models import RECIPES, build

#: The six main CIViC labels the accuracy issue's macro-F1 target is over.
CIVIC_MAIN = (
    "Predictive: Sensitivity/Response",
    "Predictive: Resistance",
    "Predisposing: Uncertain Significance",
    "Prognostic: Poor Outcome",
    "Diagnostic: Positive",
    "Prognostic: Better Outcome",
)


def civic_time_split(table):
    """CIViC's time split: the oldest 80 % by evidence_id to train on, the newest 20 % to test,
    keeping the test rows whose label occurs in training."""
    order = np.argsort(table["id"].astype(int).to_numpy(), kind="stable")
    cut = int(len(order) * 0.8)
    train = table.iloc[order[:cut]].reset_index(drop=True)
    test = table.iloc[order[cut:]].reset_index(drop=True)
    return train, test[test["label"].isin(set(train["label"]))].reset_index(drop=True)


def main_f1(y, proba, labels, main) -> str:
    if not main:
        return ""
    predicted = np.asarray(labels)[np.asarray(proba).argmax(axis=1)]
    return f" {f1_score(y, predicted, labels=list(main), average='macro', zero_division=0):.4f} |"


def row(name: str, m: dict, seconds: float | None = None, main: str = "") -> str:
    extra = f"{seconds:>8.1f}" if seconds is not None else f"{'':>8}"
    return (
        f"| {name:<12} | {m['log_loss']:.4f} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['ece']:.4f} |"
        f"{extra} |{main}"
    )


HEADER = "| recipe       | log loss | accuracy | macro-F1 | ECE    | seconds |"


def header(main) -> str:
    if main:
        return HEADER + " macro-F1, 6 main |\n|---|---|---|---|---|---|---|"
    return HEADER + "\n|---|---|---|---|---|---|"


def holdout(train, test, recipes, title, main=()):
    labels = sorted(train["label"].unique())
    y = test["label"].to_numpy()
    print(f"\n### {title} ({len(train)} train / {len(test)} test rows)\n\n{header(main)}")
    prior = prior_proba(train["label"].to_numpy(), len(test), labels)
    print(row("prior", metrics(y, prior, labels), main=main_f1(y, prior, labels, main)))
    for name in recipes:
        started = time.perf_counter()
        model = build(name).fit(train, train["label"].to_numpy())
        proba = align_proba(model.predict_proba(test), model.classes_, labels)
        seconds = time.perf_counter() - started
        print(row(name, metrics(y, proba, labels), seconds, main_f1(y, proba, labels, main)), flush=True)


def cv(table, recipes, title, groups=None, folds=5, main=()):
    labels = sorted(table["label"].unique())
    y = table["label"].to_numpy()
    fold_list = splits(y, folds=folds, groups=groups, seed=0)
    prior = np.zeros((len(y), len(labels)))
    for tr, held in fold_list:
        prior[held] = prior_proba(y[tr], len(held), labels)
    print(f"\n### {title} ({len(table)} rows, {folds}-fold)\n\n{header(main)}")
    print(row("prior", metrics(y, prior, labels), main=main_f1(y, prior, labels, main)))
    for name in recipes:
        started = time.perf_counter()
        oof = cross_validate(build(name), table, folds=fold_list, labels=labels)
        seconds = time.perf_counter() - started
        print(row(name, metrics(y, oof, labels), seconds, main_f1(y, oof, labels, main)), flush=True)


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--only", default="kaggle,civic")
    parser.add_argument(
        "--target",
        default="significance",
        help="The CIViC label: significance, evidence_type, evidence_level or evidence_direction.",
    )
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    data = Path(os.environ["ONCOCLASS_DATA"])
    if "kaggle" in args.only:
        k = data / "kaggle-msk"
        train = load_table(k / "training_variants")
        test = load_table(k / "test_variants", labels=k / "stage1_solution_filtered.csv")
        test = test[test["label"] != ""].reset_index(drop=True)
        holdout(train, test, recipes, "Kaggle stage-1, variants only")
        cv(train, recipes, "Kaggle training_variants CV")
    if "civic" in args.only:
        table = load_table(data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv", target=args.target)
        keep = (table["label"] != "").to_numpy()  # a blank direction or level is no label
        citations = np.asarray(table.attrs["groups"]["citation"], dtype=object)[keep]
        table = table[keep].reset_index(drop=True)
        main = CIVIC_MAIN if args.target == "significance" else ()
        train, test = civic_time_split(table)
        title = f"CIViC 2018-11 time split (newest 20 % by evidence_id), target {args.target}"
        holdout(train, test, recipes, title, main=main)
        title = f"CIViC 2018-11 CV grouped by citation, target {args.target}"
        cv(table, recipes, title, groups=citations, main=main)


if __name__ == "__main__":
    main()
