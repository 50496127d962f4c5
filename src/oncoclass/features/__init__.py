"""scikit-learn transformers over the canonical table: categorical codings, variation grammar,
out-of-fold target statistics (response coding, neighbours) and text."""

from oncoclass.features.encoder import SentenceEmbedding, TokenEmbedding
from oncoclass.features.evidence import EvidenceFeatures, GeneKindFeatures, HotspotFeatures
from oncoclass.features.target import NeighbourFeatures, PositionKernel, ResponseCoder
from oncoclass.features.text import (
    ArticleText,
    MentionText,
    MentionWindows,
    TextPart,
    clean_text,
    text_reduction,
)
from oncoclass.features.variation import VariationFeatures
from oncoclass.features.vectorize import OneHot, TextVectorizer

__all__ = [
    "ArticleText",
    "EvidenceFeatures",
    "GeneKindFeatures",
    "HotspotFeatures",
    "MentionText",
    "MentionWindows",
    "NeighbourFeatures",
    "OneHot",
    "PositionKernel",
    "ResponseCoder",
    "SentenceEmbedding",
    "TextPart",
    "TextVectorizer",
    "TokenEmbedding",
    "VariationFeatures",
    "clean_text",
    "text_reduction",
]
