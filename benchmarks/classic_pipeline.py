"""The classic notebook pipeline, written plainly, as the reference for benchmarks/vs_classic.py.

    .venv/bin/python benchmarks/classic_pipeline.py TRAIN_VARIANTS TRAIN_TEXT TEST_VARIANTS TEST_TEXT OUT.csv

What the reference notebook does, step by step and without oncoclass: read the variants and
``ID||text`` files with pandas, clean each text with regular expressions and drop stop words,
count words with ``min_df=3``, one-hot gene and variation, fit an SGD log-loss classifier with
its ``alpha`` picked on a held-out fifth, calibrate it with sigmoid calibration, and write the
submission's class probabilities.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
from scipy.sparse import hstack
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split


def read(variants: str, text: str) -> pd.DataFrame:
    frame = pd.read_csv(variants)
    texts = pd.read_csv(text, sep=r"\|\|", engine="python", names=["ID", "TEXT"], skiprows=1)
    return frame.merge(texts, on="ID", how="left")


def clean(text: object) -> str:
    if not isinstance(text, str):
        return ""
    text = re.sub(r"[^a-zA-Z0-9\n]", " ", text)
    text = re.sub(r"\s+", " ", text).lower()
    return " ".join(word for word in text.split() if word not in ENGLISH_STOP_WORDS)


def main() -> None:
    train_variants, train_text, test_variants, test_text, out = sys.argv[1:6]
    train = read(train_variants, train_text)
    test = read(test_variants, test_text)
    train["TEXT"] = [clean(t) for t in train["TEXT"]]
    test["TEXT"] = [clean(t) for t in test["TEXT"]]
    gene = CountVectorizer(token_pattern=r"\S+", lowercase=False).fit(train["Gene"])
    variation = CountVectorizer(token_pattern=r"\S+", lowercase=False).fit(train["Variation"])
    words = CountVectorizer(min_df=3).fit(train["TEXT"])

    def features(frame: pd.DataFrame):
        return hstack(
            [
                gene.transform(frame["Gene"]),
                variation.transform(frame["Variation"]),
                words.transform(frame["TEXT"]),
            ]
        ).tocsr()

    X, X_test = features(train), features(test)
    y = train["Class"].to_numpy()
    X_fit, X_held, y_fit, y_held = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    best_alpha, best_loss = None, np.inf
    for alpha in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        model = SGDClassifier(alpha=alpha, penalty="l2", loss="log_loss", random_state=42)
        calibrated = CalibratedClassifierCV(model, method="sigmoid").fit(X_fit, y_fit)
        loss = log_loss(y_held, calibrated.predict_proba(X_held), labels=calibrated.classes_)
        if loss < best_loss:
            best_alpha, best_loss = alpha, loss
    model = SGDClassifier(alpha=best_alpha, penalty="l2", loss="log_loss", random_state=42)
    calibrated = CalibratedClassifierCV(model, method="sigmoid").fit(X, y)
    proba = calibrated.predict_proba(X_test)
    submission = pd.DataFrame(proba, columns=[f"class{c}" for c in calibrated.classes_])
    submission.insert(0, "ID", test["ID"].to_numpy())
    submission.to_csv(out, index=False)


if __name__ == "__main__":
    main()
