"""Explanations: exact decompositions sum to the model's logits; other models get occlusion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoclass.errors import InputError
from oncoclass.explain import explain
from oncoclass.persist import load_bundle


def _one(small_corpus) -> pd.Series:
    _, test = small_corpus
    return test.iloc[0]


def _centred_logits(model, row: pd.Series) -> np.ndarray:
    table = row.to_frame().T.reset_index(drop=True)
    logits = np.log(model.predict_proba(table))[0]
    return logits - logits.mean()


@pytest.fixture(scope="module")
def linked_model(tmp_path_factory: pytest.TempPathFactory, small_corpus) -> str:
    """The default trained on labels that name a group and a value, as CIViC's do: its type and
    label models are linked (LinkedLabels)."""
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig

    rows, _ = small_corpus
    folder = tmp_path_factory.mktemp("linked")
    labelled = rows.assign(label=[f"{'Low' if int(c) <= 4 else 'High'}: class {c}" for c in rows["label"]])
    labelled[["id", "gene", "variation", "text", "label"]].to_csv(folder / "rows.csv", index=False)
    config = TrainConfig(input=InputSpec(path=str(folder / "rows.csv")))
    return str(train(config, out_dir=folder / "model").path)


@pytest.mark.parametrize("fixture", ["lr_model", "default_model", "fast_model", "linked_model"])
def test_exact_contributions_sum_to_the_logit(request, small_corpus, fixture) -> None:
    bundle = load_bundle(request.getfixturevalue(fixture))
    row = _one(small_corpus)
    labels = [str(c) for c in bundle.model.classes_]
    result = explain(bundle, gene=row["gene"], variation=row["variation"], text=row["text"], classes=labels)
    assert result.method == "exact"
    logits = _centred_logits(bundle.model, row)
    assert len(result.classes) == len(labels)
    for cls in result.classes:
        total = cls.baseline + sum(cls.by_source.values())
        assert total == pytest.approx(cls.logit, abs=1e-6)
        assert cls.logit == pytest.approx(logits[labels.index(cls.label)], abs=1e-4)
    probabilities = np.array([result.probabilities[label] for label in labels])
    assert probabilities.sum() == pytest.approx(1.0)
    assert result.predicted == labels[int(np.argmax(probabilities))]


def test_sentence_scores_share_out_the_text_contribution(default_model, small_corpus) -> None:
    bundle = load_bundle(default_model)
    row = _one(small_corpus)
    result = explain(
        bundle, gene=row["gene"], variation=row["variation"], text=row["text"], top_sentences=1000
    )
    top = result.classes[0]
    text_total = sum(v for k, v in top.by_source.items() if k.startswith("text"))
    sentences_total = sum(s.score for s in top.sentences)
    assert sentences_total + top.unassigned_text == pytest.approx(text_total, abs=1e-6)
    assert all(s.text in row["text"] for s in top.sentences)


def test_the_sentence_that_names_the_variant_stands_out(default_model, small_corpus) -> None:
    # The synthetic corpus puts each row's class signal in a sentence naming the variant.
    bundle = load_bundle(default_model)
    row = _one(small_corpus)
    result = explain(bundle, gene=row["gene"], variation=row["variation"], text=row["text"])
    best = result.classes[0].sentences[0]
    assert row["variation"] in best.text


def test_sources_name_gene_variation_and_text(default_model, small_corpus) -> None:
    bundle = load_bundle(default_model)
    row = _one(small_corpus)
    result = explain(bundle, gene=row["gene"], variation=row["variation"], text=row["text"])
    sources = set(result.classes[0].by_source)
    assert {"gene", "variation", "text"} <= sources
    assert "calibrat" in result.note or "blend" in result.note
    assert "LightGBM" not in result.note  # the note describes this model, which has no trees


def test_models_without_a_decomposition_get_occlusion(small_corpus, tmp_path, synth_files) -> None:
    from oncoclass.api import train
    from oncoclass.config import InputSpec, TrainConfig

    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    bundle = load_bundle(train(TrainConfig(input=spec, recipe="nb"), out_dir=tmp_path / "nb").path)
    row = _one(small_corpus)
    result = explain(bundle, gene=row["gene"], variation=row["variation"], text=row["text"])
    assert result.method == "occlusion"
    assert "do not add up" in result.note
    assert set(result.classes[0].by_source) == {"gene", "variation", "text", "context"}


def test_bad_requests_are_input_errors(lr_model) -> None:
    bundle = load_bundle(lr_model)
    with pytest.raises(InputError, match="gene and a variation"):
        explain(bundle, gene=" ", variation="V600E")
    with pytest.raises(InputError, match="unknown class"):
        explain(bundle, gene="BRAF", variation="V600E", classes=["42"])


def test_the_explain_command_takes_disease_and_drugs_and_names_its_flags(cli, lr_model, tmp_path) -> None:
    import json

    variant = ["--gene", "BRAF", "--variation", "V600E"]
    result = cli(
        ["explain", "-m", lr_model, *variant, "--disease", "Melanoma", "--drugs", "Vemurafenib", "--json"]
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gene"] == "BRAF"
    (tmp_path / "v.csv").write_text("id,gene,variation\n1,BRAF,V600E\n")
    refused = cli(["explain", "-m", lr_model, "--input", tmp_path / "v.csv"])
    assert refused.returncode == 2 and "--input needs --id" in refused.stderr


def test_a_group_of_neighbour_shares_is_one_item(default_model, small_corpus) -> None:
    """A group's class shares sum to 1, so one share's sign is not identifiable: the explanation
    gives the group one item (what it said, summed), never a lone share that reads backwards."""
    bundle = load_bundle(default_model)
    row = _one(small_corpus)
    result = explain(bundle, gene=row["gene"], variation=row["variation"], text=row["text"], top=500)
    items = [c for k in result.classes for c in (*k.toward, *k.against)]
    assert items and not any("=class " in c.feature for c in items)
    assert any(c.feature.endswith(("=none",)) or "=mostly " in c.feature for c in items)
