from __future__ import annotations

import numpy as np
import pytest

from oncoclass.errors import ConfigError
from oncoclass.evaluate import align_proba, log_loss, prior_proba
from oncoclass.models import RECIPES, build, get_recipe


@pytest.mark.parametrize(
    "name",
    # The full sentence encoder runs a six-layer transformer over every text, and the classic
    # notebook's forests fit hundreds of trees (~4.5 s each): the slow set.
    [
        pytest.param(n, marks=pytest.mark.slow) if n in ("contextual", "rf", "rf-response") else n
        for n in RECIPES
    ],
)
def test_every_recipe_fits_and_predicts_calibrated_rows(name: str, small_corpus) -> None:
    train, test = small_corpus
    model = build(name).fit(train, train["label"].to_numpy())
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), len(model.classes_))
    assert np.allclose(proba.sum(axis=1), 1.0)
    labels = sorted(train["label"].unique())
    loss = log_loss(test["label"].to_numpy(), align_proba(proba, model.classes_, labels), labels)
    prior = log_loss(
        test["label"].to_numpy(), prior_proba(train["label"].to_numpy(), len(test), labels), labels
    )
    assert loss < prior, f"{name} does not beat the class prior on learnable synthetic data"


def test_default_works_without_text(small_corpus) -> None:
    train, test = small_corpus
    blank = train.assign(text="")
    model = build("default").fit(blank, blank["label"].to_numpy())
    proba = model.predict_proba(test.assign(text="", gene="UNSEEN", variation="Z999Q"))
    assert np.isfinite(proba).all()


def test_unknown_recipe_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="default"):
        get_recipe("gradient-magic")


@pytest.mark.slow  # five-fold CV of the default on shuffled labels (~7 s)
def test_shuffled_labels_fall_to_the_prior(small_corpus) -> None:
    from oncoclass.evaluate import cross_validate, splits

    train, _ = small_corpus
    rng = np.random.default_rng(0)
    shuffled = train.assign(label=rng.permutation(train["label"].to_numpy()))
    labels = sorted(shuffled["label"].unique())
    y = shuffled["label"].to_numpy()
    folds = splits(y, folds=5, groups=None, seed=0)
    oof = cross_validate(build("default"), shuffled, folds=folds, labels=labels)
    prior = np.zeros_like(oof)
    for tr, held in folds:
        prior[held] = prior_proba(y[tr], len(held), labels)
    assert log_loss(y, oof, labels) > log_loss(y, prior, labels) - 0.05


def test_blend_gives_the_same_model_with_parallel_fold_fits(small_corpus) -> None:
    train, test = small_corpus
    y = train["label"].to_numpy()
    serial = build("default").set_params(with_text__estimator__n_jobs=1).fit(train, y)
    parallel = build("default").set_params(with_text__estimator__n_jobs=2).fit(train, y)
    # Worker processes run BLAS single-threaded, which reorders sums: equal up to rounding.
    np.testing.assert_allclose(parallel.predict_proba(test), serial.predict_proba(test), atol=1e-5)
    weights = [m.with_text_.labels_model_.member_weights for m in (parallel, serial)]
    assert weights[0] == pytest.approx(weights[1], abs=1e-4)


@pytest.mark.parametrize("name", ["default", "fast", "lr"])
def test_direct_feature_transform_matches_scikit_learns(small_corpus, name: str) -> None:
    import scipy.sparse as sp

    from oncoclass.models.blend import transform_features

    train, test = small_corpus
    model = build(name).fit(train, train["label"].to_numpy())
    model = getattr(model, "with_text_", model)  # the gated default: its text-reading member
    model = getattr(model, "labels_model_", model)  # (whose labels are not linked here)
    features = model.features_ if hasattr(model, "features_") else model[:-1]
    for rows in (test, test.iloc[:1]):
        ours, theirs = transform_features(features, rows), features.transform(rows)
        assert sp.issparse(ours) == sp.issparse(theirs) and ours.shape == theirs.shape
        np.testing.assert_array_equal(
            ours.toarray() if sp.issparse(ours) else ours, theirs.toarray() if sp.issparse(theirs) else theirs
        )


def test_blend_leaves_out_a_member_whose_columns_are_all_zero() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    from oncoclass.models.blend import BlendedClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=120) > 0, "a", "b")
    features = ColumnTransformer(
        [("x", "passthrough", [0, 1, 2, 3]), ("zeros", FunctionTransformer(np.zeros_like), [0, 1])]
    )
    lr = LogisticRegression(max_iter=500)
    both = BlendedClassifier(features=features, members=[("x", lr, ("x",)), ("z", lr, ("zeros",))], cv=3)
    alone = BlendedClassifier(features=features, members=[("x", lr, ("x",))], cv=3)
    both.fit(X, y)
    alone.fit(X, y)
    assert both.members_[1] is None and both.member_weights["z"] == 0.0
    np.testing.assert_allclose(both.predict_proba(X), alone.predict_proba(X))


def test_linked_labels_share_each_type_out_as_the_label_model_does() -> None:
    from sklearn.linear_model import LogisticRegression

    from oncoclass.models.linked import LinkedLabels, label_groups, unlinked

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    labels = np.array(["Predictive: Resistance", "Predictive: Sensitivity", "Prognostic: Poor Outcome"])
    y = labels[(X[:, 0] > 0).astype(int) * 2 + (X[:, 0] <= 0) * (X[:, 1] > 0)]
    linked = LinkedLabels(estimator=LogisticRegression()).fit(X, y)
    assert list(linked.classes_) == sorted(labels)
    groups = linked.groups_model_.predict_proba(X)
    within = linked.labels_model_.predict_proba(X)
    proba = linked.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The type's probability is the type model's, shared out as the label model shares it.
    np.testing.assert_allclose(proba[:, :2].sum(axis=1), groups[:, 0])
    shares = [p[:, 0] / p[:, :2].sum(axis=1) for p in (proba, within)]
    np.testing.assert_allclose(*shares)
    assert unlinked(linked) is linked
    # Labels that are not type: value pairs, or whose groups each hold one label, are not linked.
    assert label_groups(["1", "2", "3"]) is None and label_groups(["A: x", "B: y"]) is None
    plain = LinkedLabels(estimator=LogisticRegression()).fit(X, (X[:, 0] > 0).astype(int))
    assert plain.groups_model_ is None and unlinked(plain) is plain.labels_model_
    np.testing.assert_array_equal(plain.predict_proba(X), plain.labels_model_.predict_proba(X))


def test_similar_rows_form_one_group_and_share_a_calibration_fold() -> None:
    import scipy.sparse as sp

    from oncoclass.models.calibration import MAX_GROUPED_ROWS, calibration_folds, similar_groups

    rows = np.array([[1.0, 0.0, 0.0], [0.96, 0.28, 0.0], [0.0, 1.0, 0.0], [0.0, 0.6, 0.8], [0.0, 0.0, 1.0]])
    groups = similar_groups(sp.csr_matrix(rows), 0.7)
    assert groups is not None
    # 0 ~ 1 (0.96); 2 ~ 3 (0.6) is no link, 3 ~ 4 (0.8) is: linked sets, not pairs.
    assert groups[0] == groups[1] and groups[3] == groups[4]
    assert len({groups[0], groups[2], groups[3]}) == 3
    np.testing.assert_array_equal(similar_groups(rows, 0.7, chunk=1), groups)
    assert similar_groups(np.eye(4), 0.7) is None  # nothing alike: no groups
    # Every pair is compared: past MAX_GROUPED_ROWS the folds are left ungrouped.
    many = sp.csr_matrix(np.ones((1, 1))[np.zeros(MAX_GROUPED_ROWS + 1, dtype=int)])
    assert similar_groups(many, 0.7) is None

    codes = np.tile([0, 1], 30)
    pairs = np.repeat(np.arange(30), 2)  # rows 2k and 2k+1 alike
    for _, held in calibration_folds(codes, 5, 0, pairs):
        assert set(np.unique(pairs[held])).isdisjoint(np.unique(pairs[np.setdiff1d(np.arange(60), held)]))
    # Fewer groups than folds: the ungrouped stratified folds.
    few = calibration_folds(codes, 5, 0, np.zeros(60, dtype=int))
    for (a, b), (c, d) in zip(few, calibration_folds(codes, 5, 0), strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_blend_balances_members_and_groups_folds_only_where_every_class_is_large_enough() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MaxAbsScaler, Normalizer

    from oncoclass.models.blend import BlendedClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=200) > 1.0, "rare", "common")  # ~1 in 6 rare
    features = ColumnTransformer([("x", "passthrough", [0, 1, 2, 3]), ("unit", Normalizer(), [0, 1])])
    scaled = Pipeline([("scale", MaxAbsScaler()), ("lr", LogisticRegression(max_iter=500))])
    members = [("x", scaled, ("x",)), ("plain", LogisticRegression(max_iter=500), ("x",))]
    blend = BlendedClassifier(features=features, members=members, cv=3, group_block="unit")
    balanced = blend.set_params(balance_from=10).fit(X, y)
    assert balanced.balanced_
    assert balanced.members_[0].named_steps["lr"].class_weight == "balanced"
    assert balanced.members_[1].class_weight == "balanced"
    assert members[1][1].class_weight is None  # the recipe's estimators are left as they were
    proba = balanced.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    # Calibrated by the blend's biases: the mean probability of the rare class is near its share.
    assert abs(proba[:, list(balanced.classes_).index("rare")].mean() - (y == "rare").mean()) < 0.05
    # A class below balance_from: neither balanced nor grouped, the plain blend exactly.
    rare = int((y == "rare").sum())
    unbalanced = clone_of(blend, balance_from=rare + 1).fit(X, y)
    plain = clone_of(blend, balance_from=None, group_block=None).fit(X, y)
    assert not unbalanced.balanced_ and unbalanced.members_[1].class_weight is None
    np.testing.assert_allclose(unbalanced.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(ValueError, match="not transformers"):
        clone_of(blend, balance_from=1, group_block="nope").fit(X, y)


def clone_of(estimator, **params):
    from sklearn.base import clone

    return clone(estimator).set_params(**params)
