"""Loaders: every input format ends as the canonical table (see :mod:`oncoclass.data.table`)."""

from oncoclass.data.detect import load_table
from oncoclass.data.table import CANONICAL_COLUMNS, validate_table

__all__ = ["CANONICAL_COLUMNS", "load_table", "validate_table"]
