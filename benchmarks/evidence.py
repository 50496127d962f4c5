"""What the evidence store adds, on the real shared data: prints the README's evidence table.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/evidence.py [--only civic,kaggle]

CIViC (the visible proxy for "later evidence, gene and variant only"): the 2018-11 export split
by evidence_id, the oldest 80 % to train on and to build the store from (with the CIViC variant
and gene summaries and the cancer hotspots table), the newest 20 % to predict, once from gene and
variant only and once with the statement. Kaggle: train on training_variants and score the 368
labelled stage-1 rows, variants only, with a store of the CIViC 2018-11 export and the hotspots.
Rows: the class prior; a look-up of the variant's earlier evidence (its label shares in the store,
smoothed toward the prior); the default recipe without and with the store.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from oncoclass.data import load_table
from oncoclass.evaluate import align_proba, metrics, prior_proba
from oncoclass.kb.load import import_path
from oncoclass.kb.retrieve import attach
from oncoclass.kb.store import open_store
from oncoclass.models import build


def line(name: str, y: np.ndarray, proba: np.ndarray, labels: list[str], seconds: float | None = None) -> str:
    m = metrics(y, proba, labels)
    extra = f"{seconds:8.1f}" if seconds is not None else " " * 8
    scores = f"{m['log_loss']:.4f} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['ece']:.4f}"
    return f"| {name:<34} | {scores} |{extra} |"


def header(title: str) -> None:
    print(f"\n### {title}\n")
    print("| model | log loss | accuracy | macro-F1 | ECE | seconds |\n|---|---|---|---|---|---|")


def lookup(train: pd.DataFrame, test: pd.DataFrame, labels: list[str], alpha: float = 1.0) -> np.ndarray:
    """Earlier evidence of the same variant (by the variation grammar's key), smoothed to the prior."""
    from oncoclass.variation import variation_key

    prior = prior_proba(train["label"].to_numpy(), 1, labels)[0]
    keys = train["gene"].str.upper() + " " + train["variation"].map(variation_key)
    counts = pd.crosstab(keys, train["label"]).reindex(columns=labels, fill_value=0)
    out = np.tile(prior, (len(test), 1))
    for i, key in enumerate(test["gene"].str.upper() + " " + test["variation"].map(variation_key)):
        if key in counts.index:
            c = counts.loc[key].to_numpy(dtype=float)
            out[i] = (c + alpha * len(labels) * prior) / (c.sum() + alpha * len(labels))
    return out


def fit_predict(
    train: pd.DataFrame, tests: list[pd.DataFrame], labels: list[str]
) -> tuple[list[np.ndarray], float, object]:
    started = time.perf_counter()
    model = build("default").fit(train, train["label"].to_numpy())
    out = [align_proba(model.predict_proba(t), model.classes_, labels) for t in tests]
    return out, time.perf_counter() - started, model


def textless(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(text="", context="")


def civic(data: Path, work: Path) -> None:
    source = data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv"
    table = load_table(source)
    order = np.argsort(table["id"].astype(int).to_numpy(), kind="stable")
    cut = int(len(order) * 0.8)
    train_ids = set(table["id"].iloc[order[:cut]])
    train = table[table["id"].isin(train_ids)].reset_index(drop=True)
    citations = table.attrs["groups"]["citation"]
    kept = [c for c, i in zip(citations, table["id"], strict=True) if i in train_ids]
    train.attrs = {**table.attrs, "groups": {"citation": kept}}
    test = table[~table["id"].isin(train_ids)]
    test = test[test["label"].isin(set(train["label"]))].reset_index(drop=True)
    test.attrs = {"format": "civic", "source": str(source)}
    labels = sorted(train["label"].unique())
    # The store: the training part of the export (rows kept as CIViC wrote them), the summaries
    # and the hotspots.
    lines = source.read_text(encoding="utf-8").split("\n")
    head = lines[0].split("\t")
    at = head.index("evidence_id")
    subset = work / "civic-train.tsv"
    subset.write_text(
        "\n".join([lines[0]] + [x for x in lines[1:] if x and x.split("\t")[at] in train_ids]) + "\n",
        encoding="utf-8",
    )
    with open_store(work / "civic.sqlite") as store:
        for path in (
            subset,
            data / "civic" / "2018-11-08-VariantSummaries.tsv",
            data / "civic" / "2018-11-08-GeneSummaries.tsv",
            data / "hotspots" / "cancerhotspots_v2_GRCh37.tsv",
        ):
            import_path(store, path)
        started = time.perf_counter()
        train_kb = attach(train, store, leave_out_citations=True)
        bare, given = attach(textless(test), store), attach(test, store)
        retrieval = time.perf_counter() - started
    y = test["label"].to_numpy()
    header(
        f"CIViC 2018-11 time split: {len(train)} oldest to train and build the store, "
        f"{len(test)} newest to predict"
    )
    print(line("prior", y, prior_proba(train["label"].to_numpy(), len(test), labels), labels))
    print(line("look-up of earlier evidence", y, lookup(train, test, labels), labels))
    bare_rows = attach(textless(test), None)
    (no_store_bare, no_store_given), seconds, model = fit_predict(
        attach(train, None), [bare_rows, attach(test, None)], labels
    )
    print(line("default, gene + variant, no store", y, no_store_bare, labels, seconds))
    # The default before it gated text-less rows: its text-reading blend alone.
    ungated = align_proba(model.with_text_.predict_proba(bare_rows), model.classes_, labels)
    print(line("before: the blend alone, gene + variant", y, ungated, labels))
    (kb_bare, kb_given), seconds, _ = fit_predict(train_kb, [bare, given], labels)
    print(line("default, gene + variant, store", y, kb_bare, labels, seconds + retrieval))
    print(line("default, statement given, no store", y, no_store_given, labels))
    print(line("default, statement given, store", y, kb_given, labels))


def kaggle(data: Path, work: Path) -> None:
    k = data / "kaggle-msk"
    train = load_table(k / "training_variants")
    test = load_table(k / "test_variants", labels=k / "stage1_solution_filtered.csv")
    test = test[test["label"] != ""].reset_index(drop=True)
    labels = sorted(train["label"].unique())
    with open_store(work / "kaggle.sqlite") as store:
        for path in (
            data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv",
            data / "hotspots" / "cancerhotspots_v2_GRCh37.tsv",
        ):
            import_path(store, path)
        train_kb, test_kb = attach(train, store, leave_out_citations=True), attach(test, store)
    y = test["label"].to_numpy()
    header(
        f"Kaggle stage 1, variants only: {len(train)} training variants, {len(test)} labelled stage-1 rows"
    )
    print(line("prior", y, prior_proba(train["label"].to_numpy(), len(test), labels), labels))
    plain_rows = attach(test, None)
    (plain,), seconds, model = fit_predict(attach(train, None), [plain_rows], labels)
    print(line("default, no store", y, plain, labels, seconds))
    ungated = align_proba(model.with_text_.predict_proba(plain_rows), model.classes_, labels)
    print(line("before: the blend alone", y, ungated, labels))
    (with_kb,), seconds, _ = fit_predict(train_kb, [test_kb], labels)
    print(line("default, store (CIViC 2018-11 + hotspots)", y, with_kb, labels, seconds))


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="civic,kaggle")
    args = parser.parse_args()
    data = Path(os.environ["ONCOCLASS_DATA"])
    with tempfile.TemporaryDirectory() as tmp:
        if "civic" in args.only:
            civic(data, Path(tmp))
        if "kaggle" in args.only:
            kaggle(data, Path(tmp))


if __name__ == "__main__":
    main()
