"""Named recipes: each a function returning an unfitted scikit-learn estimator over the table.

Adding a model is adding one entry to :data:`RECIPES`. The classic notebook's models are kept
as they were (one-hot gene and variation, bag-of-words/TF-IDF text, response coding) so the
``default`` recipe can be compared with them on the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.svm import LinearSVC

from oncoclass.errors import ConfigError
from oncoclass.features import (
    ArticleText,
    EvidenceFeatures,
    GeneKindFeatures,
    HotspotFeatures,
    MentionText,
    MentionWindows,
    NeighbourFeatures,
    OneHot,
    PositionKernel,
    ResponseCoder,
    SentenceEmbedding,
    TextPart,
    TextVectorizer,
    TokenEmbedding,
    VariationFeatures,
)
from oncoclass.models.blend import BlendedClassifier
from oncoclass.models.calibration import TemperatureCalibrated
from oncoclass.models.gate import TextGated
from oncoclass.models.linked import LinkedLabels

SEED = 0
#: Parallel fold fits in the blends: the machines this is built for have two cores.
N_JOBS = 2


def _onehot() -> tuple[str, Any, list[str]]:
    return ("onehot", OneHot(), ["gene", "variation"])


def _text(kind: str = "tfidf", max_features: int | None = 50000) -> tuple[str, Any, str]:
    return ("text", TextVectorizer(kind=kind, max_features=max_features), "text")


def classic_features(*, kind: str = "tfidf", max_features: int | None = 50000) -> ColumnTransformer:
    """One-hot gene and variation beside bag-of-words (``counts``) or TF-IDF text."""
    return ColumnTransformer([_onehot(), _text(kind, max_features)], sparse_threshold=1.0)


def _lr(
    *, balanced: bool = False, C: float = 1.0, max_iter: int = 3000, tol: float = 1e-4
) -> LogisticRegression:
    return LogisticRegression(
        C=C, max_iter=max_iter, tol=tol, class_weight="balanced" if balanced else None, random_state=SEED
    )


def _calibrated(estimator: Any, *, n_jobs: int | None = None, cv: int = 5) -> TemperatureCalibrated:
    return TemperatureCalibrated(estimator=estimator, cv=cv, random_state=SEED, n_jobs=n_jobs)


def _svm() -> LinearSVC:
    return LinearSVC(C=0.1, class_weight="balanced", random_state=SEED)


def nb() -> Any:
    return Pipeline(
        [("features", classic_features(kind="counts")), ("model", _calibrated(MultinomialNB(alpha=0.1)))]
    )


def knn() -> Any:
    model = KNeighborsClassifier(n_neighbors=15, weights="distance", metric="cosine")
    return Pipeline([("features", classic_features()), ("model", _calibrated(model))])


def lr() -> Any:
    return Pipeline([("features", classic_features()), ("model", _lr())])


def lr_balanced() -> Any:
    # Balancing shifts probabilities away from the class prior; calibration puts them back.
    return Pipeline([("features", classic_features()), ("model", _calibrated(_lr(balanced=True)))])


def svm() -> Any:
    return Pipeline([("features", classic_features()), ("model", _calibrated(_svm()))])


def _forest() -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=300, min_samples_leaf=1, max_features="sqrt", n_jobs=2, random_state=SEED
    )


def rf() -> Any:
    features = classic_features(max_features=5000)
    return Pipeline([("features", features), ("model", _calibrated(_forest()))])


def rf_response() -> Any:
    features = ColumnTransformer(
        [
            ("response", ResponseCoder(alpha=1.0, random_state=SEED), ["gene", "variation"]),
            _text(max_features=5000),
        ],
        sparse_threshold=1.0,
    )
    return Pipeline([("features", features), ("model", _calibrated(_forest()))])


def stack() -> Any:
    estimators = [
        ("lr", _lr()),
        ("svm", _calibrated(_svm())),
        ("nb", _calibrated(MultinomialNB(alpha=0.1))),
    ]
    model = StackingClassifier(
        estimators=estimators,
        final_estimator=LogisticRegression(C=0.5, max_iter=3000, random_state=SEED),
        cv=5,
        stack_method="predict_proba",
    )
    return Pipeline([("features", classic_features()), ("model", model)])


def vote() -> Any:
    estimators = [
        ("lr", _lr()),
        ("svm", _calibrated(_svm())),
        ("nb", _calibrated(MultinomialNB(alpha=0.1))),
    ]
    model = VotingClassifier(estimators=estimators, voting="soft")
    return Pipeline([("features", classic_features()), ("model", model)])


#: Texts up to this long (curated statements) are read whole; longer ones (articles) are also
#: read as the sentences around the variant's mentions.
SHORT_TEXT = 3000


#: The statement views keep negations ("was not associated with response"): measured with
#: benchmarks/accuracy.py --only civic (2026-11-27), citation-grouped CV log loss 0.598 -> 0.593
#: for significance and 0.213 -> 0.200 for evidence direction (macro-F1 0.645 -> 0.661), the
#: time split 0.312 -> 0.310 and 0.256 -> 0.252.
_STOP = "english-but-negations"
#: The statement view also reads the words in a negation's scope as terms of their own
#: ("not associated with response" gives ``neg_associated``, ``neg_response``): measured with
#: benchmarks/accuracy.py --only civic (2026-11-27), citation-grouped CV log loss 0.1996 -> 0.1976
#: for evidence direction (macro-F1 0.661 -> 0.665), 0.5447 -> 0.5425 for significance (six-label
#: macro-F1 0.800 -> 0.802); the time split 0.2515 -> 0.2509 and 0.3027 -> 0.3028.


def default_features(
    *,
    embedding: Literal["tokens", "sentence"] | None = "tokens",
    embedded: Literal["statements", "mentions"] = "statements",
) -> ColumnTransformer:
    """Gene and variation one-hot, variation grammar, out-of-fold neighbours (same gene, residue,
    position, kind; and distance-weighted along the protein), and text in views chosen by each
    text's length: a statement-sized text's words and bigrams (``text``); an article's words and
    bigrams around the variant's mentions (``mention``) and its distinct words (``document``, a
    whole-document bag of words); an embedding of the statement (and, with ``embedded=
    "mentions"``, of the article's mentions); and the context (disease, drugs). Articles are cut
    to what these views read as the file streams in (:class:`ArticleText`, named by the gated
    recipes).

    The embedding is the MiniLM word-piece average (``"tokens"``, a table lookup), the full
    MiniLM sentence encoder (``"sentence"``, a six-layer pass per text), or left out (``None``).
    With ``embedded="statements"`` it reads statement-sized texts only and is all zeros for an
    article, so on a corpus of articles the blend leaves its member out
    (:class:`~oncoclass.models.blend.BlendedClassifier`).
    """
    mention = Pipeline(
        [
            ("windows", MentionWindows(window=1, min_chars=SHORT_TEXT)),
            ("tfidf", TextVectorizer(ngram_max=2, max_features=50000, stop_words=_STOP)),
        ]
    )
    # Statement-sized texts are read whole, as bigrams; an article as its distinct words (a
    # whole-document bag of words, cut while the file streams in) beside its mention windows.
    statements = Pipeline(
        [
            ("statements", TextPart(part="statement", short_chars=SHORT_TEXT)),
            ("tfidf", TextVectorizer(ngram_max=2, max_features=100000, stop_words=_STOP, negation=True)),
        ]
    )
    words = Pipeline(
        [
            ("words", TextPart(part="words", short_chars=SHORT_TEXT)),
            ("tfidf", TextVectorizer(ngram_max=1, max_features=50000)),
        ]
    )
    encoded = []
    if embedding is not None:
        encode = TokenEmbedding() if embedding == "tokens" else SentenceEmbedding()
        if embedded == "statements":
            # On articles the word-piece average of the mentions earned a blend weight of about
            # 0.001 beside the words around them (1x synthetic Kaggle corpus), for six fits.
            read: Any = TextPart(part="statement", short_chars=SHORT_TEXT)
            encoded = [("embedding", Pipeline([("statements", read), ("encode", encode)]), "text")]
        else:
            read = MentionText(window=1, short_chars=SHORT_TEXT)
            columns = ["gene", "variation", "text"]
            encoded = [("embedding", Pipeline([("mentions", read), ("encode", encode)]), columns)]
    return ColumnTransformer(
        [
            _onehot(),
            ("grammar", VariationFeatures(), ["variation"]),
            ("neighbours", NeighbourFeatures(alpha=1.0, random_state=SEED), ["gene", "variation"]),
            ("positions", PositionKernel(random_state=SEED), ["gene", "variation"]),
            ("text", statements, "text"),
            ("mention", mention, ["gene", "variation", "text"]),
            ("context", TextVectorizer(min_df=1), "context"),
            ("document", words, "text"),
            *encoded,
        ],
        sparse_threshold=1.0,
    )


def _all_but_embedding(features: ColumnTransformer) -> tuple[str, ...]:
    """The blocks the linear member reads: every one but the embedding."""
    return tuple(name for name, _, _ in features.transformers if name != "embedding")


def _boosting() -> LGBMClassifier:
    return LGBMClassifier(
        n_estimators=200, learning_rate=0.045, num_leaves=15,
        min_child_samples=10, subsample=0.8, subsample_freq=1, colsample_bytree=0.5,
        reg_lambda=1.0, n_jobs=1, random_state=SEED, verbose=-1,
    )  # fmt: skip


def _scaled_lr(*, C: float = 1.0, tol: float = 1e-4) -> Pipeline:
    # Counts, distances and class fractions sit on very different scales; scaling each column to
    # [-1, 1] lets one penalty fit them all, and lbfgs converges in a few dozen iterations.
    return Pipeline([("scale", MaxAbsScaler()), ("lr", _lr(C=C, max_iter=300, tol=tol))])


#: Labels whose every class has this many training rows are learned class-balanced, with the
#: blend's out-of-fold splits keeping near-duplicate statements (cosine >= 0.7 in the statement
#: view; often one paper's items) together (BlendedClassifier's ``balance_from``). Measured with
#: benchmarks/accuracy.py --only civic --target evidence_direction (2026-11-27; its rarer class
#: "Does Not Support" has ~200-260 rows): citation-grouped CV log loss 0.1976 -> 0.1941,
#: macro-F1 0.665 -> 0.734, ECE 0.025 -> 0.012; the time split 0.2509 -> 0.2347 (macro-F1 0.596
#: -> 0.589, on 52 "Does Not Support" rows). Not lower: evidence level (its rarest class ~60
#: rows) gained too (grouped CV 0.4712 -> 0.4568, time split 0.2801 -> 0.2768), but the evidence
#: type model inside significance's LinkedLabels (Diagnostic ~120 rows), balanced, made the
#: significance time split worse (0.3028 -> 0.3211); significance's own labels (a class of one
#: row) never are. Each alone, on direction: balanced members 0.1959 / 0.2459 (grouped CV / time
#: split), grouped splits 0.1942 / 0.2396. Nor 40 with the type model left unbalanced wherever
#: the label model is (LinkedLabels fitting its group model with balance_from=None then): on
#: evidence level the grouped CV's log loss fell 0.4712 -> 0.4646 and macro-F1 rose 0.579 -> 0.615,
#: but accuracy fell 0.8515 -> 0.8484 (time split 0.2801 -> 0.2768, accuracy 0.8962 -> 0.8945,
#: macro-F1 0.594 -> 0.591; benchmarks/accuracy.py and bounds.py, 2026-11-27): further from the
#: accuracy target, and no nearer its log loss (0.33).
BALANCE_FROM = 150


def _with_embedding(
    embedding: Literal["tokens", "sentence"], embedded: Literal["statements", "mentions"]
) -> BlendedClassifier:
    features = default_features(embedding=embedding, embedded=embedded)
    members = [
        ("linear", _scaled_lr(C=1.0), _all_but_embedding(features)),
        ("encoder", _lr(C=16.0, max_iter=2000), ("embedding",)),
    ]
    return BlendedClassifier(
        features=features, members=members, cv=5, random_state=SEED, n_jobs=N_JOBS,
        balance_from=BALANCE_FROM, group_block="text", group_similarity=0.7,
    )  # fmt: skip


#: The grammar's numeric columns the text-free member reads: position, span and BLOSUM62, not the
#: other residue-change properties (hydropathy, volume, charge, polarity, C/G/P, partners).
#: Without those, Kaggle's training variants with a store (benchmarks/hotspots.py's folds,
#: 2026-11-27) scored 5-fold CV log loss 0.9336 against 0.9388 and genes left out 1.6269 against
#: 1.6281; keeping BLOSUM62 too, 0.9305 and 1.5922 beside the labelled-evidence count (0.9317 and
#: 1.5932 without it). A one-hot of the two residues, or their changes response coded across
#: genes, did worse still (0.9610 and 0.9536): on ~2,600 missense rows these columns fit noise.
TEXT_FREE_NUMERIC = ("has_position", "log_position", "log_length", "blosum62")


def text_free() -> Pipeline:
    """What a row without text is predicted by: gene and variation (one-hot, grammar, out-of-fold
    neighbours and position kernel), the labels of the evidence the store holds on the same
    variant and residue, how much curated evidence it holds on the gene at all and what kinds of
    change that evidence is about (losses, gains, missense), and whether the store's hotspots
    table holds the change or its residue (and how many of its changes recur there), calibrated.
    Nothing it reads is missing on such a row. (The retrieved statements' words, as TF-IDF, made
    it worse on CIViC and Kaggle: benchmarks/evidence.py.)"""
    features = ColumnTransformer(
        [
            _onehot(),
            ("grammar", VariationFeatures(numeric=TEXT_FREE_NUMERIC), ["variation"]),
            ("neighbours", NeighbourFeatures(alpha=1.0, random_state=SEED), ["gene", "variation"]),
            ("positions", PositionKernel(random_state=SEED), ["gene", "variation"]),
            # The labelled-evidence count over every tier (how much CIViC says of the gene) is what
            # a gene never seen in training has left: Kaggle's training variants with a store,
            # genes left out, 1.6281 -> 1.5953 (5-fold CV 0.9388 either way; benchmarks/hotspots.py's
            # folds, 2026-11-27). The share of each label on those far tiers did worse (1.6512).
            ("evidence", EvidenceFeatures(labelled_total=True), ["evidence"]),
            ("hotspots", HotspotFeatures(random_state=SEED), ["gene", "variation", "evidence"]),
            # Whether the store's evidence on the gene is about losses, gains or missense changes
            # (a tumour suppressor's literature or an oncogene's): genes left out 1.5905 -> 1.5354.
            ("gene_kinds", GeneKindFeatures(), ["gene", "evidence"]),
        ],
        sparse_threshold=1.0,
    )
    # Three calibration folds, not five: the calibration is one temperature and a bias per class,
    # and each fold fit of this LR (~3,300 one-hot columns, ~250 iterations on Kaggle's variants)
    # cost ~2 s of CPU, paid on every training run whether or not any row lacks text. Kaggle's
    # variants alone (this member's case) scored as well with three (benchmarks/accuracy.py:
    # stage-1 log loss 0.8815 against 0.8819, 5-fold CV 0.9612 against 0.9612). For the same
    # reason its solver stops at a gradient of 1e-3 rather than 1e-4 (~125 lbfgs iterations
    # instead of ~220 there; ~1.5 s of wall time on the 1x article corpus): the same log loss
    # (stage 1 0.8792 against 0.8813, CV 0.9611 against 0.9612; the proper score, calibration
    # included), while the 5-fold CV's 15-bin ECE reads 0.027 against 0.016, within the spread
    # of the other recipes' (0.022-0.028). With a store (benchmarks/hotspots.py's folds,
    # 2026-11-27, before the grammar's columns were cut): five folds 0.9388 and genes left out
    # 1.6290, three 0.9388 and 1.6281. C by the same CV: 0.5 gave 0.9402 and 1.6244, 2.0 0.9417
    # and 1.6420, 1.0 0.9388 and 1.6281; kept at 1.0.
    model = _calibrated(_scaled_lr(C=1.0, tol=1e-3), n_jobs=N_JOBS, cv=3)
    return Pipeline([("features", features), ("model", model)])


def _gated(with_text: Any) -> TextGated:
    # A model trained on statements, given a gene and variant alone, was confidently wrong
    # (worse than the class prior on later CIViC evidence): rows without text go to a member
    # trained for them.
    # Labels such as CIViC's "Predictive: Resistance" are learned as type and significance,
    # linked (LinkedLabels); other labels as they are. For rows without text too (CIViC time
    # split, gene and variant only: 0.551 -> 0.537; citation-grouped CV 1.120 -> 1.119).
    return TextGated(
        with_text=LinkedLabels(estimator=with_text),
        without_text=LinkedLabels(estimator=text_free()),
        cut=ArticleText(short_chars=SHORT_TEXT),
    )


def default() -> Any:
    # Two members, blended out of fold: a scaled LR over words, variant features and neighbours,
    # and an LR over the text's MiniLM word-piece embedding, which knows that "resistant" and
    # "resistance", or "tumor" and "cancer", mean alike. The full sentence encoder (recipe
    # `contextual`) scores a little better on CIViC but costs tens of milliseconds a text, past
    # the service's latency budget and the batch engine's throughput; the word-piece average
    # costs microseconds. The embedding reads statements only: on a corpus of articles its
    # column block is all zeros and the blend leaves that member out. Gradient boosting was a
    # member until it measured no gain once the LR's columns were scaled. Rows without text go
    # to the text-free member.
    return _gated(_with_embedding("tokens", "statements"))


def contextual() -> Any:
    """The default with the full six-layer MiniLM sentence encoder in place of the word-piece
    average: the best CIViC figures, at tens of milliseconds of CPU per text to train and
    predict."""
    return _gated(_with_embedding("sentence", "mentions"))


def boosted() -> Any:
    """The default before the sentence encoder: the same scaled LR blended with LightGBM over the
    dense grammar, neighbour and position blocks. No encoder weights needed."""
    features = default_features(embedding=None)
    members = [
        ("linear", _scaled_lr(C=1.0), _all_but_embedding(features)),
        ("boosting", _boosting(), ("grammar", "neighbours", "positions")),
    ]
    return _gated(
        BlendedClassifier(features=features, members=members, cv=5, random_state=SEED, n_jobs=N_JOBS)
    )


def fast() -> Any:
    """The default's variant features and mention-window text, in one logistic regression.

    What it gives up for speed and memory: the whole-document text (it reads only the sentences
    around the variant's mentions, cut as the file streams in, so a long article never sits in
    memory whole), gradient boosting, and the out-of-fold blend. Features are scaled to [-1, 1]
    so one solver run converges in a few dozen iterations.
    """
    features = ColumnTransformer(
        [
            _onehot(),
            ("grammar", VariationFeatures(), ["variation"]),
            ("neighbours", NeighbourFeatures(alpha=1.0, random_state=SEED), ["gene", "variation"]),
            ("positions", PositionKernel(random_state=SEED), ["gene", "variation"]),
            ("text", TextVectorizer(ngram_max=2, max_features=50000), "text"),
            ("context", TextVectorizer(min_df=1), "context"),
        ],
        sparse_threshold=1.0,
    )
    return Pipeline(
        [
            ("mentions", MentionText(window=1)),
            ("features", features),
            ("model", _scaled_lr(C=1.0)),
        ]
    )


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    factory: Callable[[], Any]

    def build(self) -> Any:
        return self.factory()


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("default", "blend of LR over one-hot, variation grammar, OOF neighbours, whole-text, "
               "mention-window and context TF-IDF, and LR over the text's MiniLM word-piece "
               "embedding (offline); blend weights and class biases fitted out of fold "
               "(calibrated)", default),
        Recipe("contextual", "the default with the full all-MiniLM-L6-v2 sentence encoder in place "
               "of the word-piece embedding: better on CIViC, tens of ms of CPU per text", contextual),
        Recipe("boosted", "the default without an embedding: LR blended with LightGBM "
               "over the grammar and neighbour features", boosted),
        Recipe("fast", "one scaled LR over the default's variant features and the text around the "
               "variant's mentions only (cut while streaming); for large full-text corpora", fast),
        Recipe("nb", "multinomial Naive Bayes on one-hot + bag of words; calibrated", nb),
        Recipe("knn", "k-nearest neighbours (cosine) on one-hot + TF-IDF; calibrated", knn),
        Recipe("lr", "logistic regression on one-hot + TF-IDF", lr),
        Recipe("lr-balanced", "class-balanced logistic regression on one-hot + TF-IDF; calibrated",
               lr_balanced),
        Recipe("svm", "linear SVM on one-hot + TF-IDF; calibrated", svm),
        Recipe("rf", "random forest on one-hot + TF-IDF (5k terms); calibrated", rf),
        Recipe("rf-response", "random forest on response-coded gene/variation + TF-IDF; calibrated",
               rf_response),
        Recipe("stack", "stacking of LR, SVM and NB with an LR on top", stack),
        Recipe("vote", "soft voting of LR, SVM and NB", vote),
    )
}  # fmt: skip
CLASSIC = tuple(name for name in RECIPES if name not in ("default", "contextual", "boosted", "fast"))


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(
            f"unknown recipe {name!r}.", hint=f"Choose one of: {', '.join(RECIPES)} (see `oncoclass models`)."
        ) from None


def build(name: str) -> Any:
    return get_recipe(name).build()
