"""Does the review queue teach the model? Simulated curators on real CIViC evidence.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/review_learning.py [--recipe default]
        [--start 200] [--batch 50] [--seed 0] [--plot docs/review-learning.png]

The 2018-11 CIViC export's labelled items on labels with at least --min-count items (rarer labels
cannot be learned from a 200-item start, and a class the model has never seen makes log loss
infinite) are split once: a fixed held-out quarter to score, and a pool. --start items of the pool
(stratified) are the labelled start; the rest are queued in a real review store (SQLite) with the
model's proposals, through the same library calls the service makes. Each round a curator
reviews --batch items, chosen least-confident-first (``order=uncertain``) or at random, and
answers with the true label (accept when the proposal is right, else correct); the model is
retrained on the start plus the reviewed items, the open queue's proposals are refreshed, and
log loss on the held-out quarter is recorded. The target (issue 18): uncertainty ordering comes
within 0.05 of the all-data log loss after at most 60 % of the items random ordering needs.
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
from sklearn.model_selection import train_test_split

from oncoclass.api import probabilities
from oncoclass.data import load_table
from oncoclass.evaluate import metrics
from oncoclass.kb.store import open_store
from oncoclass.models import build
from oncoclass.persist import Bundle
from oncoclass.review.queue import decide, get_item, next_batch, queue_table, refresh, reviewed_table
from oncoclass.review.users import add_user


def fit(recipe: str, table: pd.DataFrame, labels: list[str], name: str) -> Bundle:
    """The recipe fitted in memory, as the bundle the queue's calls take (no file round trip)."""
    model = build(recipe).fit(table, table["label"].to_numpy())
    return Bundle(model=model, metadata={"labels": labels, "model_id": name}, path=Path("."))


def held_out_loss(bundle: Bundle, test: pd.DataFrame, labels: list[str]) -> float:
    return float(metrics(test["label"].to_numpy(), probabilities(bundle, test), labels)["log_loss"])


def simulate(
    order: str,
    *,
    recipe: str,
    start: pd.DataFrame,
    pool: pd.DataFrame,
    test: pd.DataFrame,
    labels: list[str],
    batch: int,
    seed: int,
) -> list[tuple[int, float]]:
    """Review the whole pool in batches; (items reviewed, held-out log loss) after each round."""
    rng = np.random.default_rng(seed)
    truth = dict(zip(pool["id"], pool["label"], strict=True))
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "kb.sqlite") as store:
        curator, _ = add_user(store, "simulated", "curator")
        bundle = fit(recipe, start, labels, f"{order}-0")
        queue_table(store, bundle, pool.drop(columns="label"), added_by="benchmark")
        # A statement queued twice is one item (the queue's rule), so items are mapped to their rows.
        queued = next_batch(store, order="date", size=len(pool))
        external = {i: get_item(store, i).external_id for i in queued}
        curve = [(0, held_out_loss(bundle, test, labels))]
        reviewed = 0
        while True:
            if order == "random":
                open_ids = next_batch(store, order="date", size=len(pool))
                chosen = list(rng.choice(open_ids, size=min(batch, len(open_ids)), replace=False))
            else:
                chosen = next_batch(store, order=order, size=batch)
            if not chosen:
                break
            for item_id in chosen:
                item = get_item(store, int(item_id))
                label = truth[external[item.id]]
                if label == item.prediction:
                    decide(store, item.id, curator, action="accept", version=item.version)
                else:
                    decide(store, item.id, curator, action="correct", label=label, version=item.version)
            reviewed += len(chosen)
            learned = pd.concat([start, reviewed_table(store)], ignore_index=True)
            bundle = fit(recipe, learned, labels, f"{order}-{reviewed}")
            refresh(store, bundle)
            curve.append((reviewed, held_out_loss(bundle, test, labels)))
            print(f"  {order:<9} {reviewed:>5} reviewed  log loss {curve[-1][1]:.4f}", flush=True)
    return curve


def needed(curve: list[tuple[int, float]], target: float) -> int | None:
    """Items reviewed when the held-out log loss first comes within the target."""
    return next((n for n, loss in curve if loss <= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--start", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--min-count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument(
        "--order",
        default="uncertain",
        choices=("uncertain", "margin"),
        help="The queue order compared with random.",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    data = Path(os.environ["ONCOCLASS_DATA"])
    table = load_table(data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv")
    table = table[table["label"] != ""]
    counts = table["label"].value_counts()
    labels = sorted(counts[counts >= args.min_count].index)
    table = table[table["label"].isin(labels)].reset_index(drop=True)
    table.attrs = {}
    rest, test = train_test_split(table, test_size=0.25, stratify=table["label"], random_state=args.seed)
    pool, start = train_test_split(rest, test_size=args.start, stratify=rest["label"], random_state=args.seed)
    start, pool, test = (t.reset_index(drop=True) for t in (start, pool, test))
    print(
        f"CIViC 2018-11: {len(table)} items on {len(labels)} labels; start {len(start)}, pool {len(pool)}, "
        f"held out {len(test)}; recipe {args.recipe}, batches of {args.batch}"
    )
    began = time.perf_counter()
    everything = fit(args.recipe, pd.concat([start, pool], ignore_index=True), labels, "all")
    full = held_out_loss(everything, test, labels)
    curves = {
        order: simulate(
            order,
            recipe=args.recipe,
            start=start,
            pool=pool,
            test=test,
            labels=labels,
            batch=args.batch,
            seed=args.seed,
        )
        for order in (args.order, "random")
    }
    target = full + 0.05
    print(f"\nall {len(start) + len(pool)} items: log loss {full:.4f}; target {target:.4f}\n")
    print("| ordering | items reviewed to reach the target | share of the pool | log loss at 500 |")
    print("|---|---|---|---|")
    reached = {}
    for order, curve in curves.items():
        reached[order] = needed(curve, target)
        at_500 = next((loss for n, loss in curve if n >= 500), float("nan"))
        shown = "not reached" if reached[order] is None else str(reached[order])
        share = "" if reached[order] is None else f"{reached[order] / len(pool):.0%}"
        print(f"| {order} | {shown} | {share} | {at_500:.4f} |")
    if reached[args.order] is not None and reached["random"]:
        ratio = reached[args.order] / reached["random"]
        verdict = "met" if ratio <= 0.6 else "not met"
        print(
            f"\n{args.order} ordering needs {ratio:.0%} of the items random ordering needs "
            f"(target ≤ 60 %: {verdict}); {time.perf_counter() - began:.0f} s"
        )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.2))
        for order, curve in curves.items():
            name = {"uncertain": "least confident first", "margin": "closest call first",
                    "random": "random order"}[order]  # fmt: skip
            ax.plot([n for n, _ in curve], [loss for _, loss in curve], label=name)
        ax.axhline(full, color="grey", linestyle="--", linewidth=1, label="all items")
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label="all items + 0.05")
        ax.set_xlabel(f"items reviewed (after a labelled start of {len(start)})")
        ax.set_ylabel("held-out log loss")
        ax.set_title(f"CIViC 2018-11, simulated curators, recipe {args.recipe}")
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
