"""What bounds the CIViC figures short of the accuracy issue's targets: prints the tables.

    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/bounds.py [--targets ...] [--no-models]
    ONCOCLASS_DATA=../shared/data .venv/bin/python benchmarks/bounds.py --targets kaggle

Same data and splits as benchmarks/accuracy.py (the 2018-11 export; the time split trains on the
oldest 80 % by evidence_id and tests on the newest 20 %; the CV is 5-fold grouped by citation).
For each target (significance, evidence_level, evidence_direction):

1. The label floor of near-duplicate statements: rows are grouped by their statement (identical
   after cleaning, or linked at a TF-IDF cosine of at least 0.9 or 0.7), or by the statement and
   every other model input (gene, variation, disease and drugs). A predictor that knew each
   group's label shares over the whole table (an oracle: it has seen the test rows' labels) scores
   the group's conditional entropy as its log loss and the majority label as its prediction. Only
   groups with more than one label cost anything, so this is a floor, not an estimate.
2. Label support: each label's rows in the time split's training and test parts and in the whole
   table; what labels of fewer than ten training rows can cost a macro-F1.
3. Consistency of the curation: pairs of items from the same paper on the same variant, and pairs
   from different papers on the same variant, disease and drugs, and how often their labels agree.
4. With models (the default recipe, on the split each target misses a target on): the error split
   by label (each label's precision, recall, F1 and share of the log loss), the learning curve
   (the training part cut to random nested fractions), the figures' bootstrap 95 % intervals over
   test papers, on the time split the figures apart for test rows whose paper has items in the
   training part (CIViC's level is mostly a paper's) and, for direction, the "Does Not Support"
   rows by evidence type in each part, how well the model ranks them (and the macro-F1 at other
   cut-offs than the argmax), and by whether their statement holds a negation cue, with the
   model's errors and examples. The error split counts apart the labels of fewer than 20 rows
   in the whole table.

``--targets kaggle`` (not in the default list) splits the default's log loss on Kaggle stage 1,
variants only, into the part spent on the mutation-effect group (loss, gain, neutral,
inconclusive, switch of function) and the part spent telling "likely" from confirmed within it
(classes 1 from 4, 2 from 7, 3 from 5, 8 from 9): ``-log p(y) = -log p(group) - log p(y | group)``.

Takes about ten minutes on two cores with models, seconds without.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import CIVIC_MAIN, civic_time_split

from oncoclass.data import load_table
from oncoclass.evaluate import EPS, align_proba, cross_validate, splits
from oncoclass.features.text import NEGATION_CUES, clean_text
from oncoclass.models import build
from oncoclass.models.calibration import similar_groups

TARGETS = ("significance", "evidence_level", "evidence_direction")
#: The splits the model tables are computed on: where each target misses a figure of the accuracy
#: issue (significance's time split misses only its six-label macro-F1), and evidence level's time
#: split, which meets its figures, beside its grouped CV, which does not.
UNMET = {
    "significance": ("time", "cv"),
    "evidence_level": ("cv", "time"),
    "evidence_direction": ("time",),
}
#: Labels of fewer rows than this are counted apart in the error split.
RARE = 20
#: Resamples of the bootstrap intervals.
RESAMPLES = 1000
#: Fractions of the training part the learning curve trains on (nested random subsets); the grouped
#: CV costs five fits a point, so it gets fewer.
CURVE = {"time": (0.25, 0.5, 0.75, 1.0), "cv": (0.5, 1.0)}
SEED = 0


def load(data: Path, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The CIViC table labelled by ``target`` without blank labels, and each row's citation."""
    table = load_table(data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv", target=target)
    keep = (table["label"] != "").to_numpy()
    citations = np.asarray(table.attrs["groups"]["citation"], dtype=object)[keep]
    return table[keep].reset_index(drop=True), citations


def figures(y: np.ndarray, predicted: np.ndarray, p_true: np.ndarray, main: tuple[str, ...]) -> np.ndarray:
    """Log loss, accuracy, macro-F1 over the labels present (or the six main ones)."""
    labels = list(main) if main else sorted(set(y))
    ll = float(np.mean(-np.log(np.clip(p_true, EPS, 1.0))))
    acc = float(np.mean(predicted == y))
    f1 = f1_score(y, predicted, labels=labels, average="macro", zero_division=0)
    return np.array([ll, acc, f1])


def scores(
    y: np.ndarray, predicted: np.ndarray, p_true: np.ndarray, main: tuple[str, ...], sep: str = " | "
) -> str:
    return sep.join(f"{v:.4f}" for v in figures(y, predicted, p_true, main))


def statement_groups(texts: pd.Series, threshold: float | None) -> np.ndarray:
    """Each row's group of near-identical statements: identical after cleaning (``None``), or
    linked by a TF-IDF (words and bigrams) cosine of at least ``threshold``, chained."""
    cleaned = texts.map(clean_text)
    if threshold is None:
        return pd.factorize(cleaned)[0]
    matrix = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(cleaned)
    groups = similar_groups(matrix, threshold)
    return np.arange(len(texts)) if groups is None else groups


def oracle(groups: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's label share within its group (its probability to an oracle knowing the group's
    shares) and the group's majority label (ties to the first label in sorted order)."""
    frame = pd.DataFrame({"g": groups, "y": y})
    counts = frame.groupby(["g", "y"]).size()
    sizes = frame.groupby("g").size()
    p_true = counts.loc[list(zip(groups, y, strict=True))].to_numpy() / sizes.loc[groups].to_numpy()
    best = counts.reset_index(name="n").sort_values(["g", "n", "y"], ascending=[True, False, True])
    majority = best.drop_duplicates("g").set_index("g")["y"]
    return p_true, majority.loc[groups].to_numpy()


def floor_table(table: pd.DataFrame, test_ids: set[str], main: tuple[str, ...]) -> None:
    y = table["label"].to_numpy()
    test = table["id"].isin(test_ids).to_numpy()
    inputs = table["gene"] + "\t" + table["variation"] + "\t" + table["context"]
    print(
        "\n| grouped by | rows in a group of 2+ | rows in a group of 2+ labels | floor, all rows "
        "(log loss / acc / macro-F1) | floor, time-split test rows |\n|---|---|---|---|---|"
    )
    for name, threshold in (("identical", None), ("cosine >= 0.9", 0.9), ("cosine >= 0.7", 0.7)):
        text_groups = statement_groups(table["text"], threshold)
        for suffix, groups in (
            ("statement", text_groups),
            ("statement + inputs", pd.factorize(pd.Series(text_groups).astype(str) + "\t" + inputs)[0]),
        ):
            sizes = pd.Series(groups).map(pd.Series(groups).value_counts()).to_numpy()
            mixed = pd.DataFrame({"g": groups, "y": y}).groupby("g")["y"].nunique()
            in_mixed = mixed.loc[groups].to_numpy() > 1
            p_true, majority = oracle(groups, y)
            print(
                f"| {name}, {suffix} | {int((sizes > 1).sum())} | {int(in_mixed.sum())} "
                f"| {scores(y, majority, p_true, main, ' / ')} "
                f"| {scores(y[test], majority[test], p_true[test], main, ' / ')} |"
            )


def support_table(
    train: pd.DataFrame, test: pd.DataFrame, table: pd.DataFrame, dropped: int, papers: pd.Series
) -> None:
    every = table["label"].value_counts()
    in_train = train["label"].value_counts()
    in_test = test["label"].value_counts()
    print("\n| label | all rows | time-split train | time-split test |\n|---|---|---|---|")
    for label in every.index:
        print(f"| {label} | {every[label]} | {in_train.get(label, 0)} | {in_test.get(label, 0)} |")
    rare = [label for label in in_test.index if in_train.get(label, 0) < 10]
    present = len(in_test)
    print(
        f"\nTime-split test rows dropped for a label unseen in training: {dropped}. Test labels with "
        f"fewer than 10 training rows: {len(rare)} of {present} ({int(in_test[rare].sum())} test rows); "
        f"if each scored an F1 of 0, the all-label macro-F1 could reach at most "
        f"{(present - len(rare)) / present:.3f}."
    )
    seen = test["id"].map(papers).isin(set(train["id"].map(papers))).to_numpy()
    print(
        f"Time-split test rows from a paper with items in the training part: {int(seen.sum())} of "
        f"{len(test)} (the citation-grouped CV has none by construction)."
    )


def pair_agreement(
    keys: pd.Series, y: np.ndarray, citations: np.ndarray, same_paper: bool
) -> tuple[int, float]:
    """Pairs of rows sharing ``keys``, from the same paper (or from different ones), and the share
    whose labels agree."""
    frame = pd.DataFrame({"k": keys.to_numpy(), "c": citations, "y": y})
    pairs = agree = 0
    for _, part in frame.groupby("k"):
        if len(part) < 2:
            continue
        c, labels = part["c"].to_numpy(), part["y"].to_numpy()
        i, j = np.triu_indices(len(part), k=1)
        chosen = (c[i] == c[j]) if same_paper else (c[i] != c[j])
        pairs += int(chosen.sum())
        agree += int((labels[i] == labels[j])[chosen].sum())
    return pairs, (agree / pairs if pairs else float("nan"))


def consistency_table(table: pd.DataFrame, citations: np.ndarray) -> None:
    y = table["label"].to_numpy()
    variant = table["gene"] + " " + table["variation"]
    setting = variant + "\t" + table["context"]
    print("\n| pairs of items | pairs | labels agree |\n|---|---|---|")
    for name, keys, same in (
        ("same paper (any variant)", pd.Series(citations), True),
        ("same paper, same variant", variant + "\t" + citations, True),
        ("same paper, same variant, disease and drugs", setting + "\t" + citations, True),
        ("different papers, same variant, disease and drugs", setting, False),
    ):
        pairs, share = pair_agreement(keys, y, citations, same)
        print(f"| {name} | {pairs} | {share:.3f} |")


def label_errors(y: np.ndarray, proba: np.ndarray, labels: list[str], every: pd.Series) -> None:
    """Each label's precision, recall, F1 and log loss; ``every`` is each label's rows in the table."""
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    index = {label: i for i, label in enumerate(labels)}
    loss = -np.log(np.clip(proba[np.arange(len(y)), [index[v] for v in y]], EPS, 1.0))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    print(
        "\n| label | rows | predicted | precision | recall | F1 | mean log loss | share of log loss |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for k, label in enumerate(labels):
        if not support[k] and not (predicted == label).any():
            continue
        rows = y == label
        mean = float(loss[rows].mean()) if rows.any() else float("nan")
        print(
            f"| {label} | {support[k]} | {int((predicted == label).sum())} | {precision[k]:.3f} "
            f"| {recall[k]:.3f} | {f1[k]:.3f} | {mean:.3f} | {loss[rows].sum() / loss.sum():.3f} |"
        )
    rare = np.isin(y, [label for label, n in every.items() if n < RARE])
    if rare.any():
        print(
            f"\nLabels of fewer than {RARE} rows in the whole table: {len(set(y[rare]))} here, "
            f"{int(rare.sum())} rows ({rare.mean():.1%}), {loss[rare].sum() / loss.sum():.1%} of the "
            f"log loss; the log loss over the other rows {loss[~rare].mean():.4f}, all {loss.mean():.4f}."
        )


def curve_row(fraction: float, rows: int, y: np.ndarray, proba: np.ndarray, labels: list[str], main) -> str:
    index = {label: i for i, label in enumerate(labels)}
    p_true = proba[np.arange(len(y)), [index[v] for v in y]]
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    return f"| {fraction:.0%} | {rows} | {scores(y, predicted, p_true, main)} |"


def interval(
    y: np.ndarray, proba: np.ndarray, labels: list[str], main: tuple[str, ...], clusters: np.ndarray
) -> str:
    """The figures' bootstrap 95 % intervals, resampling ``clusters`` (the rows' papers): how far
    the figure moves with the sample of test papers alone."""
    index = {label: i for i, label in enumerate(labels)}
    p_true = proba[np.arange(len(y)), [index[v] for v in y]]
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    codes, members = np.unique(clusters, return_inverse=True)
    rows_of = pd.Series(np.arange(len(y))).groupby(members).apply(np.asarray).to_list()
    rng = np.random.default_rng(SEED)
    draws = []
    for _ in range(RESAMPLES):
        picked = np.concatenate([rows_of[c] for c in rng.integers(0, len(codes), len(codes))])
        draws.append(figures(y[picked], predicted[picked], p_true[picked], main))
    low, high = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    return " | ".join(f"{a:.3f}-{b:.3f}" for a, b in zip(low, high, strict=True))


def by_paper(test: pd.DataFrame, seen: np.ndarray, proba: np.ndarray, labels: list[str], main) -> None:
    y = test["label"].to_numpy()
    index = {label: i for i, label in enumerate(labels)}
    p_true = proba[np.arange(len(y)), [index[v] for v in y]]
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    print("\n| test rows | rows | log loss | accuracy | macro-F1 |\n|---|---|---|---|---|")
    for name, rows in (("paper in the training part", seen), ("paper not in the training part", ~seen)):
        if rows.any():
            print(f"| {name} | {int(rows.sum())} | {scores(y[rows], predicted[rows], p_true[rows], main)} |")


def nested(indices: np.ndarray, fraction: float) -> np.ndarray:
    """The first ``fraction`` of ``indices`` in one seeded shuffle: each fraction holds the smaller."""
    order = np.random.default_rng(SEED).permutation(indices)
    return np.sort(order[: max(2, round(len(order) * fraction))])


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, labels: list[str]) -> np.ndarray:
    model = build("default").fit(train, train["label"].to_numpy())
    return align_proba(model.predict_proba(test), model.classes_, labels)


def has_cue(text: str) -> bool:
    return any(word in NEGATION_CUES for word in clean_text(text).split())


def direction_shift(train: pd.DataFrame, test: pd.DataFrame, kinds: pd.Series) -> None:
    """The share of "Does Not Support" by evidence type (curated, never an input) in each part."""
    print("\n| evidence type | train rows | train Does Not Support | test rows | test Does Not Support |")
    print("|---|---|---|---|---|")
    for kind in sorted(set(kinds)):
        cells = []
        for part in (train, test):
            rows = part[part["id"].map(kinds) == kind]
            dns = int((rows["label"] == "Does Not Support").sum())
            cells.append(f"{len(rows)} | {dns} ({dns / max(len(rows), 1):.1%})")
        print(f"| {kind} | {' | '.join(cells)} |")


def direction_ranking(y: np.ndarray, proba: np.ndarray, labels: list[str]) -> None:
    """How well P(Does Not Support) ranks the test rows, and the macro-F1 at other cut-offs than
    the argmax's 0.5 (the best of them chosen on the test rows: an upper bound, not a method)."""
    p = proba[:, labels.index("Does Not Support")]
    truth = y == "Does Not Support"
    print(
        f"\nROC AUC of P(Does Not Support) {roc_auc_score(truth, p):.3f}, average precision "
        f"{average_precision_score(truth, p):.3f}; mean P(Does Not Support) {p.mean():.3f} against a "
        f"test share of {truth.mean():.3f}."
    )
    print(
        "\n| cut-off on P(Does Not Support) | predicted | recall | precision | macro-F1 |"
        "\n|---|---|---|---|---|"
    )
    cuts = sorted({0.5, 0.3, 0.2, 0.1, 0.05} | {float(c) for c in np.unique(p)})
    best = max(cuts, key=lambda c: f1_score(truth, p >= c, average="macro"))
    for cut in (0.5, 0.3, 0.2, 0.1, 0.05, best):
        said = p >= cut
        hit = int((said & truth).sum())
        print(
            f"| {cut:.3f}{' (best on the test rows)' if cut == best else ''} | {int(said.sum())} "
            f"| {hit / truth.sum():.3f} | {hit / max(said.sum(), 1):.3f} "
            f"| {f1_score(truth, said, average='macro'):.4f} |"
        )


def direction_table(test: pd.DataFrame, proba: np.ndarray, labels: list[str], citations: pd.Series) -> None:
    """The time split's "Does Not Support" rows by negation cue, and the model's errors on them."""
    y = test["label"].to_numpy()
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    cue = test["text"].map(has_cue).to_numpy()
    print(
        "\n| true label | statement has a negation cue | rows | predicted Supports "
        "| predicted Does Not Support |\n|---|---|---|---|---|"
    )
    for label in labels:
        for flag in (True, False):
            rows = (y == label) & (cue == flag)
            print(
                f"| {label} | {'yes' if flag else 'no'} | {int(rows.sum())} "
                f"| {int((rows & (predicted == 'Supports')).sum())} "
                f"| {int((rows & (predicted == 'Does Not Support')).sum())} |"
            )
    rows = y == "Does Not Support"
    texts = test["text"][rows].map(clean_text)
    papers = test["id"][rows].map(citations)
    print(
        f"\nThe {int(rows.sum())} 'Does Not Support' rows hold {texts.nunique()} distinct statements from "
        f"{papers.nunique()} papers; the most repeated statement is {texts.value_counts().iloc[0]} rows, "
        f"the largest paper {papers.value_counts().iloc[0]}."
    )
    wrong = (y == "Does Not Support") & (predicted == "Supports")
    print(f"\nMissed 'Does Not Support' rows (first eight of {int(wrong.sum())}, P(Does Not Support)):")
    dns = labels.index("Does Not Support")
    for i in np.flatnonzero(wrong)[:8]:
        text = textwrap.shorten(test["text"].iloc[i], 220)
        print(f"- EID{test['id'].iloc[i]} ({proba[i, dns]:.2f}, cue: {'yes' if cue[i] else 'no'}): {text}")
    false_alarm = (y == "Supports") & (predicted == "Does Not Support")
    print(f"\nFalse 'Does Not Support' (first four of {int(false_alarm.sum())}):")
    for i in np.flatnonzero(false_alarm)[:4]:
        text = textwrap.shorten(test["text"].iloc[i], 220)
        print(f"- EID{test['id'].iloc[i]} ({proba[i, dns]:.2f}): {text}")


def models(
    table: pd.DataFrame, citations: np.ndarray, target: str, main: tuple[str, ...], kinds: pd.Series
) -> None:
    labels = sorted(table["label"].unique())
    y_all = table["label"].to_numpy()
    train, test = civic_time_split(table)
    for split in UNMET[target]:
        if split == "time":
            title = f"time split ({len(train)} train / {len(test)} test rows)"
            points = []
            for fraction in CURVE["time"]:
                part = train.iloc[nested(np.arange(len(train)), fraction)]
                proba = fit_predict(part, test, labels)
                points.append(curve_row(fraction, len(part), test["label"].to_numpy(), proba, labels, main))
            y = test["label"].to_numpy()
        else:
            title = f"citation-grouped 5-fold CV ({len(table)} rows)"
            folds = splits(y_all, folds=5, groups=citations, seed=0)
            points = []
            for fraction in CURVE["cv"]:
                cut = [(nested(tr, fraction), held) for tr, held in folds]
                proba = cross_validate(build("default"), table, folds=cut, labels=labels)
                rows = round(np.mean([len(tr) for tr, _ in cut]))
                points.append(curve_row(fraction, rows, y_all, proba, labels, main))
            y = y_all
        f1_name = "six-label macro-F1" if main else "macro-F1"
        print(f"\n#### Learning curve, {title}\n\n| training part | rows | log loss | accuracy | {f1_name} |")
        print("|---|---|---|---|---|\n" + "\n".join(points), flush=True)
        # Papers, not rows, are resampled: one paper's items (often one statement copied to each
        # of its variants) are no independent draws.
        papers = pd.Series(citations, index=table["id"])
        clusters = (test if split == "time" else table)["id"].map(papers).to_numpy()
        print(
            f"\nBootstrap 95 % interval over test papers (log loss | accuracy | {f1_name}): "
            f"{interval(y, proba, labels, main, clusters)}"
        )
        if split == "time":
            seen = test["id"].map(papers).isin(set(train["id"].map(papers))).to_numpy()
            print(f"\n#### By whether the test row's paper has items in the training part, {title}")
            by_paper(test, seen, proba, labels, main)
        print(f"\n#### Error split by label, {title}, whole training part")
        label_errors(y, proba, labels, table["label"].value_counts())
        if target == "evidence_direction" and split == "time":
            print(f"\n#### 'Does Not Support' by evidence type, {title}")
            direction_shift(train, test, kinds)
            print(f"\n#### Ranking and cut-off, {title}")
            direction_ranking(y, proba, labels)
            print(f"\n#### 'Does Not Support' and negation cues, {title}")
            direction_table(test, proba, labels, papers)


#: Kaggle's classes by mutation effect, "likely" and confirmed together (the README's numbering).
KAGGLE_GROUPS = {
    "loss": ("1", "4"),
    "gain": ("2", "7"),
    "neutral": ("3", "5"),
    "inconclusive": ("6",),
    "switch": ("8", "9"),
}


def kaggle(data: Path) -> None:
    """The default's stage-1 log loss split into the effect group's part and the part within it."""
    k = data / "kaggle-msk"
    train = load_table(k / "training_variants")
    test = load_table(k / "test_variants", labels=k / "stage1_solution_filtered.csv")
    test = test[test["label"] != ""].reset_index(drop=True)  # the stage's machine-made decoys
    labels = sorted(set(train["label"].astype(str)), key=int)
    y = test["label"].astype(str).to_numpy()
    proba = fit_predict(train, test, labels)
    proba = np.clip(proba / proba.sum(axis=1, keepdims=True), EPS, 1.0)
    column = {label: i for i, label in enumerate(labels)}
    group_of = {label: name for name, members in KAGGLE_GROUPS.items() for label in members}
    p_true = proba[np.arange(len(y)), [column[v] for v in y]]
    p_group = np.array(
        [proba[i, [column[v] for v in KAGGLE_GROUPS[group_of[label]]]].sum() for i, label in enumerate(y)]
    )
    shares = train["label"].astype(str).value_counts(normalize=True)
    prior_within = np.array([shares[v] / sum(shares[m] for m in KAGGLE_GROUPS[group_of[v]]) for v in y])
    print(f"\n## Kaggle stage 1, variants only ({len(train)} training rows, {len(y)} test rows)\n")
    print("| part of the default's log loss | nats per row |")
    print("|---|---|")
    print(f"| all: -log p(class) | {-np.log(p_true).mean():.4f} |")
    print(f"| the effect group: -log p(group) | {-np.log(p_group).mean():.4f} |")
    print(f"| within the group: -log p(class given group) | {-np.log(p_true / p_group).mean():.4f} |")
    print(f"| within the group, had it the training rows' shares | {-np.log(prior_within).mean():.4f} |")


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--no-models", action="store_true", help="Only the tables that need no model.")
    args = parser.parse_args()
    data = Path(os.environ["ONCOCLASS_DATA"])
    typed, _ = load(data, "evidence_type")
    kinds = pd.Series(typed["label"].to_numpy(), index=typed["id"])
    for target in args.targets.split(","):
        if target == "kaggle":
            kaggle(data)
            continue
        table, citations = load(data, target)
        main_labels = CIVIC_MAIN if target == "significance" else ()
        train, test = civic_time_split(table)
        dropped = int(len(table) - len(train) - len(test))
        print(f"\n## {target} ({len(table)} labelled rows; {len(Counter(table['label']))} labels)")
        f1_name = "six-label macro-F1" if main_labels else "macro-F1"
        print(f"\n### Label floor of near-duplicate statements (oracle; log loss / accuracy / {f1_name})")
        floor_table(table, set(test["id"]), main_labels)
        print("\n### Label support")
        support_table(train, test, table, dropped, pd.Series(citations, index=table["id"]))
        print("\n### Consistency of the curation")
        consistency_table(table, citations)
        if not args.no_models:
            print("\n### The default recipe")
            models(table, citations, target, main_labels, kinds)


if __name__ == "__main__":
    main()
