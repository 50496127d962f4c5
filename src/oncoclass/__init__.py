"""oncoclass: classify cancer gene variants from the clinical literature.

Public API::

    from oncoclass import load_table, train, predict_table, evaluate, load_bundle

The names are imported on first use (PEP 562), so ``import oncoclass`` (or any small submodule,
such as the file readers) does not load scikit-learn, LightGBM and pandas until they are needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "evaluate": "oncoclass.api",
    "predict": "oncoclass.api",
    "predict_table": "oncoclass.api",
    "train": "oncoclass.api",
    "load_table": "oncoclass.data",
    "Bundle": "oncoclass.persist",
    "load_bundle": "oncoclass.persist",
}

__all__ = [  # noqa: RUF022 (the version first, then the API)
    "__version__",
    "Bundle",
    "evaluate",
    "load_bundle",
    "load_table",
    "predict",
    "predict_table",
    "train",
]

if TYPE_CHECKING:
    from oncoclass.api import evaluate, predict, predict_table, train
    from oncoclass.data import load_table
    from oncoclass.persist import Bundle, load_bundle


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'oncoclass' has no attribute {name!r}")
