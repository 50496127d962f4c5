"""Are the explanations' highlighted words the ones the model relies on? ERASER's two measures on
real CIViC statements.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/faithfulness.py [--rows 200] [--k 5]

The default recipe is trained on the oldest 80 % of the CIViC 2018-11 export (by evidence_id) and
explains --rows statements of the newest 20 %. For each, the --k words of the statement with the
largest contributions toward the predicted class (what the page highlights; words of phrases
that contribute) are compared with --k words drawn at random from the same statement:

* comprehensiveness: the predicted class's probability with the statement as given, minus with
  those words deleted (a faithful highlight loses much more than random words);
* sufficiency: the probability with the statement, minus with only those words kept (a faithful
  highlight keeps most of it: a small drop).

DeYoung et al., "ERASER: A Benchmark to Evaluate Rationalized NLP Models", ACL 2020.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from accuracy import civic_time_split

from oncoclass.api import probabilities
from oncoclass.data import load_table
from oncoclass.explain import explain
from oncoclass.models import build
from oncoclass.persist import Bundle

_WORD = re.compile(r"\w[\w-]*")


def top_words(result: dict, text: str, k: int) -> list[str]:
    """The statement's words in the features pushing toward the predicted class, strongest first."""
    words: list[str] = []
    lowered = {w.lower() for w in _WORD.findall(text)}
    for item in result["classes"][0]["toward"]:
        if item["source"] not in ("text", "text near the mention"):
            continue
        for word in _WORD.findall(item["feature"].lower()):
            if word in lowered and word not in words:
                words.append(word)
    return words[:k]


def without(text: str, words: set[str]) -> str:
    return " ".join(w for w in _WORD.findall(text) if w.lower() not in words)


def only(text: str, words: set[str]) -> str:
    return " ".join(w for w in _WORD.findall(text) if w.lower() in words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    data = Path(os.environ["ONCOCLASS_DATA"])
    table = load_table(data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv")
    table = table[table["label"] != ""].reset_index(drop=True)
    train, test = civic_time_split(table)
    model = build("default").fit(train, train["label"].to_numpy())
    labels = [str(c) for c in model.classes_]
    bundle = Bundle(model=model, metadata={"labels": labels, "model_id": "faithfulness"}, path=Path("."))
    rng = np.random.default_rng(args.seed)
    picked = test.iloc[rng.permutation(len(test))].reset_index(drop=True)
    rows = []
    for row in picked.itertuples(index=False):
        text = str(row.text)
        result = explain(
            bundle,
            gene=row.gene,
            variation=row.variation,
            text=text,
            context=row.context,
            top=50,
            top_sentences=0,
        ).to_dict()
        top = set(top_words(result, text, args.k))
        vocabulary = sorted({w.lower() for w in _WORD.findall(text)})
        if len(top) < args.k or len(vocabulary) < 2 * args.k:
            continue  # a statement too short to delete k words from and keep the rest
        random = set(rng.choice(vocabulary, size=args.k, replace=False))
        variants = [text, without(text, top), without(text, random), only(text, top), only(text, random)]
        frame = pd.DataFrame(
            {
                "id": [f"{row.id}-{i}" for i in range(5)],
                "gene": row.gene,
                "variation": row.variation,
                "text": variants,
                "context": row.context,
            }
        )
        proba = probabilities(bundle, frame)
        k = labels.index(result["predicted"])
        p = proba[:, k]
        rows.append(
            {
                "comp_top": p[0] - p[1],
                "comp_random": p[0] - p[2],
                "suff_top": p[0] - p[3],
                "suff_random": p[0] - p[4],
            }
        )
        if len(rows) >= args.rows:
            break
    found = pd.DataFrame(rows)
    print(
        f"CIViC 2018-11, newest 20 %: {len(found)} statements with at least {2 * args.k} distinct words; "
        f"k = {args.k}; default recipe trained on the oldest 80 %\n"
    )
    print("| measure | highlighted words | random words |\n|---|---|---|")
    print(
        f"| comprehensiveness (drop when deleted; higher is more faithful) | "
        f"{found['comp_top'].mean():.3f} | {found['comp_random'].mean():.3f} |"
    )
    print(
        f"| sufficiency (drop when only they are kept; lower is more faithful) | "
        f"{found['suff_top'].mean():.3f} | {found['suff_random'].mean():.3f} |"
    )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
