"""scikit-learn transformers over the canonical table: categorical codings, variation grammar,
out-of-fold target statistics (response coding, neighbours) and text."""

from oncoclass.features.target import NeighbourFeatures, PositionKernel, ResponseCoder
from oncoclass.features.text import MentionWindows, clean_text
from oncoclass.features.variation import VariationFeatures
from oncoclass.features.vectorize import TextVectorizer

__all__ = [
    "MentionWindows",
    "NeighbourFeatures",
    "PositionKernel",
    "ResponseCoder",
    "TextVectorizer",
    "VariationFeatures",
    "clean_text",
]
