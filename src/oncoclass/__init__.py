"""oncoclass: classify cancer gene variants from the clinical literature.

Public API::

    from oncoclass import load_table, train, predict_table, evaluate, load_bundle
"""

__version__ = "0.1.0"

from oncoclass.api import evaluate, predict, predict_table, train
from oncoclass.data import load_table
from oncoclass.persist import Bundle, load_bundle

__all__ = [
    "Bundle",
    "__version__",
    "evaluate",
    "load_bundle",
    "load_table",
    "predict",
    "predict_table",
    "train",
]
