"""The default recipe reads statement-sized texts whole and long articles as their mentions and
their vocabulary, choosing by each text's length; articles are cut as they stream in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from oncoclass.data.kaggle import load_kaggle
from oncoclass.data.synth import SynthSpec, make_corpus, write_corpus
from oncoclass.features import ArticleText, TextPart, TextVectorizer, text_reduction
from oncoclass.features.text import ARTICLE_MARK, article_parts, document_words, mention_text
from oncoclass.models.recipes import SHORT_TEXT, build, default_features


def _article(variation: str, near: str, filler_sentences: int = 200) -> str:
    filler = " ".join(
        f"Filler sentence number {i} about cells and the kinase." for i in range(filler_sentences)
    )
    return f"{filler} The {variation} variant showed {near}. {filler} Other text about KRAS G12D."


@pytest.fixture(scope="module")
def articles() -> pd.DataFrame:
    """Article-sized synthetic texts (6,000 characters, past the statement length)."""
    train, _ = make_corpus(SynthSpec(rows=120, test_rows=10, doc_chars=6000, seed=3))
    return train


def test_document_words_are_distinct_words_in_order_without_stop_words() -> None:
    words = document_words("The BRAF kinase, the BRAF V600E kinase; and 42 cells. A b")
    assert words == "braf kinase v600e 42 cells"
    assert not set(words.split()) & ENGLISH_STOP_WORDS
    long = document_words(" ".join(f"word{i}" for i in range(5000)), max_chars=100)
    assert len(long) <= 100 and not long.endswith(" ") and long.split()[-1].startswith("word")


def test_article_text_cuts_articles_and_keeps_statements() -> None:
    cutter = ArticleText(window=0)
    article = _article("V600E", "constitutive activation")
    cut = cutter.reduce("BRAF", "V600E", article)
    mentions, words = article_parts(cut)
    assert "constitutive activation" in mentions and len(mentions) < 200
    assert words == document_words(article) and "filler" in words.split()
    assert len(cut) < len(article) / 10
    assert cutter.reduce("BRAF", "V600E", cut) == cut  # cutting twice is cutting once
    statement = "Patients responded to vemurafenib. " * 20
    assert len(statement) <= SHORT_TEXT and cutter.reduce("BRAF", "V600E", statement) == statement
    unnamed = _article("XXXX", "nothing")  # names neither variant nor gene: its opening is kept
    assert article_parts(cutter.reduce("BRAF", "V600E", unnamed))[0] == unnamed[:SHORT_TEXT]


def test_text_part_picks_the_view_by_length() -> None:
    statement = "BRAF V600E confers sensitivity to vemurafenib."
    article = _article("V600E", "constitutive activation")
    cut = ArticleText().reduce("BRAF", "V600E", article)
    texts = np.asarray([statement, article, cut, ""], dtype=object)
    assert list(TextPart(part="statement").fit_transform(texts)) == [statement, "", "", ""]
    words = TextPart(part="words").fit_transform(texts)
    assert list(words) == ["", document_words(article), document_words(article), ""]
    with pytest.raises(ValueError, match="part must be"):
        TextPart(part="sentences").fit(texts)


def test_mention_views_read_the_same_from_a_cut_article() -> None:
    article = _article("V600E", "constitutive activation")
    cut = ArticleText().reduce("BRAF", "V600E", article)
    assert mention_text(cut, "BRAF", "V600E") == mention_text(article, "BRAF", "V600E")
    unnamed = _article("XXXX", "nothing")
    assert (
        mention_text(ArticleText().reduce("BRAF", "V600E", unnamed), "BRAF", "V600E") == unnamed[:SHORT_TEXT]
    )


def test_default_features_are_the_same_from_cut_and_whole_articles(articles: pd.DataFrame) -> None:
    cut = ArticleText().fit_transform(articles)
    assert cut["text"].str.len().sum() < articles["text"].str.len().sum() / 3
    y = articles["label"]
    whole_features = default_features(embedding=None).fit(articles, y)
    cut_features = default_features(embedding=None).fit(cut, y)
    a, b = whole_features.transform(articles), cut_features.transform(cut)
    assert (a != b).nnz == 0
    assert (whole_features.transform(cut) != a).nnz == 0  # a model fitted on whole texts reads cut ones


def test_statements_read_exactly_as_before_and_articles_by_their_words(articles: pd.DataFrame) -> None:
    statements = articles.assign(text=articles["text"].str.slice(0, 1500))
    features = default_features(embedding=None).fit(statements, statements["label"])
    Z = features.transform(statements)
    text = Z[:, features.output_indices_["text"]]
    before = TextVectorizer(
        ngram_max=2, max_features=100000, stop_words="english-but-negations", negation=True
    )
    before = before.fit_transform(statements["text"])
    assert text.shape == before.shape and abs(text - before).max() == 0  # the statement view is unchanged
    assert Z[:, features.output_indices_["document"]].nnz == 0  # no article: the word view is empty
    features = default_features(embedding=None).fit(articles, articles["label"])
    Z = features.transform(articles)
    assert Z[:, features.output_indices_["text"]].nnz == 0  # no statement: the statement view is empty
    assert Z[:, features.output_indices_["document"]].nnz > 0


def test_the_default_names_its_cut_and_the_loader_applies_it(tmp_path: Path) -> None:
    files = write_corpus(tmp_path, SynthSpec(rows=40, test_rows=5, doc_chars=6000, seed=2))
    reduce = text_reduction(build("default"))
    assert reduce is not None and isinstance(reduce.__self__, ArticleText)
    whole = load_kaggle(files["training_variants"], files["training_text"])
    cut = load_kaggle(files["training_variants"], files["training_text"], reduce_text=reduce)
    assert cut["text"].tolist() == ArticleText().transform(whole)["text"].tolist()
    assert all(ARTICLE_MARK in t for t in cut["text"])


def test_the_default_embeds_statements_only_and_leaves_its_encoder_out_on_articles(
    articles: pd.DataFrame, tmp_path: Path
) -> None:
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig
    from oncoclass.explain import explain
    from oncoclass.features import MentionText, TokenEmbedding
    from oncoclass.persist import load_bundle

    statements = articles.assign(text=articles["text"].str.slice(0, 1500))
    features = default_features().fit(statements, statements["label"])
    embedded = features.transform(statements)[:, features.output_indices_["embedding"]]
    before = TokenEmbedding().fit(MentionText().fit_transform(statements)["text"])
    np.testing.assert_array_equal(embedded.toarray(), before.transform(MentionText().transform(statements)))
    features = default_features().fit(articles, articles["label"])
    assert features.transform(articles)[:, features.output_indices_["embedding"]].nnz == 0

    files = write_corpus(tmp_path / "corpus", SynthSpec(rows=120, test_rows=10, doc_chars=6000, seed=3))
    spec = InputSpec(path=str(files["training_variants"]), text=str(files["training_text"]))
    bundle = load_bundle(train(TrainConfig(input=spec), out_dir=tmp_path / "model").path)
    model = bundle.model
    blend = model.with_text_.labels_model_  # Kaggle's classes are not linked: the blend alone
    assert model.with_text_.groups_model_ is None
    assert blend.members_[1] is None and blend.member_weights["encoder"] == 0.0
    assert blend.members_[0] is not None and blend.member_weights["linear"] > 0
    rows = load_kaggle(files["test_variants"], files["test_text"], reduce_text=text_reduction(model))
    proba = model.predict_proba(rows)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    row = rows.iloc[0]
    assert explain(bundle, gene=row["gene"], variation=row["variation"], text=row["text"]) is not None
