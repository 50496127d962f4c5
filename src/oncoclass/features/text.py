"""Text features: cleaning for bag-of-words, and the sentences around a variant's mentions.

Kaggle's articles are long (~50 KB) and one article often discusses several variants; the
sentences that name the variant (or, failing that, its gene) carry most of the evidence for it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from oncoclass.variation import parse

_NON_WORD = re.compile(r"[^a-z0-9*]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
#: In a long article cut by :class:`ArticleText`: between the text around the variant's mentions
#: and the article's word list. (ASCII's record separator: cleaning drops it, and prose has none.)
ARTICLE_MARK = "\x1e"


def clean_text(text: str) -> str:
    """Lower-case, keep letters, digits and ``*``; the classic pipeline's cleaning."""
    return _NON_WORD.sub(" ", str(text).lower()).strip()


#: Words that open a negation's scope ("did not respond to", "failed to show", "lack of benefit").
NEGATION_CUES = frozenset(
    {"no", "not", "nor", "neither", "never", "none", "nothing", "cannot", "without"}
    | {"fail", "fails", "failed", "lack", "lacks", "lacked", "lacking"}
)
#: Words that close one: a contrast starts a new statement ("no benefit, but longer survival").
_SCOPE_ENDS = frozenset({"but", "however", "whereas", "although", "though", "yet"})
#: What closes a scope besides those words: clause punctuation.
_CLAUSE = re.compile(r"[.,;:!?()\[\]]")
#: The prefix of a word inside a negation's scope; ``_`` is a word character to the tokenizer
#: and never survives :func:`clean_text`, so a marked word is never a word of the text.
NEGATED = "neg_"


def mark_negations(text: str) -> str:
    """:func:`clean_text`, with each word after a negation cue up to the next clause punctuation
    or contrast ("but", "however") prefixed ``neg_``: "was not associated with response" reads
    "was not neg_associated with neg_response". English stop words stay unmarked: a negated
    "with" says nothing a plain one does not (a vectorizer with stop words drops them anyway)."""
    out: list[str] = []
    for clause in _CLAUSE.split(str(text).lower()):
        negated = False
        for word in _NON_WORD.sub(" ", clause).split():
            if word in _SCOPE_ENDS:
                negated = False
            elif negated and word not in ENGLISH_STOP_WORDS:
                word = NEGATED + word
            out.append(word)
            if word in NEGATION_CUES:
                negated = True
    return " ".join(out)


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def mention_terms(gene: str, variation: str) -> list[str]:
    """Strings whose presence marks a sentence as being about this variant."""
    terms = [variation.strip()]
    parsed = parse(variation)
    if parsed.start is not None and parsed.ref:
        terms.append(f"{parsed.ref}{parsed.start}")
    terms += list(parsed.partners)
    return [t for t in terms if len(t) >= 2]


def _find_all(haystack: str, needle: str) -> list[int]:
    found, at = [], haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + len(needle))
    return found


def _sentences_around(text: str, at: int, window: int, reach: int) -> tuple[int, int]:
    """Character span of the sentence holding ``at`` and ``window`` sentences either side, found
    within ``reach`` characters so a 50 KB article is never split whole."""
    lo, hi = max(0, at - reach), min(len(text), at + reach)
    local = text[lo:hi]
    starts, ends = [0], []
    for boundary in _SENTENCE.finditer(local):
        ends.append(boundary.start())
        starts.append(boundary.end())
    ends.append(len(local))
    index = bisect_right(starts, at - lo) - 1
    return lo + starts[max(0, index - window)], lo + ends[min(len(ends) - 1, index + window)]


def mention_window(
    text: str, gene: str, variation: str, *, window: int = 1, max_chars: int = 20000, reach: int = 3000
) -> str:
    """Sentences that mention the variation (±``window`` sentences); the gene's if none does.

    Mentions are found with plain substring search on the lower-cased document and sentences are
    split only near them, so the cost grows with the mentions, not with the article's length.
    """
    if not text:
        return ""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few Unicode letters change length when lower-cased
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    terms = [t.lower() for t in mention_terms(gene, variation)]
    hits = sorted({at for term in terms for at in _find_all(lowered, term)})
    if not hits and gene.strip():
        hits = _find_all(lowered, gene.strip().lower())
    spans: list[list[int]] = []
    kept = 0
    for at in hits:
        # A hit inside the last window still counts: its own neighbours may reach past it.
        begin, end = _sentences_around(text, at, window, reach)
        if spans and begin <= spans[-1][1]:
            kept += max(0, end - spans[-1][1])
            spans[-1][1] = max(spans[-1][1], end)
        else:
            kept += end - begin
            spans.append([begin, end])
        if kept >= max_chars:
            break
    return " ".join(text[a:b].strip() for a, b in spans)[:max_chars]


def _word_bytes() -> bytes:
    # Per byte: a-z, 0-9 and * kept (A-Z lower-cased), anything else (UTF-8's non-ASCII bytes
    # too) a space; the same words as clean_text's, which keeps only [a-z0-9*].
    keep = {*range(ord("a"), ord("z") + 1), *range(ord("0"), ord("9") + 1), ord("*")}
    return bytes(c + 32 if ord("A") <= c <= ord("Z") else c if c in keep else 32 for c in range(256))


_WORD_BYTES = _word_bytes()


def document_words(text: str, *, max_chars: int = 40000) -> str:
    """The article's distinct words (lower-cased, two or more characters, English stop words
    left out), space-separated in order of first appearance, up to ``max_chars``.

    What a whole-document bag of words reads, at a fraction of the article's size: a 52 KB
    article holds a few thousand distinct words, and each one's presence (not its count) is kept.
    (Bytes, translated and split: about twice as fast as a regular expression over the text.)
    """
    stop = _stop_words()
    words = dict.fromkeys(text.encode("utf-8", "replace").translate(_WORD_BYTES).split())
    out = b" ".join(w for w in words if len(w) > 1 and w not in stop).decode("ascii")
    return out[: out.rfind(" ", 0, max_chars + 1)] if len(out) > max_chars else out


@cache
def _stop_words() -> frozenset[bytes]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(w.encode("ascii") for w in ENGLISH_STOP_WORDS)


def article_parts(text: str) -> tuple[str, str] | None:
    """``(mention text, word list)`` of a text cut by :class:`ArticleText`; ``None`` for any
    other text."""
    mentions, mark, words = text.partition(ARTICLE_MARK)
    return (mentions, words) if mark else None


def mention_text(
    text: str, gene: str, variation: str, *, window: int = 1, max_chars: int = 20000, short_chars: int = 3000
) -> str:
    """What the mention views read of a text: a statement-sized text whole; of a longer article,
    the sentences around the variant's mentions (see :func:`mention_window`), or its opening when
    it names neither the variant nor its gene; of an article :class:`ArticleText` cut, the same."""
    parts = article_parts(text)
    if parts is not None:
        return parts[0]
    if len(text) <= short_chars:
        return text
    return mention_window(text, gene, variation, window=window, max_chars=max_chars) or text[:short_chars]


class MentionWindows(TransformerMixin, BaseEstimator):
    """Table → the text around each row's variant mentions (a 1-D array of strings)."""

    def __init__(self, *, window: int = 1, max_chars: int = 20000, min_chars: int = 0) -> None:
        self.window = window
        self.max_chars = max_chars
        self.min_chars = min_chars

    def fit(self, X: pd.DataFrame, y: Any = None) -> MentionWindows:
        self.n_features_in_ = 1
        return self

    def _window(self, text: str, gene: str, variation: str) -> str:
        parts = article_parts(text)
        if parts is not None:  # cut by ArticleText as it streamed in: the mentions are kept
            return parts[0]
        if len(text) <= self.min_chars:
            # A text of at most ``min_chars`` (a curated statement) gives no window: beside a
            # view of the whole text, its window would repeat it word for word.
            return ""
        # An article that names neither the variant nor its gene offers its opening, as
        # MentionText's cut does (so the view reads the same from a cut article as from a whole).
        return mention_text(
            text, gene, variation, window=self.window, max_chars=self.max_chars, short_chars=self.min_chars
        )

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(
            [self._window(t, g, v) for t, g, v in zip(X["text"], X["gene"], X["variation"], strict=True)],
            dtype=object,
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(["mention_text"], dtype=object)


class _TextCut(TransformerMixin, BaseEstimator):
    """What a table → table step that cuts each text does, given its ``reduce(gene, variation,
    text)``: nothing to learn, the ``text`` column replaced, the columns' names passed through."""

    def reduce(self, gene: str, variation: str, text: str) -> str:
        raise NotImplementedError

    def fit(self, X: pd.DataFrame, y: Any = None) -> _TextCut:
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        out["text"] = [
            self.reduce(g, v, t) for g, v, t in zip(X["gene"], X["variation"], X["text"], strict=True)
        ]
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


class MentionText(_TextCut):
    """Table → the same table with each text cut down to the sentences around the variant's
    mentions (see :func:`mention_window`).

    As a pipeline's first step it tells the loaders what the model will read: they apply
    :meth:`reduce` to each document while it streams in (:func:`text_reduction`), so long
    articles are never held whole. Cutting twice gives what cutting once gives, so the step
    itself stays correct when handed full texts (up to ``max_chars``).
    """

    def __init__(self, *, window: int = 1, max_chars: int = 20000, short_chars: int = 3000) -> None:
        self.window = window
        self.max_chars = max_chars
        self.short_chars = short_chars

    def reduce(self, gene: str, variation: str, text: str) -> str:
        # A statement-sized text is about its variant already, and may name neither it nor the
        # gene; an article that names neither still has its opening (title, abstract) to offer.
        return mention_text(
            text, gene, variation, window=self.window, max_chars=self.max_chars, short_chars=self.short_chars
        )


class ArticleText(_TextCut):
    """Table → the same table with each article (a text longer than ``short_chars``) cut to what
    the article-sized views read of it: the text around the variant's mentions (as
    :class:`MentionText` cuts it), then :data:`ARTICLE_MARK`, then the article's distinct words
    (:func:`document_words`). Statement-sized texts are left whole.

    A model whose views read articles this way names it (``TextGated(cut=ArticleText())``) and
    the loaders apply :meth:`reduce` to each document as it streams in, so a corpus of long
    articles never sits in memory whole. The views read the same from a cut article as from the
    whole one, and cutting twice gives what cutting once gives.
    """

    def __init__(
        self, *, window: int = 1, max_chars: int = 20000, short_chars: int = 3000, max_word_chars: int = 40000
    ) -> None:
        self.window = window
        self.max_chars = max_chars
        self.short_chars = short_chars
        self.max_word_chars = max_word_chars

    def reduce(self, gene: str, variation: str, text: str) -> str:
        if len(text) <= self.short_chars or article_parts(text) is not None:
            return text
        mentions = mention_text(
            text, gene, variation, window=self.window, max_chars=self.max_chars, short_chars=self.short_chars
        )
        return mentions + ARTICLE_MARK + document_words(text, max_chars=self.max_word_chars)


class TextPart(TransformerMixin, BaseEstimator):
    """A text column → one view of each text, chosen by the text's length (1-D array of strings):

    * ``"statement"``: a statement-sized text (at most ``short_chars``) whole; ``""`` for an
      article;
    * ``"words"``: an article's distinct words (:func:`document_words`, from the cut
      :class:`ArticleText` made or from the whole article); ``""`` for a statement.

    So one model reads curated statements as whole texts and long articles as their mentions and
    their vocabulary, each view fitted only on the texts it suits.
    """

    def __init__(
        self, *, part: str = "statement", short_chars: int = 3000, max_word_chars: int = 40000
    ) -> None:
        self.part = part
        self.short_chars = short_chars
        self.max_word_chars = max_word_chars

    def fit(self, X: Any, y: Any = None) -> TextPart:
        if self.part not in ("statement", "words"):
            raise ValueError(f"part must be 'statement' or 'words', not {self.part!r}")
        self.n_features_in_ = 1
        return self

    def _part(self, text: str) -> str:
        parts = article_parts(text)
        if self.part == "statement":
            return text if parts is None and len(text) <= self.short_chars else ""
        if parts is not None:
            return parts[1]
        return "" if len(text) <= self.short_chars else document_words(text, max_chars=self.max_word_chars)

    def transform(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            X = X.iloc[:, 0]
        texts = ["" if v is None else str(v) for v in np.ravel(np.asarray(X, dtype=object))]
        return np.asarray([self._part(t) for t in texts], dtype=object)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"{self.part}_text"], dtype=object)


def text_reduction(estimator: Any) -> Callable[[str, str, str], str] | None:
    """The reduction a model applies to its texts first: that of a leading :class:`MentionText`
    step, or the ``cut`` a gated model names (:class:`ArticleText`)."""
    steps = getattr(estimator, "steps", None)
    first = steps[0][1] if steps else estimator
    if isinstance(first, MentionText):
        return first.reduce
    cut = getattr(first, "cut", None)
    return cut.reduce if isinstance(cut, ArticleText) else None
