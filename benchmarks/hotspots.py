"""What the hotspot columns of the text-free member give, and the kinds of change the store's
evidence on a gene is about (GeneKindFeatures), by cross-validation on Kaggle's training variants
(no stage-1 rows): prints the README's hotspot table.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/hotspots.py

Every row is the text-free member (what predicts a row without text) with a store of the CIViC
2018-11 export and the cancer hotspots table, attached as ``evaluate --kb`` attaches it; 5-fold
stratified CV and 5-fold CV with each gene's rows in one fold, the folds of ``oncoclass evaluate``.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from oncoclass.data import load_table
from oncoclass.evaluate import cross_validate, metrics, prior_proba, splits
from oncoclass.kb.load import import_path
from oncoclass.kb.retrieve import attach
from oncoclass.kb.store import open_store
from oncoclass.models.recipes import text_free

VARIANTS = {
    "no hotspot columns": {"features__hotspots": "drop"},
    "hotspot columns, without the gene's kinds of change": {"features__gene_kinds": "drop"},
    "hotspot columns (default)": {},
    "hotspot columns + gene/kind status keys": {"features__hotspots__keys": ("gene_kind", "kind")},
}


def main() -> None:
    warnings.filterwarnings("ignore")
    data = Path(os.environ["ONCOCLASS_DATA"])
    train = load_table(data / "kaggle-msk" / "training_variants")
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "kb.sqlite") as store:
        for path in (
            data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv",
            data / "hotspots" / "cancerhotspots_v2_GRCh37.tsv",
        ):
            import_path(store, path)
        table = attach(train, store, leave_out_citations=True)
    y = table["label"].to_numpy()
    labels = sorted(set(y))
    genes = table["gene"].str.upper().str.strip().to_numpy()
    folds = {
        "5-fold": splits(y, folds=5, groups=None, seed=0),
        "genes left out": splits(y, folds=5, groups=genes, seed=0),
    }
    print("| text-free member, store | 5-fold CV log loss | genes left out | seconds |\n|---|---|---|---|")
    prior = {
        name: np.vstack([prior_proba(y[tr], len(held), labels) for tr, held in split])
        for name, split in folds.items()
    }
    order = {name: np.concatenate([held for _, held in split]) for name, split in folds.items()}
    scores = [metrics(y[order[n]], prior[n], labels)["log_loss"] for n in folds]
    print(f"| class prior | {scores[0]:.4f} | {scores[1]:.4f} | |")
    for name, params in VARIANTS.items():
        started = time.perf_counter()
        model = text_free().set_params(**params)
        scores = [
            metrics(y, cross_validate(model, table, folds=split, labels=labels), labels)["log_loss"]
            for split in folds.values()
        ]
        seconds = time.perf_counter() - started
        print(f"| {name} | {scores[0]:.4f} | {scores[1]:.4f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
