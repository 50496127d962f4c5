"""Fixtures for the evidence store's tests; the database fixtures (``kb_url`` on SQLite and
PostgreSQL) and ``kb_model`` are in the root conftest, shared with the review and batch tests."""

from __future__ import annotations

import sys
from pathlib import Path

# The tests import the tiny source files of sources_data.py; with pytest's importlib mode a test
# folder is not on the path by itself.
sys.path.insert(0, str(Path(__file__).parent))
