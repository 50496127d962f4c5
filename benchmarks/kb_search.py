"""Search latency and import speed of the evidence store, by the store's size: prints a table.

    .venv/bin/python benchmarks/kb_search.py [--sizes 10000,100000,1000000] [--kb-url URL]

A SYNTHETIC store (genes drawn with a heavy tail, as real evidence is: a few genes hold most of
it; point changes, truncations, fusions, amplifications; short statements) is imported through
`kb import` of a generated export file, then searched with variants drawn from the store and
variants it does not hold. The target (issue "Evidence"): p50 ≤ 20 ms at one million items on two
cores. With --kb-url a PostgreSQL server is measured instead of an SQLite file (each size gets a
fresh database only if the URL's database is empty; the script does not create databases).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from oncoclass.kb.load import import_path
from oncoclass.kb.search import Query, search
from oncoclass.kb.sources import EXPORT_COLUMNS
from oncoclass.kb.store import open_store

AA = "ACDEFGHIKLMNPQRSTVWY"
WORDS = [
    "tumour",
    "response",
    "inhibitor",
    "resistance",
    "kinase",
    "activating",
    "loss",
    "function",
    "sensitivity",
    "prognosis",
    "patients",
    "cohort",
    "melanoma",
    "lung",
    "breast",
    "colorectal",
    "trial",
    "mutation",
    "domain",
    "binding",
]
LABELS = ("Predictive: Sensitivity/Response", "Predictive: Resistance", "Prognostic: Poor Outcome",
          "Diagnostic: Positive", "")  # fmt: skip


def variation(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.8:
        return f"{rng.choice(AA)}{rng.randint(1, 2000)}{rng.choice(AA + '*')}"
    return rng.choice(("Truncating Mutations", "Amplification", "Fusion", "Deletion", "Overexpression"))


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    genes = [f"G{i:05d}" for i in range(max(50, n // 50))]
    weights = [1 / (rank + 1) for rank in range(len(genes))]  # Zipf-like: a few genes hold much
    chosen = rng.choices(genes, weights=weights, k=n)
    rows = {
        "source": ["synthetic"] * n,
        "source_id": [str(i) for i in range(n)],
        "gene": chosen,
        "variation": [variation(rng) for _ in range(n)],
        "disease": [rng.choice(("Melanoma", "Lung Cancer", "Breast Cancer", "")) for _ in range(n)],
        "drugs": [""] * n,
        "label": [rng.choice(LABELS) for _ in range(n)],
        "statement": [" ".join(rng.choices(WORDS, k=15)) for _ in range(n)],
        "citation": [f"PMID:{rng.randint(1, n // 3 + 1)}" for _ in range(n)],
        "url": [""] * n,
    }
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))


def measure(size: int, url: str | None, work: Path, queries: int) -> str:
    frame = synthetic(size)
    export = work / f"export-{size}.csv"
    frame.to_csv(export, index=False)
    target = url or str(work / f"kb-{size}.sqlite")
    with open_store(target) as store:
        started = time.perf_counter()
        result = import_path(store, export)
        rate = result.added / (time.perf_counter() - started)
        rng = random.Random(1)
        picks = [frame.iloc[rng.randrange(size)] for _ in range(queries)]
        asks = [Query(gene=p["gene"], variation=p["variation"]) for p in picks[: queries // 2]]
        asks += [
            Query(gene=p["gene"], variation=variation(rng), disease="melanoma") for p in picks[queries // 2 :]
        ]
        search(store, asks[0])  # connection and statement caches warm
        times = []
        for query in asks:
            started = time.perf_counter()
            search(store, query, limit=10)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    p50 = statistics.median(times)
    return f"| {size:>9,} | {rate:>10,.0f} | {p50:>8.1f} | {p95:>8.1f} | {max(times):>8.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--kb-url", default=None, help="a PostgreSQL URL (default: an SQLite file per size)")
    args = parser.parse_args()
    print("| items | import items/s | search p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            print(measure(size, args.kb_url, Path(tmp), args.queries), flush=True)


if __name__ == "__main__":
    main()
